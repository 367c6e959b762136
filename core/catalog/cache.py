"""A caching, deadline-bound front for the catalog, built for Discord autocomplete.

Discord drops an autocomplete answer that comes later than about three
seconds, and users type faster than Audible answers. So ``search_quick``
answers from a TTL + LRU cache of recent searches, waits for the catalog at
most ``deadline`` seconds, and otherwise answers with the best cached prefix
(``"harry"`` for ``"harry pot"``). The slow request keeps running in a
background task and fills the cache for the next keystroke; identical
concurrent searches share one request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from core.catalog.errors import CatalogError
from core.catalog.models import CatalogBook

log = logging.getLogger(__name__)

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_MISSING: Any = object()


class CatalogSource(Protocol):
    """What the cache needs from a catalog (``AudibleCatalog`` or a test double)."""

    async def search(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]: ...

    async def product(self, asin: str) -> CatalogBook | None: ...


def normalise_query(keywords: str) -> str:
    """Cache key for a search: casefolded, whitespace collapsed."""
    return " ".join(keywords.casefold().split())


class TTLCache(Generic[K, V]):
    """A small LRU mapping whose entries also expire ``ttl`` seconds after being set."""

    def __init__(self, *, ttl: float, max_entries: int, clock: Callable[[], float]) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._data: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K, default: Any = None) -> Any:
        """The live value for ``key`` (marking it recently used), else ``default``."""
        item = self._data.get(key)
        if item is None:
            return default
        expires, value = item
        if self._clock() >= expires:
            del self._data[key]
            return default
        self._data.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        """Store ``value``, evicting the least recently used entries beyond the cap."""
        self._data[key] = (self._clock() + self._ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self._max:
            self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


@dataclass(frozen=True, slots=True)
class _Result:
    """One cached search answer and the limit it was asked with."""

    limit: int
    books: tuple[CatalogBook, ...]

    def covers(self, limit: int) -> bool:
        # A short page is the whole answer, so it serves any larger limit too.
        return limit <= self.limit or len(self.books) < self.limit


class CachedCatalog:
    """Cache, in-flight dedupe and a hard deadline in front of a ``CatalogSource``.

    ``search_quick`` never raises and never waits longer than ``deadline``;
    ``search`` and ``product`` share the cache and the dedupe but raise
    ``CatalogError`` so a command can tell the user the catalog is down.
    ``clock`` (monotonic seconds) drives expiry and is injectable for tests.
    """

    def __init__(
        self,
        catalog: CatalogSource,
        *,
        ttl: float = 600,
        max_entries: int = 512,
        deadline: float = 2.5,
        max_pending: int = 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0 or max_entries < 1 or deadline <= 0 or max_pending < 1:
            raise ValueError("ttl, max_entries, deadline and max_pending must be positive")
        self._catalog = catalog
        self._deadline = deadline
        self._max_pending = max_pending
        self._searches: TTLCache[str, _Result] = TTLCache(
            ttl=ttl, max_entries=max_entries, clock=clock
        )
        self._products: TTLCache[str, CatalogBook | None] = TTLCache(
            ttl=ttl, max_entries=max_entries, clock=clock
        )
        self._search_tasks: dict[tuple[str, int], asyncio.Task[_Result]] = {}
        self._product_tasks: dict[str, asyncio.Task[CatalogBook | None]] = {}
        # Strong references: the event loop only keeps weak ones to tasks.
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def pending(self) -> int:
        """Catalog requests still in flight (including abandoned slow ones)."""
        return len(self._tasks)

    # -- search ---------------------------------------------------------

    async def search_quick(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]:
        """Best answer available within the deadline, for autocomplete; never raises.

        On a timeout or catalog error this is the longest cached prefix's
        result, or ``[]``. Cancellation of the caller still propagates.
        """
        key = normalise_query(keywords)
        if not key:
            return []
        cached = self._cached_search(key, limit)
        if cached is not None:
            return cached
        if (key, limit) not in self._search_tasks and self.pending >= self._max_pending:
            log.debug("catalog busy (%d pending); not searching %r", self.pending, key)
            return self._prefix_result(key, limit)
        task = self._search_task(key, limit)
        try:
            async with asyncio.timeout(self._deadline):
                result = await asyncio.shield(task)
        except TimeoutError:
            log.debug("catalog search %r missed the %.2g s deadline", key, self._deadline)
            return self._prefix_result(key, limit)
        except CatalogError as err:
            log.debug("catalog search %r failed: %s", key, err)
            return self._prefix_result(key, limit)
        except Exception as err:  # a bug below us must not break autocomplete
            # The task's traceback is logged once, by _reap.
            log.warning("catalog search %r failed unexpectedly: %r", key, err)
            return self._prefix_result(key, limit)
        return list(result.books[:limit])

    async def search(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]:
        """Cached search without a deadline; raises ``CatalogError`` on failure."""
        key = normalise_query(keywords)
        if not key:
            return []
        cached = self._cached_search(key, limit)
        if cached is not None:
            return cached
        result = await asyncio.shield(self._search_task(key, limit))
        return list(result.books[:limit])

    def _cached_search(self, key: str, limit: int) -> list[CatalogBook] | None:
        result: _Result | None = self._searches.get(key)
        if result is not None and result.covers(limit):
            return list(result.books[:limit])
        return None

    def _prefix_result(self, key: str, limit: int) -> list[CatalogBook]:
        """Result of the longest cached query that ``key`` starts with, else []."""
        for end in range(len(key), 0, -1):
            result: _Result | None = self._searches.get(key[:end])
            if result is not None:
                return list(result.books[:limit])
        return []

    def _search_task(self, key: str, limit: int) -> asyncio.Task[_Result]:
        task = self._search_tasks.get((key, limit))
        if task is None:
            task = self._spawn(self._fetch_search(key, limit), f"catalog search {key!r}")
            self._search_tasks[(key, limit)] = task
            task.add_done_callback(lambda t: _forget(self._search_tasks, (key, limit), t))
        return task

    async def _fetch_search(self, key: str, limit: int) -> _Result:
        books = await self._catalog.search(key, limit=limit)
        result = _Result(limit=limit, books=tuple(books))
        self._searches.put(key, result)
        for book in books:
            self._products.put(book.asin, book)
        return result

    # -- product --------------------------------------------------------

    async def product(self, asin: str) -> CatalogBook | None:
        """Cached ``product``: a remembered miss is None too; raises ``CatalogError``."""
        key = asin.strip().upper()
        cached = self._products.get(key, _MISSING)
        if cached is not _MISSING:
            return cached
        task = self._product_tasks.get(key)
        if task is None:
            task = self._spawn(self._fetch_product(key), f"catalog product {key}")
            self._product_tasks[key] = task
            task.add_done_callback(lambda t: _forget(self._product_tasks, key, t))
        return await asyncio.shield(task)

    async def _fetch_product(self, asin: str) -> CatalogBook | None:
        book = await self._catalog.product(asin)
        self._products.put(asin, book)
        return book

    # -- tasks ----------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._reap)
        return task

    def _reap(self, task: asyncio.Task[Any]) -> None:
        """Drop the reference and retrieve the outcome, so no failure goes unlogged."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        err = task.exception()
        if isinstance(err, CatalogError):
            log.info("%s failed: %s", task.get_name(), err)
        elif err is not None:
            log.error("%s crashed", task.get_name(), exc_info=err)

    async def join(self) -> None:
        """Wait until every background request has finished, whatever its outcome."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def aclose(self) -> None:
        """Cancel background requests (call before closing the catalog's session)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def clear(self) -> None:
        """Forget every cached answer (in-flight requests still complete)."""
        self._searches.clear()
        self._products.clear()


def _forget(tasks: dict[Any, asyncio.Task[Any]], key: Any, task: asyncio.Task[Any]) -> None:
    if tasks.get(key) is task:
        del tasks[key]
