"""End to end: /request -> approve -> ReadMeABook -> progress in /requests -> in Plex -> one DM.

The real bot against the fake Discord, Plex and ReadMeABook; a restart in the
middle loses nothing and doubles nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.app import EarmarkBot
from core.config_store import FULFIL_BACKEND, FULFIL_TOKEN, FULFIL_URL
from core.models import BookRequest, Handoff, RequestStatus
from tests.e2e.world import World, eventually
from tests.fakes.rmab import FakeRmab

PHM = "B08G9PRS1K"

pytestmark = pytest.mark.world(admin_channel=True)


@pytest.fixture
async def rmab() -> AsyncIterator[FakeRmab]:
    async with FakeRmab() as fake:
        yield fake


def quicken(world: World) -> None:
    cog: Any = world.bot.get_cog("Fulfil")  # the extension's own class (loaded anew)
    assert cog is not None
    cog.deliver_interval = 0.1
    cog.sync_interval = 0.2
    cog.poke()


async def test_a_request_goes_to_rmab_and_comes_back_in_plex(
    world: World, rmab: FakeRmab
) -> None:
    store = world.runtime.store
    await store.set(FULFIL_BACKEND, "readmeabook")
    await store.set(FULFIL_URL, rmab.url)
    await store.set(FULFIL_TOKEN, rmab.token)
    quicken(world)
    await world.link(world.alice)

    mine = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    await mine.wait_for_edit(lambda m: bool(m.embeds))
    req = await BookRequest.get(asin=PHM)
    await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id)
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
