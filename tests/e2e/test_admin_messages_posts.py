"""What an admin sees of a request's post in the admin channel (issue 12, point 2).

The post follows the request to its end (decisions, status moves, a scan
making it available, a scan in another process, denial, failure,
cancellation), lists who wants it without pinging anyone, is coloured by
state, and says "Marked downloading by @admin" rather than "Downloading by".
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.config import ScanSettings
from cogs._approval import POSTS_SYNCED_AT, refresh_post
from core.models import BookRequest, RequestStatus
from tests.e2e.helpers import PHM, requested  # Alice asks for PHM; the row and the post
from tests.e2e.world import World, eventually
from tests.fakes.discord import FakeMessage

PHM_GUID = "com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en"
AMBER, BLUE, PURPLE, GREEN, RED, GREY = (
    0xF0A020, 0x3B82F6, 0x8B5CF6, 0x22A559, 0xE0403A, 0x8A8F98
)

pytestmark = pytest.mark.world(
    cogs=("cogs.requests", "cogs.admin", "cogs.scheduler"),
    admin_channel=True,
    scan=ScanSettings(recently_added_minutes=100, full_scan_hours=100),  # ticks run by hand
)


def embed(post: FakeMessage) -> dict[str, Any]:
    (card,) = post.embeds
    return card


def lines(post: FakeMessage) -> list[str]:
    return str(embed(post).get("description") or "").splitlines()


def status(post: FakeMessage) -> str:
    (value,) = [f["value"] for f in embed(post).get("fields", []) if f["name"] == "Status"]
    return str(value)


async def changed(post: FakeMessage, what: str, pred: Any) -> None:
    await eventually(lambda: pred(post), what=what)
    assert post["allowed_mentions"] == {"parse": []}  # mentions render, never ping


def scheduler(world: World) -> Any:
    cog = world.bot.get_cog("Scheduler")
    assert cog is not None
    return cog


async def test_a_new_post_is_amber_and_names_the_requester(world: World) -> None:
    _, post = await requested(world)

    assert embed(post)["color"] == AMBER
    assert lines(post) == [f"Requested by <@{world.alice.id}>"]
    assert "Pending" in status(post)
    assert post["allowed_mentions"] == {"parse": []}


async def test_a_member_joining_shows_on_the_post_and_keeps_the_buttons(world: World) -> None:
    req, post = await requested(world)
    await world.link(world.bob)

    inter = await world.fd.slash(world.bob, world.guild, "request", title=PHM)
    await inter.wait_for_edit(lambda m: bool(m.embeds))

    wanted = f"Wanted by <@{world.alice.id}>, <@{world.bob.id}> (2)"
    await changed(post, "the post lists both", lambda p: wanted in lines(p))
    assert post.custom_ids == [f"earmark:req:approve:{req.id}", f"earmark:req:deny:{req.id}"]
    assert embed(post)["color"] == AMBER


async def test_the_post_follows_admin_moves_with_who_made_them(world: World) -> None:
    req, post = await requested(world)

    await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id)
    await changed(post, "approved", lambda p: embed(p)["color"] == BLUE)
    assert lines(post)[-1] == f"Approved by <@{world.boss.id}>" and post.buttons == []

    await world.fd.slash(
        world.boss, world.guild, "admin status", request_id=req.id, status="downloading"
    )
    await changed(post, "downloading", lambda p: embed(p)["color"] == PURPLE)
    assert lines(post)[-1] == f"Marked downloading by <@{world.boss.id}>"
    assert "Downloading" in status(post)
    assert not any(line.startswith("Downloading by") for line in lines(post))


async def test_an_admin_scan_turns_the_post_green(world: World) -> None:
    req, post = await requested(world)
    await world.runtime.requests.decide(req.id, approve=True)
    world.pms.add_album("Project Hail Mary", "Andy Weir", guid=PHM_GUID)

    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="recent")
    await inter.wait_for_edit(lambda m: "finished" in m.content)

    await changed(post, "available", lambda p: embed(p)["color"] == GREEN)
    assert "Available" in status(post) and post.buttons == []
    assert lines(post)[0] == f"Requested by <@{world.alice.id}>"


async def test_a_scheduled_scan_turns_the_post_green(world: World) -> None:
    _, post = await requested(world)  # still pending: a match ends it as well
    world.pms.add_album("Project Hail Mary", "Andy Weir", guid=PHM_GUID)

    summary = await scheduler(world).run_scan("full")

    assert summary is not None and summary.matched_requests == 1
    await changed(post, "available", lambda p: embed(p)["color"] == GREEN)
    assert post.buttons == []  # no Approve on a book already in Plex


async def test_a_scan_in_another_process_shows_at_the_next_tick(world: World) -> None:
    store = world.runtime.store
    await eventually(lambda: store.get(POSTS_SYNCED_AT), what="the start-up catch-up mark")
    _, post = await requested(world)
    world.pms.add_album("Project Hail Mary", "Andy Weir", guid=PHM_GUID)
    await world.runtime.scans.run("full")  # as `python -m bot scan` would: no Discord
    assert embed(post)["color"] == AMBER  # nobody told the post yet

    world.pms.add_album("Another Book", "Someone")
    await scheduler(world).run_scan("recent")

    await changed(post, "caught up", lambda p: embed(p)["color"] == GREEN)
    assert "Available" in status(post)


@pytest.mark.parametrize(
    ("target", "colour", "line"),
    [("failed", RED, "Marked failed by"), ("cancelled", GREY, "Cancelled by")],
)
async def test_side_exits_have_their_colour(
    world: World, target: str, colour: int, line: str
) -> None:
    req, post = await requested(world)
    await world.runtime.requests.decide(req.id, approve=True)

    await world.fd.slash(world.boss, world.guild, "admin status", request_id=req.id, status=target)

    await changed(post, target, lambda p: embed(p)["color"] == colour)
    assert lines(post)[-1] == f"{line} <@{world.boss.id}>"


async def test_a_denied_post_is_red_and_keeps_who_denied_it_when_refreshed(
    world: World,
) -> None:
    req, post = await requested(world)
    opened = await world.fd.click(world.boss, post, f"earmark:req:deny:{req.id}")
    await world.fd.submit_modal(world.boss, opened, {"earmark:req:deny-reason:text": "dupe"})
    assert embed(post)["color"] == RED
    denied = f"Denied by <@{world.boss.id}>"
    assert lines(post)[-1] == denied

    await refresh_post(world.bot, await BookRequest.get(id=req.id))  # e.g. after a restart

    await changed(post, "refreshed", lambda p: len(p.history) >= 2)
    assert lines(post)[-1] == denied and embed(post)["color"] == RED


async def test_an_approved_post_keeps_its_approver_when_a_member_joins(world: World) -> None:
    req, post = await requested(world)
    await world.fd.click(world.boss, post, f"earmark:req:approve:{req.id}")
    await world.link(world.bob)

    inter = await world.fd.slash(world.bob, world.guild, "request", title=PHM)
    await inter.wait_for_edit(lambda m: bool(m.embeds))

    await changed(post, "bob listed", lambda p: "(2)" in lines(p)[0])
    assert lines(post)[-1] == f"Approved by <@{world.boss.id}>"
    assert embed(post)["color"] == BLUE
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
