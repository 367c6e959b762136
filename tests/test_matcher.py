"""The one matcher: a labelled table of true matches and traps, plus the index.

Every caller (full scan, recently-added poll, /request, /library, /recommend,
CLI) goes through ``LibraryIndex``, so the table below is the behaviour they
all share (the seed's fixes #6 and #7).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.matcher import (
    BookQuery,
    LibraryIndex,
    LibraryItem,
    MatchResult,
    match_one,
    normalize_asin,
)
from core.matcher.rules import parse_query

CASES_FILE = Path(__file__).parent / "fixtures" / "matcher_cases.jsonl"
# Libraries without agent metadata (issue 13): folder names, tags, split discs, regions, traps.
AGENTLESS_FILE = Path(__file__).parent / "fixtures" / "matcher_agentless_cases.jsonl"


@dataclass(frozen=True)
class Case:
    label: str
    kind: str
    query: BookQuery
    library: list[LibraryItem]
    expect: frozenset[str] | None  # acceptable rating keys; None = must not match
    reason: str | None


def _load_cases(path: Path) -> list[Case]:
    cases = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw: dict[str, Any] = json.loads(line)
        query = {**raw["query"], "series": tuple(raw["query"].get("series", ()))}
        expect = raw["expect"]
        if isinstance(expect, str):
            expect = [expect]
        cases.append(
            Case(
                label=raw["label"],
                kind=raw["kind"],
                query=BookQuery(**query),
                library=[LibraryItem(**item) for item in raw["library"]],
                expect=frozenset(expect) if expect else None,
                reason=raw.get("reason"),
            )
        )
    return cases


AGENTLESS = _load_cases(AGENTLESS_FILE)
CASES = _load_cases(CASES_FILE) + AGENTLESS
AGENTLESS_GROUPS = {
    "author in title", "positions and years", "asin in title", "tags and noise",
    "split albums", "forms and spellings", "other region", "derivative",
}  # fmt: skip


def test_agentless_table_covers_every_kind_with_matches_and_traps() -> None:
    assert len(AGENTLESS) >= 150
    traps = [c for c in AGENTLESS if c.expect is None]
    assert 0.35 <= len(traps) / len(AGENTLESS) <= 0.65
    groups = {c.label.split(":", 1)[0] for c in AGENTLESS}
    assert groups == AGENTLESS_GROUPS
    for group in groups - {"derivative"}:
        kinds = {c.kind for c in AGENTLESS if c.label.startswith(f"{group}:")}
        assert kinds == {"match", "trap"}, group


def test_table_is_big_and_balanced() -> None:
    labels = [c.label for c in CASES]
    assert len(CASES) >= 200
    assert len(set(labels)) == len(labels)
    matches = sum(1 for c in CASES if c.expect)
    traps = len(CASES) - matches
    assert matches >= 50 and traps >= 50
    assert all((c.kind == "match") == bool(c.expect) for c in CASES)


def _describe(result: MatchResult) -> str:
    key = result.item.rating_key if result.item else None
    return f"matched={key!r} score={result.score:.1f} reason={result.reason!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_case(case: Case) -> None:
    result = LibraryIndex(case.library).match(case.query)
    if case.expect is None:
        assert not result.matched, _describe(result)
        assert result.item is None
    else:
        assert result.matched, _describe(result)
        assert result.item is not None and result.item.rating_key in case.expect, _describe(result)
        assert 0 < result.score <= 100
    if case.reason:
        assert case.reason in result.reason, _describe(result)


@pytest.mark.parametrize("case", CASES, ids=[c.label for c in CASES])
def test_incremental_index_agrees_with_bulk(case: Case) -> None:
    """The recently-added poll adds items one by one; it must decide as the full scan does."""
    bulk = LibraryIndex(case.library).match(case.query)
    incremental = LibraryIndex([])
    for item in reversed(case.library):
        incremental.add(item)
    again = incremental.match(case.query)
    assert (again.item, again.score, again.reason) == (bulk.item, bulk.score, bulk.reason)


# --- the seed's examples, spelled out ------------------------------------------------


def test_seed_tenant_unabridged() -> None:
    result = match_one(
        BookQuery("The Tenant", "Freida McFadden"),
        [LibraryItem("7", "The Tenant (Unabridged)", "Freida McFadden")],
    )
    assert result.matched and result.item is not None and result.item.rating_key == "7"
    assert result.score >= 70


def test_seed_narrator_against_library_author() -> None:
    library = [LibraryItem("1", "Project Hail Mary", author="Ray Porter")]
    assert not match_one(BookQuery("Project Hail Mary", "Someone Else"), library).matched
    result = match_one(BookQuery("Project Hail Mary", "Someone Else", "Ray Porter"), library)
    assert result.matched
    assert "narrator" in result.reason


def test_seed_asin_in_plex_guid_scores_100() -> None:
    item = LibraryItem("9", "Whatever", guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en")
    result = match_one(BookQuery("Project Hail Mary", "Andy Weir", asin="B08G9PRS1K"), [item])
    assert result == MatchResult(item=item, score=100.0, reason="asin B08G9PRS1K")
    assert result.matched


def test_asin_field_scores_100() -> None:
    item = LibraryItem("9", "Whatever", asin="B08G9PRS1K")
    result = match_one(BookQuery("x", asin="b08g9prs1k_uk"), [item])
    assert (result.item, result.score) == (item, 100.0)


def test_no_candidate_result() -> None:
    result = match_one(BookQuery("Project Hail Mary"), [])
    assert result == MatchResult(item=None, score=0.0, reason="no candidate")
    assert not result.matched


def test_rejection_names_the_near_miss() -> None:
    result = match_one(
        BookQuery("Dungeon Crawler Carl 2", "Matt Dinniman"),
        [LibraryItem("3", "Dungeon Crawler Carl 3", "Matt Dinniman")],
    )
    assert not result.matched
    assert result.reason.startswith("rejected: number differs (2 vs 3)")
    assert "Dungeon Crawler Carl 3" in result.reason


def test_normalize_asin_is_exported() -> None:
    assert normalize_asin("b08g9prs1k_us") == "B08G9PRS1K"
    assert normalize_asin("nope") is None


def test_library_order_does_not_change_the_answer() -> None:
    rng = random.Random(7)
    for case in CASES:
        if len(case.library) < 2:
            continue
        shuffled = list(case.library)
        rng.shuffle(shuffled)
        a = LibraryIndex(case.library).match(case.query)
        b = LibraryIndex(shuffled).match(case.query)
        assert (a.item, a.score) == (b.item, b.score), case.label


# --- the index ------------------------------------------------------------------------


def _index() -> LibraryIndex:
    return LibraryIndex(
        [
            LibraryItem("1", "Foundation", "Isaac Asimov", asin="B0C9X5NXKT"),
            LibraryItem("2", "Foundation and Empire", "Isaac Asimov"),
            LibraryItem("3", "Second Foundation", "Isaac Asimov"),
            LibraryItem("4", "The Foundation Pit", "Andrei Platonov"),
            LibraryItem("5", "Dune", "Frank Herbert"),
            LibraryItem("6", "I, Robot", "Isaac Asimov"),
            LibraryItem("7", "The Way of Kings (Stormlight Archive #1)", "Brandon Sanderson"),
        ]
    )


def test_len_add_remove() -> None:
    index = _index()
    assert len(index) == 7
    query = BookQuery("Project Hail Mary", "Andy Weir")
    assert not index.match(query).matched

    index.add(LibraryItem("8", "Project Hail Mary", "Andy Weir"))
    assert len(index) == 8
    result = index.match(query)
    assert result.item is not None and result.item.rating_key == "8"

    index.remove("8")
    assert len(index) == 7
    assert not index.match(query).matched
    index.remove("8")  # unknown keys are fine: the poll removes before it re-adds
    assert len(index) == 7


def test_add_same_rating_key_replaces() -> None:
    index = _index()
    index.add(LibraryItem("5", "Dune Messiah", "Frank Herbert"))
    assert len(index) == 7
    assert not index.match(BookQuery("Dune", "Frank Herbert")).matched
    result = index.match(BookQuery("Dune Messiah", "Frank Herbert"))
    assert result.item is not None and result.item.rating_key == "5"


def test_remove_forgets_the_asin() -> None:
    index = _index()
    assert index.match(BookQuery("x", asin="B0C9X5NXKT")).matched
    index.remove("1")
    assert not index.match(BookQuery("x", asin="B0C9X5NXKT")).matched


def test_match_one_equals_index_match() -> None:
    items = [LibraryItem("5", "Dune (Unabridged)", "Frank Herbert")]
    query = BookQuery("Dune", "Frank Herbert")
    assert match_one(query, items) == LibraryIndex(items).match(query)


# --- search (for /library autocomplete) -----------------------------------------------


def _keys(results: list[tuple[LibraryItem, float]]) -> list[str]:
    return [item.rating_key for item, _ in results]


def test_search_exact_title_first() -> None:
    results = _index().search("foundation")
    keys = _keys(results)
    assert keys[0] == "1"
    assert {"2", "3", "4"} <= set(keys)
    assert "5" not in keys
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)


def test_search_prefix_while_typing() -> None:
    assert _keys(_index().search("foundat"))[0] == "1"
    assert "2" in _keys(_index().search("foundation and emp"))[:1]


def test_search_typo() -> None:
    assert _keys(_index().search("fundation"))[0] == "1"


def test_search_by_author() -> None:
    keys = _keys(_index().search("asimov"))
    assert set(keys) >= {"1", "2", "3", "6"}
    assert "5" not in keys


def test_search_title_and_author() -> None:
    assert _keys(_index().search("dune herbert"))[0] == "5"


def test_search_decorated_title() -> None:
    assert _keys(_index().search("way of kings"))[0] == "7"


def test_search_limit_and_empty() -> None:
    assert len(_index().search("foundation", limit=2)) == 2
    assert _index().search("") == []
    assert _index().search("   ") == []
    assert _index().search("zzzzqqq") == []


def test_search_sees_added_and_removed_items() -> None:
    index = _index()
    index.add(LibraryItem("8", "Project Hail Mary", "Andy Weir"))
    assert _keys(index.search("hail mary"))[0] == "8"
    index.remove("8")
    assert "8" not in _keys(index.search("hail mary"))


# --- speed sanity: the index narrows, it does not scan ---------------------------------


def _synthetic_library(n: int) -> list[LibraryItem]:
    rng = random.Random(1)
    words = [
        "shadow", "empire", "crown", "blood", "storm", "night", "river", "glass", "iron",
        "winter", "dragon", "silent", "garden", "broken", "star", "queen", "fire", "city",
        "ghost", "dark", "lost", "house", "sea", "secret", "war", "king", "forest", "light",
    ]  # fmt: skip
    items = []
    for i in range(n):
        title = " ".join(rng.sample(words, 3)) + f" {rng.choice(['', 'saga', 'tale'])}"
        items.append(LibraryItem(str(i), title.title(), f"Author {i % 500}"))
    return items


def test_match_compares_a_handful_of_candidates() -> None:
    library = _synthetic_library(5_000)
    index = LibraryIndex(library)
    for item in library[:50]:
        candidates = index._candidates(parse_query(BookQuery(item.title, item.author)))
        assert item.rating_key in candidates
        assert len(candidates) < 200  # out of 5,000
    result = index.match(BookQuery("Something Entirely Absent", "Nobody"))
    assert not result.matched


def test_search_returns_at_most_limit_on_a_big_library() -> None:
    index = LibraryIndex(_synthetic_library(5_000))
    results = index.search("shadow empire", limit=25)
    assert 0 < len(results) <= 25
    assert all("Shadow" in item.title and "Empire" in item.title for item, _ in results[:5])


def test_spelling_variants_see_words_added_later() -> None:
    """The vocabulary behind spelling variants is cached; add() must refresh it."""
    index = LibraryIndex([LibraryItem("1", "The Colour Purple", "Alice Walker")])
    query = BookQuery("The Colour of Magic", "Terry Pratchett")
    assert not index.match(query).matched  # builds the cached vocabulary
    index.add(LibraryItem("2", "The Color of Magic", "Terry Pratchett"))
    result = index.match(query)
    assert result.item is not None and result.item.rating_key == "2"
    assert _keys(index.search("color magic"))[0] == "2"


def test_search_for_a_filler_word_alone_ranks_titles_starting_with_it_shortest_first() -> None:
    """"The" selects a third of a real library; the cheap path must keep the same order."""
    items = [
        LibraryItem(rating_key=str(i), title=f"The Long Winding Road Number {i:04d}", author="A")
        for i in range(400)
    ]
    items.append(LibraryItem(rating_key="short", title="The Hobbit", author="J. R. R. Tolkien"))
    items.append(LibraryItem(rating_key="other", title="Theory of Everything", author="B"))
    results = LibraryIndex(items).search("The", limit=5)
    keys = [item.rating_key for item, _ in results]
    assert keys[0] == "short"
    assert len(keys) == 5
    scores = [score for _, score in results]
    assert scores == sorted(scores, reverse=True)


def test_query_of_a_catalog_book_carries_subtitle_and_series_names() -> None:
    from core.catalog.models import CatalogBook

    book = CatalogBook(
        asin="B0GRIT0001", title="Grit", subtitle="The Power of Passion and Perseverance",
        authors=("Angela Duckworth",), narrators=("Angela Duckworth",),
        series=(("Grit Books", "1"),), release_year=None, runtime_minutes=None,
        language=None, cover_url=None, summary=None,
    )
    query = BookQuery.of(book)
    assert query == BookQuery(
        "Grit", "Angela Duckworth", "Angela Duckworth", "B0GRIT0001",
        subtitle="The Power of Passion and Perseverance", series=("Grit Books",),
    )
    library = [LibraryItem("1", "Grit: The Power of Passion and Perseverance", "Angela Duckworth")]
    assert match_one(query, library).matched
    assert not match_one(BookQuery("Grit", "Angela Duckworth"), library).matched
