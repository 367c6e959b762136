"""End to end: `/admin scan|pending|approve|deny|status` through the fake Discord and Plex."""

from __future__ import annotations

import asyncio
import functools
import json

import pytest

from cogs.admin import AdminCog
from core.library import ScanService
from core.models import Notification, PlexItem, RequestStatus
from tests.e2e.helpers import add_request, show_to_everyone
from tests.e2e.world import World
from tests.fakes.discord import MANAGE_GUILD, CommandNotVisible, FakeMessage

COGS = ("cogs.admin",)
PHM_GUID = "com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en"

pytestmark = pytest.mark.world(cogs=COGS)


def cog(world: World) -> AdminCog:
    """The loaded cog (load_extension imports its own copy of the module, hence no isinstance)."""
    found = world.bot.get_cog("AdminCog")
    assert found is not None and type(found).__name__ == "AdminCog"
    return found  # type: ignore[return-value]


def small_pages(world: World, *, delay: float = 0.0) -> ScanService:
    """A scan service that pages in small steps, so a scan has many progress events."""
    world.pms.delay = delay
    scans = world.runtime.scans
    scans.page_size, scans.folder_page_size = 20, 50
    return world.runtime.scans


#: Requests by unlinked members that await a decision, unless told otherwise.
make_request = functools.partial(add_request, author="Someone", status=RequestStatus.PENDING)


def versions(message: FakeMessage) -> list[str]:
    """Every content the message had, oldest first."""
    return [str(v.get("content") or "") for v in message.history] + [message.content]


# ----- who may use it ---------------------------------------------------------------------


async def test_admin_commands_are_hidden_and_checked(world: World) -> None:
    fd = world.fd
    (admin,) = [c for c in fd.commands(world.guild) if c["name"] == "admin"]
    assert int(admin["default_member_permissions"]) == MANAGE_GUILD
    assert {o["name"] for o in admin["options"]} == {
        "scan", "pending", "approve", "deny", "status"
    }
    with pytest.raises(CommandNotVisible):
        await fd.slash(world.alice, world.guild, "admin pending")

    req = await make_request(world.bob, "Dune", asin="B002V1OF70")
    for command, options in [
        ("admin approve", {"request_id": req.id}),
        ("admin deny", {"request_id": req.id}),
        ("admin status", {"request_id": req.id, "status": "available"}),
        ("admin pending", {}),
        ("admin scan", {"mode": "full"}),
    ]:
        inter = await fd.slash(world.alice, world.guild, command, options, force=True)
        assert inter.is_ephemeral, command
        assert "admins only" in inter.original.content, command
        assert not inter.original.embeds, command
    await req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert await Notification.all().count() == 0
    assert world.pms.requests == []  # no scan ran


# ----- /admin scan ------------------------------------------------------------------------


async def test_scan_shows_progress_then_the_summary(world: World) -> None:
    small_pages(world, delay=0.01)
    cog(world).progress_every = 0.05
    world.pms.make_synthetic(300)
    world.pms.add_album("Project Hail Mary", "Andy Weir", guid=PHM_GUID)
    req = await make_request(
        world.bob, "Project Hail Mary", asin="B08G9PRS1K", author="Andy Weir",
        status=RequestStatus.APPROVED,
    )

    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="full")
    assert inter.is_ephemeral and inter.deferred
    msg = await inter.wait_for_edit(lambda m: "finished" in m.content, timeout=10)
    seen = versions(msg)
    assert any("Step 2 of 3 · books" in v and "/301" in v for v in seen[:-1]), seen
    final = msg.content
    assert "Full scan finished" in final
    assert "Books in Plex: **301**" in final and "new: **301**" in final
    assert "updated: **0**" in final and "removed: **0**" in final
    assert f"Matched requests: **1** (#{req.id})" in final
    assert await PlexItem.all().count() == 301
    await req.refresh_from_db()
    assert req.status == RequestStatus.AVAILABLE


async def test_recent_scan_reports_new_books(world: World) -> None:
    world.pms.make_synthetic(30)
    await world.runtime.scans.run("full")
    world.pms.add_album("Project Hail Mary", "Andy Weir", guid=PHM_GUID)
    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="recent")
    msg = await inter.wait_for_edit(lambda m: "finished" in m.content)
    assert "Recently-added poll finished" in msg.content
    assert "new: **1**" in msg.content and "removed: **0**" in msg.content
    assert await PlexItem.filter(title="Project Hail Mary").exists()


async def test_scan_with_plex_failing_reports_and_deletes_nothing(world: World) -> None:
    pms = world.pms
    pms.make_synthetic(40)
    await world.runtime.scans.run("full")
    assert await PlexItem.all().count() == 40
    for key in list(pms.albums)[:10]:  # a successful full scan would remove these
        pms.remove_album(key)
    pms.fail_at_start = {0: 500}

    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="full")
    msg = await inter.wait_for_edit(lambda m: "failed" in m.content)
    assert "Nothing was removed" in msg.content
    assert pms.token not in json.dumps([msg, *msg.history])
    assert await PlexItem.all().count() == 40


async def test_incomplete_scan_shows_its_note(world: World) -> None:
    pms = world.pms
    pms.make_synthetic(12)
    await world.runtime.scans.run("full")
    pms.albums.clear()  # Plex suddenly lists nothing: the wrong library, or a broken mount
    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="full")
    msg = await inter.wait_for_edit(lambda m: "finished" in m.content)
    assert "⚠️ Full scan finished" in msg.content
    assert "nothing was removed" in msg.content
    assert await PlexItem.all().count() == 12


async def test_scan_joins_a_running_scan(world: World) -> None:
    scans = small_pages(world, delay=0.02)
    world.pms.make_synthetic(100)
    started = asyncio.Event()
    first = asyncio.create_task(scans.run("full", lambda _: started.set()))
    async with asyncio.timeout(5):
        await started.wait()
    assert scans.running == "full"
    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="recent")
    msg = await inter.wait_for_edit(lambda m: "finished" in m.content, timeout=10)
    assert "Joined the running full scan" in msg.content
    assert "Full scan finished" in msg.content and "new: **100**" in msg.content
    assert (await first).new == 100


async def test_scan_longer_than_the_interaction_reports_in_the_channel(world: World) -> None:
    small_pages(world, delay=0.02)
    world.pms.make_synthetic(100)
    admin = cog(world)
    admin.progress_every = 0.05
    admin.interaction_budget = 0.2  # stands for Discord's 15 minutes
    channel = world.guild.text_channel

    inter = await world.fd.slash(
        world.boss, world.guild, "admin scan", mode="full", in_channel=channel
    )
    posted = await world.fd.wait_for_message(
        channel, lambda m: "Full scan finished" in m.content, timeout=10
    )
    assert "new: **100**" in posted.content and f"<@{world.boss.id}>" in posted.content
    assert posted["allowed_mentions"].get("parse") == []
    assert "summary will be posted in this channel" in inter.original.content
    assert "finished" not in inter.original.content


@pytest.mark.world(plex=False)
async def test_scan_without_plex_says_what_is_missing(world: World) -> None:
    inter = await world.fd.slash(world.boss, world.guild, "admin scan", mode="full")
    msg = await inter.wait_for_edit(lambda m: "not started" in m.content)
    assert "/setup plex" in msg.content


# ----- /admin pending ---------------------------------------------------------------------


async def test_pending_lists_requests_safely(world: World) -> None:
    inter = await world.fd.slash(world.boss, world.guild, "admin pending")
    assert inter.is_ephemeral and "No requests" in inter.original.content

    first = await make_request(world.alice, "**Dune** @everyone", asin="B002V1OF70")
    second = await make_request(world.bob, "Hyperion", asin="B004HFSR3C", author="Dan Simmons")
    await make_request(world.bob, "Approved already", asin="B000000001",
                       status=RequestStatus.APPROVED)
    inter = await world.fd.slash(world.boss, world.guild, "admin pending")
    assert inter.is_ephemeral
    (embed,) = inter.original.embeds
    fields = embed["fields"]
    assert [f["name"].split(" · ")[0] for f in fields] == [f"#{first.id}", f"#{second.id}"]
    assert "\\*\\*Dune\\*\\*" in fields[0]["name"] and "@\u200beveryone" in fields[0]["name"]
    assert f"<@{world.alice.id}>" in fields[0]["value"]
    assert "by Dan Simmons" in fields[1]["value"]
    assert inter.original["allowed_mentions"].get("parse") == []


async def test_pending_shows_at_most_25(world: World) -> None:
    for n in range(30):
        await make_request(world.alice, f"Book {n}", asin=f"B0000000{n:02d}")
    inter = await world.fd.slash(world.boss, world.guild, "admin pending")
    (embed,) = inter.original.embeds
    assert len(embed["fields"]) == 25
    assert "(25+)" in embed["title"] and "oldest" in embed["footer"]["text"]


# ----- /admin approve, deny, status -------------------------------------------------------


async def test_approve_queues_the_dm_and_refuses_twice(world: World) -> None:
    req = await make_request(world.alice, "Dune", asin="B002V1OF70")
    inter = await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id)
    assert inter.is_ephemeral
    assert "Approved" in inter.original.text and "told by DM" in inter.original.text
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    (note,) = await Notification.all()
    assert note.kind == "approved" and note.user_id == world.alice.id  # type: ignore[attr-defined]

    again = await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id)
    assert "already approved" in again.original.content
    assert await Notification.all().count() == 1


async def test_deny_with_a_reason(world: World) -> None:
    req = await make_request(world.alice, "Dune", asin="B002V1OF70")
    inter = await world.fd.slash(
        world.boss, world.guild, "admin deny", request_id=req.id, reason="Not on Audible here"
    )
    assert "Denied" in inter.original.text and "Not on Audible here" in inter.original.text
    await req.refresh_from_db()
    assert req.status == RequestStatus.DENIED and req.reason == "Not on Audible here"
    (note,) = await Notification.all()
    assert note.kind == "denied" and note.payload["reason"] == "Not on Audible here"


async def test_status_moves_along_the_lifecycle(world: World) -> None:
    req = await make_request(world.alice, "Dune", asin="B002V1OF70",
                             status=RequestStatus.APPROVED)
    inter = await world.fd.slash(
        world.boss, world.guild, "admin status", request_id=req.id, status="downloading"
    )
    assert inter.is_ephemeral and "Downloading" in inter.original.text
    await req.refresh_from_db()
    assert req.status == RequestStatus.DOWNLOADING

    back = await world.fd.slash(
        world.boss, world.guild, "admin status", request_id=req.id, status="pending"
    )
    assert "can't move to pending" in back.original.content
    missing = await world.fd.slash(
        world.boss, world.guild, "admin status", request_id=99999, status="failed"
    )
    assert "no request #99999" in missing.original.content
    await req.refresh_from_db()
    assert req.status == RequestStatus.DOWNLOADING


async def test_approve_autocompletes_pending_requests_for_admins_only(world: World) -> None:
    dune = await make_request(world.alice, "Dune", asin="B002V1OF70", author="Frank Herbert")
    await make_request(world.bob, "Hyperion", asin="B004HFSR3C")
    await make_request(world.bob, "Done", asin="B000000001", status=RequestStatus.AVAILABLE)
    fd = world.fd
    choices = await fd.autocomplete(world.boss, world.guild, "admin approve", "request_id", "")
    assert len(choices) == 2
    choices = await fd.autocomplete(world.boss, world.guild, "admin deny", "request_id", "dun")
    assert choices.values == [dune.id] and choices.names == [f"#{dune.id} Dune — Frank Herbert"]

    show_to_everyone(world, "admin")
    choices = await fd.autocomplete(world.alice, world.guild, "admin approve", "request_id", "")
    assert choices == []
