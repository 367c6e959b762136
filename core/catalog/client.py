"""Async client for Audible's public catalog API (no account needed).

Shaped like python-wled: an optional injected ``aiohttp.ClientSession`` (the
bot shares one; we close only a session we opened), ``asyncio.timeout`` around
every call, and one request choke point, ``_get``, that maps every transport
and HTTP failure onto the ``core.catalog.errors`` tree with ``raise ... from``
and sends a call again after a transient failure (connection, timeout, 429,
5xx) under the client's ``RetryPolicy``, whose bound ``core.retry`` states.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

import aiohttp

from core.aio import SessionClosed, SessionOwner
from core.asin import is_asin
from core.catalog.errors import (
    CatalogBadResponse,
    CatalogError,
    CatalogNotFound,
    CatalogUnavailable,
)
from core.catalog.models import CatalogBook, parse_product
from core.retry import DEFAULT_RETRY, RetryPolicy, parse_retry_after, retry_call

log = logging.getLogger(__name__)

# Audible marketplace -> API host. The catalog is regional: ASINs, titles and
# availability differ, so the bot must ask the marketplace its users buy from.
AUDIBLE_HOSTS: dict[str, str] = {
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

RESPONSE_GROUPS = "contributors,media,product_attrs,product_desc,product_details,series"
IMAGE_SIZES = "500,1024"
MAX_RESULTS = 50  # Audible's cap for num_results
SEARCH_PATH = "/1.0/catalog/products"

_HEADERS = {"Accept": "application/json", "User-Agent": "Earmark/0.1 (audiobook requests bot)"}


def base_url_for(region: str) -> str:
    """``https://`` URL of the API host for a marketplace code such as ``"uk"``."""
    key = region.strip().lower()
    try:
        return f"https://{AUDIBLE_HOSTS[key]}"
    except KeyError:
        known = ", ".join(AUDIBLE_HOSTS)
        raise ValueError(f"unknown Audible region {region!r} (known: {known})") from None


def product_url(asin: str, region: str) -> str | None:
    """The book's Audible product page in the catalog's marketplace, for card titles.

    The store's web host is the API host's sibling (`api.audible.co.uk` ->
    `www.audible.co.uk`); None for an unknown region or a value that is not an
    ASIN, so no card links to a made-up page.
    """
    host = AUDIBLE_HOSTS.get(region.strip().lower())
    key = asin.strip().upper()
    if host is None or not is_asin(key):
        return None
    return f"https://www.{host.removeprefix('api.')}/pd/{key}"


class AudibleCatalog(SessionOwner):
    """Search and look up audiobooks in one Audible marketplace."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        region: str = "us",
        base_url: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        super().__init__(session)
        # Resolve the region even with a base_url so a typo in config fails early.
        default_url = base_url_for(region)
        self._base_url = (base_url or default_url).rstrip("/")
        self._timeout = timeout
        self._retry = retry

    @property
    def base_url(self) -> str:
        """Where requests go, without a trailing slash."""
        return self._base_url

    async def search(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]:
        """Books matching ``keywords`` by relevance, podcasts and stubs left out.

        Fewer than ``limit`` may come back when Audible's page held non-books.
        """
        keywords = " ".join(keywords.split())
        if not keywords:
            return []
        return await self._products(
            {"keywords": keywords, "products_sort_by": "Relevance"}, limit
        )

    async def by_author(self, name: str, *, limit: int = MAX_RESULTS) -> list[CatalogBook]:
        """An author's books, newest release first (upcoming ones included).

        Audible's ``author`` search matches the contributor's name; the caller
        keeps the books whose author ASIN is the one it follows, which tells
        two authors of one name apart.
        """
        name = " ".join(name.split())
        if not name:
            return []
        return await self._products({"author": name, "products_sort_by": "-ReleaseDate"}, limit)

    async def by_series(self, title: str, *, limit: int = MAX_RESULTS) -> list[CatalogBook]:
        """Books found under a series' title, newest release first.

        The search also finds books that only mention the words; the caller
        keeps those whose series ASIN (or normalised series title) it follows.
        """
        title = " ".join(title.split())
        if not title:
            return []
        return await self._products(
            {"keywords": title, "products_sort_by": "-ReleaseDate"}, limit
        )

    async def _products(self, query: Mapping[str, str], limit: int) -> list[CatalogBook]:
        """One search page: books only (podcasts and stubs left out), one per ASIN."""
        limit = max(1, min(limit, MAX_RESULTS))
        data = await self._get(
            SEARCH_PATH,
            {
                **query,
                "num_results": str(limit),
                "response_groups": RESPONSE_GROUPS,
                "image_sizes": IMAGE_SIZES,
            },
        )
        products = data.get("products")
        if not isinstance(products, list):
            raise CatalogBadResponse("catalog search answer has no 'products' list")
        books: dict[str, CatalogBook] = {}
        for item in products:
            book = parse_product(item)
            if book is not None:
                books.setdefault(book.asin, book)
        return list(books.values())[:limit]

    async def product(self, asin: str) -> CatalogBook | None:
        """The book with this ASIN, or None when Audible has no such book.

        Audible answers many unknown ASINs with 200 and an empty stub rather
        than 404; both mean None. Non-ASIN input never reaches the network.
        """
        asin = asin.strip().upper()
        if not is_asin(asin):
            log.debug("not an ASIN: %r", asin)
            return None
        try:
            data = await self._get(
                f"{SEARCH_PATH}/{asin}",
                {"response_groups": RESPONSE_GROUPS, "image_sizes": IMAGE_SIZES},
            )
        except CatalogNotFound:
            return None
        product = data.get("product")
        if not isinstance(product, Mapping):
            raise CatalogBadResponse(f"catalog answer for {asin} has no 'product' object")
        return parse_product(product)

    async def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """The one place that talks HTTP: the JSON object, or CatalogError after the last retry."""
        send = partial(self._send, path, params)
        return await retry_call(send, self._retry, transient=_transient)

    async def _send(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One GET: timeout, transport errors and statuses mapped onto the tree."""
        url = self._base_url + path
        started = time.monotonic()
        try:
            async with (
                asyncio.timeout(self._timeout),
                self._http_session().get(url, params=params, headers=_HEADERS) as response,
            ):
                status = response.status
                retry_after = response.headers.get("Retry-After")
                body = await response.read()
        except TimeoutError as err:
            raise CatalogUnavailable(
                f"Audible catalog did not answer within {self._timeout:g} s"
            ) from err
        except aiohttp.ClientError as err:
            raise CatalogUnavailable(f"cannot reach the Audible catalog: {err}") from err
        log.debug("GET %s -> %s in %.0f ms", path, status, (time.monotonic() - started) * 1000)

        if status >= 400:
            detail = _error_message(body)
            message = f"Audible catalog answered {status} for {path}" + (
                f": {detail}" if detail else ""
            )
            if status == 404:
                raise CatalogNotFound(message, status=status)
            if status == 429 or status >= 500:
                unavailable = CatalogUnavailable(message, status=status)
                unavailable.retry_after = parse_retry_after(retry_after)
                raise unavailable
            raise CatalogError(message, status=status)
        try:
            data = json.loads(body)
        except ValueError as err:
            raise CatalogBadResponse(
                f"Audible catalog sent unparseable JSON for {path}", status=status
            ) from err
        if not isinstance(data, dict):
            raise CatalogBadResponse(
                f"Audible catalog sent {type(data).__name__}, not an object, for {path}",
                status=status,
            )
        return data


def _transient(err: Exception) -> bool:
    """Worth asking again: Audible or the network failed, not the question."""
    return isinstance(err, CatalogUnavailable) and not isinstance(err.__cause__, SessionClosed)


def _error_message(body: bytes) -> str | None:
    """Audible's ``{"message": ...}`` from an error body, when there is one."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return data["message"][:200]
    return None
