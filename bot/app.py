"""The bot process: `EarmarkBot` and `run_bot` (what `python -m bot run` calls).

`setup_hook` loads the cogs and syncs the command tree to the configured
guilds, skipping the sync when the tree is unchanged since the last start
(Discord rate-limits syncs). The runtime (database, HTTP session) is opened
before connecting so a bad database is a one-line error, and closed on
shutdown, SIGINT or SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import sys
from collections.abc import Sequence

import aiohttp
import discord
from discord.ext import commands

from bot.config import Settings
from bot.render import NO_PINGS
from bot.runtime import Runtime
from bot.tree import EarmarkTree
from core.config_store import undecryptable_message, undecryptable_secrets
from core.crypto import CryptoError, key_source
from core.db import DatabaseError
from core.redact import redact

log = logging.getLogger(__name__)

COGS: tuple[str, ...] = (
    "cogs.setup",
    "cogs.admin",
    "cogs.login",
    "cogs.requests",
    "cogs.library",
    "cogs.scheduler",
    "cogs.notify",
    "cogs.recommend",
)
TREE_HASH_KEY = "discord.tree_hash"


class EarmarkBot(commands.Bot):
    """The Discord client: cogs over one `Runtime` of core services."""

    def __init__(self, runtime: Runtime, *, cogs: Sequence[str] = COGS) -> None:
        # Earmark never joins voice: silence discord.py's warnings about voice libraries.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            tree_cls=EarmarkTree,
            allowed_mentions=NO_PINGS,
            help_command=None,
        )
        self.runtime = runtime
        self._cog_names = tuple(cogs)
        self._owns_runtime = False  # close only what this bot opened

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    async def setup_hook(self) -> None:
        if self.runtime.session is None:
            await self.runtime.open()
            self._owns_runtime = True
        # Not awaited: a slow Plex server must not hold up the connection to Discord.
        self._identity_task = asyncio.create_task(self.runtime.ensure_machine_identifier())
        for name in self._cog_names:
            await self.load_extension(name)
        await self.sync_tree()

    async def sync_tree(self) -> list[str]:
        """Sync commands to each configured guild (or globally); skip unchanged trees."""
        guild_ids = self.settings.discord.guild_ids
        targets: list[discord.Object | None] = (
            [discord.Object(id=g) for g in guild_ids] if guild_ids else [None]
        )
        synced: list[str] = []
        for guild in targets:
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands(guild=guild)]
            digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
            key = f"{TREE_HASH_KEY}.{guild.id if guild else 'global'}"
            if await self.runtime.store.get(key) == digest:
                log.info("command tree unchanged for %s; not syncing", key)
                continue
            await self.tree.sync(guild=guild)
            await self.runtime.store.set(key, digest)
            synced.append(key)
            log.info("synced %d commands to %s", len(payload), key)
        return synced

    async def close(self) -> None:
        task = getattr(self, "_identity_task", None)
        if task is not None and not task.done():
            task.cancel()
        try:
            await super().close()
        finally:
            if self._owns_runtime:
                await self.runtime.close()


async def _serve(settings: Settings) -> int:
    try:
        runtime = Runtime(settings)
    except CryptoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        await runtime.open()
    except (DatabaseError, CryptoError) as err:
        await runtime.close()
        print(f"error: {err}", file=sys.stderr)
        return 2
    unreadable = await undecryptable_secrets(runtime.cipher)
    if unreadable:
        key = key_source(settings.security.key_file)
        log.warning("%s", undecryptable_message(unreadable, key))
    bot = EarmarkBot(runtime)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(bot.close()))
    try:
        await bot.start(settings.discord.token)
    except discord.LoginFailure:
        print("error: Discord refused the bot token ([discord] token)", file=sys.stderr)
        return 2
    except (aiohttp.ClientError, OSError) as err:
        print(f"error: cannot reach Discord: {redact(str(err))}", file=sys.stderr)
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
        if not bot.is_closed():
            await bot.close()
        await runtime.close()
    log.info("stopped")
    return 0


def run_bot(settings: Settings) -> int:
    """Run until stopped; a missing token or database is a one-line error (exit 2)."""
    if not settings.discord.token:
        print(
            "error: no Discord token: set [discord] token in "
            f"{settings.path} or EARMARK_DISCORD_TOKEN",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(_serve(settings))
