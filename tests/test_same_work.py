"""Subscribing joins a request only for the same work: same ASIN, or exact title and author.

A loose fuzzy score would merge two books into one request, and the second
requester would wait for a book nobody asked for.
"""

from __future__ import annotations

from typing import cast

import pytest

from core.catalog.models import CatalogBook
from core.config_store import ConfigStore
from core.crypto import TokenCipher
from core.library import ScanService
from core.matcher import BookIndex, BookQuery, LibraryIndex, LibraryItem
from core.models import BookRequest, RequestStatus, RequestSubscriber, User
from core.requests.service import RequestService


def _index(*items: LibraryItem) -> BookIndex[LibraryItem]:
    return LibraryIndex(items)


ASHWORTH = "Jane Ashworth"
STONE_HEART = LibraryItem("1", "The Stone Heart", ASHWORTH, asin="B0STONE001")


@pytest.mark.parametrize(
    ("label", "query", "expect"),
    [
        ("same asin", BookQuery("Anything", asin="B0STONE001"), "1"),
        ("same asin, region suffix", BookQuery("x", asin="b0stone001_uk"), "1"),
        ("another region's asin, same title and author",
         BookQuery("The Stone Heart", ASHWORTH, asin="B0STONE0UK"), "1"),
        ("edition tag and author written last-first",
         BookQuery("The Stone Heart (Unabridged)", "Ashworth, Jane", asin="B0STONE0UK"), "1"),
        ("no asin, exact title and author", BookQuery("Stone Heart, The", ASHWORTH), "1"),
        ("trap: similar title by the same author",
         BookQuery("Stone Hearts", ASHWORTH, asin="B0STONES02"), None),
        ("trap: a sequel extending the title",
         BookQuery("The Stone Heart Returns", ASHWORTH, asin="B0STONE003"), None),
        ("trap: same title, another author",
         BookQuery("The Stone Heart", "Charlie Fletcher", asin="B0FLETCH01"), None),
        ("trap: same family name, other initials",
         BookQuery("The Stone Heart", "Owen Ashworth", asin="B0OWEN0001"), None),
        ("trap: nobody to compare", BookQuery("The Stone Heart", asin="B0NOBODY01"), None),
        ("trap: a numbered volume", BookQuery("The Stone Heart 2", ASHWORTH), None),
        ("trap: spelling variants are not an exact title",
         BookQuery("The Stone Hart", ASHWORTH), None),
        ("trap: the title as another book's subtitle",
         BookQuery("Chronicles: The Stone Heart", ASHWORTH), None),
    ],
)
def test_same_work(label: str, query: BookQuery, expect: str | None) -> None:
    found = _index(STONE_HEART).same_work(query)
    assert (found.rating_key if found else None) == expect, label


def test_the_loose_matcher_would_have_merged_them() -> None:
    """Why find_open needs its own rule: a different ASIN with t >= 95 passes match()."""
    query = BookQuery("Stone Hearts", ASHWORTH, asin="B0STONES02")
    assert _index(STONE_HEART).match(query).matched
    assert _index(STONE_HEART).same_work(query) is None


def test_same_work_returns_the_callers_own_record_lowest_key_first() -> None:
    rows = [
        LibraryItem("7", "The Stone Heart", ASHWORTH, asin="B0STONE0UK"),
        LibraryItem("3", "Something Else", "Nobody", asin="B0STONE001"),
    ]
    index: BookIndex[LibraryItem] = BookIndex(rows, key=lambda r: r.rating_key)
    found = index.same_work(BookQuery("The Stone Heart", ASHWORTH, asin="B0STONE001"))
    assert found is rows[1]  # both are the same work as the query; "3" sorts first
    assert index.same_work(BookQuery("Stone Hearts", ASHWORTH)) is None


# --- the service: subscribing goes through the same rule ----------------------------------


class _EmptyLibrary:
    """Only what submit() asks of the scan service: an index with nothing in it."""

    async def library_index(self, *, wait: float | None = None) -> LibraryIndex:
        return LibraryIndex([])


def _book(asin: str, title: str, author: str = ASHWORTH) -> CatalogBook:
    return CatalogBook(
        asin=asin, title=title, subtitle=None, authors=(author,), narrators=(), series=(),
        release_year=None, runtime_minutes=None, language=None, cover_url=None, summary=None,
    )


@pytest.fixture
async def service(db: None, cipher: TokenCipher) -> RequestService:
    for discord_id in (1, 2, 3):
        await User.create(discord_id=discord_id, plex_token="encrypted")
    scans = cast(ScanService, _EmptyLibrary())
    return RequestService(scans, ConfigStore(cipher))


async def test_similar_titles_by_one_author_are_two_requests(service: RequestService) -> None:
    first = await service.submit(1, _book("B0STONE001", "The Stone Heart"))
    second = await service.submit(2, _book("B0STONES02", "Stone Hearts"))
    assert (first.outcome, second.outcome) == ("created", "created")
    assert first.request is not None and second.request is not None
    assert first.request.id != second.request.id
    assert await BookRequest.all().count() == 2
    assert await RequestSubscriber.all().count() == 0


async def test_another_region_of_the_same_work_subscribes(service: RequestService) -> None:
    first = await service.submit(1, _book("B0STONE001", "The Stone Heart"))
    uk = await service.submit(2, _book("B0STONE0UK", "The Stone Heart (Unabridged)"))
    same = await service.submit(3, _book("B0STONE001", "The Stone Heart"))
    assert (uk.outcome, same.outcome) == ("subscribed", "subscribed")
    assert first.request is not None and uk.request is not None and same.request is not None
    assert uk.request.id == same.request.id == first.request.id
    again = await service.submit(1, _book("B0STONE0UK", "The Stone Heart"))
    assert again.outcome == "already_yours"


async def test_closed_requests_are_not_joined(service: RequestService) -> None:
    first = await service.submit(1, _book("B0STONE001", "The Stone Heart"))
    assert first.request is not None
    first.request.status = RequestStatus.DENIED
    await first.request.save()
    again = await service.submit(2, _book("B0STONE001", "The Stone Heart"))
    assert again.outcome == "created"
