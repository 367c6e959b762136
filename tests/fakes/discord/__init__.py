"""A fake Discord (REST API + gateway on 127.0.0.1) driving the real discord.py.

Tests "are a user": they invoke slash commands, autocomplete, buttons, selects
and modals, and inspect what the bot sent. Messages are plain dicts in
Discord's message shape (``FakeMessage``) with helpers.

Usage::

    async with FakeDiscord() as fd:
        guild = fd.add_guild("Books")                      # + #general, @everyone, the bot
        alice = fd.add_member(guild, "alice")
        boss = fd.add_member(guild, "boss", manage_guild=True)
        await fd.start_bot(MyBot(guild_ids=[guild.id]))   # bot.start(token) in a task
        inter = await fd.slash(alice, guild, "request", title="Dune")
        assert inter.original.is_ephemeral and "Dune" in inter.original.text
        choices = await fd.autocomplete(alice, guild, "request", "title", "Dun")
        assert choices.latency < 3 and choices.names
        await fd.click(alice, inter.original, "confirm")    # or label="Confirm"
        await inter.wait_for_edit(lambda m: "queued" in m.content)
        fd.close_dms(alice)                                 # DMs now fail 403 / 50007
        await fd.stop_bot()
"""

from .harness import (
    CommandNotVisible,
    FakeDiscord,
    FakeDiscordError,
    FakeDiscordTimeout,
    RequestRecord,
)
from .models import (
    ADMINISTRATOR,
    MANAGE_GUILD,
    Choices,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeRole,
    FakeUser,
    is_ephemeral,
)

__all__ = [
    "ADMINISTRATOR",
    "MANAGE_GUILD",
    "Choices",
    "CommandNotVisible",
    "FakeChannel",
    "FakeDiscord",
    "FakeDiscordError",
    "FakeDiscordTimeout",
    "FakeGuild",
    "FakeInteraction",
    "FakeMessage",
    "FakeRole",
    "FakeUser",
    "RequestRecord",
    "is_ephemeral",
]
