"""CatalogBook parsing of real Audible product JSON, and its display rules."""

from __future__ import annotations

import pytest

from core.catalog.models import CatalogBook, parse_product, strip_html
from tests.fakes.catalog import load_fixture


def _book(asin: str) -> CatalogBook:
    book = parse_product(load_fixture(f"audible_catalog_products_{asin}.json")["product"])
    assert book is not None
    return book


def test_project_hail_mary_without_series() -> None:
    book = _book("B08G9PRS1K")
    assert book.asin == "B08G9PRS1K"
    assert book.title == "Project Hail Mary"
    assert book.subtitle is None
    assert book.authors == ("Andy Weir",)
    assert book.narrators == ("Ray Porter",)
    assert book.series == ()
    assert book.release_year == 2021
    assert book.runtime_minutes == 970
    assert book.language == "english"
    assert book.cover_url == "https://m.media-amazon.com/images/I/81wvR09gLRL._SL1024_.jpg"
    assert book.is_adult is False
    assert book.author == "Andy Weir"
    assert book.narrator == "Ray Porter"


def test_summary_is_plain_text() -> None:
    summary = _book("B08G9PRS1K").summary
    assert summary is not None
    assert "<" not in summary and ">" not in summary
    # Inline tags join words without eating spaces; paragraphs become lines.
    assert summary.startswith("THE #1 NEW YORK TIMES BESTSELLER FROM THE AUTHOR OF THE MARTIAN.")
    assert "\nWinner of the 2022 Audie Awards' Audiobook of the Year\n" in summary
    assert summary.endswith("with the approval of author Andy Weir.")


def test_harry_potter_two_series_with_sequence() -> None:
    book = _book("B017V4IM1G")
    assert book.title == "Harry Potter and the Sorcerer's Stone, Book 1"
    assert book.authors == ("J.K. Rowling",)
    assert book.narrators == ("Jim Dale",)
    assert book.series == (("Harry Potter", "1"), ("Wizarding World Collection", "1"))
    assert book.release_year == 2015
    assert book.runtime_minutes == 498
    assert book.cover_url == "https://m.media-amazon.com/images/I/91eopoUCjLL._SL1024_.jpg"
    assert book.summary is not None
    assert book.summary.startswith("Jim Dale's Grammy Award-winning performance")
    assert "<i>" not in book.summary


def test_coldest_case_many_contributors_show_is_still_a_book() -> None:
    # content_type "Show" (an Audible Original drama) is a requestable title.
    book = _book("B08C6YJ1LS")
    assert book.authors == ("James Patterson", "Aaron Tracy", "Ryan Silbert")
    assert book.narrators == (
        "Aaron Paul",
        "Krysten Ritter",
        "Nathalie Emmanuel",
        "Beau Bridges",
        "full cast",
    )
    assert book.author == "James Patterson, Aaron Tracy, Ryan Silbert"
    assert book.series == (("A Billy Harney Thriller", "0.5"),)
    assert book.release_year == 2021
    assert book.summary is not None
    assert "Kate’s informant" in book.summary


def test_galaxys_edge_range_sequence() -> None:
    book = _book("B079LRSMNN")
    assert book.title == "Galaxy's Edge"
    assert book.authors == ("Jason Anspach", "Nick Cole")
    assert book.narrators == ("R.C. Bray",)
    assert book.series == (("Galaxy's Edge Series", "1-2"),)
    assert book.release_year == 2018
    assert book.summary is not None
    assert book.summary.startswith("Galaxy's Edge contains Legionnaire through to the end of")


def test_stub_product_is_none() -> None:
    # Audible answers an unknown ASIN with 200 and a stub carrying only the ASIN.
    assert parse_product({"asin": "B000000000"}) is None
    assert parse_product({"asin": "B000000000", "title": "   "}) is None
    assert parse_product({"title": "No ASIN"}) is None
    assert parse_product(["not", "a", "dict"]) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "delivery", ["PodcastParent", "PodcastEpisode", "PodcastSeason", "Periodical"]
)
def test_podcasts_are_not_books(delivery: str) -> None:
    product = {"asin": "B0PODCAST1", "title": "Some Show", "content_delivery_type": delivery}
    assert parse_product(product) is None


def test_podcast_content_type_is_not_a_book() -> None:
    product = {"asin": "B0PODCAST1", "title": "Some Show", "content_type": "Podcast"}
    assert parse_product(product) is None


def test_sparse_product_tolerated() -> None:
    book = parse_product(
        {
            "asin": "B0SPARSE01",
            "title": "  Sparse\n Book ",
            "authors": [{"name": "A"}, {"name": ""}, {"asin": "X"}, "junk", {"name": "A"}],
            "narrators": None,
            "series": [{"title": "S", "sequence": ""}, {"sequence": "2"}],
            "release_date": "not a date",
            "publication_datetime": "2019-03-01T08:00:00Z",
            "runtime_length_min": "12",
            "product_images": {"large": "x", "500": "https://img/500.jpg"},
            "publisher_summary": "",
            "merchandising_summary": "<p>Fallback &amp; more</p>",
            "is_adult_product": True,
        }
    )
    assert book is not None
    assert book.title == "Sparse Book"
    assert book.authors == ("A",)
    assert book.narrators == ()
    assert book.narrator is None
    assert book.series == (("S", None),)
    assert book.release_year == 2019
    assert book.runtime_minutes is None
    assert book.cover_url == "https://img/500.jpg"
    assert book.summary == "Fallback & more"
    assert book.is_adult is True


def test_strip_html() -> None:
    assert strip_html("<p>One <b>two</b></p> <p>Three&nbsp;&amp; four</p>") == (
        "One two\nThree & four"
    )
    assert strip_html("a<br>b<br/>c") == "a\nb\nc"
    assert strip_html("  ") is None
    assert strip_html(None) is None


def _make(title: str, authors: tuple[str, ...] = ("Andy Weir",), year: int | None = 2021):
    return CatalogBook(
        asin="B000000001",
        title=title,
        subtitle=None,
        authors=authors,
        narrators=(),
        series=(),
        release_year=year,
        runtime_minutes=None,
        language=None,
        cover_url=None,
        summary=None,
    )


def test_display_name_short() -> None:
    assert _make("Project Hail Mary").display_name() == "Project Hail Mary — Andy Weir (2021)"
    assert _make("Untold", authors=(), year=None).display_name() == "Untold"
    assert _make("Untold", authors=()).display_name() == "Untold (2021)"
    assert _make("Untold", year=None).display_name() == "Untold — Andy Weir"


def test_display_name_truncated_keeps_year() -> None:
    name = _make("A" * 150).display_name()
    assert len(name) == 100
    assert name.endswith("… (2021)")
    assert name.startswith("A" * 90)


def test_display_name_exact_fit_not_truncated() -> None:
    suffix = " — Andy Weir (2021)"
    title = "T" * (100 - len(suffix))
    assert _make(title).display_name() == title + suffix


def test_display_name_long_author_list() -> None:
    authors = tuple(f"Author Number {i}" for i in range(20))
    name = _make("Short Title", authors=authors).display_name()
    assert len(name) == 100
    assert name.startswith("Short Title — Author Number 0, ")
    assert name.endswith("… (2021)")


def test_display_name_custom_and_tiny_limit() -> None:
    assert _make("Project Hail Mary").display_name(max_len=20) == "Project Hail… (2021)"
    tiny = _make("Project Hail Mary").display_name(max_len=5)
    assert tiny == "Proj…"
    assert len(tiny) == 5


def test_book_is_frozen_and_hashable() -> None:
    book = _make("X")
    with pytest.raises(AttributeError):
        book.title = "Y"  # type: ignore[misc]
    assert hash(book) == hash(_make("X"))
