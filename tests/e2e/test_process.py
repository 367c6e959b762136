"""The bot process as `python -m bot run` runs it: start, SIGTERM, clean stop."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
from pathlib import Path

from tortoise import Tortoise

from bot.app import _serve
from bot.config import DatabaseSettings
from tests.database import ON_POSTGRES
from tests.e2e.world import eventually, make_settings
from tests.fakes.catalog import FakeAudible
from tests.fakes.discord import FakeDiscord
from tests.fakes.plex import FakePlexTV


async def test_sigterm_stops_the_bot_and_closes_database_and_session(
    tmp_path: Path, database_url: str
) -> None:
    async with FakeDiscord() as fd, FakePlexTV() as tv, FakeAudible() as audible:
        guild = fd.add_guild("Books")
        base = make_settings(tmp_path, guild.id, tv_url=tv.url, audible_url=audible.url)
        settings = dataclasses.replace(
            base,
            discord=dataclasses.replace(base.discord, token=fd.token),
            database=DatabaseSettings(url=database_url),
        )
        serving = asyncio.create_task(_serve(settings))
        await eventually(lambda: bool(fd.commands(guild)) and fd.session is not None,
                         timeout=10, what="the bot to connect and sync")
        assert Tortoise.is_inited()

        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, 10) == 0
        assert not Tortoise.is_inited()  # the database was closed
        if not ON_POSTGRES:
            assert (tmp_path / "earmark.db").exists()
        assert not fd.gateway_connections  # the gateway connection was closed
