"""CPU-heavy Python in a worker thread without starving the event loop.

A thread running Python bytecode hands the interpreter lock back only every
switch interval (5 ms by default), and the loop gives it up again at every
system call of one iteration (waiting for events, waking itself): measured
at 200,000 books, an index load in a thread stalled the loop 60-190 ms in one
run and under 35 ms in the next; with a 1 ms interval, no stall over 35 ms
in three runs and the load no slower. The interval is process-wide, so it is
shortened only while such work runs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: The switch interval while heavy work runs in a thread (seconds).
INTERVAL = 0.001

_running = 0
_saved = 0.0


async def run(func: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """``asyncio.to_thread(func, ...)`` with the short switch interval while any such call runs."""
    global _running, _saved
    if _running == 0:
        _saved = sys.getswitchinterval()
        sys.setswitchinterval(min(_saved, INTERVAL))
    _running += 1
    try:
        return await asyncio.to_thread(func, *args, **kwargs)
    finally:
        _running -= 1
        if _running == 0:
            sys.setswitchinterval(_saved)
