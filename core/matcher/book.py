"""The matcher's vocabulary: a book as callers hand it in, the query, the verdict."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Book", "BookQuery", "LibraryItem", "MatchResult"]

log = logging.getLogger(__name__)


class Book(Protocol):
    """Anything with the fields the matcher compares: a Plex item, a request, a catalog book."""

    @property
    def title(self) -> str: ...

    @property
    def author(self) -> str | None: ...

    @property
    def narrator(self) -> str | None: ...

    @property
    def asin(self) -> str | None: ...


B = TypeVar("B", bound=Book)


@dataclass(frozen=True, slots=True)
class BookQuery:
    """What someone wants.

    ``subtitle`` and ``series`` are the catalog's own fields for the book
    (optional): they tell a subtitle from a series name where the title's
    colon alone cannot ("Grit: The Power of ..." vs "Halo: Ghosts of Onyx").
    """

    title: str
    author: str | None = None
    narrator: str | None = None
    asin: str | None = None
    subtitle: str | None = None
    series: tuple[str, ...] = ()

    @classmethod
    def of(cls, book: Book) -> BookQuery:
        """The query for any book; a catalog book also gives its subtitle and series names."""
        return cls(
            title=book.title,
            author=book.author,
            narrator=book.narrator,
            asin=book.asin,
            subtitle=getattr(book, "subtitle", None),
            series=_series_names(getattr(book, "series", ())),
        )


def _series_names(series: Iterable[Any] | None) -> tuple[str, ...]:
    """Names from ``("Name", "2")`` pairs (the catalog's form) or plain strings."""
    names = (s[0] if isinstance(s, tuple) else s for s in series or ())
    return tuple(n for n in names if isinstance(n, str) and n)


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One row of the plex_library mirror; its key is the Plex rating key."""

    rating_key: str
    title: str
    author: str | None = None
    narrator: str | None = None
    asin: str | None = None  # already extracted, uppercase, no region suffix
    guid: str | None = None  # raw plex guid (may also embed an ASIN)


@dataclass(frozen=True, slots=True)
class MatchResult(Generic[B]):
    """The verdict: the record (None when nothing matched), 0..100, and why."""

    item: B | None
    score: float
    reason: str

    @property
    def matched(self) -> bool:
        """True when an indexed record satisfies the query."""
        return self.item is not None
