"""The whole bot, every cog loaded: the contract's commands and one request's life."""

from __future__ import annotations

import pytest

from bot.app import COGS, EarmarkBot
from core.models import BookRequest, RequestStatus
from tests.e2e.world import World

PHM = "B08G9PRS1K"  # Project Hail Mary (a real product fixture)

CONTRACT = {
    "login": set(),
    "logout": set(),
    "request": set(),
    "requests": set(),
    "library": set(),
    "recommend": set(),
    "follow": set(),
    "following": set(),
    "unfollow": set(),
    "setup": {"plex", "library", "channel", "approval", "show", "fulfil", "announce"},
    "admin": {"scan", "pending", "approve", "deny", "status"},
}

pytestmark = pytest.mark.world(admin_channel=True)  # every cog


async def test_every_cog_loads_and_the_synced_commands_are_the_contract(world: World) -> None:
    assert set(world.bot.extensions) == set(COGS)
    synced = world.fd.commands(world.guild)
    names = [cmd["name"] for cmd in synced]
    assert len(names) == len(set(names)), "two commands share a name"
    assert set(names) == set(CONTRACT)
    for cmd in synced:
        subs = {opt["name"] for opt in cmd.get("options", []) if opt.get("type") == 1}
        assert subs == CONTRACT[cmd["name"]], cmd["name"]
    admin_only = {cmd["name"] for cmd in synced if cmd.get("default_member_permissions")}
    assert admin_only == {"setup", "admin"}


async def test_tree_sync_is_skipped_when_unchanged(world: World) -> None:
    def puts() -> int:
        return sum(
            1 for r in world.fd.requests if r.method == "PUT" and r.path.endswith("/commands")
        )

    assert puts() == 2  # the guild's commands, and the global list emptied once
    await world.fd.stop_bot()
    world.bot = EarmarkBot(world.runtime)
    await world.fd.start_bot(world.bot)
    assert puts() == 2  # the second start found the same trees and did not sync


async def test_a_request_from_submit_to_the_dm_when_it_lands(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)

    mine = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    reply = await mine.wait_for_edit(lambda m: bool(m.embeds))
    assert reply.is_ephemeral
    req = await BookRequest.get(asin=PHM)
    assert req.status == RequestStatus.PENDING

    theirs = await world.fd.slash(world.bob, world.guild, "request", title=PHM)
    told = await theirs.wait_for_edit(lambda m: bool(m.embeds))
    assert "subscribed" in told.text.lower()

    (post,) = world.fd.channel_messages(world.admin_channel_id)
    assert post.buttons
    decision = await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id)
    assert decision.is_ephemeral
    # the admin post shows the decision made with the command, and loses its buttons
    (post,) = world.fd.channel_messages(world.admin_channel_id)
    assert not post.buttons and "approved" in post.text.lower()
    # the approval DM goes out at once (the decision wakes the outbox worker)
    await world.fd.wait_for_dm(world.alice, lambda m: "approved" in m.text.lower(), timeout=5)

    world.pms.add_album(
        "Project Hail Mary (Unabridged)", "Andy Weir", narrators=["Ray Porter"],
        guid="com.plexapp.agents.audnexus://B08G9PRS1K_uk?lang=en",
    )
    scan = await world.fd.slash(world.boss, world.guild, "admin scan", mode="recent")
    await scan.wait_for_edit(lambda m: "matched" in m.text.lower(), timeout=10)

    for user in (world.alice, world.bob):
        dm = await world.fd.wait_for_dm(
            user, lambda m: "project hail mary" in m.text.lower() and "plex" in m.text.lower(),
            timeout=5,
        )
        assert dm.get("allowed_mentions", {}).get("parse", []) == []
    await req.refresh_from_db()
    assert req.status == RequestStatus.AVAILABLE

    again = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    refused = await again.wait_for_edit(lambda m: bool(m.embeds))
    assert "library" in refused.text.lower()
    assert await BookRequest.filter(asin=PHM).count() == 1
