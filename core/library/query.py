"""Read-only questions about the library mirror, for `/library` and the scheduler.

Discord-free: the cog renders what these return. Lookups by text go through
the matcher's `LibraryIndex.search` (the one search, kept in memory by the
scan service); the SQL here only fetches rows, totals and timestamps.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Count, Max, Sum

from core.library.mirror import LAST_FULL_SCAN_KEY
from core.matcher import LibraryIndex, LibraryItem
from core.models import ConfigEntry, PlexItem

log = logging.getLogger(__name__)

#: Autocomplete values carry this prefix so a typed "1984" is never taken for a rating key.
KEY_PREFIX = "rk:"
FALLBACK_LIMIT = 25


@dataclass(frozen=True, slots=True)
class LibraryTotals:
    """What the library holds, for the `/library` overview."""

    books: int
    authors: int
    hours: float

    @property
    def empty(self) -> bool:
        return self.books == 0


def choice_value(item: LibraryItem | PlexItem) -> str:
    """The autocomplete value that names exactly one item."""
    return f"{KEY_PREFIX}{item.rating_key}"


def key_from_value(value: str) -> str | None:
    """The rating key of an autocomplete value, or None for typed text."""
    value = value.strip()
    if value.startswith(KEY_PREFIX) and len(value) > len(KEY_PREFIX):
        return value[len(KEY_PREFIX) :]
    return None


def suggest(index: LibraryIndex, text: str, limit: int = 25) -> list[LibraryItem]:
    """Autocomplete: the matcher's fuzzy title/author search, best first."""
    return [item for item, _score in index.search(text, limit=limit)]


async def suggest_fallback(text: str, limit: int = FALLBACK_LIMIT) -> list[LibraryItem]:
    """A plain substring search for while the index is still being built (first start)."""
    words = text.split()
    if not words:
        return []
    query = PlexItem.all()
    for word in words[:4]:
        query = query.filter(title__icontains=word)
    rows = await query.order_by("title").limit(limit).values_list(
        "rating_key", "title", "author", "narrator", "asin", "plex_guid"
    )
    return [
        LibraryItem(rating_key=rk, title=t, author=a, narrator=n, asin=s, guid=g)
        for rk, t, a, n, s, g in rows
    ]


async def by_rating_key(rating_key: str) -> PlexItem | None:
    return await PlexItem.filter(rating_key=rating_key).order_by("id").first()


async def rows_for(items: Sequence[LibraryItem]) -> list[PlexItem]:
    """The full rows of index items, in the same order (items gone since are skipped)."""
    keys = [item.rating_key for item in items]
    if not keys:
        return []
    rows = await PlexItem.filter(rating_key__in=keys)
    by_key: dict[str, PlexItem] = {}
    for row in rows:
        by_key.setdefault(row.rating_key, row)
    return [by_key[k] for k in keys if k in by_key]


async def find(index: LibraryIndex, query: str, limit: int = 5) -> list[PlexItem]:
    """What `/library query:` shows: the chosen item, or the best text matches."""
    key = key_from_value(query)
    if key is not None:
        row = await by_rating_key(key)
        if row is not None:
            return [row]
        query = ""  # the chosen book left the library since the choice was offered
    if not query.strip():
        return []
    return await rows_for(suggest(index, query, limit=limit))


async def recently_added(limit: int = 10) -> list[PlexItem]:
    """The newest books by the time Plex added them."""
    return await PlexItem.all().order_by("-added_at", "-id").limit(limit)


async def totals() -> LibraryTotals:
    """Books, distinct author strings and total listening time, in one query."""
    rows = (
        await PlexItem.all()
        .annotate(books=Count("id"), authors=Count("author", distinct=True), ms=Sum("duration_ms"))
        .values("books", "authors", "ms")
    )
    row = rows[0] if rows else {}
    return LibraryTotals(
        books=int(row.get("books") or 0),
        authors=int(row.get("authors") or 0),
        hours=float(row.get("ms") or 0) / 3_600_000,
    )


async def last_full_scan() -> datetime | None:
    """When the last complete full scan ended.

    Recorded in the configuration table (``mirror.mark_full_scan``); a database
    last scanned by an earlier release has it only as the newest ``last_seen``
    stamp on the rows.
    """
    row = await ConfigEntry.get_or_none(key=LAST_FULL_SCAN_KEY)
    if row is not None:
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(row.value)
    rows = await PlexItem.all().annotate(last=Max("last_seen")).values("last")
    value = rows[0]["last"] if rows else None
    if isinstance(value, str):  # some backends hand aggregates back as text
        value = datetime.fromisoformat(value)
    return value
