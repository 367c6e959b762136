"""The last gaps of issue 12, as a member sees them: no Status field under the `/request`
heading, a picker that names the narrator once, `/recommend`'s login button, the Listen
button after `/admin status`, and `/library` for a series.

The real bot (every cog) against the fakes; each test asserts what the fake
Discord recorded.
"""

from __future__ import annotations

import pytest

from core.library import mirror
from core.models import PlexItem, RequestStatus
from tests.e2e.helpers import PHM, fields, listen_link, make_request, request, shelve_phm
from tests.e2e.world import World, eventually

pytestmark = pytest.mark.world(admin_channel=True)


async def test_request_reply_says_the_state_in_its_heading_only(world: World) -> None:
    await world.link(world.alice)

    reply = await request(world, world.alice)

    assert reply.embeds[0]["description"].startswith("Requested.")
    assert "Status" not in fields(reply) and "Pending" not in reply.text


async def test_picker_option_does_not_repeat_the_narrator(world: World) -> None:
    await world.link(world.alice)
    world.audible.add_product(
        asin="B0SERIES01", title="Leviathan Wakes", authors=["James S. A. Corey"],
        narrators=["Jefferson Mays"], series=[("The Expanse", "1")],
    )

    inter = await world.fd.slash(world.alice, world.guild, "request", title="hail mary")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))
    phm = next(o for o in menu.selects[0]["options"] if o["value"] == PHM)
    assert "Ray Porter" in phm["label"] and "Ray Porter" not in (phm.get("description") or "")

    inter = await world.fd.slash(world.alice, world.guild, "request", title="leviathan")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))
    (wakes,) = menu.selects[0]["options"]
    assert "Jefferson Mays" in wakes["label"]
    assert wakes["description"] == "The Expanse #1"  # what the label does not say


async def test_recommend_refuses_an_unlinked_member_with_the_login_button(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "recommend")

    assert inter.is_ephemeral and "/login" in inter.original.content
    assert "run `/recommend` again" in inter.original.content
    login = await world.fd.click(world.alice, inter.original, label="Link your Plex account")
    prompt = await login.wait_for_edit(lambda m: bool(m.buttons))
    (sign_in,) = prompt.buttons
    assert sign_in["label"] == "Sign in with Plex" and prompt.is_ephemeral


async def marked_available(world: World, request_id: int) -> None:
    done = world.command_done("admin status")
    await world.fd.slash(
        world.boss, world.guild, "admin status", request_id=request_id, status="available"
    )
    await done
    world.bot.kick_outbox()


async def test_marked_available_by_an_admin_the_dm_has_the_listen_button(world: World) -> None:
    rating_key = await shelve_phm(world)  # in the mirror before anyone asked
    req = await make_request(world, world.alice, "Project Hail Mary")

    await marked_available(world, req.id)

    dm = await world.fd.wait_for_dm(world.alice)
    assert "is now in Plex" in dm.content
    listen, *_ = dm.buttons
    assert listen["label"] == "Listen in Plex" and listen["url"] == listen_link(world, rating_key)


async def test_the_listen_button_follows_the_requests_plex_item(world: World) -> None:
    await shelve_phm(world)
    other = world.pms.add_album("Artemis", "Andy Weir", year=2017)
    await world.runtime.scans.run("full")
    item = await PlexItem.get(rating_key=other.rating_key)
    req = await make_request(world, world.alice, "Artemis (Unabridged)", author="A. Weir")
    req.plex_guid = item.plex_guid  # linked to its Plex item, whatever its title says
    await req.save()

    await marked_available(world, req.id)

    dm = await world.fd.wait_for_dm(world.alice)
    assert dm.buttons[0]["url"] == listen_link(world, other.rating_key)


async def test_marked_available_before_plex_has_it_there_is_no_button(world: World) -> None:
    req = await make_request(world, world.alice, "Project Hail Mary")

    await marked_available(world, req.id)

    dm = await world.fd.wait_for_dm(world.alice)
    assert "is now in Plex" in dm.content
    assert "Listen in Plex" not in [b["label"] for b in dm.buttons]
    assert (await req.__class__.get(id=req.id)).status == RequestStatus.AVAILABLE


async def test_library_series_query_lists_its_books_in_order_and_pages(world: World) -> None:
    for n in (3, 11, 1, 12, 2, 10, 4, 5, 6, 7, 8, 9):  # shelved out of order
        world.pms.add_album(f"Tale {n:02d} (The Expanse, Book {n})", "James S. A. Corey")
    world.pms.add_album("Dune", "Frank Herbert")
    await world.runtime.scans.run("full")

    for query in ("the expanse", "Expanse"):
        inter = await world.fd.slash(world.alice, world.guild, "library", query=query)
        page = inter.original
        embed = page.embeds[0]
        assert embed["title"] == "The Expanse"
        assert embed["footer"]["text"] == "Page 1 of 2 · 12 books in the library"
        lines = embed["description"].splitlines()
        assert [line.split(" ", 1)[0] for line in lines] == [f"#{n}" for n in range(1, 11)]
        assert "Tale 01" in lines[0] and "](https://app.plex.tv/desktop/#!/server/" in lines[0]
        assert "Dune" not in page.text

    await world.fd.click(world.alice, page, label="Next")
    await eventually(lambda: "Page 2 of 2" in page.embeds[0]["footer"]["text"])
    assert [line.split(" ", 1)[0] for line in page.embeds[0]["description"].splitlines()] == [
        "#11", "#12"
    ]

    title = await world.fd.slash(world.alice, world.guild, "library", query="Tale 07")
    assert title.original.embeds[0]["title"] == "Tale 07 (The Expanse, Book 7)"


async def test_the_first_scan_after_the_upgrade_fills_the_series(world: World) -> None:
    world.pms.add_album("Tale 01 (The Expanse, Book 1)", "James S. A. Corey")
    await world.runtime.scans.run("full")
    row = await PlexItem.get()
    assert (row.series, row.series_index) == ("The Expanse", "1")
    stored = tuple(getattr(row, name) for name in mirror.META_FIELDS)
    assert mirror.content_hash(stored) == row.content_hash  # the hash is of these columns
    before = stored[:-2]  # as a 0003 database left it: no series, the hash of the rest
    await PlexItem.filter(id=row.id).update(
        series=None, series_index=None, content_hash=mirror.content_hash(before)
    )

    await world.runtime.scans.run("recent")

    row = await PlexItem.get()
    assert (row.series, row.series_index) == ("The Expanse", "1")
