"""`/recommend` end to end: the real bot with `cogs.recommend` and `cogs.requests`.

The user's ratings live in the fake PMS under the user's own server access
token (`FakePlex.add_user`), which the fake plex.tv hands out for the stored
machineIdentifier; the catalog is the fake Audible.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from core.config_store import PLEX_TOKEN
from core.models import BookRequest, Dismissal, RequestStatus, User
from core.recommend import RecommendService
from core.recommend.ratings import NO_ACCESS_MESSAGE
from tests.e2e.helpers import assert_never_shown, everything_sent, spy_store_reads
from tests.e2e.world import World
from tests.fakes.discord import FakeInteraction, FakeMessage, FakeUser

COGS = ("cogs.recommend", "cogs.requests")
COREY = "James S. A. Corey"
EXPANSE = "The Expanse"
LEVIATHAN, CALIBAN, ABADDON = "B0EXP00001", "B0EXP00002", "B0EXP00003"
LISTING = "/library/sections/1/all"


pytestmark = pytest.mark.world(cogs=COGS, admin_channel=True)


@pytest.fixture
def world(world: World) -> World:
    """The shared world with the first three books of The Expanse in the catalog."""
    for asin, title, seq in ((LEVIATHAN, "Leviathan Wakes", "1"),
                             (CALIBAN, "Caliban's War", "2"),
                             (ABADDON, "Abaddon's Gate", "3")):
        world.audible.add_product(asin=asin, title=title, authors=[COREY],
                                  narrators=["Jefferson Mays"], series=[(EXPANSE, seq)])
    return world


def service(world: World) -> RecommendService:
    cog = world.bot.get_cog("Recommend")
    assert cog is not None
    return cog.service  # type: ignore[attr-defined, no-any-return]


async def shelve(world: World, title: str, author: str, asin: str | None = None) -> str:
    """A book in Plex, mirrored as a scan would; returns its rating key."""
    guid = f"com.plexapp.agents.audnexus://{asin}?lang=en" if asin else ""
    album = world.pms.add_album(title, author, guid=guid, narrators=["Jefferson Mays"])
    await world.runtime.scans.run("full")
    return album.rating_key


async def reader(world: World, user: FakeUser, ratings: dict[str, float]) -> tuple[str, str]:
    """Link `user`; their server token carries `ratings`. Returns (plex.tv token, server token)."""
    tv_token = await world.link(user)
    server_token = f"srv-{user.id}"  # what world.link's plex.tv account grants for the server
    world.pms.add_user(server_token, ratings)
    return tv_token, server_token


async def expanse_reader(world: World, user: FakeUser) -> tuple[str, str]:
    """Leviathan Wakes in Plex, rated 5★ by `user`."""
    key = await shelve(world, "Leviathan Wakes", COREY, LEVIATHAN)
    return await reader(world, user, {key: 10})


async def run(world: World, user: FakeUser) -> tuple[FakeInteraction, FakeMessage]:
    inter = await world.fd.slash(user, world.guild, "recommend")
    assert inter.is_ephemeral
    msg = await inter.wait_for_edit(lambda m: bool(m.embeds) or bool(m.content), timeout=10)
    return inter, msg


async def said(inter: FakeInteraction, text: str) -> str:
    await inter.wait_for(lambda i: any(text in m.text for m in i.messages), timeout=10)
    return next(m.text for m in inter.messages if text in m.text)


# -- ratings are the user's own ------------------------------------------------------------


async def test_recommends_the_next_book_from_ratings_read_with_the_users_token(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tv_token, server_token = await expanse_reader(world, world.alice)
    world.pms.requests.clear()
    asked = spy_store_reads(world, monkeypatch)

    _, msg = await run(world, world.alice)

    assert msg.is_ephemeral
    (embed,) = msg.embeds
    assert embed["title"] == "Caliban's War"
    reason, summary = embed["description"].split("\n\n")  # why, then a line of the blurb
    assert reason == "Next in The Expanse after Leviathan Wakes, which you rated 5★"
    assert summary == "A book called Caliban's War."
    assert embed["thumbnail"]["url"].startswith("https://m.media-amazon.com/")
    assert [b["label"] for b in msg.buttons] == [
        "Request", "Not interested", "Next",
        f"Follow this series: {EXPANSE}", f"Follow this author: {COREY}",
    ]
    listings = [r for r in world.pms.requests if r.path == LISTING]
    assert listings and all(r.headers.get("X-Plex-Token") == server_token for r in listings)
    assert all(r.headers.get("X-Plex-Token") != world.pms.token for r in world.pms.requests)
    resources = [r for r in world.tv.requests if r.path == "/api/v2/resources"]
    assert [r.headers.get("X-Plex-Token") for r in resources] == [tv_token]
    assert PLEX_TOKEN not in asked  # the system token is never even decrypted (seed fix #9)
    assert_never_shown(world, caplog.records, server_token, tv_token)
    assert world.pms.token not in everything_sent(world)


def listings(world: World) -> int:
    return sum(r.path == LISTING for r in world.pms.requests)


async def test_ratings_are_cached_per_user_until_a_new_login(world: World) -> None:
    await expanse_reader(world, world.alice)
    await run(world, world.alice)
    listed = listings(world)
    assert listed >= 1

    await run(world, world.alice)
    assert listings(world) == listed

    await world.link(world.alice, token="tv-token-alice-second-account")
    await run(world, world.alice)
    assert listings(world) > listed


# -- buttons -----------------------------------------------------------------------------


async def test_request_button_creates_a_pending_request_and_posts_it(world: World) -> None:
    await expanse_reader(world, world.alice)
    inter, msg = await run(world, world.alice)

    await world.fd.click(world.alice, msg, label="Request")
    done = await inter.wait_for_edit(lambda m: "Requested. An admin will look at it" in m.text)

    (req,) = await BookRequest.all()
    assert req.asin == CALIBAN and req.status == RequestStatus.PENDING
    assert req.requester_id == world.alice.id  # type: ignore[attr-defined]
    assert done.embeds[0]["title"] == "Caliban's War" and done.is_ephemeral
    post = await world.fd.wait_for_message(world.admin_channel_id)
    assert post.embeds[0]["title"] == "Caliban's War"
    assert post.custom_ids == [f"earmark:req:approve:{req.id}", f"earmark:req:deny:{req.id}"]

    # Next shows the following recommendation; the requested one is gone
    await world.fd.click(world.alice, done, label="Next")
    following = await inter.wait_for_edit(lambda m: "Abaddon's Gate" in m.text)
    assert "Caliban's War" not in following.text


async def test_not_interested_hides_the_book_next_time(world: World) -> None:
    await expanse_reader(world, world.alice)
    inter, msg = await run(world, world.alice)
    assert msg.embeds[0]["title"] == "Caliban's War"

    await world.fd.click(world.alice, msg, label="Not interested")
    shown = await inter.wait_for_edit(lambda m: "Abaddon's Gate" in m.text)

    assert shown.content == "👌 Won't suggest “Caliban's War” again."
    assert shown.embeds[0]["footer"]["text"] == "Recommendation 2 of 2"  # N stays the same
    assert "Caliban's War" not in shown.text.removeprefix(shown.content)
    assert await Dismissal.filter(user_id=world.alice.id).values_list("asin", flat=True) == [
        CALIBAN
    ]
    _, again = await run(world, world.alice)
    assert again.embeds[0]["title"] == "Abaddon's Gate"
    assert again.embeds[0]["description"].startswith(
        "Book 3 of The Expanse, which continues Leviathan Wakes (you rated it 5★)\n\n"
    )
    # Caliban's War is not among them
    assert again.embeds[0]["footer"]["text"] == "Recommendation 1 of 1"
    assert await BookRequest.all().count() == 0


async def test_only_the_invoking_user_can_press_the_buttons(world: World) -> None:
    await expanse_reader(world, world.alice)
    _, msg = await run(world, world.alice)

    forged = await world.fd.click(world.bob, msg, label="Not interested", force=True)

    assert forged.is_ephemeral and "belongs to someone else" in forged.original.content
    assert await Dismissal.all().count() == 0


# -- what is left out -------------------------------------------------------------------


async def offered(world: World, user: FakeUser) -> list[str]:
    """The titles the recommender would offer `user` now, best first."""
    return [pick.book.title for pick in await service(world).recommend(user.id)]


async def request_by_bob(world: World, asin: str, title: str) -> None:
    bob = await User.create(discord_id=world.bob.id)
    await BookRequest.create(requester=bob, asin=asin, title=title, author=COREY,
                             status=RequestStatus.APPROVED)


async def caliban_in_plex(world: World) -> None:
    await shelve(world, "Caliban's War", COREY, CALIBAN)  # in Plex, not rated yet


async def caliban_requested_by_bob(world: World) -> None:
    await request_by_bob(world, CALIBAN, "Caliban's War")


@pytest.mark.parametrize("rule", [caliban_in_plex, caliban_requested_by_bob],
                         ids=["in Plex", "requested by someone else"])
async def test_a_book_is_left_out_because_of_the_rule(
    world: World, rule: Callable[[World], Awaitable[None]]
) -> None:
    await expanse_reader(world, world.alice)
    assert await offered(world, world.alice) == ["Caliban's War", "Abaddon's Gate"]

    await rule(world)

    _, msg = await run(world, world.alice)
    assert msg.embeds[0]["title"] == "Abaddon's Gate"
    assert msg.embeds[0]["footer"]["text"]== "Recommendation 1 of 1"


async def test_nothing_left_after_the_rules_says_so(world: World) -> None:
    await expanse_reader(world, world.alice)
    assert await offered(world, world.alice) == ["Caliban's War", "Abaddon's Gate"]

    await shelve(world, "Caliban's War", COREY, CALIBAN)
    await request_by_bob(world, ABADDON, "Abaddon's Gate")

    assert await offered(world, world.alice) == []
    inter = await world.fd.slash(world.alice, world.guild, "recommend")
    await said(inter, "No new recommendations")


async def test_podcasts_are_not_recommended(world: World) -> None:
    await expanse_reader(world, world.alice)
    world.audible.add_product(asin="B0PODCAST1", title="The Expanse Podcast", authors=[COREY],
                              narrators=["Jefferson Mays"], series=[(EXPANSE, "4")],
                              content_delivery_type="PodcastParent", content_type="Podcast")

    _, msg = await run(world, world.alice)

    # Caliban's War and Abaddon's Gate; a book "4" would be a third
    assert msg.embeds[0]["footer"]["text"]== "Recommendation 1 of 2"


async def test_catalog_searches_are_few_whatever_the_number_of_favourites(world: World) -> None:
    writers = ["Ursula Le Guin", "Becky Chambers", "Martha Wells", "Iain Banks",
               "Ann Leckie", "Adrian Tchaikovsky", "Octavia Butler", "Ted Chiang"]
    ratings = {}
    for i, writer in enumerate(writers):
        album = world.pms.add_album(f"Favourite {writer}", writer,
                                    narrators=[f"Voice {writers[-1 - i]}"])
        ratings[album.rating_key] = 10.0
    await world.runtime.scans.run("full")
    await reader(world, world.alice, ratings)

    inter = await world.fd.slash(world.alice, world.guild, "recommend")
    await said(inter, "No new recommendations")

    assert 1 <= len(world.audible.requests) <= 6


# -- refusals and failures ------------------------------------------------------------------


async def test_not_linked_is_refused_before_any_plex_call(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "recommend")

    assert inter.is_ephemeral and "/login" in inter.original.content
    assert world.tv.requests == [] and world.audible.requests == []


async def test_no_ratings_explains_how_to_rate_in_plex(world: World) -> None:
    await shelve(world, "Leviathan Wakes", COREY, LEVIATHAN)
    await reader(world, world.alice, {})

    inter = await world.fd.slash(world.alice, world.guild, "recommend")
    text = await said(inter, "haven't rated")

    assert "give it stars" in text and "/recommend" in text
    assert world.audible.requests == []


async def test_an_account_without_access_to_the_server_is_told_so(world: World) -> None:
    tv_token, _ = await expanse_reader(world, world.alice)
    world.tv.accounts[tv_token].servers.clear()  # the owner stopped sharing
    world.pms.requests.clear()

    inter = await world.fd.slash(world.alice, world.guild, "recommend")
    await said(inter, NO_ACCESS_MESSAGE)

    assert world.pms.requests == []


async def test_a_server_that_refuses_the_users_access_token_is_no_access(world: World) -> None:
    _, server_token = await expanse_reader(world, world.alice)
    del world.pms.user_ratings[server_token]  # the server answers 401 to that token now

    inter = await world.fd.slash(world.alice, world.guild, "recommend")

    await said(inter, NO_ACCESS_MESSAGE)


async def test_an_unreachable_plex_server_is_a_clear_message(world: World) -> None:
    await expanse_reader(world, world.alice)
    world.pms.drop_connections = True

    inter = await world.fd.slash(world.alice, world.guild, "recommend")

    await said(inter, "The Plex server can't be reached right now")


async def test_an_unreachable_plex_tv_is_a_clear_message(world: World) -> None:
    await expanse_reader(world, world.alice)
    await world.tv.stop()

    inter = await world.fd.slash(world.alice, world.guild, "recommend")

    await said(inter, "plex.tv can't be reached right now")


async def test_a_hanging_catalog_is_cut_at_the_deadline(world: World) -> None:
    await expanse_reader(world, world.alice)
    service(world).deadline = 0.5
    world.audible.hang = True
    started = time.monotonic()

    inter = await world.fd.slash(world.alice, world.guild, "recommend")
    await said(inter, "The Audible catalog didn't answer in time")

    assert time.monotonic() - started < 3.0
