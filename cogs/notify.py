"""The delivery worker: drains the notification outbox into Discord DMs.

Producers (scans, approve/deny, status changes) only insert outbox rows
(`core.notify`); this worker is the one place that talks to Discord about
them. Rules:

- one DM with an embed per row; a refused DM (closed DMs, unknown user) is
  posted in the admin channel instead, mentioning only that user; a DM that
  Discord calls malformed (400) is sent once more as plain text, then falls
  back the same way;
- every send of a row carries the row's nonce (`notify.nonce`), so however
  often a row is sent (slow answers, a crash between send and mark), Discord
  creates one message;
- discord.py's HTTP layer is never cancelled from outside: its rate-limit
  sleeps hold library-wide locks (a cancelled global 429 sleep jams every
  later request). A row is delivered in a task of its own; the drain waits
  `SEND_TIMEOUT` for it, then pauses (rows stay in order) and resumes when
  that task ends, without sending it again;
- other Discord or network errors count a try and retry later with the
  outbox's capped backoff, forever; after a day the admins are told (once);
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
from bot.render import NO_PINGS, safe
from cogs._cards import Cards
from cogs._embeds import status_label
from cogs._follow import (
    PLAIN_RELEASE,
    follow_buttons,
    release_books,
    release_embed,
    release_line,
    release_view,
)
from cogs._fulfil_buttons import opt_out_view, register_opt_out, unregister_opt_out
from core import notify
from core.config_store import ADMIN_CHANNEL
from core.fulfil.stages import KIND_DOWNLOAD_STARTED
from core.models import Notification

log = logging.getLogger(__name__)

COG_NAME = "Notify"
SEND_TIMEOUT = 20.0  # seconds the drain waits for a row before pausing (the send goes on)
STOP_GRACE = 5.0  # seconds a stopping bot waits for the row in flight
MAX_ROUNDS = 200  # batches per drain; the rest waits for the next wake-up
LINE_TITLE = 200  # a DM's line names the book; the card below has the rest
LINE_GUILD = 100

#: Per kind: the line of the plain fallback (no metadata in it: what Discord refused had some).
PLAIN_LINES: dict[str, str] = {
    notify.KIND_AVAILABLE: "📚 A book you asked for is now in Plex.",
    notify.KIND_APPROVED: "👍 A book you asked for was approved.",
    notify.KIND_DENIED: "⛔ A book you asked for was denied.",
    notify.KIND_FAILED: "❌ Earmark could not get a book you asked for.",
    KIND_DOWNLOAD_STARTED: "⬇️ A book you asked for is downloading.",
}
PLAIN_UPDATE = "ℹ️ A book you asked for has an update."
#: Per kind: the DM's one line; `{book}` is "**Title**, the book you asked for on **Server**".
LINES: dict[str, str] = {
    notify.KIND_AVAILABLE: "✅ {book}, is now in Plex. Happy listening!",
    notify.KIND_APPROVED: "👍 {book}, was approved. You'll get a message when it is in Plex.",
    notify.KIND_DENIED: "⛔ {book}, was denied.",
    notify.KIND_FAILED: "❌ Earmark could not get {book}. The admins know; they may try again.",
    KIND_DOWNLOAD_STARTED: "⬇️ {book}, is downloading now. You'll get a message when it is in "
    "Plex.",
}
#: Per kind: the next step, under the card's title (only where there is one to take).
NEXT_STEPS: dict[str, str] = {
    notify.KIND_DENIED: "You can request another edition with `/request`, or ask the admins.",
}
FALLBACK_NOTE = "(I couldn't send you a DM, so I'm telling you here.)"
PLAIN_HINT = "`/requests` shows the details."
#: Delivery tasks still running (one at a time per worker; kept alive past `cog_unload`).
_DELIVERIES: set[asyncio.Task[bool]] = set()
DELIVERY_ERRORS = (discord.HTTPException, aiohttp.ClientError, OSError, TimeoutError)


def dm_line(
    kind: str, payload: Mapping[str, Any], user_id: int, guild_name: str | None
) -> str:
    """The DM's one line: what happened, to which book, on which server.

    Someone who joined another person's request reads "the book you also
    asked for" (payloads queued before `requester_id` existed read as the
    requester's).
    """
    title = safe(payload.get("title"), LINE_TITLE) or "a book"
    requester = payload.get("requester_id")
    also = " also" if isinstance(requester, int) and requester != user_id else ""
    where = f" on **{safe(guild_name, LINE_GUILD)}**" if guild_name else ""
    book = f"**{title}**, the book you{also} asked for{where}"
    if kind in LINES:
        return LINES[kind].format(book=book)  # values are not parsed again: braces stay text
    status = payload.get("status")
    now = f": now {status_label(str(status))}" if status else ""
    return f"ℹ️ {book}, has an update{now}."


def plain_text(kind: str, payload: Mapping[str, Any]) -> str:
    """The minimal version of a message: no embed, no metadata (what Discord refused)."""
    line = PLAIN_LINES.get(kind, PLAIN_UPDATE)
    number = payload.get("request_id")
    about = f" (request #{int(number)})" if isinstance(number, int) else ""
    return f"{line}{about} {PLAIN_HINT}"


def undelivered_text(payload: Mapping[str, Any]) -> str:
    """The admins' note about a row that failed for a day (no metadata: ids only)."""
    number = payload.get("request_id")
    about = f" about request #{int(number)}" if isinstance(number, int) else ""
    error = str(payload.get("last_error") or "unknown error")[:300]
    return (
        f"⚠️ I could not deliver notification #{payload.get('note_id')} "
        f"({payload.get('kind')}){about} since {payload.get('since')}, after "
        f"{payload.get('attempts')} tries. Last error: {discord.utils.escape_markdown(error)}. "
        "I keep trying; the message stays queued."
    )


@dataclass(frozen=True, slots=True)
class Message:
    """One DM: its line, the book's card, the plain fallback and the Listen button."""

    line: str
    embed: discord.Embed
    plain: str
    view: discord.ui.View | None = None


class Refused(Exception):
    """Discord will not deliver a DM to this user (closed DMs, unknown user)."""


@dataclass(slots=True)
class WorkerStats:
    """Counters for logs, `/admin` and tests."""

    drains: int = 0
    sent: int = 0
    fallbacks: int = 0
    plain: int = 0
    failures: int = 0
    reports: int = 0
    paused: int = 0


class Notify(commands.Cog, name=COG_NAME):
    """Delivers the outbox; never sends a row twice."""

    #: Seconds between drains when nobody kicks (retries fall due meanwhile).
    drain_interval: float = 30.0
    batch_size: int = 50
    #: Seconds a drain waits for one row before pausing (tests shorten it).
    send_timeout: float = SEND_TIMEOUT

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.stats = WorkerStats()
        self.cards = Cards(bot)
        self._wake = asyncio.Event()
        self._drain_lock = asyncio.Lock()
        self._stopping = False
        self._retry_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        #: The row being delivered when the drain stopped waiting for it (never cancelled).
        self._slow: asyncio.Task[bool] | None = None

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
        """Deliver every due row once, in order; returns how many were delivered."""
        async with self._drain_lock:
            self.stats.drains += 1
            if self._retry_at is not None and self._retry_at <= datetime.now(UTC):
                self._retry_at = None
            delivered = 0
            if self._slow is not None:  # a row from an earlier drain is still on its way
                task, self._slow = self._slow, None
                if not await self._finished(task):
                    return 0
                delivered += task.result()
            for _ in range(MAX_ROUNDS):
                notes = await notify.due(limit=self.batch_size)
                if not notes:
                    break
                for note in notes:
                    if self._stopping or self.bot.is_closed():
                        return delivered
                    task = asyncio.create_task(self._deliver(note), name=f"earmark-note-{note.id}")
                    _DELIVERIES.add(task)  # a strong reference, even past an unloaded cog
                    task.add_done_callback(_DELIVERIES.discard)
                    if not await self._finished(task):
                        return delivered
                    delivered += task.result()
            return delivered

    async def _finished(self, task: asyncio.Task[bool]) -> bool:
        """Wait up to `send_timeout` without cancelling; False (and keep it) when still running.

        The rows behind it wait too, so they still arrive in order; the task's
        end wakes the worker, which then picks up where it stopped.
        """
        done, _ = await asyncio.wait({task}, timeout=self.send_timeout)
        if done:
            return True
        self._slow = task
        self.stats.paused += 1
        task.add_done_callback(lambda _: self._wake.set())
        log.warning("notification delivery is waiting for Discord (rate limit or slow answer); "
                    "the outbox pauses until it answers")
        return False

    async def _deliver(self, note: Notification) -> bool:
        """One row, start to end (send, fallback, mark); never raises."""
        try:
            if note.kind == notify.KIND_UNDELIVERED:
                return await self._report(note)
            return await self._deliver_dm(note)
        except Exception as err:  # the database or a bug: the worker must live on
            log.exception("notification %s could not be delivered", note.id)
            with contextlib.suppress(Exception):
                await self._failed(note, f"bug: {_describe(err)}")
            return False

    async def _deliver_dm(self, note: Notification) -> bool:
        user_id = note.user_id
        payload: Mapping[str, Any] = note.payload or {}
        message = await self._message(note, payload)
        try:
            await self._send_dm(user_id, message, notify.nonce(note, "dm"))
        except Refused as refused:
            return await self._fallback(note, user_id, message, str(refused))
        except DELIVERY_ERRORS as err:
            await self._failed(note, f"DM failed: {_describe(err)}")
            return False
        await notify.mark_sent(note)
        self.stats.sent += 1
        log.info("notification %s (%s) sent to %s by DM", note.id, note.kind, user_id)
        return True

    async def _message(
        self, note: Notification, payload: Mapping[str, Any]
    ) -> Message:
        """One line (what, which book, which server), the book's card, the Listen button."""
        if note.kind == notify.KIND_RELEASE:
            books = release_books(payload)
            return Message(release_line(books), release_embed(self.cards, books),
                           PLAIN_RELEASE, release_view(books))
        line = dm_line(note.kind, payload, note.user_id, self.cards.guild_name())
        embed = await self.cards.request(
            payload, heading=NEXT_STEPS.get(note.kind, ""), show_status=False
        )
        view = None
        if note.kind == notify.KIND_AVAILABLE:
            view = await self.cards.listen_view(await self.cards.rating_key_of(payload))
            view = await self._with_follow(view, note.user_id, payload)
        elif note.kind == KIND_DOWNLOAD_STARTED:
            view = opt_out_view(note.user_id)
        return Message(line, embed, plain_text(note.kind, payload), view)

    async def _with_follow(
        self, view: discord.ui.View | None, user_id: int, payload: Mapping[str, Any]
    ) -> discord.ui.View | None:
        """"Follow this series / author" under an "it's in Plex" DM, for its reader only."""
        asin = payload.get("asin")
        book = await self.cards.catalog_book(asin if isinstance(asin, str) else None)
        buttons = follow_buttons(user_id, book) if book else []
        if not buttons:
            return view
        view = view or discord.ui.View(timeout=None)
        for button in buttons:
            view.add_item(button)
        return view

    async def _send_dm(self, user_id: int, message: Message, nonce: str) -> None:
        """The DM (or its plain version); `Refused` when Discord will not take either."""
        try:
            channel = await self.bot.create_dm(discord.Object(id=user_id))
            await self._post(channel, message, nonce, NO_PINGS)
        except (discord.Forbidden, discord.NotFound) as err:
            raise Refused(_describe(err)) from err
        except discord.HTTPException as err:
            if err.status != 400:
                raise
            raise Refused(f"the plain version too: {_describe(err)}") from err

    async def _post(
        self,
        channel: discord.abc.Messageable,
        message: Message,
        nonce: str,
        mentions: discord.AllowedMentions,
    ) -> None:
        """Send with the embed; if Discord calls that malformed (400), send `plain` instead.

        Both carry the row's nonce: the refused one created nothing, and a
        resend of either returns the message Discord already has. The plain
        version has no button either: it must be the least Discord can refuse.
        """
        plain = message.plain
        extra: dict[str, Any] = {"view": message.view} if message.view is not None else {}
        try:
            await channel.send(
                content=message.line, embed=message.embed, allowed_mentions=mentions,
                nonce=nonce, **extra,
            )
        except discord.HTTPException as err:
            if err.status != 400:
                raise
            log.warning("Discord refused a notification as malformed (%s); sending it plain",
                        _describe(err))
            self.stats.plain += 1
            await channel.send(content=plain, allowed_mentions=mentions, nonce=nonce)

    async def _admin_channel(self) -> discord.PartialMessageable | None:
        channel_id = await self.runtime.store.get(ADMIN_CHANNEL)
        if not channel_id or not channel_id.isdigit():
            return None
        return self.bot.get_partial_messageable(int(channel_id))

    async def _fallback(
        self, note: Notification, user_id: int, message: Message, why: str
    ) -> bool:
        """The user's DMs are closed: mention them (and only them) in the admin channel."""
        channel = await self._admin_channel()
        if channel is None:
            await self._failed(
                note, f"DM refused ({why}) and no admin channel is set (/setup channel)"
            )
            return False
        mention = discord.AllowedMentions(
            everyone=False, roles=False, users=[discord.Object(id=user_id)], replied_user=False
        )
        try:
            here = Message(
                f"<@{user_id}> {message.line} {FALLBACK_NOTE}", message.embed,
                f"<@{user_id}> {message.plain} {FALLBACK_NOTE}", message.view,
            )
            await self._post(channel, here, notify.nonce(note, "admin"), mention)
        except DELIVERY_ERRORS as err:
            await self._failed(note, f"DM refused ({why}); admin channel failed: {_describe(err)}")
            return False
        await notify.mark_sent(note)
        self.stats.fallbacks += 1
        log.info("notification %s: DM to %s refused (%s); posted in the admin channel",
                 note.id, user_id, why)
        return True

    async def _report(self, note: Notification) -> bool:
        """Tell the admins about a row that failed for a day; the log when there is no channel."""
        payload: Mapping[str, Any] = note.payload or {}
        original = payload.get("note_id")
        if isinstance(original, int) and await notify.is_sent(original):
            await notify.mark_sent(note)  # delivered meanwhile: nothing to report
            return True
        text = undelivered_text(payload)
        channel = await self._admin_channel()
        if channel is None:
            log.error("%s (no admin channel is set: /setup channel)", text)
        else:
            try:
                await channel.send(content=text, allowed_mentions=NO_PINGS,
                                   nonce=notify.nonce(note, "admin"))
            except DELIVERY_ERRORS as err:
                await self._failed(note, f"admin channel failed: {_describe(err)}")
                return False
        await notify.mark_sent(note)
        self.stats.reports += 1
        return True

    async def _failed(self, note: Notification, error: str) -> None:
        reported = await notify.mark_failed(note, error)
        self.stats.failures += 1
        log.warning("notification %s try %d failed: %s", note.id, note.attempts, error)
        if reported:
            log.error("notification %s has failed since %s; the admins are told, it stays queued",
                      note.id, note.created_at)
        retry = note.next_attempt_at
        if retry is not None and (self._retry_at is None or retry < self._retry_at):
            self._retry_at = retry
        if reported:
            self._wake.set()


def _describe(err: BaseException) -> str:
    if isinstance(err, discord.HTTPException):
        return f"{err.status} {err.code} {err.text}".strip()
    return f"{type(err).__name__}: {err}".rstrip(": ")


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(Notify(bot))
    register_opt_out(bot)  # the "download started" DM's opt-out, on DMs sent before a restart


async def teardown(bot: EarmarkBot) -> None:
    unregister_opt_out(bot)
