"""End to end: /request -> approve -> ReadMeABook -> progress in /requests -> in Plex -> one DM.

The real bot against the fake Discord, Plex and ReadMeABook; a restart in the
middle loses nothing and doubles nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.app import EarmarkBot
from bot.config import HttpSettings
from core.config_store import FULFIL_SECRET, FULFIL_TOKEN
from core.models import BookRequest, Handoff, RequestStatus
from tests.e2e.helpers import PHM, approved, quicken, use
from tests.e2e.world import World, WorldFactory, eventually
from tests.fakes.rmab import FakeRmab, FakeWebhook, free_port

INBOUND_TOKEN = "inbound-token-for-the-callback-0042"

pytestmark = pytest.mark.world(admin_channel=True)


@pytest.fixture
async def rmab() -> AsyncIterator[FakeRmab]:
    async with FakeRmab() as fake:
        yield fake


async def test_a_request_goes_to_rmab_and_comes_back_in_plex(
    world: World, rmab: FakeRmab
) -> None:
    await use(world, "readmeabook", rmab.url, FULFIL_TOKEN, rmab.token)
    req = await approved(world)
    await eventually(lambda: len(rmab.created()) == 1, what="RMAB received the request")

    # a restart in the middle: the hand-off is done, nothing is sent twice
    await world.fd.stop_bot()
    world.bot = EarmarkBot(world.runtime)
    await world.fd.start_bot(world.bot)
    quicken(world)

    rmab.advance(PHM, "downloading", progress=40)

    async def downloading() -> bool:
        await req.refresh_from_db()
        return req.status == RequestStatus.DOWNLOADING and req.progress == 40

    await eventually(downloading, what="downloading 40%")
    shown = await world.fd.slash(world.alice, world.guild, "requests")
    assert "▰▰▰▱▱▱▱▱ 40%" in shown.original.embeds[0]["description"]
    await world.fd.wait_for_dm(world.alice, lambda m: "download" in m.text.lower())

    world.pms.add_album(
        "Project Hail Mary (Unabridged)", "Andy Weir", narrators=["Ray Porter"],
        guid="com.plexapp.agents.audnexus://B08G9PRS1K_uk?lang=en",
    )
    rmab.advance(PHM, "downloaded")
    await world.fd.wait_for_dm(
        world.alice, lambda m: "now in plex" in m.text.lower(), timeout=5,
    )
    await req.refresh_from_db()
    assert req.status == RequestStatus.AVAILABLE
    assert len(rmab.created()) == 1 and len(rmab.requests) == 1
    assert await Handoff.all().count() == 1
    in_plex = [m for m in world.fd.dms[world.alice.id] if "now in plex" in m.text.lower()
               and "project hail mary" in m.text.lower()]
    assert len(in_plex) == 1


async def approved_by_webhook(world: World, hook: FakeWebhook) -> dict[str, Any]:
    """Alice's request, approved and delivered to the webhook: the JSON it received."""
    await use(world, "webhook", f"{hook.url}/hook", FULFIL_SECRET, hook.secret)
    await approved(world)
    await eventually(lambda: len(hook.received) == 1, what="the webhook delivery")
    body: dict[str, Any] = hook.received[0]["body"]
    return body


async def test_the_webhook_calls_back_to_the_inbound_api(make_world: WorldFactory) -> None:
    port = free_port()
    http = HttpSettings(listen=f"127.0.0.1:{port}", token=INBOUND_TOKEN)
    async with make_world(http=http) as world, FakeWebhook() as hook:
        body = await approved_by_webhook(world, hook)
        callback = body["callback_url"]
        assert callback == f"http://127.0.0.1:{port}/api/requests/{body['request_id']}/status"

        async with aiohttp.ClientSession() as session, session.post(
            callback, json={"status": "downloading", "progress": 25},
            headers={"Authorization": f"Bearer {INBOUND_TOKEN}"},
        ) as resp:
            assert resp.status == 200
        req = await BookRequest.get(id=body["request_id"])
        assert req.status == RequestStatus.DOWNLOADING and req.progress == 25


async def test_without_the_inbound_api_there_is_no_callback(world: World) -> None:
    async with FakeWebhook() as hook:
        body = await approved_by_webhook(world, hook)
    assert body["callback_url"] is None
