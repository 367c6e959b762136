"""Earmark belongs to its own servers: another server's admin can never take it over.

The bot refuses to start without `[discord] guild_ids`, never keeps commands
global, leaves any server that is not its own (added while running or while
offline), and refuses every interaction from elsewhere, even one sent with a
stale global command of an older release.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
from pathlib import Path

import pytest

from bot.app import TREE_HASH_KEY, EarmarkBot, run_bot
from bot.config import DiscordSettings
from core.config_store import PLEX_TOKEN, PLEX_URL
from tests.e2e.world import World, eventually, make_settings
from tests.fakes.discord import FakeDiscord


async def test_added_to_another_server_it_leaves_at_once(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    other = world.fd.add_guild("Strangers")  # someone invited the bot while it runs
    await eventually(lambda: other.id in world.fd.left_guilds, what="the bot to leave")
    assert "not in [discord] guild_ids: leaving it" in caplog.text
    assert world.guild.id not in world.fd.left_guilds
    assert other.id not in world.fd.guild_commands  # nothing was ever synced there
    assert world.fd.global_commands == []


async def test_a_foreign_admin_cannot_set_up_plex_with_a_stale_global_command(
    world: World,
) -> None:
    url_before = await world.runtime.store.get(PLEX_URL)
    # An older release synced its commands globally: they still show in other servers.
    world.fd.global_commands = copy.deepcopy(world.fd.commands(world.guild))
    other = world.fd.add_guild("Strangers")
    await eventually(lambda: other.id in world.fd.left_guilds, what="the bot to leave")
    owner = world.fd.users[other.owner_id]
    inter = await world.fd.slash(
        owner, other, "setup plex", url="http://203.0.113.9:32400", token="their-token-123",
        force=True,
    )
    assert inter.original is not None
    assert "not set up for this server" in inter.original.content
    assert inter.original.is_ephemeral
    assert await world.runtime.store.get(PLEX_URL) == url_before
    assert await world.runtime.store.get(PLEX_TOKEN) != "their-token-123"


async def test_at_start_it_leaves_servers_joined_offline_and_clears_global_commands(
    world: World,
) -> None:
    await world.fd.stop_bot()
    other = world.fd.add_guild("Joined while Earmark was down")  # no gateway: no event
    world.fd.global_commands = copy.deepcopy(world.fd.commands(world.guild))
    await world.runtime.store.set(f"{TREE_HASH_KEY}.global", "synced-by-an-older-release")
    world.bot = EarmarkBot(world.runtime)
    await world.fd.start_bot(world.bot)
    await eventually(lambda: other.id in world.fd.left_guilds, what="the bot to leave")
    assert world.fd.global_commands == []
    assert world.fd.commands(world.guild)  # its own server keeps every command


async def test_a_public_bot_is_reported_at_start(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.app")
    await world.fd.stop_bot()
    world.fd.bot_public = True
    world.bot = EarmarkBot(world.runtime)
    await world.fd.start_bot(world.bot)
    assert "Turn off 'Public Bot'" in caplog.text


async def test_run_without_guild_ids_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeDiscord() as fd:
        base = make_settings(tmp_path, 1, tv_url="http://127.0.0.1:9", audible_url="http://127.0.0.1:9")
        settings = dataclasses.replace(
            base, discord=DiscordSettings(token=fd.token, guild_ids=())
        )
        code = await asyncio.to_thread(run_bot, settings)
        assert code == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "guild_ids" in err and "Copy Server ID" in err
        assert not fd.requests  # it never connected
