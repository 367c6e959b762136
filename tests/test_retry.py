"""Small unit tests of the retry rule and the async-closing base (the wire is in other files)."""

from __future__ import annotations

from email.utils import formatdate

import aiohttp
import pytest

from core.aio import AsyncClosing, SessionClosed, SessionOwner
from core.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after, retry_call
from tests.fakes.retry import SleepLog

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("1", 1.0),
        (" 120 ", 120.0),
        ("0", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),  # a date in the past: now
        (None, None),
        ("", None),
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("Sun, 99 Foo 2024 99:00:00 GMT", None),
    ],
)
def test_retry_after_seconds_or_http_date(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_backoff_doubles_and_retry_after_wins_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=5, base_delay=0.5, max_delay=3.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 3.0]
    assert policy.delay(1, retry_after=2.0) == 2.0
    assert policy.delay(1, retry_after=3600.0) == 3.0


def test_a_policy_must_try_at_least_once() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


class Flaky(Exception):
    retry_after = 60.0  # the server asks for a minute


class AlwaysFails:
    """A call that raises ``error`` every time and counts how often it was made."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    async def __call__(self) -> None:
        self.calls += 1
        raise self.error


async def test_total_wait_is_bounded_whatever_the_server_asks() -> None:
    sleeps = SleepLog()
    policy = RetryPolicy(attempts=10, base_delay=1.0, max_delay=4.0, max_wait=9.0, sleep=sleeps)
    call = AlwaysFails(Flaky("503"))
    with pytest.raises(Flaky):
        await retry_call(call, policy, transient=lambda e: True)
    assert sleeps.waits == [4.0, 4.0, 1.0]  # capped per wait, then by the total
    assert call.calls == 4


async def test_default_bound_is_what_the_docstring_says() -> None:
    assert DEFAULT_RETRY.attempts == 3
    assert DEFAULT_RETRY.max_delay == 5.0 and DEFAULT_RETRY.max_wait == 10.0


async def test_a_permanent_error_propagates_at_once() -> None:
    sleeps = SleepLog()
    call = AlwaysFails(PermissionError("401"))
    with pytest.raises(PermissionError):
        await retry_call(call, sleeps.policy(), transient=lambda e: isinstance(e, Flaky))
    assert call.calls == 1 and sleeps.waits == []


# -- the async-closing base ---------------------------------------------------------------


class Resource(AsyncClosing):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def open(self) -> Resource:
        self.events.append("open")
        return self

    async def close(self) -> None:
        self.events.append("close")


async def test_async_with_opens_then_closes_even_on_error() -> None:
    res = Resource()
    with pytest.raises(RuntimeError):
        async with res as entered:
            assert entered is res and res.events == ["open"]
            raise RuntimeError("boom")
    assert res.events == ["open", "close"]


async def test_session_owner_closes_only_its_own_session() -> None:
    async with aiohttp.ClientSession() as shared:
        async with SessionOwner(shared) as borrower:
            assert borrower._http_session() is shared
        assert not shared.closed
        await shared.close()
        with pytest.raises(SessionClosed):
            borrower._http_session()  # never replaced behind the owner's back
    async with SessionOwner() as owner:
        own = owner._http_session()
        assert owner._http_session() is own
    assert own.closed
    await owner.close()  # twice is fine
