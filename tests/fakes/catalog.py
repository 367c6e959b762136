"""A fake Audible catalog API on 127.0.0.1, speaking the real wire format.

Products come from the real captured product JSONs in
``tests/fixtures/catalog/`` plus whatever a test adds with ``add_product``.
Knobs let a test make the catalog slow (``delay``, seconds per request), hang
(``hang``: no answer until the fake closes), fail (``fail_status``, e.g. 503)
or talk garbage (``malformed``: True for a truncated JSON body, or the exact
bytes to send); those hold for every request. Transient faults are queued
and each spends itself on one request: ``fail_next(status, times=,
retry_after=)`` and ``stall_next(seconds)`` (an answer late enough for a
client timeout). Searches take ``keywords`` (title, subtitle, people, series
titles), ``author`` (author names) and ``products_sort_by=-ReleaseDate``
(newest first), as Audible's do. ``requests`` records every request so tests can count round
trips (the cache's whole point).

Usage::

    async with FakeAudible() as fake:
        fake.add_product(asin="B000TEST01", title="Dune", authors=["Frank Herbert"])
        async with AudibleCatalog(base_url=fake.url) as catalog:
            books = await catalog.search("dune")
        assert fake.requests[0].path == "/1.0/catalog/products"
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "catalog"

# Response groups the real API accepts on the catalog endpoints (a subset is
# enough: an unknown one gets the same 400 the real API gives, which catches
# typos in the client's query).
VALID_RESPONSE_GROUPS = frozenset(
    {
        "always-returned",
        "category_ladders",
        "contributors",
        "customer_rights",
        "media",
        "price",
        "product_attrs",
        "product_desc",
        "product_details",
        "product_extended_attrs",
        "product_plan_details",
        "product_plans",
        "rating",
        "relationships",
        "review_attrs",
        "reviews",
        "rights",
        "sample",
        "series",
        "sku",
    }
)

GARBAGE = b'{"products": [{"asin": "B0'

_WORD = re.compile(r"\w+")


def load_fixture(name: str) -> dict[str, Any]:
    """Return one fixture file's parsed JSON (whole body, not just the product)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture_products() -> list[dict[str, Any]]:
    """All real product objects shipped in the fixtures directory."""
    return [
        load_fixture(path.name)["product"]
        for path in sorted(FIXTURES.glob("audible_catalog_products_*.json"))
    ]


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


def _people_words(product: Mapping[str, Any], key: str) -> set[str]:
    words: set[str] = set()
    for person in product.get(key) or ():
        if isinstance(person, Mapping) and isinstance(person.get("name"), str):
            words |= _words(person["name"])
    return words


def derived_asin(prefix: str, name: str) -> str:
    """A stable 10-character ASIN for a contributor or series name (same name, same ASIN)."""
    digest = hashlib.sha1(name.casefold().encode()).hexdigest().upper()
    return (prefix + digest)[:10]


def _given(values: Sequence[str], index: int) -> str | None:
    return values[index] if index < len(values) else None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received."""

    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str] = field(repr=False)


class FakeAudible:
    """aiohttp server faking ``/1.0/catalog/products`` and ``/1.0/catalog/products/{asin}``."""

    def __init__(self, *, load_fixtures: bool = True) -> None:
        self.products: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.delay: float = 0.0
        self.hang: bool = False
        self.fail_status: int | None = None
        # True: a truncated JSON body; bytes: exactly that body (for wrong shapes).
        self.malformed: bool | bytes = False
        # One-shot faults, oldest first: (status or None, Retry-After, seconds to stall).
        self.next_faults: list[tuple[int | None, str | None, float]] = []
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        if load_fixtures:
            for product in fixture_products():
                self.add_raw_product(product)

    # -- products -------------------------------------------------------

    def add_raw_product(self, product: Mapping[str, Any]) -> None:
        """Serve ``product`` as is (for stubs and odd shapes)."""
        self.products[str(product["asin"])] = dict(product)

    def add_product(
        self,
        *,
        asin: str,
        title: str,
        authors: Sequence[str] = (),
        narrators: Sequence[str] = (),
        release_date: str | None = "2020-01-01",
        series: Iterable[tuple[str, str | None]] = (),
        subtitle: str | None = None,
        runtime_length_min: int | None = 600,
        language: str = "english",
        content_delivery_type: str = "SinglePartBook",
        content_type: str = "Product",
        summary: str | None = None,
        author_asins: Sequence[str] = (),
        series_asins: Sequence[str] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        """Build and serve a product shaped like the captured ones; returns it.

        Contributors and series get ASINs derived from their names unless
        ``author_asins`` / ``series_asins`` give them (two authors of one name).
        """
        product: dict[str, Any] = {
            "asin": asin,
            "title": title,
            "authors": [
                {"asin": _given(author_asins, i) or derived_asin("B0A", name), "name": name}
                for i, name in enumerate(authors)
            ],
            "narrators": [{"name": name} for name in narrators],
            "content_delivery_type": content_delivery_type,
            "content_type": content_type,
            "format_type": "unabridged",
            "is_adult_product": False,
            "is_listenable": True,
            "language": language,
            "merchandising_summary": f"<p>{summary or title}</p>",
            "product_images": {
                "500": f"https://m.media-amazon.com/images/I/{asin}._SL500_.jpg",
                "1024": f"https://m.media-amazon.com/images/I/{asin}._SL1024_.jpg",
            },
            "publisher_name": "Fake Audio",
            "publisher_summary": f"<p>{summary or 'A book called <i>' + title + '</i>.'}</p>",
            "runtime_length_min": runtime_length_min,
        }
        if release_date is not None:
            product["release_date"] = release_date
            product["issue_date"] = release_date
            product["publication_datetime"] = f"{release_date}T08:00:00Z"
        if subtitle is not None:
            product["subtitle"] = subtitle
        series_list = []
        for i, (name, sequence) in enumerate(series):
            series_asin = _given(series_asins, i) or derived_asin("B0S", name)
            series_list.append({
                "asin": series_asin,
                "sequence": sequence,
                "title": name,
                "url": f"/pd/{name.replace(' ', '-')}-Audiobook/{series_asin}",
            })
        if series_list:
            product["series"] = series_list
        product.update(extra)
        self.add_raw_product(product)
        return product

    def _matches(self, product: Mapping[str, Any], wanted: set[str]) -> bool:
        haystack: set[str] = set()
        for key in ("title", "subtitle"):
            if isinstance(product.get(key), str):
                haystack |= _words(product[key])
        for key in ("authors", "narrators"):
            haystack |= _people_words(product, key)
        for entry in product.get("series") or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("title"), str):
                haystack |= _words(entry["title"])
        return wanted <= haystack

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """The next ``times`` requests get ``status`` (with ``Retry-After`` when given)."""
        self.next_faults += [(status, retry_after, 0.0)] * times

    def stall_next(self, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` requests are answered only after ``seconds``."""
        self.next_faults += [(None, None, seconds)] * times

    # -- HTTP -----------------------------------------------------------

    async def _gate(self, request: web.Request) -> web.Response | None:
        """Record the request and apply the knobs; a response means stop here."""
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
            )
        )
        if self.hang:
            await self._closing.wait()
            return web.Response(status=503, text="shutting down")
        fault = self.next_faults.pop(0) if self.next_faults else (None, None, 0.0)
        status, retry_after, stall = fault
        await self._sleep(self.delay + stall)
        if status is not None:
            headers = {"Retry-After": retry_after} if retry_after is not None else None
            return web.json_response(
                {"message": "Service temporarily unavailable"}, status=status, headers=headers
            )
        if self.fail_status is not None:
            return web.json_response(
                {"message": "Service temporarily unavailable"}, status=self.fail_status
            )
        if self.malformed:
            body = self.malformed if isinstance(self.malformed, bytes) else GARBAGE
            return web.Response(status=200, body=body, content_type="application/json")
        groups = [g for g in request.query.get("response_groups", "").split(",") if g]
        bad = [g for g in groups if g not in VALID_RESPONSE_GROUPS]
        if bad:
            return web.json_response(
                {"message": f"Invalid response group(s) requested: {','.join(bad)}"},
                status=400,
            )
        return None

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but let close() cut it short so teardown stays fast."""
        if seconds:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._closing.wait()

    def _groups(self, request: web.Request) -> list[str]:
        groups = [g for g in request.query.get("response_groups", "").split(",") if g]
        return ["always-returned", *groups]

    async def _search(self, request: web.Request) -> web.Response:
        if (stop := await self._gate(request)) is not None:
            return stop
        try:
            num = int(request.query.get("num_results", "10"))
        except ValueError:
            num = -1
        if not 1 <= num <= 50:
            return web.json_response(
                {"message": "num_results must be between 1 and 50"}, status=400
            )
        wanted = _words(request.query.get("keywords", "") + " " + request.query.get("title", ""))
        author = _words(request.query.get("author", ""))
        hits = [
            p for p in self.products.values()
            if (wanted or author)
            and (not wanted or self._matches(p, wanted))
            and author <= _people_words(p, "authors")
        ]
        if request.query.get("products_sort_by") == "-ReleaseDate":
            hits.sort(key=lambda p: str(p.get("release_date") or ""), reverse=True)
        return web.json_response(
            {
                "products": hits[:num],
                "response_groups": self._groups(request),
                "total_results": len(hits),
            }
        )

    async def _product(self, request: web.Request) -> web.Response:
        if (stop := await self._gate(request)) is not None:
            return stop
        asin = request.match_info["asin"]
        product = self.products.get(asin)
        if product is None:
            return web.json_response(
                {"error_code": "000404", "message": f"Requested product {asin} not found."},
                status=404,
            )
        return web.json_response({"product": product, "response_groups": self._groups(request)})

    # -- lifecycle ------------------------------------------------------

    async def start(self) -> None:
        """Listen on a random port of 127.0.0.1 and set ``url``."""
        app = web.Application()
        app.router.add_get("/1.0/catalog/products", self._search)
        app.router.add_get("/1.0/catalog/products/{asin}", self._product)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        log.debug("fake Audible listening on %s", self.url)

    async def close(self) -> None:
        """Release hanging handlers, then stop the server."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeAudible:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
