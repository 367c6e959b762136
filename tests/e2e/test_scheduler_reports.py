"""Scheduled jobs never fail silently: skips, failure streaks and dead loops reach the admins."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet

from bot.config import ScanSettings
from core.config_store import PLEX_TOKEN
from core.models import ConfigEntry
from tests.e2e.world import World, eventually

pytestmark = pytest.mark.world(
    cogs=("cogs.scheduler",),
    admin_channel=True,
    scan=ScanSettings(recently_added_minutes=100, full_scan_hours=100),  # ticks run by hand
)


def scheduler(w: World) -> Any:
    cog = w.bot.get_cog("Scheduler")
    assert cog is not None
    return cog


def admin_texts(w: World) -> list[str]:
    return [m.text for m in w.fd.channel_messages(w.admin_channel_id)]


@pytest.mark.world(plex=False)
async def test_skipped_scans_are_told_once(world: World) -> None:
    jobs = scheduler(world)
    for _ in range(3):
        assert await jobs.run_scan("recent") is None
    await jobs.run_scan("full")
    (told,) = admin_texts(world)
    assert "Scheduled scans are skipped" in told and "/setup plex" in told
    assert jobs.stats["recent"].skipped == 3


async def test_a_replaced_key_is_named_when_scans_are_skipped(world: World) -> None:
    other_key = Fernet(Fernet.generate_key())
    await ConfigEntry.filter(key=PLEX_TOKEN).update(
        value=other_key.encrypt(b"the-old-token").decode(), encrypted=True
    )
    await scheduler(world).run_scan("recent")
    (told,) = admin_texts(world)
    assert "1 stored secret cannot be decrypted with the key in" in told
    assert "(was the key replaced?)" in told
    assert "the-old-token" not in told


@pytest.mark.bot_errors()
async def test_a_failure_streak_is_told_once_and_again_after_a_success(world: World) -> None:
    jobs = scheduler(world)
    world.pms.fail_at_start = {0: 500}  # every listing fails (after the client's retries)
    await jobs.run_scan("full")
    await jobs.run_scan("full")
    (told,) = admin_texts(world)
    assert "failed" in told and "Nothing was removed" in told
    world.pms.fail_at_start = {}
    assert await jobs.run_scan("full") is not None
    world.pms.fail_at_start = {0: 500}
    await jobs.run_scan("full")
    assert len(admin_texts(world)) == 2


@pytest.mark.world(scan=ScanSettings(recently_added_minutes=0.002, full_scan_hours=100))
@pytest.mark.bot_errors(r"the scheduled recent scan job stopped")
async def test_a_job_that_dies_is_reported_and_restarted(world: World) -> None:
    jobs = scheduler(world)
    jobs.restart_delay = 0.05
    calls: list[str] = []
    original = jobs.run_scan

    async def dies_once(job: str) -> Any:
        calls.append(job)
        if len(calls) == 1:
            raise RuntimeError("a bug that escaped the job")
        return await original(job)

    jobs.run_scan = dies_once  # before the first tick (0.12 s after ready)
    await eventually(lambda: jobs.stats["recent"].restarts == 1, what="the job to restart")
    await eventually(lambda: len(calls) >= 2, what="a tick after the restart")
    assert jobs.recent_poll.is_running()
    (told,) = admin_texts(world)
    assert "stopped on an unexpected error (RuntimeError)" in told and "starts again" in told
