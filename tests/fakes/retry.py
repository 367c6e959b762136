"""Retry policies for tests: the production rules with waits too short to slow a suite.

``QUICK_RETRY`` keeps the default number of tries, so faults injected into the
fakes still meet real retries, but waits milliseconds. ``SleepLog`` stands in
for ``asyncio.sleep`` and records every wait, so a test can prove the client
honoured ``Retry-After`` without waiting for it.
"""

from __future__ import annotations

import asyncio
import dataclasses

from core.retry import DEFAULT_RETRY, RetryPolicy

QUICK_RETRY = dataclasses.replace(DEFAULT_RETRY, base_delay=0.001, max_delay=0.01, max_wait=0.05)


class SleepLog:
    """An injectable ``sleep`` that records each wait and yields to the loop without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)

    def policy(self, base: RetryPolicy = DEFAULT_RETRY) -> RetryPolicy:
        """``base`` (the production policy unless given) with this log as its clock."""
        return dataclasses.replace(base, sleep=self)
