"""AudibleCatalog over real sockets against FakeAudible."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from core.catalog.client import AUDIBLE_HOSTS, RESPONSE_GROUPS, AudibleCatalog
from core.catalog.errors import (
    CatalogBadResponse,
    CatalogError,
    CatalogNotFound,
    CatalogUnavailable,
)
from core.retry import DEFAULT_RETRY, NO_RETRY
from tests.fakes.catalog import FakeAudible
from tests.fakes.retry import QUICK_RETRY, SleepLog


# The `catalog` fixture (tests/conftest.py) is the client over this fake.
@pytest.fixture
async def fake() -> AsyncIterator[FakeAudible]:
    async with FakeAudible() as server:
        yield server


# -- search -------------------------------------------------------------


async def test_search_sends_the_documented_query(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    books = await catalog.search("Harry  Potter", limit=7)
    assert [b.asin for b in books] == ["B017V4IM1G"]
    assert len(fake.requests) == 1
    sent = fake.requests[0]
    assert sent.method == "GET"
    assert sent.path == "/1.0/catalog/products"
    assert sent.query == {
        "keywords": "Harry Potter",
        "num_results": "7",
        "products_sort_by": "Relevance",
        "response_groups": ("contributors,media,product_attrs,product_desc,product_details,series"),
        "image_sizes": "500,1024",
    }
    assert sent.headers.get("Accept") == "application/json"


async def test_search_result_is_fully_parsed(catalog: AudibleCatalog) -> None:
    (book,) = await catalog.search("harry potter")
    assert book.title == "Harry Potter and the Sorcerer's Stone, Book 1"
    assert book.authors == ("J.K. Rowling",)
    assert book.narrators == ("Jim Dale",)
    assert book.series[0] == ("Harry Potter", "1")
    assert book.release_year == 2015
    assert book.cover_url is not None and "_SL1024_" in book.cover_url


async def test_search_by_author_and_narrator(catalog: AudibleCatalog) -> None:
    assert [b.asin for b in await catalog.search("andy weir")] == ["B08G9PRS1K"]
    assert [b.asin for b in await catalog.search("R.C. Bray")] == ["B079LRSMNN"]


async def test_search_added_products_and_limit(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    for i in range(12):
        fake.add_product(
            asin=f"B0DUNE{i:04d}",
            title=f"Dune Part {i}",
            authors=["Frank Herbert"],
            narrators=["Scott Brick"],
            release_date="1965-08-01",
            series=[("Dune", str(i + 1))],
        )
    books = await catalog.search("frank herbert", limit=5)
    assert [b.asin for b in books] == [f"B0DUNE{i:04d}" for i in range(5)]
    assert books[2].series == (("Dune", "3"),)
    assert books[0].release_year == 1965
    assert fake.requests[-1].query["num_results"] == "5"


async def test_search_limit_is_clamped_to_audible_maximum(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await catalog.search("dune", limit=500)
    await catalog.search("dune", limit=0)
    assert [r.query["num_results"] for r in fake.requests] == ["50", "1"]


async def test_search_skips_podcasts_stubs_and_duplicates(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    fake.add_product(asin="B0BOOK0001", title="Mars Stories", authors=["Ann Writer"])
    fake.add_product(
        asin="B0POD00001",
        title="Mars Stories Podcast",
        authors=["Ann Writer"],
        content_delivery_type="PodcastParent",
        content_type="Podcast",
    )
    fake.add_raw_product({"asin": "B0STUB0001", "title": "", "authors": [{"name": "Ann Writer"}]})
    books = await catalog.search("ann writer")
    assert [b.asin for b in books] == ["B0BOOK0001"]


async def test_search_no_hits_and_blank_keywords(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    assert await catalog.search("zzzz nothing matches") == []
    assert await catalog.search("   ") == []
    assert len(fake.requests) == 1  # blank keywords never reach the network


async def test_search_duplicate_asins_in_answer_count_once(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    # The same ASIN twice in one answer (editions, regions) is one choice.
    product = json.dumps(fake.products["B08G9PRS1K"]).encode()
    fake.malformed = b'{"products": [' + product + b", " + product + b'], "total_results": 2}'
    books = await catalog.search("project hail mary")
    assert [b.asin for b in books] == ["B08G9PRS1K"]


# -- product ------------------------------------------------------------


async def test_product_by_asin(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    book = await catalog.product("b08g9prs1k")
    assert book is not None
    assert book.asin == "B08G9PRS1K"
    assert book.title == "Project Hail Mary"
    assert book.summary is not None and "Ryland Grace" in book.summary
    sent = fake.requests[0]
    assert sent.path == "/1.0/catalog/products/B08G9PRS1K"
    assert sent.query["response_groups"] == RESPONSE_GROUPS
    assert sent.query["image_sizes"] == "500,1024"


async def test_product_unknown_404_is_none(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    assert await catalog.product("B0NOTHERE1") is None
    assert len(fake.requests) == 1


async def test_product_stub_is_none(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    # What Audible really answers for an unknown ASIN: 200 with a bare stub.
    fake.add_raw_product({"asin": "B000000000"})
    assert await catalog.product("B000000000") is None


async def test_product_podcast_is_none(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    fake.add_product(asin="B0POD00001", title="A Show", content_delivery_type="PodcastParent")
    assert await catalog.product("B0POD00001") is None


@pytest.mark.parametrize("asin", ["", "  ", "../../etc/passwd", "B08G9PRS1K/x", "SHORT"])
async def test_product_rejects_non_asins_without_a_request(
    fake: FakeAudible, catalog: AudibleCatalog, asin: str
) -> None:
    assert await catalog.product(asin) is None
    assert fake.requests == []


# -- errors -------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_server_errors_are_unavailable(
    fake: FakeAudible, catalog: AudibleCatalog, status: int
) -> None:
    fake.fail_status = status
    with pytest.raises(CatalogUnavailable) as info:
        await catalog.search("dune")
    assert info.value.status == status
    with pytest.raises(CatalogUnavailable):
        await catalog.product("B08G9PRS1K")


async def test_other_client_errors_are_catalog_errors(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    fake.fail_status = 400
    with pytest.raises(CatalogError) as info:
        await catalog.search("dune")
    assert type(info.value) is CatalogError
    assert info.value.status == 400


async def test_search_404_is_not_found(fake: FakeAudible, catalog: AudibleCatalog) -> None:
    fake.fail_status = 404
    with pytest.raises(CatalogNotFound):
        await catalog.search("dune")


@pytest.mark.parametrize(
    "body",
    [
        None,  # truncated JSON
        b"<html><body>Oops</body></html>",
        b"[]",
        b'{"products": {"asin": "B0"}}',
        b'{"total_results": 0}',
        b"\xff\xfe\x00garbage",
    ],
)
async def test_malformed_search_is_bad_response(
    fake: FakeAudible, catalog: AudibleCatalog, body: bytes | None
) -> None:
    fake.malformed = body if body is not None else True
    with pytest.raises(CatalogBadResponse) as info:
        await catalog.search("dune")
    if body is None:
        assert info.value.__cause__ is not None


@pytest.mark.parametrize("body", [None, b"[]", b'{"product": "B08G9PRS1K"}'])
async def test_malformed_product_is_bad_response(
    fake: FakeAudible, catalog: AudibleCatalog, body: bytes | None
) -> None:
    fake.malformed = body if body is not None else True
    with pytest.raises(CatalogBadResponse):
        await catalog.product("B08G9PRS1K")


async def test_timeout_is_unavailable(fake: FakeAudible) -> None:
    fake.delay = 2.0
    async with AudibleCatalog(base_url=fake.url, timeout=0.2, retry=NO_RETRY) as catalog:
        started = time.monotonic()
        with pytest.raises(CatalogUnavailable) as info:
            await catalog.search("dune")
        assert time.monotonic() - started < 1.0
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_hanging_catalog_times_out(fake: FakeAudible) -> None:
    fake.hang = True
    async with AudibleCatalog(base_url=fake.url, timeout=0.2, retry=NO_RETRY) as catalog:
        started = time.monotonic()
        with pytest.raises(CatalogUnavailable):
            await catalog.product("B08G9PRS1K")
        assert time.monotonic() - started < 1.0


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with AudibleCatalog(base_url=url, timeout=1.0, retry=QUICK_RETRY) as catalog:
        with pytest.raises(CatalogUnavailable) as info:
            await catalog.search("dune")
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


# -- retries ------------------------------------------------------------


@pytest.fixture
def sleeps() -> SleepLog:
    return SleepLog()


@pytest.fixture
async def patient(fake: FakeAudible, sleeps: SleepLog) -> AsyncIterator[AudibleCatalog]:
    """The production retry policy, with its waits recorded instead of slept."""
    async with AudibleCatalog(base_url=fake.url, timeout=0.5, retry=sleeps.policy()) as client:
        yield client


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
async def test_a_transient_failure_once_is_retried(
    fake: FakeAudible, patient: AudibleCatalog, sleeps: SleepLog, status: int
) -> None:
    fake.fail_next(status)
    assert [b.asin for b in await patient.search("project hail mary")] == ["B08G9PRS1K"]
    assert len(fake.requests) == 2
    assert sleeps.waits == [DEFAULT_RETRY.base_delay]


async def test_429_retry_after_is_honoured(
    fake: FakeAudible, patient: AudibleCatalog, sleeps: SleepLog
) -> None:
    fake.fail_next(429, retry_after="1")
    assert await patient.product("B08G9PRS1K") is not None
    assert sleeps.waits == [1.0]


async def test_a_timeout_once_is_retried(
    fake: FakeAudible, patient: AudibleCatalog, sleeps: SleepLog
) -> None:
    fake.stall_next(1.0)
    assert await patient.product("B08G9PRS1K") is not None
    assert len(fake.requests) == 2 and len(sleeps.waits) == 1


async def test_a_persistent_failure_gives_up_within_the_bound(
    fake: FakeAudible, patient: AudibleCatalog, sleeps: SleepLog
) -> None:
    fake.fail_next(503, times=10, retry_after="120")
    with pytest.raises(CatalogUnavailable) as info:
        await patient.search("dune")
    assert info.value.status == 503
    assert len(fake.requests) == DEFAULT_RETRY.attempts
    assert sum(sleeps.waits) <= DEFAULT_RETRY.max_wait


@pytest.mark.parametrize("status", [400, 401, 403, 404])
async def test_refusals_are_not_retried(
    fake: FakeAudible, patient: AudibleCatalog, sleeps: SleepLog, status: int
) -> None:
    fake.fail_status = status
    with pytest.raises(CatalogError):
        await patient.search("dune")
    assert len(fake.requests) == 1 and sleeps.waits == []


async def test_a_closed_shared_session_is_unavailable_at_once(
    fake: FakeAudible, sleeps: SleepLog
) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    catalog = AudibleCatalog(session=session, base_url=fake.url, retry=sleeps.policy())
    with pytest.raises(CatalogUnavailable, match="session is closed"):
        await catalog.search("dune")
    assert fake.requests == [] and sleeps.waits == []
    assert catalog._session is session  # never replaced behind the caller's back


# -- configuration and lifecycle ------------------------------------------


def test_region_hosts() -> None:
    assert AUDIBLE_HOSTS == {
        "us": "api.audible.com",
        "uk": "api.audible.co.uk",
        "ca": "api.audible.ca",
        "au": "api.audible.com.au",
        "de": "api.audible.de",
        "fr": "api.audible.fr",
        "it": "api.audible.it",
        "es": "api.audible.es",
        "jp": "api.audible.co.jp",
        "in": "api.audible.in",
    }


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("us", "https://api.audible.com"),
        ("UK", "https://api.audible.co.uk"),
        (" au ", "https://api.audible.com.au"),
        ("jp", "https://api.audible.co.jp"),
    ],
)
def test_region_selects_host(region: str, url: str) -> None:
    assert AudibleCatalog(region=region).base_url == url


def test_unknown_region_is_rejected() -> None:
    with pytest.raises(ValueError, match="region"):
        AudibleCatalog(region="mars")


def test_base_url_overrides_region() -> None:
    catalog = AudibleCatalog(region="de", base_url="http://127.0.0.1:9/")
    assert catalog.base_url == "http://127.0.0.1:9"
    assert AudibleCatalog(region="de", base_url="").base_url == "https://api.audible.de"


async def test_injected_session_is_left_open(fake: FakeAudible) -> None:
    async with aiohttp.ClientSession() as session:
        async with AudibleCatalog(session=session, base_url=fake.url) as catalog:
            assert await catalog.product("B08G9PRS1K") is not None
        assert not session.closed


async def test_own_session_is_closed(fake: FakeAudible) -> None:
    catalog = AudibleCatalog(base_url=fake.url)
    await catalog.product("B08G9PRS1K")
    session = catalog._session
    assert session is not None and not session.closed
    await catalog.close()
    assert session.closed
    await catalog.close()  # idempotent
