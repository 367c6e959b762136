"""A bot stopped in the middle of a command lets it finish instead of failing it."""

from __future__ import annotations

import asyncio

import pytest

from core.models import BookRequest
from tests.e2e.helpers import PHM
from tests.e2e.world import World

pytestmark = pytest.mark.world(cogs=("cogs.requests",), admin_channel=True)


async def test_stopping_during_a_request_finishes_it_first(world: World) -> None:
    await world.link(world.alice)
    world.audible.delay = 0.5  # the command is waiting on the catalog when the stop comes
    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)  # deferred
    stopping = asyncio.create_task(world.fd.stop_bot())
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds), timeout=5)
    await stopping
    assert "Requested" in reply.embeds[0]["description"]
    assert await BookRequest.filter(asin=PHM).count() == 1
    assert len(world.fd.channel_messages(world.admin_channel_id)) == 1  # its admin post too
    # ... and the world fixture fails the test if the bot logged any error on the way.
