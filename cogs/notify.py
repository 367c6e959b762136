"""The delivery worker: drains the notification outbox into Discord DMs.

Producers (scans, approve/deny, status changes) only insert outbox rows
(`core.notify`); this worker is the one place that talks to Discord about
them. Rules:

- one DM with an embed per row; a refused DM (closed DMs, unknown user) is
  posted in the admin channel instead, mentioning only that user;
- other Discord or network errors count a try and retry later with the
  outbox's backoff, so a Discord outage loses nothing;
- a row is marked sent right after its send succeeds, and only one drain runs
  at a time, so nothing is sent twice; stopping waits for the row in flight;
- undelivered rows survive a restart: the worker drains once the bot is
  ready, then on every `kick()` (scans and decisions call it), when a retry
  falls due, and every `drain_interval` seconds in any case.

Other cogs wake it with `bot.kick_outbox()` (an event, `OUTBOX_EVENT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.app import OUTBOX_EVENT, EarmarkBot
from bot.render import NO_PINGS
from cogs._embeds import request_embed, status_label
from core import notify
from core.config_store import ADMIN_CHANNEL
from core.models import Notification

log = logging.getLogger(__name__)

COG_NAME = "Notify"
SEND_TIMEOUT = 20.0  # seconds for one DM; a hung request must not stall the outbox
STOP_GRACE = 5.0  # seconds a stopping bot waits for the row in flight
MAX_ROUNDS = 200  # batches per drain; the rest waits for the next wake-up

#: Per kind: the plain message line (no metadata in it) and the embed heading.
TEXTS: dict[str, tuple[str, str]] = {
    notify.KIND_AVAILABLE: (
        "📚 A book you asked for is now in Plex.",
        "✅ **It is now in Plex.** Happy listening!",
    ),
    notify.KIND_APPROVED: (
        "👍 A book you asked for was approved.",
        "👍 **Approved.** You will get a message when it is in Plex.",
    ),
    notify.KIND_DENIED: (
        "⛔ A book you asked for was denied.",
        "⛔ **Denied** by an admin.",
    ),
    notify.KIND_FAILED: (
        "❌ Earmark could not get a book you asked for.",
        "❌ **Failed.** The admins know; they may try again.",
    ),
}
FALLBACK_NOTE = "(I couldn't send you a DM, so I'm telling you here.)"
DELIVERY_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


def texts(kind: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """The message line and the embed heading for one outbox row."""
    if kind in TEXTS:
        return TEXTS[kind]
    status = payload.get("status")
    now = f"Now: {status_label(str(status))}" if status else "It has news."
    return "ℹ️ A book you asked for has an update.", f"ℹ️ **Update.** {now}"


class Refused(Exception):
    """Discord will not deliver a DM to this user (closed DMs, unknown user)."""


@dataclass(slots=True)
class WorkerStats:
    """Counters for logs, `/admin` and tests."""

    drains: int = 0
    sent: int = 0
    fallbacks: int = 0
    failures: int = 0


class Notify(commands.Cog, name=COG_NAME):
    """Delivers the outbox; never sends a row twice."""

    #: Seconds between drains when nobody kicks (retries fall due meanwhile).
    drain_interval: float = 30.0
    batch_size: int = 50

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.stats = WorkerStats()
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._stopping = False
        self._retry_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None

    # ----- lifecycle ----------------------------------------------------------------------

    async def cog_load(self) -> None:
        self._task = asyncio.create_task(self._run(), name="earmark-notify")

    async def cog_unload(self) -> None:
        """Let the row in flight finish (so it is marked sent), then stop."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        if self._drain_lock.locked():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE), self._drain_lock:
                    pass
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def kick(self) -> None:
        """Drain soon (new rows were queued)."""
        self._wake.set()

    @commands.Cog.listener(f"on_{OUTBOX_EVENT}")
    async def on_outbox(self) -> None:
        self.kick()

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        log.info("notification worker started (%d undelivered)", await notify.pending_count())
        while not self._stopping:
            self._wake.clear()
            try:
                await self.drain()
            except Exception:  # the database or a bug; the loop must live on
                log.exception("notification drain failed; retrying later")
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._sleep_seconds()):
                    await self._wake.wait()

    def _sleep_seconds(self) -> float:
        wait = self.drain_interval
        if self._retry_at is not None:
            due_in = (self._retry_at - datetime.now(UTC)).total_seconds()
            wait = min(wait, max(due_in, 0.01))
        return wait

    # ----- draining -----------------------------------------------------------------------

    async def drain(self) -> int:
        """Deliver every due row once; returns how many were delivered."""
        async with self._drain_lock:
            self.stats.drains += 1
            if self._retry_at is not None and self._retry_at <= datetime.now(UTC):
                self._retry_at = None
            delivered = 0
            for _ in range(MAX_ROUNDS):
                notes = await notify.due(limit=self.batch_size)
                if not notes:
                    break
                for note in notes:
                    if self._stopping or self.bot.is_closed():
                        return delivered
                    delivered += await self._deliver(note)
            return delivered

    async def _deliver(self, note: Notification) -> bool:
        user_id = note.user_id
        payload: Mapping[str, Any] = note.payload or {}
        try:
            line, heading = texts(note.kind, payload)
            embed = request_embed(payload, heading=heading)
            try:
                await self._send_dm(user_id, line, embed)
            except Refused as refused:
                return await self._fallback(note, user_id, line, embed, str(refused))
        except DELIVERY_ERRORS as err:
            await self._failed(note, f"DM failed: {_describe(err)}")
            return False
        except Exception as err:
            log.exception("notification %s could not be delivered", note.id)
            await self._failed(note, f"bug: {_describe(err)}")
            return False
        await notify.mark_sent(note)
        self.stats.sent += 1
        log.info("notification %s (%s) sent to %s by DM", note.id, note.kind, user_id)
        return True

    async def _send_dm(self, user_id: int, line: str, embed: discord.Embed) -> None:
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                channel = await self.bot.create_dm(discord.Object(id=user_id))
                await channel.send(content=line, embed=embed, allowed_mentions=NO_PINGS)
        except (discord.Forbidden, discord.NotFound) as err:
            raise Refused(_describe(err)) from err

    async def _fallback(
        self, note: Notification, user_id: int, line: str, embed: discord.Embed, why: str
    ) -> bool:
        """The user's DMs are closed: mention them (and only them) in the admin channel."""
        channel_id = await self.runtime.store.get(ADMIN_CHANNEL)
        if not channel_id or not channel_id.isdigit():
            await self._failed(
                note, f"DM refused ({why}) and no admin channel is set (/setup channel)"
            )
            return False
        mention = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(id=user_id)], replied_user=False
        )
        channel = self.bot.get_partial_messageable(int(channel_id))
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await channel.send(
                    content=f"<@{user_id}> {line} {FALLBACK_NOTE}",
                    embed=embed,
                    allowed_mentions=mention,
                )
        except DELIVERY_ERRORS as err:
            await self._failed(note, f"DM refused ({why}); admin channel failed: {_describe(err)}")
            return False
        await notify.mark_sent(note)
        self.stats.fallbacks += 1
        log.info("notification %s: DM to %s refused (%s); posted in the admin channel",
                 note.id, user_id, why)
        return True

    async def _failed(self, note: Notification, error: str) -> None:
        await notify.mark_failed(note, error)
        self.stats.failures += 1
        log.warning("notification %s try %d failed: %s", note.id, note.attempts, error)
        retry = note.next_attempt_at
        if note.attempts >= notify.MAX_ATTEMPTS or retry is None:
            return
        if self._retry_at is None or retry < self._retry_at:
            self._retry_at = retry


def _describe(err: BaseException) -> str:
    if isinstance(err, discord.HTTPException):
        return f"{err.status} {err.code} {err.text}".strip()
    return f"{type(err).__name__}: {err}".rstrip(": ")


def kick(bot: EarmarkBot) -> None:
    """Wake the worker of this bot (tests use it; cogs call `bot.kick_outbox()`)."""
    bot.kick_outbox()


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(Notify(bot))
