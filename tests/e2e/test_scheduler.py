"""The scheduled scans end to end: the polls run on their own, skip, survive and never overlap."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import ScanSettings
from core.library import ScanSummary, query
from core.models import BookRequest, PlexItem, RequestStatus, RequestSubscriber
from tests.e2e.world import World, eventually

COGS = ("cogs.scheduler", "cogs.notify")
TICK_MINUTES = 0.005  # a recently-added poll every 0.3 s

pytestmark = pytest.mark.world(
    cogs=COGS, scan=ScanSettings(recently_added_minutes=TICK_MINUTES, full_scan_hours=100)
)


def gone_from_mirror(title: str) -> Callable[[], Any]:
    async def check() -> bool:
        return not await PlexItem.filter(title=title).exists()

    return check


def scheduler(w: World) -> Any:
    cog = w.bot.get_cog("Scheduler")
    assert cog is not None
    return cog


async def test_recent_poll_runs_alone_and_dms_requester_and_subscriber(world: World) -> None:
    world.pms.add_album("The Martian", "Andy Weir")
    await world.runtime.scans.run("full")
    for person in (world.alice, world.bob):
        await world.link(person)
    req = await BookRequest.create(
        requester_id=world.alice.id, asin="B08G9PRS1K", title="Project Hail Mary",
        author="Andy Weir", status=RequestStatus.APPROVED,
    )
    await RequestSubscriber.create(request=req, user_id=world.bob.id)

    world.pms.add_album(
        "Project Hail Mary", "Andy Weir", narrators=["Ray Porter"],
        guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en",
    )
    # The notify worker drains every 30 s by default: DMs within 5 s show the scan kicked it.
    for person in (world.alice, world.bob):
        msg = await world.fd.wait_for_dm(person, timeout=5)
        assert "Project Hail Mary" in msg.text and "now in Plex" in msg.text
    await req.refresh_from_db()
    assert req.status == RequestStatus.AVAILABLE
    stats = scheduler(world).stats["recent"]
    assert stats.runs >= 1 and stats.last_summary.mode == "recent"


async def test_a_never_scanned_mirror_gets_a_full_scan(world: World) -> None:
    """A recently-added poll of an empty mirror would page through the whole library."""
    world.pms.add_album("Dune", "Frank Herbert")
    # The job's summary, not the scan's recorded end: that is written before the scan
    # finishes (it still matches requests), so the job may not have its summary yet.
    stats = scheduler(world).stats["recent"]
    await eventually(lambda: stats.last_summary is not None, what="a full scan")
    assert await query.last_full_scan() is not None
    assert await PlexItem.all().count() == 1
    summary = stats.last_summary
    assert isinstance(summary, ScanSummary) and summary.mode == "full"
    await eventually(lambda: scheduler(world).stats["recent"].runs >= 2, what="another poll")
    assert scheduler(world).stats["recent"].last_summary.mode == "recent"


@pytest.mark.world(plex=False)
async def test_skips_while_plex_is_not_configured(world: World) -> None:
    stats = scheduler(world).stats["recent"]
    await eventually(lambda: stats.skipped >= 2, what="two skipped ticks")
    assert stats.runs == 0 and stats.failures == 0
    world.pms.add_album("Dune", "Frank Herbert")
    await world.configure_plex()
    await eventually(lambda: stats.runs >= 1, what="a scan once Plex is set up")
    assert await PlexItem.filter(title="Dune").exists()


@pytest.mark.bot_errors(r"scheduled recent scan failed -- RuntimeError\('a bug in the scan'\)")
async def test_survives_plex_errors_and_bugs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cog = scheduler(world)
    stats = cog.stats["recent"]
    world.pms.add_album("Dune", "Frank Herbert")
    await eventually(lambda: stats.runs >= 1, what="a first scan")

    world.pms.fail_at_start = {0: 500}
    failures = stats.failures
    # each failing poll first retries Plex (core.retry: 0.5 s + 1 s of waits)
    await eventually(lambda: stats.failures >= failures + 2, timeout=10, what="failing polls")
    assert "500" in (stats.last_error or "") or "unavailable" in (stats.last_error or "").lower()
    world.pms.fail_at_start = {}

    real_run = world.runtime.scans.run
    calls = {"n": 0}

    async def buggy(mode: str, progress: Any = None) -> ScanSummary:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("a bug in the scan")
        return await real_run(mode, progress)  # type: ignore[arg-type]

    monkeypatch.setattr(world.runtime.scans, "run", buggy)
    await eventually(lambda: calls["n"] >= 3, what="polls after the bug")
    assert "a bug in the scan" in " ".join(r.getMessage() + str(r.exc_info) for r in
                                           world.fd.bot_errors)
    runs = stats.runs
    world.pms.add_album("Hyperion", "Dan Simmons")
    await eventually(lambda: stats.runs > runs, what="a good poll again")
    await eventually(lambda: PlexItem.filter(title="Hyperion").exists(), what="the new book")
    assert cog.recent_poll.is_running()


async def test_never_overlaps_a_running_scan(world: World) -> None:
    for i in range(3):
        world.pms.add_album(f"Book {i}", "Some Author")
    await world.runtime.scans.run("full")
    cog = scheduler(world)
    stats = cog.stats["recent"]
    world.pms.delay = 0.4  # every Plex request is slow: the manual scan takes a while
    manual = asyncio.create_task(world.runtime.scans.run("full"))
    await eventually(lambda: world.runtime.scans.running == "full", what="the manual scan")
    runs, skipped = stats.runs, stats.skipped
    await eventually(lambda: stats.skipped >= skipped + 2, what="ticks that skip", timeout=5)
    assert world.runtime.scans.running == "full" and stats.runs == runs
    world.pms.delay = 0
    await manual


@pytest.mark.world(scan=ScanSettings(recently_added_minutes=60, full_scan_hours=0.0002))  # 0.72 s
async def test_full_scan_runs_on_its_own_schedule(world: World) -> None:
    gone = world.pms.add_album("Leaving Soon", "Some Author")
    world.pms.add_album("Staying", "Some Author")
    await world.runtime.scans.run("full")
    world.pms.remove_album(gone.rating_key)  # only a full scan notices a removal
    stats = scheduler(world).stats["full"]
    await eventually(lambda: stats.runs >= 1, what="a scheduled full scan")
    await eventually(gone_from_mirror("Leaving Soon"), what="the removal")
    assert scheduler(world).stats["recent"].runs == 0


def test_first_full_scan_delay() -> None:
    from cogs.scheduler import first_full_delay

    now = datetime(2025, 1, 1, 12, tzinfo=UTC)
    six_hours = 6 * 3600.0
    assert first_full_delay(None, now, six_hours, grace=60) == 60
    an_hour_ago = now - timedelta(hours=1)
    assert first_full_delay(an_hour_ago, now, six_hours, grace=60) == 5 * 3600
    long_ago = now - timedelta(days=3)
    assert first_full_delay(long_ago, now, six_hours, grace=60) == 60
    assert first_full_delay(None, now, 0.5, grace=60) == 0.5  # never more than one interval
