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
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.checks import in_home_guild
from bot.config import Settings
from bot.health import HealthWriter
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
    "cogs.fulfil",
    "cogs.http_api",  # the inbound API; idle unless [http] listen is set
    "cogs.follow",
)
TREE_HASH_KEY = "discord.tree_hash"
#: Names discord.py gives the tasks that run command, button and modal handlers.
HANDLER_TASKS = ("CommandTree-invoker", "discord-ui-")
HANDLER_GRACE = 5.0  # seconds a stopping bot lets running handlers finish
PUBLIC_BOT_WARNING = (
    "the bot is public: anyone can add it to their server (Earmark leaves such servers at "
    "once). Turn off 'Public Bot' in the Developer Portal, under Bot."
)
NO_GUILDS = (
    "error: no Discord server configured: set [discord] guild_ids in {path} (or "
    "EARMARK_DISCORD_GUILD_IDS) to your server's id. In Discord: Settings > Advanced > "
    "Developer Mode on, then right-click your server > Copy Server ID."
)
#: The event that wakes the notification worker (`cogs.notify` listens for it).
OUTBOX_EVENT = "earmark_outbox"


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
        self.runtime: Runtime = runtime
        self._cog_names = tuple(cogs)
        self._owns_runtime = False  # close only what this bot opened
        self._identity_task: asyncio.Task[str | None] | None = None
        self._health: HealthWriter | None = None

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    def kick_outbox(self) -> None:
        """New outbox rows were queued: wake the delivery worker, if it is loaded.

        An event rather than a call into the cog: `load_extension` executes the
        cog module afresh, so a class imported elsewhere is not the loaded one.
        """
        self.dispatch(OUTBOX_EVENT)

    def is_home(self, guild_id: int | None) -> bool:
        """One of the servers Earmark belongs to (`[discord] guild_ids`)."""
        return in_home_guild(guild_id, self.settings.discord.guild_ids)

    async def setup_hook(self) -> None:
        if not self.runtime.is_open:
            await self.runtime.open()
            self._owns_runtime = True
        # Not awaited: a slow Plex server must not hold up the connection to Discord.
        self._identity_task = asyncio.create_task(self.runtime.ensure_machine_identifier())
        for name in self._cog_names:
            await self.load_extension(name)
        await self.sync_tree()
        await self._warn_if_public()
        if self.settings.health.file:  # the heartbeat of `python -m bot health` (Docker)
            self._health = HealthWriter(self, self.settings.health.file)
            self._health.start()

    async def sync_tree(self) -> list[str]:
        """Sync commands to each configured guild, never globally; skip unchanged trees.

        Global commands would show in every server the bot is added to, so the
        global list is kept empty (an older release synced there).
        """
        synced: list[str] = []
        for guild_id in self.settings.discord.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            payload = [cmd.to_dict(self.tree) for cmd in self.tree.get_commands(guild=guild)]
            key = f"{TREE_HASH_KEY}.{guild_id}"
            digest = await self._changed(key, payload)
            if digest is None:
                continue
            await self.tree.sync(guild=guild)
            await self.runtime.store.set(key, digest)
            synced.append(key)
            log.info("synced %d commands to guild %s", len(payload), guild_id)
        key = f"{TREE_HASH_KEY}.global"
        digest = await self._changed(key, [])
        if digest is not None and self.application_id is not None:
            await self.http.bulk_upsert_global_commands(self.application_id, payload=[])
            await self.runtime.store.set(key, digest)
            synced.append(key)
            log.info("cleared global commands: Earmark's commands live in its servers only")
        return synced

    async def _changed(self, key: str, payload: list[dict[str, Any]]) -> str | None:
        """The digest to store once `payload` is synced; None when it was synced before."""
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        if await self.runtime.store.get(key) == digest:
            log.info("command tree unchanged for %s; not syncing", key)
            return None
        return digest

    async def _warn_if_public(self) -> None:
        """A public bot can be added to any server by anyone: say how to turn that off."""
        try:
            info = await self.application_info()
        except discord.HTTPException as err:
            log.info("could not read the application's settings: %s", err.status)
            return
        if info.bot_public:
            log.warning(PUBLIC_BOT_WARNING)

    async def on_ready(self) -> None:
        """Leave every server that is not Earmark's (it may have been added while offline)."""
        for guild in list(self.guilds):
            await self._leave_if_foreign(guild, "found in")

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._leave_if_foreign(guild, "added to")

    async def _leave_if_foreign(self, guild: discord.Guild, how: str) -> None:
        if self.is_home(guild.id):
            return
        log.warning(
            "Earmark was %s the server %s (%s), which is not in [discord] guild_ids: leaving it",
            how, guild.name, guild.id,
        )
        try:
            await guild.leave()
        except discord.HTTPException as err:
            log.error("could not leave the server %s: %s", guild.id, err)

    async def _finish_handlers(self, grace: float) -> None:
        """Let commands and buttons in flight finish before the session and database close.

        Otherwise a stop (SIGTERM, a restart) in the middle of a command fails it
        with "Session is closed" or a closed database, after the user was told
        it was being worked on.
        """
        running = _handlers_running()
        if not running:
            return
        log.info("waiting up to %.0f s for %d interaction(s) in flight", grace, len(running))
        _done, late = await asyncio.wait(running, timeout=grace)
        if late:
            log.warning("stopping with %d interaction(s) still running", len(late))

    async def close(self) -> None:
        task = self._identity_task
        if task is not None and not task.done():
            task.cancel()
        if self._health is not None:
            await self._health.stop()
        await self._finish_handlers(HANDLER_GRACE)
        try:
            await super().close()
        finally:
            if self._owns_runtime:
                await self.runtime.close()


def _handlers_running() -> list[asyncio.Task[object]]:
    """discord.py's tasks that are answering an interaction right now (it does not track them)."""
    current = asyncio.current_task()
    return [
        task for task in asyncio.all_tasks()
        if task is not current and not task.done() and task.get_name().startswith(HANDLER_TASKS)
        and not task.get_name().startswith("discord-ui-view-timeout")
    ]


#: The interaction type of this bot's slash commands.
Interaction = discord.Interaction[EarmarkBot]


def bot_of(interaction: discord.Interaction) -> EarmarkBot:
    """The bot behind an interaction, typed, for UI callbacks (generic over the client)."""
    client = interaction.client
    if not isinstance(client, EarmarkBot):
        raise TypeError(f"{type(client).__name__} is not an Earmark bot")
    return client


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
            f"{settings.path or 'config.toml'} or EARMARK_DISCORD_TOKEN",
            file=sys.stderr,
        )
        return 2
    if not settings.discord.guild_ids:
        print(NO_GUILDS.format(path=settings.path or "config.toml"), file=sys.stderr)
        return 2
    return asyncio.run(_serve(settings))
