"""What an admin sees of scans and Plex failures (issue 12, point 8).

Progress is "Step i of n · what done/total" with a text bar that only moves
forward; a Plex failure says what failed, what it means and that nothing was
removed, and never shows an internal URL or repeats itself ("Plex failed:
Plex Media Server failed (500)").
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.config import ScanSettings
from core.models import PlexItem
from tests.e2e.world import World
from tests.fakes.discord import FakeMessage

pytestmark = pytest.mark.world(
    admin_channel=True,
    scan=ScanSettings(recently_added_minutes=100, full_scan_hours=100),  # ticks run by hand
)

PERCENT = re.compile(r"[▰▱]{10} (\d+)%")


def versions(message: FakeMessage) -> list[str]:
    """Every content the message had, oldest first."""
    return [str(v.get("content") or "") for v in message.history] + [message.content]


def no_internals(text: str, world: World) -> None:
    """Nothing of Plex's wire in a Discord text: no address, query, token or repeated words."""
    assert "127.0.0.1" not in text and "http://" not in text
    assert "X-Plex-Token" not in text and "type=9" not in text and "/library/" not in text
    assert world.pms.token not in text
    assert "Plex failed" not in text and "Plex Media Server failed" not in text


def scheduler(world: World) -> Any:
    cog = world.bot.get_cog("Scheduler")
    assert cog is not None
    return cog


async def test_full_scan_progress_shows_steps_and_a_bar_that_never_goes_back(
    world: World,
) -> None:
    world.pms.delay = 0.01
    scans = world.runtime.scans
    scans.page_size, scans.folder_page_size = 20, 20
    scans.path_fetch_min = 10  # 120 new books: read the track listing first (step 1)
    admin = world.bot.get_cog("AdminCog")
    assert admin is not None
    admin.progress_every = 0.02  # type: ignore[attr-defined]
    world.pms.make_synthetic(120)

    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="full")
    msg = await inter.wait_for_edit(lambda m: "finished" in m.content, timeout=15)

    progress = [v for v in versions(msg) if "Step " in v]
    steps = [int(m) for v in progress for m in re.findall(r"Step (\d) of 3", v)]
    assert 1 in steps and 2 in steps, progress
    assert steps == sorted(steps), "a step never comes back after the next one started"
    assert any(re.search(r"Step 1 of 3 · track files \d+/\d+", v) for v in progress)
    assert any(re.search(r"Step 2 of 3 · books \d+/120", v) for v in progress)
    percents = [int(m) for v in progress for m in PERCENT.findall(v)]
    assert percents and percents == sorted(percents), percents
    assert "reading file locations (tracks)" not in " ".join(progress)
    assert "Full scan finished" in msg.content and "Books in Plex: **120**" in msg.content


@pytest.mark.bot_errors()
async def test_admin_scan_failure_says_what_failed_and_hides_the_url(world: World) -> None:
    world.pms.make_synthetic(10)
    await world.runtime.scans.run("full")
    world.pms.fail_at_start = {0: 500}

    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="full")
    msg = await inter.wait_for_edit(lambda m: "failed" in m.content)

    text = msg.content
    assert text.startswith("❌ Full scan failed: the Plex server had an internal error (HTTP 500)")
    assert "Plex's own log says why" in text
    assert "Nothing was removed from the library mirror" in text
    for seen in versions(msg):
        no_internals(seen, world)
    assert await PlexItem.all().count() == 10


@pytest.mark.bot_errors()
async def test_scheduled_failure_in_the_admin_channel_hides_the_url(world: World) -> None:
    world.pms.fail_at_start = {0: 500}

    await scheduler(world).run_scan("full")

    (told,) = [m.text for m in world.fd.channel_messages(world.admin_channel_id)]
    assert "Scheduled: ❌ Full scan failed" in told and "(HTTP 500)" in told
    assert "Nothing was removed" in told
    no_internals(told, world)


async def test_unreachable_plex_is_named_as_such(world: World) -> None:
    await world.pms.stop()  # the address answers nothing now

    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="recent")
    msg = await inter.wait_for_edit(lambda m: "failed" in m.content, timeout=15)

    assert "can't reach the Plex server" in msg.content
    assert "check that it is running" in msg.content
    no_internals(msg.content, world)
