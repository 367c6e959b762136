"""Autocomplete's cheap paths answer as the full ranking would (``core.matcher.starts``)."""

from __future__ import annotations

import pytest

from core.matcher import LibraryIndex, LibraryItem
from core.matcher.search import _search_score
from core.matcher.starts import Starts
from core.normalize import tokens
from tests.library_items import _library

# Filler words, short prefixes, two one-letter words: each starts a large share of titles.
COMMON = ["the", "The", "t", "th", "a", "A T", "a t", "the s", "s", "st"]


def _ranked(index: LibraryIndex, text: str, limit: int = 25) -> list[str]:
    """The answer by scoring every entry: what the cheap paths must reproduce."""
    wanted = " ".join(tokens(text))
    scored = [(_search_score(wanted, e), e) for e in index.entries()]
    scored.sort(key=lambda se: (-se[0], len(se[1].search_title), se[1].key))
    return [e.key for _, e in scored[:limit]]


@pytest.fixture(scope="module")
def index() -> LibraryIndex:
    return LibraryIndex(_library(8_000))


@pytest.mark.parametrize("text", COMMON)
def test_a_common_prefix_answers_with_the_full_ranking(index: LibraryIndex, text: str) -> None:
    wanted = " ".join(tokens(text))
    starting = [e for e in index.entries() if _search_score(wanted, e) >= 95]
    assert len(starting) >= 25  # the shape this test is about: many titles start so
    got = [item.rating_key for item, _score in index.search(text)]
    assert got == _ranked(index, text)


def test_titles_without_their_filler_word_rank_by_the_rest() -> None:
    atlas = LibraryItem(rating_key="x1", title="The Atlas", author="Zed Quill", narrator=None,
                        asin=None, guid="")  # fmt: skip
    index = LibraryIndex([*_library(400), atlas])
    assert index.search("atl")[0][0].rating_key == "x1"


def test_added_and_removed_books_show_in_the_cheap_path() -> None:
    items = _library(2_000)
    index = LibraryIndex(items)
    index.search("the")  # the title orders exist now and must follow changes
    for n in range(30):
        index.add(LibraryItem(rating_key=f"new{n}", title=f"The W{n}", author="A B", narrator=None,
                              asin=None, guid=""))  # fmt: skip
    for item in items[:500]:
        index.remove(item.rating_key)
    fresh = LibraryIndex(list(e.item for e in index.entries()))
    for text in ("the", "the w", "t", "s"):
        got = [i.rating_key for i, _ in index.search(text)]
        assert got == [i.rating_key for i, _ in fresh.search(text)] == _ranked(index, text)
    assert "new0" in [i.rating_key for i, _ in index.search("the w")]


def test_a_large_candidate_share_is_cut_to_the_shortest_titles() -> None:
    pairs = [(f"k{i:04d}", "x" * (1 + i % 37)) for i in range(3_000)]
    starts = Starts(pairs)
    keys = {k for k, _ in pairs[::3]}
    expected = sorted(keys, key=lambda k: (len(dict(pairs)[k]), k))[:100]
    assert sorted(starts.shortest(keys, 100)) == sorted(expected)


@pytest.mark.parametrize("text", ["of the", "in the", "the of", "and", "j"])
def test_filler_only_queries_still_answer(index: LibraryIndex, text: str) -> None:
    got = index.search(text)
    assert got and all(score >= 50 for _, score in got)
