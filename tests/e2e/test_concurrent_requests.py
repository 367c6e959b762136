"""Two members asking for one book at the same instant end with one request and a subscriber."""

from __future__ import annotations

import asyncio

import pytest

from core.models import BookRequest, RequestSubscriber
from tests.e2e.helpers import PHM
from tests.e2e.world import World

pytestmark = pytest.mark.world(cogs=("cogs.requests",), admin_channel=True)



async def all_handled(world: World, name: str, count: int) -> None:
    """Returns once the bot's handlers of `count` runs of `/name` have returned.

    One listener counts them all: waiting for one event at a time would miss a
    completion dispatched before the next wait started.
    """
    done = asyncio.Event()
    seen = 0

    async def on_completion(_interaction: object, command: object) -> None:
        nonlocal seen
        if getattr(command, "qualified_name", None) == name:
            seen += 1
            if seen >= count:
                done.set()

    world.bot.add_listener(on_completion, "on_app_command_completion")
    try:
        await asyncio.wait_for(done.wait(), 10)
    finally:
        world.bot.remove_listener(on_completion, "on_app_command_completion")


async def test_simultaneous_requests_for_one_book_make_one_request(world: World) -> None:
    people = [world.alice, world.bob, world.fd.add_member(world.guild, "carol")]
    for person in people:
        await world.link(person)
    world.audible.delay = 0.05  # every command waits on the same catalog answer, then submits
    handled = asyncio.ensure_future(all_handled(world, "request", len(people)))
    started = [
        await world.fd.slash(person, world.guild, "request", title=PHM, wait=False)
        for person in people
    ]
    replies = await asyncio.gather(
        *(inter.wait_for_edit(lambda m: bool(m.embeds)) for inter in started)
    )

    (req,) = await BookRequest.all()
    subscribers = await RequestSubscriber.filter(request_id=req.id).values_list(
        "user_id", flat=True
    )
    assert sorted([req.requester_id, *subscribers]) == sorted(p.id for p in people)
    texts = [reply.embeds[0]["description"] for reply in replies]
    assert sum("Requested" in text for text in texts) == 1
    assert sum("subscribed" in text for text in texts) == 2
    await handled  # the admin post comes after the answer: wait until every handler returned
    assert len(world.fd.channel_messages(world.admin_channel_id)) == 1  # one admin post


async def test_similar_titles_by_one_author_stay_two_requests(world: World) -> None:
    """Subscribing needs the same work: "Stone Hearts" is not "The Stone Heart"."""
    world.audible.add_product(asin="B0STONE001", title="The Stone Heart", authors=["Ann Rowe"])
    world.audible.add_product(asin="B0STONE002", title="Stone Hearts", authors=["Ann Rowe"])
    for person, asin in ((world.alice, "B0STONE001"), (world.bob, "B0STONE002")):
        await world.link(person)
        inter = await world.fd.slash(person, world.guild, "request", title=asin)
        reply = await inter.wait_for_edit(lambda m: bool(m.embeds))
        assert "Requested" in reply.embeds[0]["description"]
    requests = await BookRequest.all().order_by("id")
    assert [(r.asin, r.requester_id) for r in requests] == [
        ("B0STONE001", world.alice.id), ("B0STONE002", world.bob.id),
    ]
    assert await RequestSubscriber.all().count() == 0
