"""Following end to end: the real bot, the fake catalog, the outbox and Discord DMs."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from cogs.follow import FollowCog
from core import notify
from core.follow import MAX_FOLLOWS, ReleaseChecker
from core.models import BookRequest, Follow, FollowKind, RequestStatus
from tests.e2e.world import World, eventually
from tests.fakes.discord import FakeUser

COGS = ("cogs.follow", "cogs.notify", "cogs.requests")
LECKIE = "B0ANNLECK1"
OLD, NEW, SOON = "B0OLD00001", "B0NEW00001", "B0UPC00001"

pytestmark = pytest.mark.world(cogs=COGS, admin_channel=True)


def day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


@pytest.fixture
def world(world: World) -> World:
    """An author with an old, a new and an upcoming book, and a namesake."""
    add = world.audible.add_product
    add(asin=OLD, title="Ancillary Justice", authors=["Ann Leck"], release_date="2014-01-01",
        author_asins=[LECKIE], series=[("Radch", "1")])
    add(asin=NEW, title="Translation State", authors=["Ann Leck"], release_date=day(-3),
        author_asins=[LECKIE])
    add(asin=SOON, title="The Raven Tower II", authors=["Ann Leck"], release_date=day(40),
        author_asins=[LECKIE])
    add(asin="B0NAMESAK1", title="Gardening", authors=["Ann Leck"], release_date=day(-1),
        author_asins=["B0OTHERANN"])
    return world


def cog(world: World) -> FollowCog:
    found = world.bot.get_cog("Follow")
    assert found is not None  # the extension's own module object, not this import's
    return cast(FollowCog, found)


async def follow_author(world: World, user: FakeUser) -> str:
    """`user` types the name, picks the Ann Leck of the Radch books, and follows."""
    choices = await world.fd.autocomplete(user, world.guild, "follow", "author", "ann leck")
    pick = next(c for c in choices if "Ancillary Justice" in c["name"])
    assert len(choices) == 2  # two authors of one name, told apart by their books
    inter = await world.fd.slash(user, world.guild, "follow", author=pick["value"])
    assert inter.is_ephemeral and "You now follow **Ann Leck**" in inter.content
    return str(pick["value"])


def author_lookups(world: World) -> int:
    return sum(1 for r in world.audible.requests if "author" in r.query)


async def test_two_followers_one_lookup_two_dms_and_a_request(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    await follow_author(world, world.alice)
    await follow_author(world, world.bob)
    assert await Follow.filter(key=f"asin:{LECKIE}").count() == 2

    report = await cog(world).run_check()
    assert report is not None and report.lookups == 1 and author_lookups(world) == 1
    await eventually(lambda: world.fd.dms[world.alice.id] and world.fd.dms[world.bob.id],
                     what="a DM for each follower")
    [dm] = world.fd.dms[world.alice.id]
    assert "Translation State" in dm.text and "The Raven Tower II" in dm.text
    assert "Gardening" not in dm.text and "Ancillary Justice" not in dm.text
    assert "out now" in dm.text and "comes out <t:" in dm.text

    click = await world.fd.click(world.alice, dm, f"earmark:rel:req:{SOON}")
    await click.wait_for(lambda i: any("Requested" in m.text for m in i.messages), timeout=10)
    req = await BookRequest.get(asin=SOON)
    assert req.requester_id == world.alice.id and req.status == RequestStatus.PENDING
    await eventually(lambda: world.fd.channel_messages(world.admin_channel_id),
                     what="the request's admin post")
    listing = await world.fd.slash(world.alice, world.guild, "requests")
    assert f"not released yet ({day(40)})" in listing.original.text

    no = await world.fd.click(world.bob, world.fd.dms[world.bob.id][0],
                              f"earmark:rel:no:{NEW}")
    assert "not interested" in no.messages[0].text
    # Someone who was not told about the book cannot use the button.
    forged = await world.fd.click(world.boss, dm, f"earmark:rel:req:{NEW}", force=True)
    assert "someone else" in forged.messages[0].text
    assert not await BookRequest.filter(asin=NEW).exists()


async def test_nothing_twice_after_a_restart_or_an_outage(world: World) -> None:
    await world.link(world.alice)
    await follow_author(world, world.alice)
    world.audible.fail_status = 503
    down = await cog(world).run_check()
    assert down is not None and down.failed == 1 and down.announced == 0
    world.audible.fail_status = None
    up = await cog(world).run_check()
    assert up is not None and up.announced == 2
    await eventually(lambda: world.fd.dms[world.alice.id], what="the DM")
    # A new checker (as after a restart) over the same database: nothing new, nothing again.
    again = await ReleaseChecker(world.runtime.catalog, world.runtime.requests).run()
    assert again.lookups == 1 and again.announced == 0
    assert len(world.fd.dms[world.alice.id]) == 1


async def test_the_cap_exactly_one_option_and_unfollow(world: World) -> None:
    await world.link(world.alice)
    await Follow.bulk_create([
        Follow(user_id=world.alice.id, kind=FollowKind.SERIES, key=f"name:s{i}", name=f"s{i}",
               display_name=f"Series {i}")
        for i in range(MAX_FOLLOWS)
    ])
    capped = await world.fd.slash(world.alice, world.guild, "follow", author="Ann Leck")
    assert f"the limit is {MAX_FOLLOWS}" in capped.messages[0].text
    both = await world.fd.slash(world.alice, world.guild, "follow", author="A", series="B")
    assert "exactly one" in both.messages[0].text

    listing = await world.fd.slash(world.alice, world.guild, "following")
    assert "You follow 100" in listing.content
    click = await world.fd.click(world.alice, listing.original, label="Unfollow Series 0")
    await click.wait_for(lambda i: "Unfollowed Series 0" in (i.original or listing.original).text)
    choices = await world.fd.autocomplete(world.alice, world.guild, "unfollow", "name", "ies 9")
    assert choices.names[0] == "Series 9 (series)"
    gone = await world.fd.slash(world.alice, world.guild, "unfollow", name=choices[0]["value"])
    assert "Unfollowed Series 9" in gone.content
    assert await Follow.filter(user_id=world.alice.id).count() == MAX_FOLLOWS - 2


@pytest.mark.world(cogs=(*COGS, "cogs.setup"))
async def test_new_arrivals_are_posted_but_never_the_library_of_a_first_scan(
    world: World,
) -> None:
    news = world.fd.add_channel(world.guild, "new-in-plex")
    for i in range(30):  # books Plex holds since long before Earmark
        world.pms.add_album(f"Old Book {i}", "Some Author", added_at=1_600_000_000 + i)
    inter = await world.fd.slash(world.boss, world.guild, "setup announce", channel=news)
    assert "from now on" in inter.content
    await world.runtime.scans.run("full")  # the first scan: 30 books, none of them new
    assert await cog(world).post_arrivals() == 0

    world.pms.add_album("Ancillary Justice", "Ann Leck", added_at=int(time.time()) + 10,
                        guid=f"com.plexapp.agents.audnexus://{OLD}?lang=en")
    await world.runtime.scans.run("recent")
    assert await cog(world).post_arrivals() == 1
    [post] = world.fd.channel_messages(news)
    assert "Ancillary Justice" in post.text and "New in Plex" in post.text
    follow = next(c for c in post.custom_ids if c.startswith("earmark:fol:0:s:"))
    await world.link(world.bob)
    click = await world.fd.click(world.bob, post, follow)
    assert "You now follow **Radch**" in click.messages[0].text
    assert await Follow.filter(user_id=world.bob.id, kind=FollowKind.SERIES).exists()
    assert await cog(world).post_arrivals() == 0  # posted once

    for i in range(6):  # many at once: one digest
        world.pms.add_album(f"New Book {i}", "Other Author")
    await world.runtime.scans.run("recent")
    assert await cog(world).post_arrivals() == 1
    digest = world.fd.channel_messages(news)[-1]
    assert "6 new books in Plex" in digest.text

    off = await world.fd.slash(world.boss, world.guild, "setup announce")
    assert "no longer" in off.content
    world.pms.add_album("Unposted", "Other Author")
    await world.runtime.scans.run("recent")
    assert await cog(world).post_arrivals() == 0


async def test_the_in_plex_dm_offers_follow_buttons_for_its_reader_only(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    await notify.queue(world.alice.id, notify.KIND_AVAILABLE, {
        "title": "Ancillary Justice", "author": "Ann Leck", "asin": OLD, "status": "available",
    }, key="available:test:alice")
    world.bot.kick_outbox()
    await eventually(lambda: world.fd.dms[world.alice.id], what="the it's-in-Plex DM")
    [dm] = world.fd.dms[world.alice.id]
    series = f"earmark:fol:{world.alice.id}:s:"
    button = next(c for c in dm.custom_ids if c.startswith(series))
    assert any(c.startswith(f"earmark:fol:{world.alice.id}:a:{LECKIE}:") for c in dm.custom_ids)
    refused = await world.fd.click(world.bob, dm, button, force=True)
    assert "someone else" in refused.messages[0].text
    done = await world.fd.click(world.alice, dm, button)
    assert "You now follow **Radch**" in done.messages[0].text
    assert await Follow.filter(user_id=world.alice.id, kind=FollowKind.SERIES).count() == 1
