"""End to end: Retry / Deny under a failed hand-off, and the "download started" DM's opt-out.

The real bot against the fake Discord and ReadMeABook, over real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import EarmarkBot
from core import notify
from core.config_store import FULFIL_TOKEN
from core.fulfil.stages import KIND_DOWNLOAD_STARTED
from core.models import BookRequest, Handoff, Notification, RequestStatus, User
from tests.e2e.helpers import PHM, approved, quicken, use
from tests.e2e.world import World, eventually
from tests.fakes.discord.models import FakeMessage
from tests.fakes.rmab import FakeRmab

MARTIAN = "B08C6YJ1LS"
OPT_OUT = "Don't tell me when downloads start"

pytestmark = pytest.mark.world(admin_channel=True)


@pytest.fixture
async def rmab(world: World) -> AsyncIterator[FakeRmab]:
    async with FakeRmab() as fake:
        await use(world, "readmeabook", fake.url, FULFIL_TOKEN, fake.token)
        yield fake


async def failed_post(world: World, rmab: FakeRmab) -> tuple[BookRequest, FakeMessage]:
    """RMAB refuses the hand-off (400): the request fails, the admins get Retry / Deny."""
    rmab.post_status = 400
    req = await approved(world)
    post = await world.fd.wait_for_message(
        world.admin_channel_id, lambda m: f"earmark:ful:retry:{req.id}" in m.custom_ids
    )
    await req.refresh_from_db()
    assert req.status == RequestStatus.FAILED
    return req, post


async def test_retry_hands_a_failed_request_over_again_even_after_a_restart(
    world: World, rmab: FakeRmab
) -> None:
    req, post = await failed_post(world, rmab)
    assert f"Request #{req.id} failed" in post.content and "ValidationError" in post.content
    assert f"earmark:ful:deny:{req.id}" in post.custom_ids

    forged = await world.fd.click(world.bob, post, f"earmark:ful:retry:{req.id}")
    assert forged.is_ephemeral and "admins only" in forged.original.content
    await req.refresh_from_db()
    assert req.status == RequestStatus.FAILED and not post.edited

    await world.fd.stop_bot()  # the buttons are understood by the next process too
    world.bot = EarmarkBot(world.runtime)
    await world.fd.start_bot(world.bot)
    quicken(world)
    rmab.post_status = None

    click = await world.fd.click(world.boss, post, f"earmark:ful:retry:{req.id}")
    assert click.response_type == 7
    assert post.buttons == [] and f"Retried by <@{world.boss.id}>" in post.content
    await eventually(lambda: len(rmab.requests) == 1, what="RMAB received the retry")
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and req.external_id is not None
    assert await Handoff.filter(request_id=req.id).count() == 2


async def test_deny_closes_a_failed_request_and_tells_the_requester(
    world: World, rmab: FakeRmab
) -> None:
    req, post = await failed_post(world, rmab)

    click = await world.fd.click(world.boss, post, f"earmark:ful:deny:{req.id}")

    assert post.buttons == [] and f"Denied by <@{world.boss.id}>" in post.content
    await req.refresh_from_db()
    assert req.status == RequestStatus.DENIED
    assert click.response_type == 7
    await world.fd.wait_for_dm(world.alice, lambda m: "denied" in m.text.lower())
    assert await Notification.filter(request_id=req.id, kind=notify.KIND_DENIED).count() == 1


async def test_a_stale_press_says_what_the_request_is_and_changes_nothing(
    world: World, rmab: FakeRmab
) -> None:
    req, post = await failed_post(world, rmab)
    rmab.post_status = None
    await world.runtime.fulfil.retry(req.id)  # another admin, e.g. with /admin status

    click = await world.fd.click(world.boss, post, f"earmark:ful:deny:{req.id}")

    note = await click.wait_for_followup()
    assert note.is_ephemeral and "already approved" in note.content
    assert post.buttons == []
    await req.refresh_from_db()
    assert req.status != RequestStatus.DENIED
    assert await Notification.filter(kind=notify.KIND_DENIED).count() == 0


async def test_the_requester_turns_the_download_started_dm_off(
    world: World, rmab: FakeRmab
) -> None:
    req = await approved(world)
    await eventually(lambda: len(rmab.requests) == 1, what="RMAB received the request")
    rmab.advance(PHM, "downloading", progress=10)
    dm = await world.fd.wait_for_dm(world.alice, lambda m: "downloading now" in m.text)

    forged = await world.fd.click(world.bob, dm, label=OPT_OUT, force=True)
    assert forged.is_ephemeral and "someone else" in forged.messages[0].text
    assert (await User.get(discord_id=world.alice.id)).dm_download_started is not False

    click = await world.fd.click(world.alice, dm, label=OPT_OUT)
    assert click.is_ephemeral and "no more messages when a download starts" in \
        click.messages[0].text
    assert (await User.get(discord_id=world.alice.id)).dm_download_started is False

    other = await approved(world, MARTIAN)
    await eventually(lambda: len(rmab.requests) == 2, what="RMAB received the second")
    rmab.advance(MARTIAN, "downloading", progress=5)

    async def downloading() -> bool:
        await other.refresh_from_db()
        return other.status == RequestStatus.DOWNLOADING

    await eventually(downloading, what="the second book downloading")
    started = await Notification.filter(kind=KIND_DOWNLOAD_STARTED).values_list(
        "request_id", flat=True
    )
    assert started == [req.id]
