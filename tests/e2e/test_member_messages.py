"""What a member sees (issue 12): Listen in Plex, full book cards, edition labels, undo,
Cancel/Leave, the unlinked path, DMs that say it once, and `/library` for an author.

The real bot (every cog) against the fakes; each test asserts the messages,
embeds and components as the fake Discord recorded them.
"""

from __future__ import annotations

import pytest

from core.models import BookRequest, RequestStatus, RequestSubscriber
from tests.e2e.helpers import PHM, fields, listen_link, request, shelve_phm
from tests.e2e.world import World, eventually
from tests.fakes.discord import FakeMessage

PHM_PAGE = f"https://www.audible.com/pd/{PHM}"
UNDO = "Not this one? Cancel"

pytestmark = pytest.mark.world(admin_channel=True)


def no_secrets(world: World, message: FakeMessage) -> None:
    text = str(message)
    assert world.pms.token not in text and world.pms.url not in text and PHM not in (
        message.embeds[0].get("footer") or {}
    ).get("text", "")


# -- 1. Listen in Plex ----------------------------------------------------------------------


async def test_in_plex_dm_has_a_listen_button_and_says_it_once(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    await request(world, world.alice)
    await request(world, world.bob)  # joins alice's request
    rating_key = await shelve_phm(world)
    world.bot.kick_outbox()

    mine = await world.fd.wait_for_dm(world.alice)
    theirs = await world.fd.wait_for_dm(world.bob)

    assert mine.content == (
        "✅ **Project Hail Mary**, the book you asked for on **Books**, is now in Plex. "
        "Happy listening!"
    )
    assert "the book you also asked for on **Books**" in theirs.content
    for dm in (mine, theirs):
        button, *follow = dm.buttons
        assert button["style"] == 5 and button["label"] == "Listen in Plex"
        assert [b["label"] for b in follow] == ["Follow this author: Andy Weir"]
        assert button["url"] == listen_link(world, rating_key)
        assert "Status" not in fields(dm) and "now in Plex" not in dm.embeds[0].get(
            "description", ""
        )  # one statement: the line, not the line + a heading + a Status field
        no_secrets(world, dm)


async def test_already_in_library_reply_and_library_card_have_the_listen_button(
    world: World,
) -> None:
    await world.link(world.alice)
    rating_key = await shelve_phm(world)

    refused = await request(world, world.alice)
    (button,) = refused.buttons
    assert button["url"] == listen_link(world, rating_key)

    shown = await world.fd.slash(world.alice, world.guild, "library", query="hail mary")
    (button,) = shown.original.buttons
    assert button["url"] == listen_link(world, rating_key)
    assert shown.original.embeds[0]["url"] == PHM_PAGE
    no_secrets(world, shown.original)


# -- 3. full book cards ----------------------------------------------------------------------


async def test_request_card_is_full_and_links_to_the_catalog_page(world: World) -> None:
    await world.link(world.alice)

    reply = await request(world, world.alice)

    embed = reply.embeds[0]
    assert embed["url"] == PHM_PAGE
    facts = fields(reply)
    assert facts["Length"] == "16 h 10 min" and facts["Released"] == "2021"
    assert facts["Narrator"] == "Ray Porter"
    heading, summary = embed["description"].split("\n\n")
    assert heading.startswith("Requested.") and 20 < len(summary) <= 240
    assert embed["footer"]["text"] == f"Request #{(await BookRequest.get()).id}"  # no ASIN
    post = await world.fd.wait_for_message(world.admin_channel_id)
    assert PHM in post.embeds[0]["footer"]["text"]  # the admins keep it


# -- 4. undo a pick --------------------------------------------------------------------------


async def test_a_pick_can_be_undone_and_the_admin_post_follows(world: World) -> None:
    await world.link(world.alice)
    reply = await request(world, world.alice)
    assert reply.component(label=UNDO)["style"] == 2
    post = await world.fd.wait_for_message(world.admin_channel_id)

    forged = await world.fd.click(world.bob, reply, label=UNDO, force=True)
    assert "belongs to someone else" in forged.original.content

    await world.fd.click(world.alice, reply, label=UNDO)
    await eventually(lambda: "Cancelled" in reply.text and not reply.buttons)
    req = await BookRequest.get()
    assert req.status == RequestStatus.CANCELLED
    await eventually(lambda: "Cancelled" in post.text, what="the admin post follows")
    assert post.buttons == []


async def test_undo_after_joining_leaves_the_other_request_alone(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    await request(world, world.alice)
    joined = await request(world, world.bob)

    post = world.fd.channel_messages(world.admin_channel_id)[0]
    await world.fd.click(world.bob, joined, label=UNDO)
    await eventually(lambda: "You left this request" in joined.text)
    await eventually(lambda: len(post.history) == 2, what="the post refreshed on join and leave")

    req = await BookRequest.get()
    assert req.status == RequestStatus.PENDING and req.requester_id == world.alice.id
    assert await RequestSubscriber.all().count() == 0


# -- 5. /requests: cancel, leave, reasons, plurals ------------------------------------------


async def test_requests_cancel_leave_and_denied_reason(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    world.audible.add_product(asin="B0DENIED01", title="Denied Book", authors=["Someone"])
    world.audible.add_product(asin="B0BOBS0001", title="Bob's Book", authors=["Other"])
    await request(world, world.alice)
    await request(world, world.alice, "B0DENIED01")
    await world.runtime.requests.decide(
        (await BookRequest.get(asin="B0DENIED01")).id, approve=False, reason="Not in our budget"
    )
    await request(world, world.bob, "B0BOBS0001")
    await request(world, world.alice, "B0BOBS0001")

    inter = await world.fd.slash(world.alice, world.guild, "requests")
    page = inter.original
    assert page.embeds[0]["footer"]["text"] == "3 requests"  # one page: no "Page 1/1"
    assert "Reason: Not in our budget" in page.text
    assert [b["label"] for b in page.buttons] == []  # no Previous/Next for one page
    (select,) = page.selects
    phm = await BookRequest.get(asin=PHM)
    theirs = await BookRequest.get(asin="B0BOBS0001")
    values = [o["value"] for o in select["options"]]
    assert values == [f"leave:{theirs.id}", f"cancel:{phm.id}"]  # nothing for the denied one

    await world.fd.select(world.alice, page, select["custom_id"], [f"cancel:{phm.id}"])
    await eventually(lambda: f"Cancelled request #{phm.id}" in page.text)
    assert (await BookRequest.get(id=phm.id)).status == RequestStatus.CANCELLED

    (select,) = page.selects
    await world.fd.select(world.alice, page, select["custom_id"], [f"leave:{theirs.id}"])
    await eventually(lambda: f"You left request #{theirs.id}" in page.text)
    assert await RequestSubscriber.filter(request_id=theirs.id).count() == 0
    assert page.embeds[0]["footer"]["text"] == "2 requests"
    bobs_post = next(
        m for m in world.fd.channel_messages(world.admin_channel_id) if "Bob's Book" in m.text
    )
    await eventually(lambda: len(bobs_post.history) == 2, what="the post refreshed on leave")


async def test_one_request_is_singular_and_a_cancel_with_joiners_hands_it_over(
    world: World,
) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    await request(world, world.alice)
    inter = await world.fd.slash(world.alice, world.guild, "requests")
    assert inter.original.embeds[0]["footer"]["text"] == "1 request"

    await request(world, world.bob)
    req = await BookRequest.get()
    result = await world.runtime.requests.cancel(req.id, world.alice.id)

    assert result.handed_to == world.bob.id
    req = await BookRequest.get()
    assert req.status == RequestStatus.PENDING and req.requester_id == world.bob.id
    assert await RequestSubscriber.all().count() == 0


# -- 6. unlinked members --------------------------------------------------------------------


async def test_unlinked_autocomplete_and_the_login_button(world: World) -> None:
    choices = await world.fd.autocomplete(world.alice, world.guild, "request", "title", "hail")
    assert choices.names == ["🔒 Link your Plex account first (/login)"]
    assert world.audible.requests == []

    inter = await world.fd.slash(world.alice, world.guild, "request", title=choices.values[0])
    assert inter.is_ephemeral and "/login" in inter.original.content
    assert await BookRequest.all().count() == 0

    login = await world.fd.click(world.alice, inter.original, label="Link your Plex account")
    prompt = await login.wait_for_edit(lambda m: bool(m.buttons))
    (sign_in,) = prompt.buttons
    assert sign_in["label"] == "Sign in with Plex" and sign_in["url"].startswith(
        "https://app.plex.tv/auth#?"
    )
    assert prompt.is_ephemeral and "Link your Plex account" in prompt.text


# -- 7. DMs ------------------------------------------------------------------------------------


async def test_a_denial_dm_gives_the_reason_and_a_next_step(world: World) -> None:
    await world.link(world.alice)
    await request(world, world.alice)
    await world.runtime.requests.decide(
        (await BookRequest.get()).id, approve=False, reason="Not in our budget"
    )
    world.bot.kick_outbox()

    dm = await world.fd.wait_for_dm(world.alice)

    assert dm.content.startswith("⛔ **Project Hail Mary**, the book you asked for on **Books**")
    assert fields(dm)["Reason"] == "Not in our budget"
    assert "request another edition with `/request`, or ask the admins" in dm.text
    assert dm.buttons == [] and "Status" not in fields(dm)


# -- 10. /library for an author --------------------------------------------------------------


async def test_library_author_query_lists_their_books_in_pages(world: World) -> None:
    for n in range(12):
        world.pms.add_album(f"Weir Book {n:02d}", "Andy Weir", year=2000 + n)
    world.pms.add_album("Dune", "Frank Herbert")
    await world.runtime.scans.run("full")

    inter = await world.fd.slash(world.alice, world.guild, "library", query="andy weir")
    page = inter.original

    assert page.embeds[0]["title"] == "Books by Andy Weir"
    assert page.embeds[0]["footer"]["text"] == "Page 1 of 2 · 12 books in the library"
    assert page.text.count("Weir Book") == 10 and "Dune" not in page.text
    assert "](https://app.plex.tv/desktop/#!/server/" in page.embeds[0]["description"]
    forged = await world.fd.click(world.bob, page, label="Next", force=True)
    assert "belongs to someone else" in forged.original.content
    await world.fd.click(world.alice, page, label="Next")
    await eventually(lambda: "Page 2 of 2" in page.embeds[0]["footer"]["text"])
    assert page.text.count("Weir Book") == 2

    title = await world.fd.slash(world.alice, world.guild, "library", query="Weir Book 03")
    assert title.original.embeds[0]["title"] == "Weir Book 03"
