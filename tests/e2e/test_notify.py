"""The outbox delivery worker end to end: DMs, the admin-channel fallback, retries, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import core.notify
from bot.app import EarmarkBot
from bot.config import DatabaseSettings
from bot.runtime import Runtime
from core import notify
from core.config_store import ADMIN_CHANNEL
from core.models import BookRequest, Notification, RequestStatus
from core.notify import request_payload
from tests.e2e.helpers import all_sent, make_request, owe, worker
from tests.e2e.world import World, WorldFactory, eventually
from tests.fakes.discord import FakeMessage, FakeUser
from tests.fakes.discord.models import DM
from tests.fakes.discord.rest import HTTPError, error

COGS = ("cogs.notify",)

pytestmark = pytest.mark.world(cogs=COGS)


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries after 0.1 s, 0.2 s, ... instead of 5 s, 10 s, ... (same rule, faster clock)."""
    monkeypatch.setattr(core.notify, "BASE_DELAY", 0.1)


async def settled(w: World) -> None:
    """Wait until a kick was handled and a drain now sends nothing (nothing is due).

    Deterministic: `drain()` takes the worker's lock, which is fair (first come,
    first served), so it returns only after the worker's own drain, started
    after the kick (`drains` went up), has finished.
    """
    cog = worker(w)
    before = cog.stats.drains
    cog.kick()
    await eventually(lambda: cog.stats.drains > before, what="the worker's drain after a kick")
    assert await cog.drain() == 0, "a drain found something more to send"


def dms_about(w: World, user: FakeUser, req: BookRequest) -> list[FakeMessage]:
    return [m for m in w.fd.dms[user.id] if f"Request #{req.id}" in m.text]


def fail_dms(w: World, monkeypatch: pytest.MonkeyPatch, times: int | None) -> list[int]:
    """Make the fake answer 503 to the next `times` DMs (None: until `failures.clear()`)."""
    real: Callable[..., FakeMessage] = w.fd.new_message
    failures: list[int] = [1] * (times if times is not None else 1_000_000)

    def new_message(channel: Any, body: Any, files: Any, **kwargs: Any) -> FakeMessage:
        if channel.type == DM and failures:
            failures.pop()
            raise HTTPError(error(503, 0, "Service Unavailable"))
        return real(channel, body, files, **kwargs)

    monkeypatch.setattr(w.fd, "new_message", new_message)
    return failures


async def test_available_goes_to_requester_and_subscriber(world: World) -> None:
    req = await make_request(world, world.alice, "Project Hail Mary", subscribers=(world.bob,))
    for person in (world.alice, world.bob):
        await owe(person, req, notify.KIND_AVAILABLE, status="available")
    world.bot.kick_outbox()

    for person in (world.alice, world.bob):
        msg = await world.fd.wait_for_dm(person)
        assert "now in Plex" in msg.text
        embed = msg.embeds[0]
        assert embed["title"] == "Project Hail Mary"
        assert embed["thumbnail"]["url"].startswith("https://m.media-amazon.com/")
        assert "Ray Porter" in msg.text and f"Request #{req.id}" in msg.text
        assert msg["allowed_mentions"]["parse"] == []
    await eventually(all_sent, what="both rows marked sent")


async def test_each_kind_has_its_heading(world: World) -> None:
    req = await make_request(world, world.alice, "The Martian", status=RequestStatus.DENIED)
    await owe(world.alice, req, notify.KIND_DENIED, reason="Not in our budget")
    for kind in (notify.KIND_APPROVED, notify.KIND_FAILED):
        await notify.queue(world.alice.id, kind, request_payload(req), request_id=req.id)
    await notify.queue(
        world.alice.id, notify.KIND_STATUS, request_payload(req, status="downloading"),
        request_id=req.id, key="status:downloading",
    )
    worker(world).kick()
    await world.fd.wait_until(lambda: len(world.fd.dms[world.alice.id]) == 4, what="4 DMs")
    texts = [m.text for m in world.fd.dms[world.alice.id]]
    assert "was denied" in texts[0] and "Not in our budget" in texts[0]
    assert "was approved" in texts[1]
    assert "could not get" in texts[2]
    assert "Downloading" in texts[3]


async def test_metadata_in_dms_is_escaped(world: World) -> None:
    req = await make_request(world, world.alice, "**Big** @everyone", author="<@&42> _x_")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()
    msg = await world.fd.wait_for_dm(world.alice)
    assert "\\*\\*Big\\*\\*" in msg.text and "@\u200beveryone" in msg.text
    assert "<@&42>" not in msg.text
    assert msg["allowed_mentions"]["parse"] == []


async def test_closed_dms_fall_back_to_the_admin_channel(world: World) -> None:
    await world.runtime.store.set(ADMIN_CHANNEL, str(world.admin_channel_id))
    req = await make_request(world, world.alice, "Dune", subscribers=(world.bob,))
    world.fd.close_dms(world.alice)
    for person in (world.alice, world.bob):
        await owe(person, req, notify.KIND_AVAILABLE)
    worker(world).kick()

    posted = await world.fd.wait_for_message(world.admin_channel_id)
    assert posted.content.startswith(f"<@{world.alice.id}>")
    assert "now in Plex" in posted.text and posted.embeds[0]["title"] == "Dune"
    allowed = posted["allowed_mentions"]
    assert allowed["parse"] == [] and [int(u) for u in allowed["users"]] == [world.alice.id]
    assert not allowed.get("roles")
    await world.fd.wait_for_dm(world.bob)  # the other person still gets a DM
    assert world.fd.dms[world.alice.id] == []

    await eventually(all_sent, what="both rows marked sent")  # so no retry is due
    await settled(world)
    assert len(world.fd.channel_messages(world.admin_channel_id)) == 1
    assert world.fd.dms[world.alice.id] == []


async def test_closed_dms_without_admin_channel_wait_for_one(world: World) -> None:
    req = await make_request(world, world.alice, "Dune")
    world.fd.close_dms(world.alice)
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()
    await eventually(lambda: worker(world).stats.failures >= 1, what="a failed try")
    note = await Notification.get(request_id=req.id)
    assert note.sent_at is None and "/setup channel" in (note.last_error or "")

    await world.runtime.store.set(ADMIN_CHANNEL, str(world.admin_channel_id))
    posted = await world.fd.wait_for_message(world.admin_channel_id, timeout=3)
    assert f"<@{world.alice.id}>" in posted.content
    assert len(world.fd.channel_messages(world.admin_channel_id)) == 1


async def test_a_discord_error_is_retried_later(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = fail_dms(world, monkeypatch, times=2)
    req = await make_request(world, world.alice, "Hyperion")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    worker(world).kick()

    await world.fd.wait_until(lambda: not failures, what="two refused DMs")
    msg = await world.fd.wait_for_dm(world.alice, timeout=3)  # the worker retried on its own
    assert "Hyperion" in msg.text
    await eventually(all_sent, what="the row marked sent")
    note = await Notification.get(request_id=req.id)
    assert note.sent_at is not None and note.attempts == 3
    assert "503" in (note.last_error or "")
    await settled(world)
    assert len(dms_about(world, world.alice, req)) == 1


async def test_kicks_and_drains_at_once_send_each_row_once(world: World) -> None:
    reqs = [await make_request(world, world.alice, f"Book {i}") for i in range(6)]
    for req in reqs:
        await owe(world.alice, req, notify.KIND_AVAILABLE)
    cog = worker(world)
    results = await asyncio.gather(*(cog.drain() for _ in range(3)), asyncio.sleep(0))
    before = cog.stats.drains
    for _ in range(5):
        world.bot.dispatch("earmark_outbox")
    await eventually(lambda: cog.stats.drains > before, what="the worker's drain on the event")
    assert await cog.drain() == 0  # after the worker's drain (the lock is first come, first served)
    assert sum(r for r in results if r) == 6
    for req in reqs:
        assert len(dms_about(world, world.alice, req)) == 1


async def test_restart_delivers_undelivered_rows_exactly_once(
    make_world: WorldFactory, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = DatabaseSettings(url=database_url)
    async with make_world(database=db) as w:
        early = await make_request(w, w.alice, "Early Book")
        await owe(w.alice, early, notify.KIND_APPROVED)
        worker(w).kick()
        await w.fd.wait_for_dm(w.alice)

        failures = fail_dms(w, monkeypatch, times=None)  # Discord has trouble with DMs
        stuck = await make_request(w, w.alice, "Stuck Book", subscribers=(w.bob,))
        for person in (w.alice, w.bob):
            await owe(person, stuck, notify.KIND_AVAILABLE)
        worker(w).kick()
        await eventually(lambda: worker(w).stats.failures >= 2, what="failed tries")
        await w.fd.stop_bot()
        await w.runtime.close()  # the process exits: the database is closed

        # The bot is down; a `python -m bot scan` in between queues one more row.
        runtime = Runtime(w.runtime.settings)
        await runtime.open()
        try:
            later = await BookRequest.create(
                requester_id=w.bob.id, asin="B000000001", title="Later Book",
                status=RequestStatus.AVAILABLE,
            )
            await owe(w.bob, later, notify.KIND_AVAILABLE)
            assert await Notification.filter(sent_at=None).count() == 3

            failures.clear()  # Discord is fine again
            w.bot = EarmarkBot(runtime, cogs=COGS)
            await w.fd.start_bot(w.bot)  # no kick: drained on ready
            await w.fd.wait_until(
                lambda: len(dms_about(w, w.bob, later)) == 1 and len(w.fd.dms[w.alice.id]) == 2,
                what="the undelivered rows",
            )
            await eventually(all_sent, what="every row marked sent")
            await settled(w)
            assert len(dms_about(w, w.alice, early)) == 1
            assert len(dms_about(w, w.alice, stuck)) == 1
            assert len(dms_about(w, w.bob, stuck)) == 1
            assert len(dms_about(w, w.bob, later)) == 1
            assert await Notification.filter(sent_at=None).count() == 0
        finally:
            await w.fd.stop_bot()
            await runtime.close()


async def test_stopping_waits_for_the_row_in_flight(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bot closing mid-delivery still marks the DM it sent (no resend after a restart)."""
    req = await make_request(world, world.alice, "In Flight")
    await owe(world.alice, req, notify.KIND_AVAILABLE)
    cog = worker(world)
    real_send = cog._send_dm
    sending = asyncio.Event()

    async def slow_send(*args: Any) -> None:
        await real_send(*args)
        sending.set()
        await asyncio.sleep(0.3)  # the DM is out; the row is not marked yet

    monkeypatch.setattr(cog, "_send_dm", slow_send)
    cog.kick()
    await asyncio.wait_for(sending.wait(), 3)
    await world.bot.remove_cog("Notify")  # what closing the bot does, mid-delivery

    assert len(dms_about(world, world.alice, req)) == 1
    note = await Notification.get(request_id=req.id)
    assert note.sent_at is not None
