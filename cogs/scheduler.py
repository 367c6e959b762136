"""Scheduled scans: the recently-added poll and the full scan, as `tasks.loop` jobs.

Both call the one scan service that `/admin scan` and the CLI use. The jobs
wait until the bot is ready, skip quietly while Plex is not set up, log and
survive every error (the loop must keep running), and never start a scan
while another covers it. After each scan the notification worker is kicked,
so "your book is in Plex" goes out at once.

Timing: the first poll runs one interval after start (not at start, where it
would race whatever the admin does first). The first full scan runs when the
last complete one (the newest `last_seen` stamp) is an interval old, so
restarts do not postpone it forever. A mirror that was never fully scanned
gets a full scan instead of a poll: a poll of an empty mirror would page
through the whole library fetching folders one book at a time.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from discord.ext import commands, tasks

from bot.app import EarmarkBot
from core.errors import PlexNotConfigured
from core.library import ScanMode, ScanSummary
from core.library import query as lib
from core.plex import PlexError

log = logging.getLogger(__name__)

#: Seconds after start before the first full scan of a stale or never-scanned mirror.
STARTUP_GRACE = 60.0


@dataclass(slots=True)
class JobStats:
    """What one job did, for the log, `/admin` and tests."""

    runs: int = 0
    skipped: int = 0
    failures: int = 0
    last_error: str | None = None
    last_summary: ScanSummary | None = None
    last_run_at: datetime | None = None


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
        self._fully_scanned = False
        scan = self.runtime.settings.scan
        self.recent_poll.change_interval(minutes=scan.recently_added_minutes)
        self.full_scan.change_interval(hours=scan.full_scan_hours)

    async def cog_load(self) -> None:
        self.recent_poll.start()
        self.full_scan.start()

    async def cog_unload(self) -> None:
        self.recent_poll.cancel()
        self.full_scan.cancel()

    # ----- the jobs -----------------------------------------------------------------------

    @tasks.loop(minutes=5)
    async def recent_poll(self) -> None:
        await self.run_scan("recent")

    @tasks.loop(hours=6)
    async def full_scan(self) -> None:
        await self.run_scan("full")

    @recent_poll.before_loop
    async def _before_recent(self) -> None:
        await self.bot.wait_until_ready()
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
            log.debug("scheduled %s scan skipped: %s", job, err)
            return None
        except PlexError as err:
            stats.failures += 1
            stats.last_error = f"{type(err).__name__}: {err}"
            log.warning("scheduled %s scan failed: %s", job, stats.last_error)
            return None
        except Exception as err:
            stats.failures += 1
            stats.last_error = f"{type(err).__name__}: {err}"
            log.exception("scheduled %s scan failed", job)
            return None
        stats.runs += 1
        stats.last_summary = summary
        stats.last_error = None
        if summary.mode == "full" and summary.complete:
            self._fully_scanned = True
        if summary.matched_requests:
            log.info("scheduled %s scan made %d requests available", job,
                     summary.matched_requests)
        self.bot.kick_outbox()
        return summary

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
