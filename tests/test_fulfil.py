"""Hand-offs to ReadMeABook and webhooks, and progress back, over real sockets to the fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import pytest

from core.catalog.models import CatalogBook
from core.config_store import (
    AUTO_APPROVE,
    FULFIL_BACKEND,
    FULFIL_SECRET,
    FULFIL_TOKEN,
    FULFIL_URL,
    ConfigStore,
)
from core.crypto import TokenCipher
from core.fulfil.service import FulfilService
from core.fulfil.stages import KIND_DOWNLOAD_STARTED
from core.library import ScanService
from core.matcher import LibraryIndex
from core.models import BookRequest, ConfigEntry, Handoff, Notification, RequestStatus, User
from core.requests.service import RequestService
from tests.fakes.rmab import FakeRmab, FakeWebhook

PHM = "B08G9PRS1K"


class _EmptyLibrary:
    async def library_index(self, *, wait: float | None = None) -> LibraryIndex:
        return LibraryIndex([])


def book(asin: str = PHM, title: str = "Project Hail Mary") -> CatalogBook:
    return CatalogBook(
        asin=asin, title=title, subtitle=None, authors=("Andy Weir",), narrators=("Ray Porter",),
        series=(), release_year=2021, runtime_minutes=970, language="english",
        cover_url=None, summary="A lone astronaut.",
    )


class Rig:
    def __init__(self, store: ConfigStore, session: aiohttp.ClientSession) -> None:
        self.store = store
        self.session = session
        self.requests = RequestService(cast(ScanService, _EmptyLibrary()), store)
        self.fulfil = self.restart()

    def restart(self) -> FulfilService:
        """A new service over the same database (a bot restart)."""
        self.fulfil = FulfilService(self.store, {}, self.session, self.requests, timeout=0.5)
        self.requests.set_handoff_backend(self.fulfil.active_backend)
        return self.fulfil

    async def use(self, backend: str, url: str, token: str = "", secret: str = "") -> None:
        for key, value in ((FULFIL_BACKEND, backend), (FULFIL_URL, url),
                           (FULFIL_TOKEN, token), (FULFIL_SECRET, secret)):
            if value:
                await self.store.set(key, value)

    async def approved(self, asin: str = PHM) -> BookRequest:
        result = await self.requests.submit(1, book(asin, f"Book {asin}"))
        assert result.request is not None
        return await self.requests.decide(result.request.id, approve=True)


async def due_now() -> None:
    await Handoff.filter(done_at=None).update(next_attempt_at=None)


@pytest.fixture
async def rig(db: None, cipher: TokenCipher) -> AsyncIterator[Rig]:
    await User.create(discord_id=1, plex_token="x", plex_username="alice")
    await User.create(discord_id=2, plex_token="x", dm_download_started=False)
    async with aiohttp.ClientSession() as session:
        yield Rig(ConfigStore(cipher), session)


@pytest.fixture
async def rmab() -> AsyncIterator[FakeRmab]:
    async with FakeRmab() as fake:
        yield fake


async def test_no_backend_queues_no_hand_off(rig: Rig) -> None:
    await rig.approved()
    assert await Handoff.all().count() == 0


async def test_approval_hands_the_book_to_rmab_once(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    req = await rig.approved()
    assert await Handoff.filter(request_id=req.id, done_at=None).count() == 1

    assert await rig.fulfil.deliver_due() == []
    assert await rig.fulfil.deliver_due() == []

    [body] = rmab.created()
    assert body["audiobook"]["asin"] == PHM and body["audiobook"]["author"] == "Andy Weir"
    await req.refresh_from_db()
    assert req.external_id == rmab.find(PHM)["id"]
    assert (await Handoff.get(request_id=req.id)).outcome == "created"


async def test_auto_approve_hands_off_in_the_submit(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    await rig.store.set(AUTO_APPROVE, "1")
    result = await rig.requests.submit(1, book())
    assert result.request is not None and result.request.status == RequestStatus.APPROVED
    assert await Handoff.filter(request_id=result.request.id).count() == 1


async def test_a_timeout_after_rmab_created_it_makes_no_second_request_even_after_a_restart(
    rig: Rig, rmab: FakeRmab
) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    req = await rig.approved()
    rmab.post_delay_after_create = 2.0  # created, but the answer comes too late

    await rig.fulfil.deliver_due()
    row = await Handoff.get(request_id=req.id)
    assert row.done_at is None and row.unclear and len(rmab.requests) == 1

    rmab.post_delay_after_create = 0.0
    await due_now()
    await rig.restart().deliver_due()

    assert len(rmab.requests) == 1 and len(rmab.created()) == 1
    await req.refresh_from_db()
    assert req.external_id == rmab.requests[0]["id"]
    assert (await Handoff.get(request_id=req.id)).outcome == "found"


async def test_an_outage_of_hours_loses_nothing(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    req = await rig.approved()
    rmab.outage = True
    for _ in range(5):
        await due_now()
        await rig.fulfil.deliver_due()
    row = await Handoff.get(request_id=req.id)
    assert row.done_at is None and row.attempts == 5 and not row.unclear
    assert row.next_attempt_at is not None

    rmab.outage = False
    await due_now()
    await rig.restart().deliver_due()
    assert len(rmab.requests) == 1
    await req.refresh_from_db()
    assert req.external_id is not None and req.status == RequestStatus.APPROVED


async def test_a_duplicate_links_the_existing_rmab_request(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    existing = rmab.add(PHM, "downloading")
    existing["progress"] = 30
    req = await rig.approved()

    await rig.fulfil.deliver_due()

    assert len(rmab.requests) == 1
    await req.refresh_from_db()
    assert req.external_id == existing["id"]
    assert req.status == RequestStatus.DOWNLOADING and req.progress == 30


async def test_already_available_asks_for_a_scan(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    rmab.available.add(PHM)
    req = await rig.approved()
    [report] = await rig.fulfil.deliver_due()
    assert report.kind == "in_place" and report.request_id == req.id
    assert (await Handoff.get(request_id=req.id)).outcome == "already_available"


async def test_a_refused_token_is_told_once_and_the_hand_off_waits(
    rig: Rig, rmab: FakeRmab
) -> None:
    await rig.use("readmeabook", rmab.url, "rmab_wrong_token_000")
    await rig.approved()
    await rig.approved("B000000002")
    [report] = await rig.fulfil.deliver_due()
    assert report.kind == "unauthorized" and "API Tokens" in report.text
    await due_now()
    assert await rig.fulfil.deliver_due() == []
    assert await Handoff.filter(done_at=None).count() == 2
    assert "rmab_wrong" not in report.text


async def test_a_refused_token_is_told_once_across_restarts_until_it_works(
    rig: Rig, rmab: FakeRmab
) -> None:
    await rig.use("readmeabook", rmab.url, "rmab_wrong_token_000")
    await rig.approved()
    [report] = await rig.fulfil.deliver_due()
    assert report.kind == "unauthorized"
    rig.restart()
    await due_now()
    assert await rig.fulfil.deliver_due() == []  # told before the restart: not again
    assert await rig.fulfil.sync() == []

    await rig.store.set(FULFIL_TOKEN, rmab.token)  # fixed: the hand-off goes out
    await due_now()
    await rig.fulfil.deliver_due()
    assert len(rmab.requests) == 1

    await rig.store.set(FULFIL_TOKEN, "rmab_wrong_again_000")  # broken again: told again
    await rig.approved("B000000002")
    rig.restart()
    [again] = await rig.fulfil.deliver_due()
    assert again.kind == "unauthorized"


async def test_a_refused_request_fails_with_the_reason(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    rmab.post_status = 400
    req = await rig.approved()
    [report] = await rig.fulfil.deliver_due()
    assert report.kind == "failed"
    await req.refresh_from_db()
    assert req.status == RequestStatus.FAILED and "ValidationError" in (req.reason or "")
    assert await Notification.filter(request_id=req.id, kind="failed").count() == 1

    rmab.post_status = None
    await rig.fulfil.retry(req.id)  # the admin's Retry
    await rig.fulfil.deliver_due()
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED and req.external_id is not None


async def test_progress_comes_back_in_paged_batches(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    req = await rig.approved()
    await rig.requests.submit(2, book("B000000009", "Other"))
    await rig.fulfil.deliver_due()
    for n in range(150):  # newer requests of others: the page with ours comes second
        rmab.add(f"B9{n:08d}", "available")
    rmab.advance(PHM, "downloading", progress=40)

    assert await rig.fulfil.sync() == []
    assert rig.fulfil.stats.list_calls == 2
    assert {c.query["take"] for c in rmab.calls if c.method == "GET"} == {"100"}
    await req.refresh_from_db()
    assert req.status == RequestStatus.DOWNLOADING and req.progress == 40
    rmab.advance(PHM, "downloading", progress=52)
    await rig.fulfil.sync()
    await req.refresh_from_db()
    assert req.progress == 52
    started = await Notification.filter(kind=KIND_DOWNLOAD_STARTED)
    assert [n.user_id for n in started] == [1]

    rmab.advance(PHM, "downloaded")
    [report] = await rig.fulfil.sync()
    assert report.kind == "in_place"
    await req.refresh_from_db()
    assert req.status == RequestStatus.DOWNLOADED and req.progress is None


async def test_awaiting_release_and_failure_notes(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    req = await rig.approved()
    await rig.fulfil.deliver_due()
    rmab.advance(PHM, "awaiting_release", release="2027-03-01T00:00:00Z")
    await rig.fulfil.sync()
    await req.refresh_from_db()
    assert req.stage_note == "not released yet, expected 2027-03-01"
    rmab.advance(PHM, "failed", error="No releases found")
    [report] = await rig.fulfil.sync()
    await req.refresh_from_db()
    assert req.status == RequestStatus.FAILED and req.reason == "No releases found"
    assert report.kind == "failed" and "No releases found" in report.text
    assert await rig.fulfil.sync() == []  # failed is closed: not read again


async def test_the_token_is_stored_encrypted(rig: Rig, rmab: FakeRmab) -> None:
    await rig.use("readmeabook", rmab.url, rmab.token)
    row = await ConfigEntry.get(key=FULFIL_TOKEN)
    assert row.encrypted and rmab.token not in row.value


async def test_webhook_deliveries_are_signed_and_retried(rig: Rig) -> None:
    async with FakeWebhook() as hook:
        await rig.use("webhook", f"{hook.url}/hook", secret=hook.secret)
        hook.fail = 1
        req = await rig.approved()
        await rig.fulfil.deliver_due()
        assert hook.received == []
        await due_now()
        await rig.fulfil.deliver_due()
        [got] = hook.received
        assert got["event"] == "request.approved" and got["delivery"] == f"earmark-{req.id}:0"
        assert got["body"]["request_id"] == req.id and got["body"]["book"]["asin"] == PHM
        assert got["body"]["requester"]["name"] == "alice"
        assert hook.rejected == 0

        await rig.store.set(FULFIL_SECRET, "a-wrong-secret")
        await rig.approved("B000000002")
        [report] = await rig.fulfil.deliver_due()
        assert report.kind == "unauthorized" and hook.rejected == 1


async def test_a_stop_after_rmab_took_the_post_creates_no_second_request(
    rig: Rig, rmab: FakeRmab
) -> None:
    """The process dies between RMAB creating the request and the row being marked done."""
    await rig.use("readmeabook", rmab.url, rmab.token)
    req = await rig.approved()
    rmab.post_delay_after_create = 5.0  # created at once, answered late: the stop comes first
    sending = asyncio.create_task(rig.fulfil.deliver_due())
    for _ in range(200):
        if rmab.created():
            break
        await asyncio.sleep(0.01)
    assert len(rmab.created()) == 1
    sending.cancel()  # the bot stops: the row was never marked done
    with contextlib.suppress(asyncio.CancelledError):
        await sending
    rmab.post_delay_after_create = 0.0

    await due_now()
    await rig.restart().deliver_due()
    assert len(rmab.created()) == 1  # looked up by ASIN, linked, not sent again
    await req.refresh_from_db()
    assert req.external_id is not None
    row = await Handoff.get(request_id=req.id)
    assert row.done_at is not None
