"""End to end: the admin-channel post of a request and its Approve / Deny buttons.

Admins decide with a click (Deny asks for an optional reason in a modal); the
post is edited to show the decision and who made it; the requester's DM is
queued in the outbox. Non-admins are refused on the bot side, even with a
forged click, and the buttons keep working after a restart.
"""

from __future__ import annotations

import pytest

from bot.app import EarmarkBot
from core import notify
from core.models import Notification, RequestStatus
from tests.e2e.helpers import requested
from tests.e2e.world import World
from tests.fakes.discord import FakeMessage

COGS = ("cogs.requests",)

pytestmark = pytest.mark.world(cogs=COGS, admin_channel=True)


def field(message: FakeMessage, name: str) -> str:
    return next(f["value"] for f in message.embeds[0].get("fields", []) if f["name"] == name)


async def test_admin_approves_with_the_button(world: World) -> None:
    req, post = await requested(world)

    click = await world.fd.click(world.boss, post, f"earmark:req:approve:{req.id}")

    assert click.response_type == 7  # the post itself is updated
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert post.buttons == []
    assert "Approved" in field(post, "Status")
    assert f"by <@{world.boss.id}>" in post.embeds[0]["description"]
    assert post["allowed_mentions"] == {"parse": []}
    (note,) = await Notification.filter(request_id=req.id)
    assert note.user_id == world.alice.id and note.kind == notify.KIND_APPROVED
    assert note.sent_at is None  # the delivery worker sends it


async def test_forged_approve_by_a_non_admin_changes_nothing(world: World) -> None:
    req, post = await requested(world)
    before = post.custom_ids

    forged = await world.fd.click(world.bob, post, f"earmark:req:approve:{req.id}")

    assert forged.is_ephemeral and "admins only" in forged.original.content
    await req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert post.custom_ids == before and not post.edited
    assert await Notification.all().count() == 0


async def test_forged_deny_by_a_non_admin_opens_no_modal(world: World) -> None:
    req, post = await requested(world)

    forged = await world.fd.click(world.alice, post, f"earmark:req:deny:{req.id}")

    assert forged.modal is None and "admins only" in forged.original.content
    await req.refresh_from_db()
    assert req.status == RequestStatus.PENDING


async def test_admin_denies_with_a_reason(world: World) -> None:
    req, post = await requested(world)

    opened = await world.fd.click(world.boss, post, f"earmark:req:deny:{req.id}")
    assert opened.response_type == 9 and opened.modal is not None
    assert opened.modal["title"].startswith("Deny: Project Hail Mary")
    await world.fd.submit_modal(
        world.boss, opened, {"earmark:req:deny-reason:text": "Not  in the **budget**"}
    )

    await req.refresh_from_db()
    assert req.status == RequestStatus.DENIED and req.reason == "Not in the **budget**"
    assert post.buttons == []
    assert "Denied" in field(post, "Status")
    assert field(post, "Reason") == "Not in the \\*\\*budget\\*\\*"
    assert f"by <@{world.boss.id}>" in post.embeds[0]["description"]
    (note,) = await Notification.filter(request_id=req.id)
    assert note.kind == notify.KIND_DENIED and note.payload["reason"] == req.reason


async def test_deny_without_a_reason(world: World) -> None:
    req, post = await requested(world)

    opened = await world.fd.click(world.boss, post, f"earmark:req:deny:{req.id}")
    await world.fd.submit_modal(world.boss, opened, {})

    await req.refresh_from_db()
    assert req.status == RequestStatus.DENIED and req.reason is None
    assert post.buttons == []


async def test_deny_modal_submitted_by_a_non_admin_is_refused(world: World) -> None:
    req, post = await requested(world)
    opened = await world.fd.click(world.boss, post, f"earmark:req:deny:{req.id}")

    forged = await world.fd.submit_modal(
        world.bob, opened, {"earmark:req:deny-reason:text": "nope"}
    )

    assert forged.is_ephemeral and "admins only" in forged.original.content
    await req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert post.buttons


async def test_stale_post_is_refreshed_when_decided_elsewhere(world: World) -> None:
    req, post = await requested(world)
    await world.runtime.requests.decide(req.id, approve=True)  # e.g. /admin approve

    click = await world.fd.click(world.boss, post, f"earmark:req:deny:{req.id}")

    assert click.modal is None
    note = await click.wait_for_followup()
    assert note.is_ephemeral and "already approved" in note.content
    assert post.buttons == [] and "Approved" in field(post, "Status")
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED


async def test_stale_approve_tells_the_admin_and_refreshes_the_post(world: World) -> None:
    req, post = await requested(world)
    await world.runtime.requests.decide(req.id, approve=False, reason="dupe")

    click = await world.fd.click(world.boss, post, f"earmark:req:approve:{req.id}")

    note = await click.wait_for_followup()
    assert note.is_ephemeral and "already denied" in note.content
    assert post.buttons == [] and "Denied" in field(post, "Status")
    await req.refresh_from_db()
    assert req.status == RequestStatus.DENIED
    assert await Notification.filter(kind=notify.KIND_APPROVED).count() == 0


async def test_buttons_work_after_a_restart(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    req, post = await requested(world)
    # Restart the bot process but keep the runtime (its in-memory database) alive.
    real_close = world.runtime.close

    async def keep_open() -> None:
        return None

    monkeypatch.setattr(world.runtime, "close", keep_open)
    await world.fd.stop_bot()
    monkeypatch.setattr(world.runtime, "close", real_close)
    world.bot = EarmarkBot(world.runtime, cogs=COGS)
    await world.fd.start_bot(world.bot)

    await world.fd.click(world.boss, post, f"earmark:req:approve:{req.id}")

    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert post.buttons == []
