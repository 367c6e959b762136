"""Transient Plex failures are retried at the choke point, refusals never: over real sockets."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from email.utils import formatdate

import pytest

from core.plex import PlexError, PlexNotFound, PlexServer, PlexUnauthorized, PlexUnavailable
from core.retry import DEFAULT_RETRY
from tests.fakes.plex import FakePlex, FakePlexTV
from tests.fakes.retry import SleepLog

ALBUMS = "9"


@pytest.fixture
async def pms() -> AsyncIterator[FakePlex]:
    async with FakePlex() as fake:
        for i in range(25):
            fake.add_album(f"Book {i:03d}", f"Author {i % 4}")
        yield fake


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
async def server(pms: FakePlex, sleeps: SleepLog) -> AsyncIterator[PlexServer]:
    """The production retry policy, with its waits recorded instead of slept."""
    async with pms.client(retry=sleeps.policy()) as client:
        yield client


async def titles(server: PlexServer, section: str) -> list[str]:
    pages = [page async for page in server.iter_albums(section, page_size=10)]
    return [book.title for page in pages for book in page.items]


def asked(pms: FakePlex, start: int) -> int:
    """How many album-listing requests asked for the page at ``start``."""
    return sum(1 for r in pms.requests if r.query.get("type") == ALBUMS and r.start == start)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
async def test_a_transient_status_once_is_retried_after_backoff(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog, status: int
) -> None:
    fault = pms.fail_page(10, status)
    assert len(await titles(server, pms.section_id)) == 25
    assert fault.served == 1 and asked(pms, 10) == 2
    assert sleeps.waits == [DEFAULT_RETRY.base_delay]


async def test_failing_twice_backs_off_exponentially(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog
) -> None:
    pms.fail_page(20, 500, times=2)
    assert len(await titles(server, pms.section_id)) == 25
    assert asked(pms, 20) == 3
    assert sleeps.waits == [DEFAULT_RETRY.base_delay, 2 * DEFAULT_RETRY.base_delay]


async def test_429_retry_after_seconds_is_honoured(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog
) -> None:
    pms.fail_page(0, 429, retry_after="1")
    assert len(await titles(server, pms.section_id)) == 25
    assert sleeps.waits == [1.0]
    assert asked(pms, 0) == 2


async def test_retry_after_as_an_http_date_is_honoured(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog
) -> None:
    pms.fail_page(0, 503, retry_after=formatdate(time.time() + 3, usegmt=True))
    assert len(await titles(server, pms.section_id)) == 25
    (wait,) = sleeps.waits
    assert 1.5 < wait <= 3.0  # whole seconds on the wire, and the clock moved


async def test_a_huge_retry_after_is_capped_and_the_total_wait_bounded(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog
) -> None:
    fault = pms.fail_page(0, 429, times=None, retry_after="3600")
    with pytest.raises(PlexUnavailable) as caught:
        await titles(server, pms.section_id)
    assert caught.value.status == 429 and caught.value.retry_after == 3600
    assert fault.served == DEFAULT_RETRY.attempts
    assert all(wait <= DEFAULT_RETRY.max_delay for wait in sleeps.waits)
    assert sum(sleeps.waits) <= DEFAULT_RETRY.max_wait


async def test_a_persistent_500_fails_after_the_last_try(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog
) -> None:
    fault = pms.fail_page(10, 500, times=None)
    with pytest.raises(PlexUnavailable) as caught:
        await titles(server, pms.section_id)
    assert caught.value.status == 500
    assert fault.served == DEFAULT_RETRY.attempts == asked(pms, 10)
    assert len(sleeps.waits) == DEFAULT_RETRY.attempts - 1


async def test_a_timeout_once_is_retried(pms: FakePlex, sleeps: SleepLog) -> None:
    fault = pms.stall_page(10, 0.5)
    async with pms.client(timeout=0.2, retry=sleeps.policy()) as server:
        assert len(await titles(server, pms.section_id)) == 25
    assert fault.served == 1 and asked(pms, 10) == 2
    assert len(sleeps.waits) == 1


async def test_a_dropped_connection_once_is_retried(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog
) -> None:
    # aiohttp itself resends once when a reused keep-alive connection was cut;
    # the second cut, on a fresh connection, reaches our retry.
    fault = pms.drop_page(10, times=2)
    assert len(await titles(server, pms.section_id)) == 25
    assert fault.served == 2 and len(sleeps.waits) == 1


async def test_a_wrong_token_is_not_retried(pms: FakePlex, sleeps: SleepLog) -> None:
    async with pms.client("not-the-token", retry=sleeps.policy()) as stranger:
        with pytest.raises(PlexUnauthorized):
            await titles(stranger, pms.section_id)
    assert len(pms.requests) == 1
    assert sleeps.waits == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, PlexUnauthorized), (403, PlexUnauthorized), (404, PlexNotFound), (400, PlexError)],
)
async def test_refusals_are_not_retried(
    pms: FakePlex, server: PlexServer, sleeps: SleepLog, status: int, error: type[PlexError]
) -> None:
    pms.fail_page(0, status, times=None)
    with pytest.raises(error):
        await titles(server, pms.section_id)
    assert len(pms.requests) == 1
    assert sleeps.waits == []


async def test_only_idempotent_requests_are_retried(sleeps: SleepLog) -> None:
    """A PIN is created by POST: sent twice it would make two PINs, so it is sent once."""
    async with FakePlexTV() as tv:
        tv.add_account("user-token", username="reader", servers={})
        tv.delay = 0.3
        async with tv.client(timeout=0.05, retry=sleeps.policy()) as client:
            with pytest.raises(PlexUnavailable):
                await client.create_pin()
            assert [r.method for r in tv.requests] == ["POST"]
            with pytest.raises(PlexUnavailable):
                await client.account("user-token")  # a GET: tried as often as the policy says
        gets = [r for r in tv.requests if r.method == "GET"]
        assert len(gets) == DEFAULT_RETRY.attempts


async def test_no_retry_policy_sends_once(pms: FakePlex) -> None:
    once = dataclasses.replace(DEFAULT_RETRY, attempts=1)
    pms.fail_page(0, 500)
    async with pms.client(retry=once) as server:
        with pytest.raises(PlexUnavailable):
            await titles(server, pms.section_id)
    assert len(pms.requests) == 1
