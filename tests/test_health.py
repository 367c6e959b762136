"""The heartbeat and `python -m bot health`: judged from the file, and written by a real bot."""

from __future__ import annotations

import asyncio
import io
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import health
from bot.config import HealthSettings, ScanSettings
from bot.health import HealthWriter, cmd_health, problems, write_atomic
from tests.e2e.world import eventually, open_world

NOW = 1_800_000_000.0


def iso(seconds_from_now: float) -> str:
    return (datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=seconds_from_now)).isoformat()


def beat(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "written_at": NOW - 5,
        "pid": 1,
        "connected": True,
        "database": True,
        "jobs": [
            {"name": "Scheduler.recent_poll", "running": True, "ticks": 3,
             "last_tick": iso(-60), "next_tick": iso(240), "interval_seconds": 300.0},
            {"name": "Scheduler.full_scan", "running": True, "ticks": 0,
             "last_tick": None, "next_tick": None, "interval_seconds": 21600.0},
        ],
    }
    data.update(changes)
    return data


def test_a_fresh_beat_with_everything_well_is_healthy() -> None:
    assert problems(beat(), NOW) == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"written_at": NOW - 91}, "no heartbeat for 91 s"),
        ({"connected": False}, "not connected to Discord"),
        ({"database": False}, "the database does not answer"),
        ({"written_at": "yesterday"}, "no valid written_at"),
    ],
)
def test_each_part_that_is_not_well_is_named(changes: dict[str, Any], expected: str) -> None:
    found = problems(beat(**changes), NOW)
    assert len(found) == 1 and expected in found[0]


def test_a_job_that_died_or_hangs_is_unhealthy() -> None:
    data = beat()
    data["jobs"][0]["running"] = False
    assert problems(data, NOW) == ["job Scheduler.recent_poll is not running"]
    data = beat()
    data["jobs"][0]["next_tick"] = iso(-901)  # overdue by more than max(15 min, 5 min)
    assert problems(data, NOW)[0].startswith("job Scheduler.recent_poll is hung")
    data["jobs"][0]["next_tick"] = iso(-899)  # a long scan, not yet a hang
    assert problems(data, NOW) == []


def test_cmd_health_reads_the_file(tmp_path: Path) -> None:
    file = tmp_path / "earmark.health"
    out = io.StringIO()
    assert cmd_health(file, out, now=NOW) == 1
    assert "no health file" in out.getvalue()
    write_atomic(file, beat())
    out = io.StringIO()
    assert cmd_health(file, out, now=NOW) == 0
    assert out.getvalue().startswith("healthy:")
    out = io.StringIO()
    assert cmd_health(file, out, now=NOW + 600) == 1
    assert out.getvalue().startswith("unhealthy: no heartbeat for")
    file.write_text("{not json")
    out = io.StringIO()
    assert cmd_health(file, out, now=NOW) == 1
    assert "cannot read the health file" in out.getvalue()


async def test_the_running_bot_writes_a_heartbeat_that_passes_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot starts the writer itself (`setup_hook`): connected, database up, jobs running."""
    monkeypatch.setattr(health, "HEARTBEAT_SECONDS", 0.2)
    file = tmp_path / "earmark.health"

    def connected() -> bool:
        return file.exists() and json.loads(file.read_text())["connected"] is True

    scan = ScanSettings(recently_added_minutes=60, full_scan_hours=6)
    async with open_world(tmp_path, health=HealthSettings(file=str(file)), scan=scan):
        await eventually(connected, timeout=10, what="a heartbeat that says connected")
        data = json.loads(file.read_text())
        assert data["database"] is True
        assert data["pid"] == os.getpid()
        jobs = {job["name"]: job for job in data["jobs"]}
        assert set(jobs) == {"Scheduler.recent_poll", "Scheduler.full_scan",
                             "Follow.release_check", "Follow.arrivals"}
        assert all(job["running"] for job in jobs.values())
        assert jobs["Scheduler.recent_poll"]["interval_seconds"] == 3600
        out = io.StringIO()
        assert cmd_health(file, out) == 0, out.getvalue()
    written = json.loads(file.read_text())["written_at"]
    await asyncio.sleep(0.5)  # the writer stopped with the bot
    assert json.loads(file.read_text())["written_at"] == written


async def test_a_job_loop_that_dies_or_a_lost_gateway_shows_in_the_next_beat(
    tmp_path: Path,
) -> None:
    async with open_world(tmp_path, cogs=("cogs.scheduler",)) as world:
        writer = HealthWriter(world.bot, tmp_path / "earmark.health", interval=0.05)
        data = await writer.beat()
        assert data["connected"] is True and data["database"] is True
        assert problems(data, time.time()) == []
        scheduler = world.bot.get_cog("Scheduler")
        assert scheduler is not None
        scheduler.full_scan.cancel()  # type: ignore[attr-defined]
        await eventually(lambda: not scheduler.full_scan.is_running())  # type: ignore[attr-defined]
        data = await writer.beat()
        assert problems(data, time.time()) == ["job Scheduler.full_scan is not running"]
        await world.fd.stop_bot()
        data = await writer.beat()
        assert "not connected to Discord" in problems(data, time.time())
