"""End to end: `/request` (autocomplete, submit, free text, refusals) and `/requests`.

The real bot with only `cogs.requests` loaded, against the fake Discord,
Plex and Audible servers on 127.0.0.1.
"""

from __future__ import annotations

import pytest

from core.config_store import ADMIN_CHANNEL
from core.models import BookRequest, RequestStatus, RequestSubscriber, User
from core.users import unlink
from tests.e2e.helpers import index_never_ready
from tests.e2e.world import World
from tests.fakes.discord import FakeMessage

PHM = "B08G9PRS1K"  # Project Hail Mary (a real product fixture)
HP1 = "B017V4IM1G"  # Harry Potter and the Sorcerer's Stone
MARK = "✅ In library · "
PHM_LABEL = "Project Hail Mary — Andy Weir · Ray Porter · 16 h (2021)"

pytestmark = pytest.mark.world(cogs=("cogs.requests",), admin_channel=True)


async def shelve(world: World, title: str, author: str, asin: str) -> None:
    """Put a book in Plex and mirror it, as a scan would have."""
    world.pms.add_album(title, author, guid=f"com.plexapp.agents.audnexus://{asin}?lang=en")
    await world.runtime.scans.run("full")


def admin_posts(world: World) -> list[FakeMessage]:
    return world.fd.channel_messages(world.admin_channel_id)


def field(message: FakeMessage, name: str) -> str:
    (embed,) = message.embeds
    return next(f["value"] for f in embed.get("fields", []) if f["name"] == name)


# -- autocomplete ----------------------------------------------------------------------


async def test_autocomplete_shows_catalog_books_and_marks_library(world: World) -> None:
    await world.link(world.alice)
    world.audible.add_product(
        asin="B0PROJECT1", title="Project Nobody", authors=["Ann Other"], release_date="2019-03-01"
    )
    await shelve(world, "Project Hail Mary", "Andy Weir", PHM)

    choices = await world.fd.autocomplete(world.alice, world.guild, "request", "title", "project")

    by_value = dict(zip(choices.values, choices.names, strict=True))
    assert by_value[PHM] == MARK + PHM_LABEL
    assert by_value["B0PROJECT1"] == "Project Nobody — Ann Other · 10 h (2019)"
    assert all(len(name) <= 100 for name in choices.names)


async def test_autocomplete_long_title_stays_within_100_chars_with_mark(world: World) -> None:
    await world.link(world.alice)
    long_title = "An Extremely Long Audiobook Title " * 5
    world.audible.add_product(asin="B0LONGLONG", title=long_title, authors=["Writer"])
    await shelve(world, long_title, "Writer", "B0LONGLONG")

    choices = await world.fd.autocomplete(world.alice, world.guild, "request", "title", "extremely")

    (name,) = choices.names
    assert name.startswith(MARK) and len(name) <= 100 and name.endswith("Writer · 10 h (2020)")


async def test_autocomplete_answers_in_time_when_the_catalog_hangs(world: World) -> None:
    await world.link(world.alice)
    world.audible.hang = True

    choices = await world.fd.autocomplete(world.alice, world.guild, "request", "title", "dune")

    assert choices.latency is not None and choices.latency < 3.0
    assert list(choices) == []


async def test_autocomplete_does_not_wait_for_a_cold_library_index(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First start on a big library: choices come at once, without the in-library mark."""
    await world.link(world.alice)
    await shelve(world, "Project Hail Mary", "Andy Weir", PHM)
    world.audible.delay = 2.4  # the catalog already uses most of Discord's 3 s

    index_never_ready(world, monkeypatch)
    choices = await world.fd.autocomplete(world.alice, world.guild, "request", "title", "project")

    assert choices.latency is not None and choices.latency < 3.0
    assert PHM_LABEL in choices.names  # no mark, but an answer


# -- submit ----------------------------------------------------------------------------


async def test_request_creates_pending_posts_to_admin_and_replies_with_embed(
    world: World,
) -> None:
    await world.link(world.alice)

    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds))

    assert reply.is_ephemeral
    (embed,) = reply.embeds
    assert embed["title"] == "Project Hail Mary"
    assert field(reply, "Author") == "Andy Weir"
    assert field(reply, "Narrator") == "Ray Porter"
    assert embed["description"].startswith("Requested. An admin will look at it")
    assert embed["thumbnail"]["url"].startswith("https://")
    (req,) = await BookRequest.all()
    assert req.status == RequestStatus.PENDING and req.requester_id == world.alice.id
    assert req.asin == PHM

    post = await world.fd.wait_for_message(world.admin_channel_id)
    assert not post.is_ephemeral
    assert post.custom_ids == [f"earmark:req:approve:{req.id}", f"earmark:req:deny:{req.id}"]
    assert post.embeds[0]["title"] == "Project Hail Mary"
    assert f"<@{world.alice.id}>" in post.embeds[0]["description"]
    assert post["allowed_mentions"] == {"parse": []}


async def test_auto_approve_creates_approved_and_posts_without_buttons(world: World) -> None:
    await world.link(world.alice)
    await world.runtime.requests.set_auto_approve(True)

    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds))

    assert reply.embeds[0]["description"].startswith("Requested and approved.")
    (req,) = await BookRequest.all()
    assert req.status == RequestStatus.APPROVED
    post = await world.fd.wait_for_message(world.admin_channel_id)
    assert post.custom_ids == []
    assert "Auto-approved" in post.embeds[0]["description"]


async def test_no_admin_channel_still_creates_the_request(world: World) -> None:
    await world.runtime.store.delete(ADMIN_CHANNEL)
    await world.link(world.alice)

    done = world.command_done("request")
    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    await inter.wait_for_edit(lambda m: bool(m.embeds))
    await done  # the admin post comes after the reply: wait until it would have been made

    assert await BookRequest.all().count() == 1
    assert admin_posts(world) == []


async def test_book_already_in_library_is_refused_and_shown(world: World) -> None:
    await world.link(world.alice)
    await shelve(world, "Project Hail Mary", "Andy Weir", PHM)

    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds))

    assert reply.is_ephemeral
    (embed,) = reply.embeds
    assert embed["title"] == "Project Hail Mary"
    assert "Already in the Plex library" in embed["description"]
    assert field(reply, "Author") == "Andy Weir"
    # A cover from the catalog only: a Plex thumb would carry the server token.
    assert embed["thumbnail"]["url"].startswith("https://m.media-amazon.com/")
    assert world.pms.url not in str(reply) and world.pms.token not in str(reply)
    assert await BookRequest.all().count() == 0
    assert admin_posts(world) == []


async def test_same_book_by_another_user_subscribes_them(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    first = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    await first.wait_for_edit(lambda m: bool(m.embeds))

    second = await world.fd.slash(world.bob, world.guild, "request", title=PHM)
    reply = await second.wait_for_edit(lambda m: bool(m.embeds))

    assert "subscribed" in reply.embeds[0]["description"]
    (req,) = await BookRequest.all()
    assert req.requester_id == world.alice.id
    subs = await RequestSubscriber.filter(request_id=req.id).values_list("user_id", flat=True)
    assert list(subs) == [world.bob.id]
    assert len(admin_posts(world)) == 1

    again = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    mine = await again.wait_for_edit(lambda m: bool(m.embeds))
    assert "You already requested" in mine.embeds[0]["description"]
    assert await BookRequest.all().count() == 1


async def test_unlinked_user_is_told_to_login_and_nothing_is_created(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)

    assert inter.is_ephemeral
    assert "/login" in inter.original.content
    assert await BookRequest.all().count() == 0
    assert world.audible.requests == []  # refused before asking the catalog
    assert admin_posts(world) == []


async def test_free_text_offers_a_select_and_choosing_submits(world: World) -> None:
    await world.link(world.alice)

    inter = await world.fd.slash(world.alice, world.guild, "request", title="hail mary")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))

    assert menu.is_ephemeral and "hail mary" in menu.content
    (select,) = menu.selects
    options = {o["value"]: o["label"] for o in select["options"]}
    assert options[PHM] == PHM_LABEL
    assert await BookRequest.all().count() == 0  # nothing until a book is chosen

    await world.fd.select(world.alice, menu, select["custom_id"], [PHM])
    done = await inter.wait_for_edit(lambda m: bool(m.embeds))

    assert done.selects == [] and done.embeds[0]["title"] == "Project Hail Mary"
    (req,) = await BookRequest.all()
    assert req.asin == PHM and req.status == RequestStatus.PENDING
    await world.fd.wait_for_message(world.admin_channel_id)


async def test_a_ten_letter_word_is_free_text_not_an_asin(world: World) -> None:
    await world.link(world.alice)
    world.audible.add_product(asin="B0FOUNDAT1", title="Foundation", authors=["Isaac Asimov"])

    inter = await world.fd.slash(world.alice, world.guild, "request", title="FOUNDATION")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))

    assert [o["value"] for o in menu.selects[0]["options"]] == ["B0FOUNDAT1"]


async def test_free_text_with_no_results_says_so(world: World) -> None:
    await world.link(world.alice)

    inter = await world.fd.slash(world.alice, world.guild, "request", title="zzzz qqqq")
    await inter.wait_for(lambda i: any("nothing" in m.content for m in i.messages))

    assert await BookRequest.all().count() == 0


async def test_select_is_only_for_the_invoking_user(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    inter = await world.fd.slash(world.alice, world.guild, "request", title="hail mary")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))
    cid = menu.selects[0]["custom_id"]

    forged = await world.fd.select(world.bob, menu, cid, [PHM], force=True)

    assert forged.is_ephemeral and "belongs to someone else" in forged.original.content
    assert await BookRequest.all().count() == 0


async def test_select_path_also_requires_a_linked_account(world: World) -> None:
    await world.link(world.alice)
    inter = await world.fd.slash(world.alice, world.guild, "request", title="hail mary")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))
    await unlink(world.alice.id)

    picked = await world.fd.select(world.alice, menu, menu.selects[0]["custom_id"], [PHM])

    assert picked.is_ephemeral and "/login" in picked.original.content
    assert await BookRequest.all().count() == 0


async def test_open_request_limit_is_enforced(world: World) -> None:
    await world.link(world.alice)
    world.runtime.requests.max_open_per_user = 1
    first = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    await first.wait_for_edit(lambda m: bool(m.embeds))

    second = await world.fd.slash(world.alice, world.guild, "request", title=HP1)
    await second.wait_for(lambda i: any("limit" in m.content for m in i.messages))

    assert [r.asin for r in await BookRequest.all()] == [PHM]


async def test_markdown_and_mentions_in_catalog_metadata_are_escaped(world: World) -> None:
    await world.link(world.alice)
    world.audible.add_product(
        asin="B0EVIL0001", title="**Loud** @everyone <@123>", authors=["_Sly_ @here"]
    )

    done = world.command_done("request")
    inter = await world.fd.slash(world.alice, world.guild, "request", title="B0EVIL0001")
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds))
    post = await world.fd.wait_for_message(world.admin_channel_id)
    await done  # the post's id is stored after the post: not after the bot has stopped

    for message in (reply, post):
        title = message.embeds[0]["title"]
        assert "\\*\\*Loud\\*\\*" in title
        assert "@everyone" not in title and "<@123>" not in title
        assert "@here" not in field(message, "Author") and "\\_Sly\\_" in field(message, "Author")
        assert message["allowed_mentions"] == {"parse": []}


# -- /requests -------------------------------------------------------------------------


async def make_requests(world: World, count: int) -> list[BookRequest]:
    """Rows straight in the database: /requests only reads them."""
    user, _ = await User.get_or_create(discord_id=world.alice.id)
    return [
        await BookRequest.create(
            requester=user, asin=f"B0TEST{i:04d}", title=f"Book {i}", author="Someone",
            status=RequestStatus.PENDING,
        )
        for i in range(1, count + 1)
    ]


async def test_requests_pages_newest_first_with_states(world: World) -> None:
    rows = await make_requests(world, 7)
    await world.runtime.requests.decide(rows[-1].id, approve=True)
    bob, _ = await User.get_or_create(discord_id=world.bob.id)
    theirs = await BookRequest.create(
        requester=bob, asin="B0BOBS0001", title="Bob's Book", status=RequestStatus.APPROVED
    )
    await RequestSubscriber.create(request=theirs, user_id=world.alice.id)

    inter = await world.fd.slash(world.alice, world.guild, "requests")
    page1 = inter.original

    assert page1.is_ephemeral
    text = page1.embeds[0]["description"]
    assert text.index("Bob's Book") < text.index("Book 7") < text.index("Book 4")
    assert "Book 3" not in text
    assert "you joined this request" in text and "Approved" in text and "Pending" in text
    assert "Page 1 of 2 · 8 requests" in page1.embeds[0]["footer"]["text"]
    assert page1.component(label="Previous")["disabled"] is True

    await world.fd.click(world.alice, page1, label="Next")
    page2 = await inter.wait_for_edit(lambda m: "Page 2 of 2" in m.embeds[0]["footer"]["text"])
    text = page2.embeds[0]["description"]
    assert "Book 3" in text and "Book 1" in text and "Book 4" not in text
    assert page2.component(label="Next")["disabled"] is True

    await world.fd.click(world.alice, page2, label="Previous")
    await inter.wait_for_edit(lambda m: "Page 1 of 2" in m.embeds[0]["footer"]["text"])


async def test_requests_pager_is_only_for_the_caller(world: World) -> None:
    await make_requests(world, 6)
    inter = await world.fd.slash(world.alice, world.guild, "requests")

    forged = await world.fd.click(world.bob, inter.original, label="Next", force=True)

    assert forged.is_ephemeral and "belongs to someone else" in forged.original.content
    assert "Page 1 of 2" in inter.original.embeds[0]["footer"]["text"]


async def test_requests_when_there_are_none(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "requests")

    assert inter.is_ephemeral and "no requests yet" in inter.original.content
