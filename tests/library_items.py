"""Library items for the matcher's index tests, made from the fake Plex's synthetic albums."""

from __future__ import annotations

from typing import Any

from core.matcher import BookQuery, LibraryIndex, LibraryItem
from tests.fakes.plex import synthetic_albums


def _library(n: int, seed: int = 3) -> list[LibraryItem]:
    return [
        LibraryItem(rating_key=a.rating_key, title=a.title, author=a.author, narrator=None,
                    asin=None, guid=a.guid)
        for a in synthetic_albums(n, seed=seed)
    ]  # fmt: skip


def queries_of(items: list[LibraryItem]) -> list[BookQuery]:
    """Every 37th book asked for by title and author, and one book nobody has."""
    return [BookQuery(i.title, i.author) for i in items[::37]] + [
        BookQuery("A Book Nobody Wrote", "Nobody")
    ]


def typed_for(items: list[LibraryItem]) -> list[str]:
    """What people type into autocomplete: filler words, a title's start, an author."""
    return ["the", "a t", "of the", items[5].title[:6], items[9].author or "x"]


def index_answers(index: LibraryIndex, items: list[LibraryItem]) -> list[Any]:
    """The index's answers to ``items``' queries and typed texts: what two indexes must share."""
    matched = [(r.item, r.score, r.reason) for r in map(index.match, queries_of(items))]
    found = [index.search(text) for text in typed_for(items)]
    return [matched, found]
