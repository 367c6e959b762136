"""CachedCatalog: the autocomplete cache in front of AudibleCatalog, over real sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from core.catalog.cache import CachedCatalog, normalise_query
from core.catalog.client import AudibleCatalog
from core.catalog.errors import CatalogUnavailable
from core.catalog.models import CatalogBook
from core.retry import NO_RETRY
from tests.fakes.catalog import FakeAudible

DEADLINE = 0.2
MARGIN = 0.15  # scheduling slack on a loaded CI machine


class FakeClock:
    """Monotonic clock the test moves by hand (TTL only; deadlines use real time)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
async def fake() -> AsyncIterator[FakeAudible]:
    async with FakeAudible() as server:
        yield server


@pytest.fixture
async def catalog(fake: FakeAudible) -> AsyncIterator[AudibleCatalog]:
    # One request per call: these tests count round trips of the cache, not retries.
    async with AudibleCatalog(base_url=fake.url, timeout=2.0, retry=NO_RETRY) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def cached(catalog: AudibleCatalog, clock: FakeClock) -> AsyncIterator[CachedCatalog]:
    cache = CachedCatalog(catalog, ttl=60, max_entries=8, deadline=DEADLINE, clock=clock)
    yield cache
    await cache.aclose()


def _asins(books: list[CatalogBook]) -> list[str]:
    return [b.asin for b in books]


def test_normalise_query() -> None:
    assert normalise_query("  Harry\tPOTTER  and ") == "harry potter and"
    assert normalise_query("STRASSE") == normalise_query("straße")
    assert normalise_query("   ") == ""


async def test_hit_with_normalised_key(fake: FakeAudible, cached: CachedCatalog) -> None:
    first = await cached.search_quick("Harry Potter")
    second = await cached.search_quick("  harry   POTTER ")
    assert _asins(first) == ["B017V4IM1G"]
    assert second == first
    assert len(fake.requests) == 1


async def test_blank_query_makes_no_request(fake: FakeAudible, cached: CachedCatalog) -> None:
    assert await cached.search_quick("   ") == []
    assert await cached.search("") == []
    assert fake.requests == []


async def test_ttl_expiry(fake: FakeAudible, cached: CachedCatalog, clock: FakeClock) -> None:
    await cached.search_quick("andy weir")
    clock.advance(59.9)
    await cached.search_quick("andy weir")
    assert len(fake.requests) == 1
    clock.advance(0.2)
    assert _asins(await cached.search_quick("andy weir")) == ["B08G9PRS1K"]
    assert len(fake.requests) == 2


async def test_lru_eviction(fake: FakeAudible, catalog: AudibleCatalog, clock: FakeClock) -> None:
    cache = CachedCatalog(catalog, max_entries=2, deadline=1.0, clock=clock)
    await cache.search_quick("andy weir")  # request 1
    await cache.search_quick("jim dale")  # request 2
    await cache.search_quick("andy weir")  # hit: now most recently used
    await cache.search_quick("nick cole")  # request 3, evicts "jim dale"
    await cache.search_quick("andy weir")  # hit
    assert len(fake.requests) == 3
    await cache.search_quick("jim dale")  # evicted: request 4
    assert [r.query["keywords"] for r in fake.requests] == [
        "andy weir",
        "jim dale",
        "nick cole",
        "jim dale",
    ]
    await cache.aclose()


async def test_limit_served_from_larger_or_complete_entry(
    fake: FakeAudible, cached: CachedCatalog
) -> None:
    for i in range(12):
        fake.add_product(asin=f"B0DUNE{i:04d}", title=f"Dune {i}", authors=["Frank Herbert"])
    assert len(await cached.search_quick("frank herbert", limit=5)) == 5
    assert _asins(await cached.search_quick("frank herbert", limit=3)) == [
        f"B0DUNE{i:04d}" for i in range(3)
    ]
    assert len(fake.requests) == 1
    # Five of five may hide more: a larger limit has to ask.
    assert len(await cached.search_quick("frank herbert", limit=10)) == 10
    assert len(fake.requests) == 2
    # One hit for limit 10 is the whole answer: limit 25 needs no request.
    assert len(await cached.search_quick("andy weir", limit=10)) == 1
    assert len(await cached.search_quick("andy weir", limit=25)) == 1
    assert len(fake.requests) == 3


async def test_inflight_dedupe(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    fake.delay = 0.1
    cache = CachedCatalog(catalog, deadline=1.0)
    a, b = await asyncio.gather(cache.search_quick("andy weir"), cache.search_quick("Andy Weir"))
    assert _asins(a) == _asins(b) == ["B08G9PRS1K"]
    c, d = await asyncio.gather(cache.search("nick cole"), cache.search(" nick  cole"))
    assert _asins(c) == _asins(d) == ["B079LRSMNN"]
    assert len(fake.requests) == 2
    await cache.aclose()


async def test_deadline_with_hanging_catalog_returns_empty(
    fake: FakeAudible, cached: CachedCatalog
) -> None:
    fake.hang = True
    started = time.monotonic()
    assert await cached.search_quick("project hail mary") == []
    assert time.monotonic() - started < DEADLINE + MARGIN
    assert cached.pending == 1  # the request keeps running in the background


async def test_deadline_with_hanging_catalog_returns_prefix_result(
    fake: FakeAudible, cached: CachedCatalog
) -> None:
    harry = await cached.search_quick("harry")
    assert _asins(harry) == ["B017V4IM1G"]
    await cached.search_quick("h")  # shorter prefix: must not win over "harry"
    fake.hang = True
    started = time.monotonic()
    assert await cached.search_quick("Harry Pot") == harry
    assert time.monotonic() - started < DEADLINE + MARGIN


async def test_deadline_prefix_is_a_string_prefix_not_any_key(
    fake: FakeAudible, cached: CachedCatalog
) -> None:
    await cached.search_quick("andy weir")
    fake.hang = True
    assert await cached.search_quick("harry potter") == []


async def test_background_fill_then_hit(fake: FakeAudible, cached: CachedCatalog) -> None:
    fake.delay = DEADLINE + 0.2
    started = time.monotonic()
    assert await cached.search_quick("andy weir") == []
    assert time.monotonic() - started < DEADLINE + MARGIN
    async with asyncio.timeout(2.0):
        await cached.join()
    assert cached.pending == 0
    fake.delay = 0
    assert _asins(await cached.search_quick("andy weir")) == ["B08G9PRS1K"]
    assert len(fake.requests) == 1


async def test_next_keystroke_joins_the_slow_request(
    fake: FakeAudible, cached: CachedCatalog
) -> None:
    fake.delay = DEADLINE * 1.5
    assert await cached.search_quick("andy weir") == []
    # Same query again while the first is still running: it waits on the same
    # request and gets its answer inside its own deadline.
    assert _asins(await cached.search_quick("andy weir")) == ["B08G9PRS1K"]
    assert len(fake.requests) == 1


@pytest.mark.parametrize("knob", ["fail_status", "malformed"])
async def test_catalog_errors_fall_back_and_are_not_cached(
    fake: FakeAudible, cached: CachedCatalog, knob: str
) -> None:
    await cached.search_quick("nick")
    setattr(fake, knob, 503 if knob == "fail_status" else True)
    assert _asins(await cached.search_quick("nick cole")) == ["B079LRSMNN"]  # prefix "nick"
    assert await cached.search_quick("ray porter") == []
    setattr(fake, knob, None if knob == "fail_status" else False)
    assert _asins(await cached.search_quick("ray porter")) == ["B08G9PRS1K"]
    assert len(fake.requests) == 4


async def test_unexpected_exception_never_escapes() -> None:
    class Broken:
        async def search(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]:
            raise RuntimeError("bug")

        async def product(self, asin: str) -> CatalogBook | None:
            raise RuntimeError("bug")

    cache = CachedCatalog(Broken(), deadline=DEADLINE)
    assert await cache.search_quick("anything") == []
    await cache.aclose()


async def test_search_raises_catalog_errors(fake: FakeAudible, cached: CachedCatalog) -> None:
    fake.fail_status = 503
    with pytest.raises(CatalogUnavailable):
        await cached.search("andy weir")
    fake.fail_status = None
    assert _asins(await cached.search("andy weir")) == ["B08G9PRS1K"]
    assert _asins(await cached.search_quick("andy weir")) == ["B08G9PRS1K"]
    assert len(fake.requests) == 2


async def test_cancelled_waiter_does_not_cancel_shared_request(
    fake: FakeAudible, cached: CachedCatalog
) -> None:
    fake.delay = 0.1
    first = asyncio.create_task(cached.search("andy weir"))
    second = asyncio.create_task(cached.search("andy weir"))
    await asyncio.sleep(0.02)
    first.cancel()
    assert _asins(await second) == ["B08G9PRS1K"]
    with pytest.raises(asyncio.CancelledError):
        await first
    assert len(fake.requests) == 1


async def test_pending_requests_are_capped(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    fake.hang = True
    cache = CachedCatalog(catalog, deadline=0.05, max_pending=2)
    for query in ("a", "ab", "abc", "abcd"):
        assert await cache.search_quick(query) == []
    assert cache.pending == 2
    assert len(fake.requests) == 2
    await cache.aclose()
    assert cache.pending == 0


async def test_aclose_cancels_background_requests(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    fake.hang = True
    cache = CachedCatalog(catalog, deadline=0.05)
    assert await cache.search_quick("dune") == []
    assert cache.pending == 1
    await cache.aclose()
    assert cache.pending == 0


async def test_product_cached_by_asin(fake: FakeAudible, cached: CachedCatalog) -> None:
    book = await cached.product("B08G9PRS1K")
    assert book is not None and book.title == "Project Hail Mary"
    assert await cached.product(" b08g9prs1k ") == book
    assert await cached.product("B0NOTHERE1") is None
    assert await cached.product("B0NOTHERE1") is None  # a miss is remembered too
    assert len(fake.requests) == 2


async def test_product_filled_by_search(fake: FakeAudible, cached: CachedCatalog) -> None:
    # Autocomplete chose a search result: resolving its ASIN needs no request.
    (hit,) = await cached.search_quick("harry potter")
    assert await cached.product(hit.asin) == hit
    assert len(fake.requests) == 1


async def test_product_errors_raise_and_are_not_cached(
    fake: FakeAudible, cached: CachedCatalog, clock: FakeClock
) -> None:
    fake.fail_status = 503
    with pytest.raises(CatalogUnavailable):
        await cached.product("B08G9PRS1K")
    fake.fail_status = None
    assert await cached.product("B08G9PRS1K") is not None
    clock.advance(61)
    assert await cached.product("B08G9PRS1K") is not None
    assert len(fake.requests) == 3


async def test_product_inflight_dedupe(fake: FakeAudible, cached: CachedCatalog) -> None:
    fake.delay = 0.1
    a, b = await asyncio.gather(cached.product("B079LRSMNN"), cached.product("b079lrsmnn"))
    assert a == b and a is not None
    assert len(fake.requests) == 1


@pytest.mark.parametrize(
    "kwargs", [{"ttl": 0}, {"max_entries": 0}, {"deadline": 0}, {"max_pending": 0}]
)
async def test_bad_settings_are_rejected(catalog: AudibleCatalog, kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CachedCatalog(catalog, **kwargs)  # type: ignore[arg-type]
