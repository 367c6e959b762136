"""End-to-end tests of the fake Discord with the real discord.py client.

A tiny throwaway bot (defined here, not Earmark's) exercises every path the
harness offers: ephemeral replies, defer + follow-up + edits, autocomplete,
subcommand groups with permissions, buttons and selects, DMs (and closed DMs),
restart, resume, Discord's 3-second deadline and its size limits.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.fakes.discord import (
    CommandNotVisible,
    FakeDiscord,
    FakeDiscordError,
    FakeGuild,
    FakeUser,
    is_ephemeral,
)

BOOKS = ["Dune", "Dune Messiah", "Children of Dune", "Hyperion", "The Hobbit"]


class VoteView(discord.ui.View):
    """A button that edits its own message, and a select that replies."""

    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.votes = 0

    @discord.ui.button(label="Up", custom_id="vote:up", style=discord.ButtonStyle.primary)
    async def up(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        self.votes += 1
        button.disabled = True
        await interaction.response.edit_message(content=f"votes: {self.votes}", view=self)

    @discord.ui.select(
        custom_id="vote:pick",
        options=[discord.SelectOption(label=b, value=b.lower()) for b in BOOKS[:3]],
    )
    async def pick(
        self, interaction: discord.Interaction, select: discord.ui.Select[VoteView]
    ) -> None:
        await interaction.response.send_message(f"picked {select.values[0]}", ephemeral=True)


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    """A one-field modal that echoes what was typed."""

    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your thoughts", custom_id="feedback:text"
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class TinyBot(commands.Bot):
    """A guild-synced bot with one command per harness feature."""

    def __init__(self, guild_id: int) -> None:
        super().__init__(
            command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.1
        )
        self.home = discord.Object(guild_id)
        self.dm_errors: list[discord.HTTPException] = []
        self.setup_channel: int | None = None

    async def setup_hook(self) -> None:
        tree, home = self.tree, self.home

        @tree.command(name="hello", description="Ephemeral greeting", guild=home)
        async def hello(interaction: discord.Interaction, name: str) -> None:
            await interaction.response.send_message(f"Hello {name}", ephemeral=True)

        @tree.command(name="slow", description="Defer, edit, follow up, edit", guild=home)
        async def slow(interaction: discord.Interaction) -> None:
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.edit_original_response(content="working...")
            extra = await interaction.followup.send("result ready", ephemeral=True, wait=True)
            await extra.edit(content="result ready!")
            await asyncio.sleep(0.05)
            await interaction.edit_original_response(content="done")
            original = await interaction.original_response()
            assert original.content == "done"

        @tree.command(name="quirk", description="Follow-up right after a defer", guild=home)
        async def quirk(interaction: discord.Interaction) -> None:
            await interaction.response.defer(thinking=True)
            await interaction.followup.send("first")

        @tree.command(name="file", description="Send a file, then delete a follow-up", guild=home)
        async def send_file(interaction: discord.Interaction) -> None:
            data = io.BytesIO(b"chapter one")
            await interaction.response.send_message("here", file=discord.File(data, "dune.txt"))
            temp = await interaction.followup.send("temporary", wait=True)
            await temp.delete()

        @tree.command(name="feedback", description="Opens a modal", guild=home)
        async def feedback(interaction: discord.Interaction) -> None:
            await interaction.response.send_modal(FeedbackModal())

        @tree.command(name="book", description="Pick a book", guild=home)
        async def book(interaction: discord.Interaction, title: str) -> None:
            await interaction.response.send_message(f"you chose {title}")

        @book.autocomplete("title")
        async def book_title(
            interaction: discord.Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            hits = [b for b in BOOKS if current.lower() in b.lower()]
            return [app_commands.Choice(name=b, value=b.upper()) for b in hits]

        @tree.command(name="vote", description="A message with a view", guild=home)
        async def vote(interaction: discord.Interaction) -> None:
            await interaction.response.send_message("votes: 0", view=VoteView())

        @tree.command(name="announce", description="Post in the channel", guild=home)
        async def announce(interaction: discord.Interaction) -> None:
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.channel.send("announcement", view=VoteView())
            await interaction.response.send_message("posted", ephemeral=True)

        @tree.command(name="dm_me", description="DM the caller", guild=home)
        async def dm_me(interaction: discord.Interaction) -> None:
            try:
                await interaction.user.send("psst")
            except discord.Forbidden as exc:
                self.dm_errors.append(exc)
                await interaction.response.send_message("DMs closed", ephemeral=True)
            else:
                await interaction.response.send_message("sent", ephemeral=True)

        @tree.command(name="sleepy", description="Answers too late", guild=home)
        async def sleepy(interaction: discord.Interaction) -> None:
            await asyncio.sleep(0.5)
            await interaction.response.send_message("zzz")

        @tree.command(name="huge", description="Overflows an embed", guild=home)
        async def huge(interaction: discord.Interaction) -> None:
            embed = discord.Embed(title="big", description="x" * 5000)
            await interaction.response.send_message(embed=embed)

        setup = app_commands.Group(
            name="setup",
            description="Admin settings",
            guild_ids=[home.id],
            default_permissions=discord.Permissions(manage_guild=True),
        )

        @setup.command(name="channel", description="Notification channel")
        async def setup_channel(
            interaction: discord.Interaction, channel: discord.TextChannel
        ) -> None:
            self.setup_channel = channel.id
            await interaction.response.send_message(f"channel {channel.name}", ephemeral=True)

        @setup.command(name="approval", description="Auto-approve")
        @app_commands.choices(mode=[app_commands.Choice(name=m, value=m) for m in ("on", "off")])
        async def setup_approval(
            interaction: discord.Interaction, mode: str, limit: int | None = None
        ) -> None:
            await interaction.response.send_message(f"approval {mode} {limit}", ephemeral=True)

        tree.add_command(setup)
        await tree.sync(guild=home)


@dataclass
class World:
    fd: FakeDiscord
    guild: FakeGuild
    alice: FakeUser
    boss: FakeUser
    bot: TinyBot


@pytest.fixture
async def world() -> AsyncIterator[World]:
    async with FakeDiscord() as fd:
        guild = fd.add_guild("Books")
        fd.add_channel(guild, "admin")
        alice = fd.add_member(guild, "alice")
        boss = fd.add_member(guild, "boss", manage_guild=True)
        bot = TinyBot(guild.id)
        await fd.start_bot(bot)
        yield World(fd, guild, alice, boss, bot)
        await fd.stop_bot()
        fd.assert_no_bot_errors()


async def test_bot_logs_in_syncs_and_sees_the_guild(world: World) -> None:
    fd, bot = world.fd, world.bot
    assert bot.user is not None and bot.user.id == fd.bot_user.id
    guild = bot.get_guild(world.guild.id)
    assert guild is not None and guild.name == "Books"
    assert {c.name for c in guild.text_channels} == {"general", "admin"}
    names = {c["name"] for c in fd.commands(world.guild)}
    assert {"hello", "slow", "book", "vote", "setup"} <= names
    assert all(c["id"] and c["guild_id"] == str(world.guild.id) for c in fd.commands(world.guild))


async def test_ephemeral_reply(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "hello", name="Alice")
    assert inter.response_type == 4
    assert inter.is_ephemeral
    assert inter.original is not None and inter.original.content == "Hello Alice"
    assert is_ephemeral(inter.original)
    assert inter.latency is not None and inter.latency < 3
    # Ephemeral replies are not in the channel history.
    assert world.fd.channel_messages(world.guild.text_channel) == []


async def test_defer_followup_and_edit_original(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "slow")
    assert inter.response_type == 5 and inter.deferred and inter.is_ephemeral
    original = await inter.wait_for_edit(lambda m: m.content == "done")
    assert not original.is_loading and original.is_ephemeral
    assert [h["content"] for h in original.history] == ["", "working..."]
    assert [m.content for m in inter.messages] == ["done", "result ready!"]
    assert inter.followups[0].is_ephemeral


async def test_files_deletes_and_modals(world: World) -> None:
    fd, alice = world.fd, world.alice
    inter = await fd.slash(alice, world.guild, "file")
    assert inter.original is not None and inter.original.files == [("dune.txt", b"chapter one")]
    assert inter.original["attachments"][0]["filename"] == "dune.txt"
    temp = await inter.wait_for_followup()
    await fd.wait_until(lambda: temp.deleted, what="the follow-up's deletion")
    assert [m.content for m in inter.messages] == ["here"]

    opened = await fd.slash(alice, world.guild, "feedback")
    assert opened.response_type == 9 and opened.modal is not None
    assert opened.modal["title"] == "Feedback"
    submitted = await fd.submit_modal(alice, opened, {"feedback:text": "great"})
    assert submitted.content == "thanks: great" and submitted.is_ephemeral

    # A member who joins after the bot is ready can use commands at once.
    carol = fd.add_member(world.guild, "carol")
    assert (await fd.slash(carol, world.guild, "hello", name="Carol")).content == "Hello Carol"


async def test_first_followup_after_defer_replaces_the_placeholder(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "quirk")
    await inter.wait_for_edit(lambda m: not m.is_loading)
    assert inter.followups == []
    assert [m.content for m in inter.messages] == ["first"]
    assert not inter.original.is_ephemeral  # type: ignore[union-attr]
    assert world.fd.channel_messages(world.guild.text_channel) == [inter.original]


async def test_autocomplete_and_chosen_value(world: World) -> None:
    fd = world.fd
    choices = await fd.autocomplete(world.alice, world.guild, "book", "title", "dun")
    assert choices.names == ["Dune", "Dune Messiah", "Children of Dune"]
    assert choices.values[0] == "DUNE"
    assert 0 <= choices.latency < 3
    inter = await fd.slash(world.alice, world.guild, "book", title=choices.values[0])
    assert inter.content == "you chose DUNE" and not inter.is_ephemeral


async def test_button_edits_message_and_select_replies(world: World) -> None:
    fd, alice = world.fd, world.alice
    inter = await fd.slash(alice, world.guild, "vote")
    msg = inter.original
    assert msg is not None and msg.custom_ids == ["vote:up", "vote:pick"]
    click = await fd.click(alice, msg, "vote:up")
    assert click.response_type == 7
    assert msg.content == "votes: 1" and msg.edited
    assert msg.component("vote:up")["disabled"] is True
    with pytest.raises(FakeDiscordError, match="disabled"):
        await fd.click(alice, msg, "vote:up")
    with pytest.raises(FakeDiscordError, match="no options"):
        await fd.select(alice, msg, "vote:pick", ["hyperion"])
    pick = await fd.select(world.boss, msg, "vote:pick", ["dune messiah"])
    assert pick.content == "picked dune messiah" and pick.is_ephemeral


async def test_button_on_a_channel_message(world: World) -> None:
    fd = world.fd
    inter = await fd.slash(world.alice, world.guild, "announce")
    assert inter.content == "posted"
    [post] = fd.channel_messages(world.guild.text_channel)
    assert post.content == "announcement" and post["author"]["id"] == str(fd.bot_user.id)
    await fd.click(world.boss, post, label="Up")
    assert post.content == "votes: 1"


async def test_dm_and_closed_dms(world: World) -> None:
    fd, alice = world.fd, world.alice
    inter = await fd.slash(alice, world.guild, "dm_me")
    assert inter.content == "sent"
    assert [m.content for m in fd.dms[alice.id]] == ["psst"]
    assert fd.dms[world.boss.id] == []

    fd.close_dms(alice)
    inter = await fd.slash(alice, world.guild, "dm_me")
    assert inter.content == "DMs closed"
    [exc] = world.bot.dm_errors
    assert isinstance(exc, discord.Forbidden) and exc.code == 50007
    assert "Cannot send messages to this user" in str(exc)
    assert len(fd.dms[alice.id]) == 1

    # The same path straight from bot code, outside any interaction.
    user = await world.bot.fetch_user(alice.id)
    with pytest.raises(discord.Forbidden):
        await user.send("again")
    fd.open_dms(alice)
    await user.send("again")
    assert (await fd.wait_for_dm(alice, lambda m: m.content == "again")).content == "again"


async def test_subcommands_permissions_and_resolved_options(world: World) -> None:
    fd, guild = world.fd, world.guild
    admin_channel = guild.channel("admin")
    with pytest.raises(CommandNotVisible):
        await fd.slash(world.alice, guild, "setup channel", channel=admin_channel)
    inter = await fd.slash(world.boss, guild, "setup channel", {"channel": admin_channel})
    assert inter.content == "channel admin" and world.bot.setup_channel == admin_channel.id
    inter = await fd.slash(world.boss, guild, "setup approval", mode="on", limit=3)
    assert inter.content == "approval on 3"
    with pytest.raises(FakeDiscordError, match="must be one of"):
        await fd.slash(world.boss, guild, "setup approval", mode="maybe")
    with pytest.raises(FakeDiscordError, match="required options missing"):
        await fd.slash(world.boss, guild, "setup approval")
    with pytest.raises(FakeDiscordError, match="needs a subcommand"):
        await fd.slash(world.boss, guild, "setup")


async def test_late_answer_is_unknown_interaction() -> None:
    async with FakeDiscord(response_deadline=0.3) as fd:
        guild = fd.add_guild("Books")
        alice = fd.add_member(guild, "alice")
        await fd.start_bot(TinyBot(guild.id))
        with pytest.raises(FakeDiscordError, match="deadline"):
            await fd.slash(alice, guild, "sleepy")
        await fd.wait_until(lambda: bool(fd.bot_errors), what="the bot's NotFound")
        assert "Unknown interaction" in repr(fd.bot_errors[-1].exc_info)
        await fd.stop_bot()


async def test_discord_size_limits_reach_the_bot(world: World) -> None:
    fd = world.fd
    with pytest.raises(FakeDiscordError, match=r"rejected.*embeds\.0\.description"):
        await fd.slash(world.alice, world.guild, "huge")
    await fd.wait_until(lambda: bool(fd.bot_errors), what="the bot's HTTPException")
    assert "embeds.0.description" in repr(fd.bot_errors[-1].exc_info)
    channel = world.bot.get_channel(world.guild.text_channel.id)
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send("x" * 2001)
    assert info.value.code == 50035
    fd.bot_errors.clear()


async def test_resume_after_reconnect(world: World) -> None:
    await world.fd.force_reconnect()
    assert world.fd.session is not None and world.fd.session.resumes == 1
    inter = await world.fd.slash(world.alice, world.guild, "hello", name="again")
    assert inter.content == "Hello again"


async def test_restart_second_bot_same_fake(world: World) -> None:
    fd = world.fd
    ids = {c["name"]: c["id"] for c in fd.commands(world.guild)}
    await fd.stop_bot()
    assert world.bot.is_closed()
    second = TinyBot(world.guild.id)
    await fd.start_bot(second)
    assert {c["name"]: c["id"] for c in fd.commands(world.guild)} == ids
    inter = await fd.slash(world.alice, world.guild, "hello", name="two")
    assert inter.content == "Hello two"
    world.bot = second


async def test_unknown_route_is_loud() -> None:
    async with FakeDiscord() as fd:
        fd.add_guild("Books")
        bot = TinyBot(next(iter(fd.guilds)))
        await fd.start_bot(bot)
        with pytest.raises(discord.NotFound):
            await bot.http.request(discord.http.Route("GET", "/nope/{x}", x=1))
        assert fd.unknown_routes == ["GET /api/v10/nope/1"]
        fd.unknown_routes.clear()
        await fd.stop_bot()
