"""One Earmark world for end-to-end tests: the real bot against fakes on 127.0.0.1.

`World` starts a fake Discord (REST + gateway), a fake Plex Media Server, a
fake plex.tv and a fake Audible catalog, builds settings pointing at them, a
empty database (SQLite in memory, or PostgreSQL: tests/database.py) and the
real `EarmarkBot`, and tears everything down.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from bot.app import COGS, EarmarkBot
from bot.config import (
    CatalogSettings,
    DatabaseSettings,
    DiscordSettings,
    PlexSettings,
    SecuritySettings,
    Settings,
)
from bot.runtime import Runtime
from core.config_store import ADMIN_CHANNEL, PLEX_LIBRARY, PLEX_MACHINE_ID, PLEX_TOKEN, PLEX_URL
from core.models import User
from tests.database import empty_database
from tests.fakes.catalog import FakeAudible
from tests.fakes.discord import FakeDiscord, FakeGuild, FakeUser
from tests.fakes.plex import FakePlex, FakePlexTV


@dataclass
class World:
    fd: FakeDiscord
    pms: FakePlex
    tv: FakePlexTV
    audible: FakeAudible
    runtime: Runtime
    bot: EarmarkBot
    guild: FakeGuild
    admin_channel_id: int
    alice: FakeUser
    bob: FakeUser
    boss: FakeUser
    extra: dict[str, object] = field(default_factory=dict)

    async def configure_plex(self, *, library: bool = True) -> None:
        """What `/setup plex` and `/setup library` would have stored."""
        store = self.runtime.store
        await store.set(PLEX_URL, self.pms.url)
        await store.set(PLEX_TOKEN, self.pms.token)
        await store.set(PLEX_MACHINE_ID, self.pms.machine_identifier)
        if library:
            await store.set(PLEX_LIBRARY, self.pms.section_id)

    def command_done(self, name: str, timeout: float = 5.0) -> asyncio.Future[Any]:
        """Resolves when the bot's handler of the next `/name` has returned.

        Call it before running the command. The fake sees the bot's answer, not
        the work a handler does after answering (e.g. the admin-channel post):
        await this before asserting that such work did not happen.
        """
        return asyncio.ensure_future(self.bot.wait_for(
            "app_command_completion", check=lambda _, cmd: cmd.qualified_name == name,
            timeout=timeout,
        ))

    async def link(self, user: FakeUser, token: str | None = None) -> str:
        """Link a Discord user to a plex.tv account that can reach the fake server."""
        token = token or f"tv-token-{user.id}"
        self.tv.add_account(
            token, username=user.name, email=f"{user.name}@example.com",
            servers={self.pms.machine_identifier: f"srv-{user.id}"},
        )
        row, _ = await User.get_or_create(discord_id=user.id)
        row.plex_token = self.runtime.cipher.encrypt(token)
        row.plex_username = user.name
        await row.save()
        return token


#: `make_world(**options)` in tests/e2e/conftest.py: `open_world` with the test's markers.
WorldFactory = Callable[..., AbstractAsyncContextManager["World"]]


def make_settings(
    tmp: Path,
    guild_id: int,
    *,
    tv_url: str,
    audible_url: str,
    admin_role_ids: Sequence[int] = (),
    database_url: str = "sqlite://:memory:",
) -> Settings:
    key_file = tmp / "secret.key"
    key_file.write_bytes(Fernet.generate_key())
    return Settings(
        discord=DiscordSettings(
            token="fake-discord-token", guild_ids=(guild_id,), admin_role_ids=tuple(admin_role_ids)
        ),
        plex=PlexSettings(tv_url=tv_url, app_url="https://app.plex.tv"),
        catalog=CatalogSettings(region="us", audible_url=audible_url),
        database=DatabaseSettings(url=database_url),
        security=SecuritySettings(key_file=str(key_file)),
        origins={"discord.token": "file", "discord.guild_ids": "file"},
    )


async def eventually(pred: Callable[[], Any], timeout: float = 5.0, what: str = "") -> None:  # noqa: ASYNC109
    """Poll `pred` (sync or async) until it holds: for state the fakes do not see."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = pred()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or pred}")
        await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def open_world(
    tmp: Path,
    *,
    cogs: Sequence[str] = COGS,
    plex: bool = True,
    admin_channel: bool = False,
    **sections: Any,
) -> AsyncIterator[World]:
    """Start every fake and the real bot; `plex=True` stores a configured Plex setup.

    `admin_channel=True` stores the admin channel as `/setup channel` would.
    `sections` replace whole settings sections, e.g. `scan=ScanSettings(...)`
    or `database=DatabaseSettings(url=...)` for a database that outlives a bot.
    Tests use the `world` fixture (tests/e2e/conftest.py), which also checks
    that the bot logged no error.
    """
    async with (
        FakeDiscord() as fd, FakePlex() as pms, FakePlexTV() as tv, FakeAudible() as aud,
        empty_database() as database_url,
    ):
        guild = fd.add_guild("Books")
        channel = fd.add_channel(guild, "earmark-admin")
        alice = fd.add_member(guild, "alice")
        bob = fd.add_member(guild, "bob")
        boss = fd.add_member(guild, "boss", manage_guild=True)
        settings = dataclasses.replace(
            make_settings(
                tmp, guild.id, tv_url=tv.url, audible_url=aud.url, database_url=database_url
            ),
            **sections,
        )
        runtime = Runtime(settings)
        await runtime.open()
        world = World(
            fd=fd, pms=pms, tv=tv, audible=aud, runtime=runtime,
            bot=EarmarkBot(runtime, cogs=cogs), guild=guild,
            admin_channel_id=channel.id, alice=alice, bob=bob, boss=boss,
        )
        if plex:
            await world.configure_plex()
        if admin_channel:
            await runtime.store.set(ADMIN_CHANNEL, str(channel.id))
        try:
            await fd.start_bot(world.bot)
            yield world
        finally:
            await fd.stop_bot()
            await runtime.close()
