"""Retrying an idempotent call after a transient failure: how often, how long, never forever.

One 500, timeout or 429 on one page of a 50-page listing used to fail the
whole scan. Each service's single request choke point (``PlexHTTP.request``,
``AudibleCatalog._get``) wraps its GETs in ``retry_call`` so every caller gets
the same rule; POSTs and refusals (401/403/404) are never retried.

The bound: a call makes at most ``attempts`` tries, waits at most
``max_delay`` seconds before any one retry (a server's ``Retry-After`` is
honoured up to that cap) and at most ``max_wait`` seconds in all. So with the
defaults (3 tries, waits 0.5 s then 1 s, at most 5 s each and 10 s in all) a
refusing or failing server costs a scan at most 10 s more than today, and one
that accepts connections but never answers costs at most ``3 x timeout + 10 s``
before the error reaches the caller.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TypeVar

__all__ = ["DEFAULT_RETRY", "NO_RETRY", "RetryPolicy", "parse_retry_after", "retry_call"]

log = logging.getLogger(__name__)

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many tries and how long to wait between them; ``sleep`` is injectable for tests."""

    attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 5.0
    max_wait: float = 10.0
    sleep: Sleep = field(default=asyncio.sleep, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if min(self.base_delay, self.max_delay, self.max_wait) < 0:
            raise ValueError("delays must not be negative")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based).

        The server's ``Retry-After`` when it sent one, else exponential
        backoff; either way capped at ``max_delay``.
        """
        wanted = self.base_delay * 2 ** (retry - 1) if retry_after is None else retry_after
        return min(max(wanted, 0.0), self.max_delay)


DEFAULT_RETRY = RetryPolicy()
NO_RETRY = RetryPolicy(attempts=1)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT; an obsolete form may parse naive
        return None
    seconds = when.timestamp() - (time.time() if now is None else now)
    return max(seconds, 0.0) if math.isfinite(seconds) else None


async def retry_call(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    transient: Callable[[Exception], bool],
) -> T:
    """``await call()``, again after a transient failure while the policy allows.

    A failure's ``retry_after`` attribute (seconds, the server's wish) is
    honoured within the policy's caps. The last failure propagates unchanged,
    so callers keep catching their own service's exception tree. Errors are
    logged as they are: the choke points build messages that name the request
    and never hold a secret.
    """
    waited = 0.0
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except Exception as err:
            if attempt >= policy.attempts or not transient(err):
                raise
            delay = policy.delay(attempt, getattr(err, "retry_after", None))
            remaining = policy.max_wait - waited
            if delay > remaining:
                if remaining <= 0:
                    raise
                delay = remaining
            log.warning("%s; retry %d of %d in %.1f s", err, attempt, policy.attempts - 1, delay)
            await policy.sleep(delay)
            waited += delay
    raise AssertionError("unreachable: the last attempt returns or raises")
