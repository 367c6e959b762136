"""The outbox on Discord's bad days: rate limits, outages, slow answers, crashes, refusals.

Issue 7, items 2 and 3. The real bot and discord.py against the fake Discord
(`tests/fakes/discord/limits.py`): every notification arrives, once, in
order, and nothing is given up silently. Backoff constants are shrunk (same
rules, faster clock); no test sleeps for long.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

import core.notify
from bot.app import EarmarkBot
from core import notify
from core.config_store import ADMIN_CHANNEL
from core.models import BookRequest, Notification
from tests.e2e.helpers import all_sent, make_request, owe, worker
from tests.e2e.world import World, eventually
from tests.fakes.discord import FakeMessage

COGS = ("cogs.notify",)
#: What the worker logs, by design, about a row that failed for a day.
FAILED_FOR_A_DAY = r"cogs\.notify: notification \d+ has failed since .* it stays queued"

pytestmark = pytest.mark.world(cogs=COGS, admin_channel=True)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(core.notify, "BASE_DELAY", 0.02)
    monkeypatch.setattr(core.notify, "MAX_DELAY", 0.05)


@pytest.fixture
def world(world: World) -> World:
    worker(world).send_timeout = 0.2  # the drain stops waiting early; sends are never cut
    return world


async def deliver_mixed(w: World) -> list[BookRequest]:
    """Three rows for alice, then one for bob, whose DMs are closed (an admin post); all arrive.

    Returns alice's requests in the order their rows were queued.
    """
    w.fd.close_dms(w.bob)
    mine = [await make_request(w, w.alice, f"Book {i}") for i in range(3)]
    for req in mine[:2]:
        await owe(w.alice, req, notify.KIND_AVAILABLE)
    bobs = await make_request(w, w.bob, "Bob's Book")
    await owe(w.bob, bobs, notify.KIND_AVAILABLE)
    await owe(w.alice, mine[2], notify.KIND_AVAILABLE)
    worker(w).kick()

    await w.fd.wait_until(lambda: len(w.fd.dms[w.alice.id]) >= 3, what="alice's three DMs")
    post = await w.fd.wait_for_message(w.admin_channel_id, lambda m: f"<@{w.bob.id}>" in m.text)
    assert f"Request #{bobs.id}" in post.text
    await eventually(all_sent, what="every row marked sent")
    texts = [m.text for m in w.fd.dms[w.alice.id]]
    assert len(texts) == 3
    for text, req in zip(texts, mine, strict=True):  # in the order they were queued
        assert f"Request #{req.id}" in text
    return mine


def message_posts(w: World) -> list[int]:
    return [r.status for r in w.fd.requests if r.method == "POST" and r.path.endswith("/messages")]


async def test_global_429_does_not_jam_the_outbox(world: World) -> None:
    """discord.py's global-limit sleep is never cancelled: its lock opens again."""
    world.fd.faults.rate_limit(0.6, scope="global")
    await deliver_mixed(world)
    assert 429 in message_posts(world) and worker(world).stats.paused >= 1
    later = await make_request(world, world.alice, "After the limit")
    await owe(world.alice, later, notify.KIND_APPROVED)
    worker(world).kick()
    await world.fd.wait_for_dm(world.alice, lambda m: f"Request #{later.id}" in m.text)
    assert world.fd.nonces.replays == 0  # nothing was sent twice


async def test_per_route_429_then_everything_in_order(world: World) -> None:
    world.fd.faults.rate_limit(0.3, times=2)
    await deliver_mixed(world)
    assert message_posts(world).count(429) == 2


async def test_5xx_burst_then_everything_in_order(world: World) -> None:
    world.fd.faults.fail(500)  # retried by discord.py itself (after 1 s)
    world.fd.faults.fail(503, times=3)  # raised: retried by the outbox's backoff
    world.fd.faults.fail(503, where="guild")  # the admin post too
    await deliver_mixed(world)
    assert worker(world).stats.failures >= 4


async def test_slow_answer_is_waited_for_not_resent(world: World) -> None:
    world.fd.faults.slow(1.0)  # Discord stores the DM at once and answers after 1 s
    mine = await deliver_mixed(world)
    assert worker(world).stats.paused >= 1
    alice_dm = f"/channels/{world.fd.dm_channel(world.alice).id}/messages"
    sends = [r for r in world.fd.requests if r.method == "POST" and r.path.endswith(alice_dm)]
    assert len(sends) == 3  # three rows, three sends: nothing sent twice
    note = await Notification.get(request_id=mine[0].id)
    assert note.attempts == 1


async def test_crash_between_send_and_mark_sends_no_second_dm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL after Discord stored the DM, before the row was marked; then a restart."""
    req = await make_request(world, world.alice, "Killed In Flight")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    stored = asyncio.Event()

    async def frozen(note: Notification, now: Any = None) -> None:
        stored.set()
        await asyncio.Event().wait()  # the process is gone before the mark

    monkeypatch.setattr(core.notify, "mark_sent", frozen)
    monkeypatch.setattr(worker(world), "send_timeout", 0.05)
    worker(world).kick()
    await asyncio.wait_for(stored.wait(), 3)
    killed = [t for t in asyncio.all_tasks() if t.get_name().startswith("earmark-note-")]
    await world.fd.stop_bot()
    for task in killed:  # SIGKILL: nothing after the send ran
        task.cancel()
    monkeypatch.undo()
    assert len(world.fd.dms[world.alice.id]) == 1
    assert (await Notification.get(request_id=req.id)).sent_at is None

    world.bot = EarmarkBot(world.runtime, cogs=COGS)
    await world.fd.start_bot(world.bot)  # drains on ready: resends the row, same nonce
    await eventually(all_sent, what="the row marked sent after the restart")
    assert len(world.fd.dms[world.alice.id]) == 1
    assert world.fd.nonces.replays == 1


async def test_an_outage_longer_than_eight_tries_loses_nothing(world: World) -> None:
    world.fd.faults.fail(503, times=12)
    req = await make_request(world, world.alice, "Long Outage")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()
    msg = await world.fd.wait_for_dm(world.alice)
    assert f"Request #{req.id}" in msg.text
    await eventually(all_sent, what="the row marked sent")
    assert (await Notification.get(request_id=req.id)).attempts == 13


@pytest.mark.bot_errors(FAILED_FOR_A_DAY)
async def test_after_a_day_the_admins_are_told_and_the_row_stays(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(core.notify, "REPORT_AFTER", timedelta(seconds=0.3))
    outage = world.fd.faults.fail(503, times=None)
    req = await make_request(world, world.alice, "Never Arrives")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()

    post = await world.fd.wait_for_message(world.admin_channel_id, timeout=3)
    note = await Notification.get(request_id=req.id, kind=notify.KIND_AVAILABLE)
    assert f"notification #{note.id}" in post.text and f"request #{req.id}" in post.text
    assert "503" in post.text and "keep trying" in post.text
    await eventually(lambda: outage.hits >= note.attempts + 3, what="more tries")
    assert len(world.fd.channel_messages(world.admin_channel_id)) == 1  # told once
    await note.refresh_from_db()
    assert note.sent_at is None  # kept, still tried

    world.fd.faults.clear()  # Discord is back
    await world.fd.wait_for_dm(world.alice, timeout=3)
    await eventually(all_sent, what="the row delivered at last")


@pytest.mark.bot_errors(FAILED_FOR_A_DAY, r"could not deliver notification #\d+ .*/setup channel")
async def test_after_a_day_without_admin_channel_the_log_is_told(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await world.runtime.store.delete(ADMIN_CHANNEL)
    monkeypatch.setattr(core.notify, "REPORT_AFTER", timedelta(seconds=0.2))
    world.fd.faults.fail(503, times=None)
    req = await make_request(world, world.alice, "Never Arrives")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()
    await eventually(lambda: worker(world).stats.reports == 1, what="the report")
    assert any("could not deliver notification" in r.getMessage() for r in caplog.records)
    assert await Notification.filter(request_id=req.id, sent_at=None).count() == 1


def has_embed(payload: dict[str, Any]) -> bool:
    return bool(payload.get("embeds"))


async def test_a_400_dm_is_sent_plain(world: World) -> None:
    world.fd.faults.fail(400, times=None, when=has_embed)
    req = await make_request(world, world.alice, "Malformed")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()
    msg = await world.fd.wait_for_dm(world.alice)
    assert not msg.embeds and f"request #{req.id}" in msg.text and "now in Plex" in msg.text
    await eventually(all_sent, what="the row marked sent")
    assert worker(world).stats.plain == 1


async def test_a_400_dm_and_a_400_plain_dm_fall_back_to_the_admin_channel(world: World) -> None:
    world.fd.faults.fail(400, times=None)  # every DM, plain or not
    req = await make_request(world, world.alice, "Malformed")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()
    post: FakeMessage = await world.fd.wait_for_message(world.admin_channel_id)
    assert post.content.startswith(f"<@{world.alice.id}>") and post.embeds
    await eventually(all_sent, what="the row marked sent")
    assert world.fd.dms[world.alice.id] == []
    assert worker(world).stats.fallbacks == 1

