"""Scheduled scans: the recently-added poll and the full scan, as `tasks.loop` jobs.

Both call the one scan service that `/admin scan` and the CLI use. The jobs
wait until the bot is ready, skip quietly while Plex is not set up, log and
survive every error (the loop must keep running), and never start a scan
while another covers it. After each scan the notification worker is kicked,
so "your book is in Plex" goes out at once, and the admin posts of the
requests it made available are refreshed, with those of requests a scan in
another process (`python -m bot scan`) made available: at start and after
each scheduled scan, so within one poll interval.

Nothing fails silently: a scan skipped because Plex is not set up (or its
token cannot be decrypted: the key was replaced) and the first failure of a
streak are told once in the admin channel; a job whose loop dies on an
unexpected error is reported and started again after `restart_delay`.

Timing: the first poll runs one interval after start (not at start, where it
would race whatever the admin does first). The first full scan runs when the
last complete one (`core.library.query.last_full_scan`) is an interval old, so
restarts do not postpone it forever. A mirror that was never fully scanned
gets a full scan instead of a poll: a poll of an empty mirror would page
through the whole library fetching folders one book at a time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from discord.ext import commands, tasks

from bot.app import EarmarkBot
from cogs._admin_channel import tell_admins
from cogs._approval import catch_up_posts, refresh_posts
from cogs._scan_text import MODE_NAME, failure_text
from core.config_store import undecryptable_message, undecryptable_secrets
from core.crypto import key_source
from core.errors import PlexNotConfigured
from core.library import ScanMode, ScanSummary
from core.library import query as lib
from core.plex import PlexError

log = logging.getLogger(__name__)

#: Seconds after start before the first full scan of a stale or never-scanned mirror.
STARTUP_GRACE = 60.0
#: Seconds a stopping scheduler waits for work that must not be cut (a database write).
STOP_GRACE = 5.0
#: Seconds before a job whose loop died is started again.
RESTART_DELAY = 60.0


@dataclass(slots=True)
class JobStats:
    """What one job did, for the log, `/admin` and tests."""

    runs: int = 0
    skipped: int = 0
    failures: int = 0
    last_error: str | None = None
    last_summary: ScanSummary | None = None
    last_run_at: datetime | None = None
    restarts: int = 0


def first_full_delay(
    last_full: datetime | None, now: datetime, every: float, *, grace: float = STARTUP_GRACE
) -> float:
    """Seconds until the first scheduled full scan after a start."""
    grace = min(grace, every)
    if last_full is None:
        return grace
    due = last_full + timedelta(seconds=every)
    return max(grace, (due - now).total_seconds())


class Scheduler(commands.Cog, name="Scheduler"):
    """Runs the recently-added poll and the full scan on their intervals."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.stats: dict[ScanMode, JobStats] = {"recent": JobStats(), "full": JobStats()}
        self.restart_delay = RESTART_DELAY
        self._fully_scanned = False
        self._told: dict[str, str] = {}  # what the admins were last told, per topic
        self._restarts: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()
        scan = self.runtime.settings.scan
        self.recent_poll.change_interval(minutes=scan.recently_added_minutes)
        self.full_scan.change_interval(hours=scan.full_scan_hours)

    async def cog_load(self) -> None:
        self.recent_poll.start()
        self.full_scan.start()

    async def cog_unload(self) -> None:
        if self._background:  # let a post catch-up finish its database write
            await asyncio.wait(set(self._background), timeout=STOP_GRACE)
        for task in self._restarts:
            task.cancel()
        self.recent_poll.cancel()
        self.full_scan.cancel()

    def _loop(self, job: ScanMode) -> tasks.Loop[Any]:
        return self.recent_poll if job == "recent" else self.full_scan

    # ----- the jobs -----------------------------------------------------------------------

    @tasks.loop(minutes=5)
    async def recent_poll(self) -> None:
        await self.run_scan("recent")

    @tasks.loop(hours=6)
    async def full_scan(self) -> None:
        await self.run_scan("full")

    @recent_poll.error
    async def _recent_died(self, error: BaseException) -> None:
        await self._job_died("recent", error)

    @full_scan.error
    async def _full_died(self, error: BaseException) -> None:
        await self._job_died("full", error)

    async def _job_died(self, job: ScanMode, error: BaseException) -> None:
        """A loop stopped on an unexpected error: report it and start it again later."""
        stats = self.stats[job]
        stats.failures += 1
        stats.last_error = f"{type(error).__name__}: {error}"
        log.error("the scheduled %s scan job stopped", job, exc_info=error)
        await self._tell_once(
            f"died:{job}",
            f"⚠️ The scheduled {MODE_NAME[job].lower()} stopped on an unexpected error "
            f"({type(error).__name__}); it starts again in {self.restart_delay:.0f} s. "
            "The log has the details.",
        )
        task = asyncio.create_task(self._restart(job), name=f"earmark-restart-{job}")
        self._restarts.add(task)
        task.add_done_callback(self._restarts.discard)

    async def _restart(self, job: ScanMode) -> None:
        await asyncio.sleep(self.restart_delay)
        loop = self._loop(job)
        dying = loop.get_task()
        if dying is not None:
            if not dying.done():  # the dead loop's task is still winding down
                await asyncio.wait([dying])
            if not dying.cancelled():
                dying.exception()  # already reported by _job_died; mark it retrieved
        self.stats[job].restarts += 1
        self._told.pop(f"died:{job}", None)
        log.info("restarting the scheduled %s scan job", job)
        loop.start()

    async def _tell_once(self, topic: str, text: str) -> None:
        """Tell the admins `text` unless it is what they were last told on `topic`."""
        if self._told.get(topic) == text:
            return
        self._told[topic] = text
        await tell_admins(self.bot, text)

    async def _skipped(self, job: ScanMode, err: PlexNotConfigured) -> None:
        reason = str(err)
        unreadable = await undecryptable_secrets(self.runtime.cipher)
        if unreadable:
            source = key_source(self.runtime.settings.security.key_file)
            reason = f"{undecryptable_message(unreadable, source)}. {reason}"
        log.info("scheduled %s scan skipped: %s", job, reason)
        await self._tell_once("skipped", f"⏸️ Scheduled scans are skipped: {reason}")

    @recent_poll.before_loop
    async def _before_recent(self) -> None:
        await self.bot.wait_until_ready()
        await self.sync_posts()  # what a CLI scan made available while the bot was down
        await asyncio.sleep(self.runtime.settings.scan.recently_added_minutes * 60)

    @full_scan.before_loop
    async def _before_full(self) -> None:
        await self.bot.wait_until_ready()
        every = self.runtime.settings.scan.full_scan_hours * 3600
        try:
            last = await lib.last_full_scan()
        except Exception:
            log.exception("could not read the last full scan time; scanning after the grace")
            last = None
        delay = first_full_delay(last, datetime.now(UTC), every)
        log.info("first scheduled full scan in %.0f s", delay)
        await asyncio.sleep(delay)

    # ----- one run ------------------------------------------------------------------------

    async def run_scan(self, job: ScanMode) -> ScanSummary | None:
        """One tick of a job: skip, scan, or log the failure; never raise."""
        stats = self.stats[job]
        scans = self.runtime.scans
        if (covering := scans.covering(job)) is not None:
            stats.skipped += 1
            log.debug("scheduled %s scan skipped: a %s scan is running", job, covering)
            return None
        stats.last_run_at = datetime.now(UTC)
        try:
            mode = await self._mode_for(job)
            summary = await scans.run(mode)
        except PlexNotConfigured as err:
            stats.skipped += 1
            await self._skipped(job, err)
            return None
        except PlexError as err:
            stats.failures += 1
            stats.last_error = f"{type(err).__name__}: {err}"
            log.warning("scheduled %s scan failed: %s", job, stats.last_error)
            await self._tell_once(
                f"failed:{job}",
                f"Scheduled: {failure_text(job, err)}",
            )
            return None
        except Exception as err:
            stats.failures += 1
            stats.last_error = f"{type(err).__name__}: {err}"
            log.exception("scheduled %s scan failed", job)
            return None
        stats.runs += 1
        for topic in ("skipped", f"failed:{job}"):
            self._told.pop(topic, None)  # a later failure is news again
        stats.last_summary = summary
        stats.last_error = None
        if summary.mode == "full" and summary.complete:
            self._fully_scanned = True
        if summary.matched_requests:
            log.info("scheduled %s scan made %d requests available", job,
                     summary.matched_requests)
        self.bot.kick_outbox()
        await self.sync_posts(summary.matched_request_ids)
        return summary

    async def sync_posts(self, matched: list[int] | None = None) -> None:
        """Admin posts follow their requests: this scan's matches, then other processes'.

        Its own task: a stop during it waits for it (`cog_unload`) instead of
        cancelling a database write half-way.
        """
        task = asyncio.create_task(self._sync_posts(matched), name="earmark-sync-posts")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        await asyncio.shield(task)

    async def _sync_posts(self, matched: list[int] | None) -> None:
        try:
            await refresh_posts(self.bot, matched or [])
            await catch_up_posts(self.bot, skip=matched or [])
        except Exception:  # a post is a view of the request: never stop the job for it
            log.exception("could not refresh the admin posts")

    async def _mode_for(self, job: ScanMode) -> ScanMode:
        """A poll becomes a full scan until the mirror has had one complete full scan."""
        if job == "full" or self._fully_scanned:
            return job
        if await lib.last_full_scan() is not None:
            self._fully_scanned = True
            return job
        log.info("the library mirror was never fully scanned: running a full scan instead")
        return "full"


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(Scheduler(bot))
