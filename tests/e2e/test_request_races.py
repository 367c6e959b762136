"""Racing state changes: one transition wins, the others change nothing (issue 7, item 3).

A double click on Approve plus `/admin approve` at the same instant, and an
admin's `/admin status` against a scan's fulfil step. Each race is forced
(every racer reads the request before any of them writes), so the tests do
not depend on scheduling luck.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import core.requests.fulfil
from core import notify
from core.errors import UserError
from core.matcher import LibraryIndex, LibraryItem
from core.models import BookRequest, Notification, RequestStatus
from core.requests.fulfil import fulfil_open_requests
from tests.e2e.helpers import PHM, all_sent
from tests.e2e.world import World, eventually
from tests.fakes.discord import FakeInteraction

COGS = ("cogs.requests", "cogs.admin", "cogs.notify")
ALREADY = "is already approved; nothing changed."

pytestmark = pytest.mark.world(cogs=COGS, admin_channel=True)


def read_together(
    world: World, monkeypatch: pytest.MonkeyPatch, parties: int
) -> None:
    """Every caller of `RequestService.get` waits until `parties` of them have read."""
    service = world.runtime.requests
    real: Callable[[int], Awaitable[BookRequest]] = service.get
    barrier = asyncio.Barrier(parties)

    async def get(request_id: int) -> BookRequest:
        req = await real(request_id)
        async with asyncio.timeout(3):
            await barrier.wait()
        return req

    monkeypatch.setattr(service, "get", get)


def texts(inter: FakeInteraction) -> str:
    return "\n".join(m.text for m in inter.messages)


async def test_three_simultaneous_approvals_make_one_dm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.link(world.alice)
    asked = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    await asked.wait_for_edit(lambda m: bool(m.embeds))
    (req,) = await BookRequest.all()
    post = await world.fd.wait_for_message(world.admin_channel_id, lambda m: bool(m.buttons))
    button = f"earmark:req:approve:{req.id}"

    read_together(world, monkeypatch, 3)
    presses = [
        await world.fd.click(world.boss, post, button, wait=False),
        await world.fd.click(world.boss, post, button, wait=False, force=True),
        await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id,
                             wait=False),
    ]
    await world.fd.wait_until(
        lambda: sum(ALREADY in texts(inter) for inter in presses) == 2,
        what="two 'already approved' answers",
    )
    assert all(inter.response is not None for inter in presses)
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED
    assert await Notification.filter(request_id=req.id).count() == 1
    await world.fd.wait_for_dm(world.alice, lambda m: "was approved" in m.text)
    await eventually(all_sent, what="the DM marked sent")
    await asyncio.sleep(0.2)
    assert len(world.fd.dms[world.alice.id]) == 1


async def open_request(world: World, status: RequestStatus) -> BookRequest:
    await world.link(world.alice)
    return await BookRequest.create(
        requester_id=world.alice.id, asin=PHM, title="Project Hail Mary", author="Andy Weir",
        status=status,
    )


def index_with(req: BookRequest) -> LibraryIndex:
    return LibraryIndex(
        [LibraryItem(rating_key="77", title=req.title, author=req.author, narrator=None,
                     asin=req.asin)]
    )


async def test_a_scan_does_not_reopen_what_an_admin_just_closed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = await open_request(world, RequestStatus.APPROVED)
    real = core.requests.fulfil.audiences

    async def admin_first(reqs: list[BookRequest]) -> Any:
        """The admin's `/admin status cancelled` lands after the scan read the request."""
        await world.runtime.requests.set_status(req.id, RequestStatus.CANCELLED)
        return await real(reqs)

    monkeypatch.setattr(core.requests.fulfil, "audiences", admin_first)
    assert await fulfil_open_requests(index_with(req)) == []
    await req.refresh_from_db()
    assert req.status == RequestStatus.CANCELLED and req.plex_guid is None
    assert await Notification.filter(request_id=req.id).count() == 0


async def test_an_admin_does_not_overwrite_what_a_scan_just_fulfilled(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    req = await open_request(world, RequestStatus.DOWNLOADING)
    service = world.runtime.requests
    real = service.get

    async def scan_first(request_id: int) -> BookRequest:
        stale = await real(request_id)
        assert await fulfil_open_requests(index_with(stale)) == [req.id]
        return stale

    monkeypatch.setattr(service, "get", scan_first)
    with pytest.raises(UserError, match=r"is available; it can't move to failed"):
        await service.set_status(req.id, RequestStatus.FAILED, "no seeders")
    await req.refresh_from_db()
    assert req.status == RequestStatus.AVAILABLE and req.reason is None
    kinds = await Notification.filter(request_id=req.id).values_list("kind", flat=True)
    assert kinds == [notify.KIND_AVAILABLE]


async def test_each_repeated_transition_is_told_once(world: World) -> None:
    """The dedupe key is the transition, so a re-opened request that fails again is told."""
    req = await open_request(world, RequestStatus.PENDING)
    service = world.runtime.requests
    await service.decide(req.id, approve=True)
    await service.set_status(req.id, RequestStatus.FAILED)
    await service.set_status(req.id, RequestStatus.APPROVED)
    await service.set_status(req.id, RequestStatus.FAILED)
    with pytest.raises(UserError, match="is already failed; nothing changed"):
        await service.set_status(req.id, RequestStatus.FAILED)
    kinds = await Notification.filter(request_id=req.id).order_by("id").values_list(
        "kind", flat=True
    )
    assert kinds == ["approved", "failed", "approved", "failed"]
