"""Heavy work in a thread shortens the switch interval only while it runs (``off_loop``)."""

from __future__ import annotations

import asyncio
import sys
import threading

from core.library import off_loop


def _interval() -> float:
    return sys.getswitchinterval()


async def test_the_interval_is_short_while_work_runs_and_restored_after() -> None:
    before = sys.getswitchinterval()
    assert before > off_loop.INTERVAL
    assert await off_loop.run(_interval) == off_loop.INTERVAL
    assert sys.getswitchinterval() == before


async def test_overlapping_work_restores_the_interval_when_the_last_one_ends() -> None:
    before = sys.getswitchinterval()
    release = threading.Event()
    long = asyncio.create_task(off_loop.run(release.wait, 5))
    await asyncio.sleep(0.05)
    assert await off_loop.run(_interval) == off_loop.INTERVAL
    assert sys.getswitchinterval() == off_loop.INTERVAL  # the long one still runs
    release.set()
    assert await long
    assert sys.getswitchinterval() == before
