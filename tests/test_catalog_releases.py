"""The catalog lookups behind `/follow`: an author's and a series' books, newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.catalog.client import AudibleCatalog
from core.catalog.models import parse_product
from tests.fakes.catalog import FakeAudible


# The `catalog` fixture (tests/conftest.py) is the client over this fake.
@pytest.fixture
async def fake() -> AsyncIterator[FakeAudible]:
    async with FakeAudible(load_fixtures=False) as server:
        server.add_product(asin="B0OLD00001", title="Old One", authors=["Ann Leck"],
                           release_date="2019-05-01", series=[("Radch", "1")])
        server.add_product(asin="B0NEW00001", title="New One", authors=["Ann Leck"],
                           release_date="2026-11-20", series=[("Radch", "2")])
        server.add_product(asin="B0OTH00001", title="Radch Cookbook", authors=["Bo Other"],
                           release_date="2026-01-01")
        yield server


async def test_by_author_asks_audible_by_author_newest_first(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    books = await catalog.by_author("Ann  Leck")
    assert [b.asin for b in books] == ["B0NEW00001", "B0OLD00001"]
    sent = fake.requests[0].query
    assert sent["author"] == "Ann Leck"
    assert sent["products_sort_by"] == "-ReleaseDate"
    assert sent["num_results"] == "50"
    assert "keywords" not in sent


async def test_by_series_searches_the_series_title_newest_first(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    books = await catalog.by_series("Radch")
    # The search also finds a book that merely has the word: the follow code filters by ASIN.
    assert [b.asin for b in books] == ["B0NEW00001", "B0OTH00001", "B0OLD00001"]
    assert fake.requests[0].query["keywords"] == "Radch"


async def test_blank_names_never_reach_the_network(
    fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    assert await catalog.by_author("  ") == []
    assert await catalog.by_series("") == []
    assert fake.requests == []


def test_parse_keeps_release_day_and_the_asins_of_authors_and_series() -> None:
    book = parse_product({
        "asin": "B0NEW00001", "title": "New One", "release_date": "2026-11-20",
        "authors": [{"asin": "B0AUTHOR01", "name": "Ann Leck"}, {"name": "No Asin"},
                    {"asin": "not an asin!", "name": "Bad"}],
        "series": [{"asin": "B0SERIES01", "title": "Radch", "sequence": "2"}, "junk"],
    })
    assert book is not None
    assert book.release_date == "2026-11-20"
    assert book.author_ids == (("Ann Leck", "B0AUTHOR01"),)
    assert book.series_ids == (("Radch", "B0SERIES01"),)
    assert book.authors == ("Ann Leck", "No Asin", "Bad")


def test_parse_without_dates_or_ids() -> None:
    book = parse_product({"asin": "B0NEW00001", "title": "T", "release_date": "soon"})
    assert book is not None
    assert (book.release_date, book.author_ids, book.series_ids) == (None, (), ())
