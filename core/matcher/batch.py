"""Many queries against one index, on every core: ``python -m bot match --batch``.

A batch is CPU work only (one query compares ~90 candidates on a 50,000-book
synthetic library, about 1.3 ms): after the index is loaded, the queries are
split over forked workers that inherit it (copy-on-write: nothing is sent but
the queries and the verdicts). The results are the same objects in the same
order as one process would give; where ``fork`` is missing, or the batch is
small, the queries run here.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Sequence
from typing import Any

from core.matcher.book import BookQuery, MatchResult
from core.matcher.index import BookIndex

log = logging.getLogger(__name__)

#: Below this many queries a pool costs more than it saves (forking is ~10-30 ms a worker).
PARALLEL_FROM = 200
#: Workers at most: the index is shared copy-on-write, but every worker dirties some pages.
MAX_WORKERS = 8

# The index a forked worker matches against: set only while a pool runs.
_shared: BookIndex[Any] | None = None


def workers_for(count: int) -> int:
    """How many processes to match ``count`` queries with (1: here)."""
    if count < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, MAX_WORKERS, count // (PARALLEL_FROM // 2)))


def match_many(
    index: BookIndex[Any], queries: Sequence[BookQuery], *, workers: int | None = None
) -> list[MatchResult[Any]]:
    """``[index.match(q) for q in queries]``, spread over ``workers`` processes."""
    count = workers if workers is not None else workers_for(len(queries))
    if count <= 1 or len(queries) < 2:
        return [index.match(q) for q in queries]
    global _shared
    _shared = index
    sys.stdout.flush()  # a worker must not write out what this process has buffered
    sys.stderr.flush()
    try:
        with multiprocessing.get_context("fork").Pool(count) as pool:
            step = max(1, len(queries) // (count * 8))
            return pool.map(_match, queries, chunksize=step)
    finally:
        _shared = None


def _match(query: BookQuery) -> MatchResult[Any]:
    assert _shared is not None, "match_many sets the index before the pool forks"
    return _shared.match(query)
