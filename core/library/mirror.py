"""Rows of the plex_library table: conversion from Plex items and batched writes.

Each row carries a hash of its Plex metadata, so a scan compares one string
per item and writes only what changed: a second scan of an unchanged library
writes nothing but the final `last_seen` stamp.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core.matcher import LibraryItem
from core.models import PlexItem
from core.plex import PlexAudiobook

log = logging.getLogger(__name__)

#: Fields copied from Plex; file_path is compared on its own (recent polls do not fetch it).
META_FIELDS = (
    "rating_key",
    "title",
    "author",
    "narrator",
    "asin",
    "summary",
    "duration_ms",
    "year",
    "thumb",
    "added_at",
    "updated_at",
    "user_rating",
    "library_id",
)
UPDATE_FIELDS = (*META_FIELDS, "file_path", "content_hash")
_DELETE_CHUNK = 500


@dataclass(slots=True)
class Known:
    """What a scan needs to know of an existing row to decide whether to write it."""

    id: int
    rating_key: str
    content_hash: str
    file_path: str | None


def row_values(book: PlexAudiobook, library_id: str) -> dict[str, object]:
    """The plex_library column values for one Plex album."""
    return {
        "rating_key": book.rating_key,
        "title": book.title,
        "author": book.author or None,
        "narrator": book.narrator,
        "asin": book.asin,
        "summary": book.summary,
        "duration_ms": book.duration_ms,
        "year": book.year,
        "thumb": book.thumb,
        "added_at": book.added_at,
        "updated_at": book.updated_at,
        "user_rating": book.user_rating,
        "library_id": book.library_id or library_id,
    }


def content_hash(values: dict[str, object]) -> str:
    """A digest of the metadata fields: equal digests mean nothing to write."""
    joined = "\x1f".join("" if values[f] is None else str(values[f]) for f in META_FIELDS)
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


async def load_known(guids: Iterable[str] | None = None) -> dict[str, Known]:
    """Existing rows by guid: all of them, or only those of the given guids."""
    query = PlexItem.all() if guids is None else PlexItem.filter(plex_guid__in=list(guids))
    rows = await query.values_list("plex_guid", "id", "rating_key", "content_hash", "file_path")
    return {g: Known(i, rk, h, fp) for g, i, rk, h, fp in rows}


async def write_batch(creates: list[PlexItem], updates: list[PlexItem]) -> None:
    """Insert and update one page of rows in a single transaction."""
    if not creates and not updates:
        return
    async with in_transaction() as conn:
        if creates:
            await PlexItem.bulk_create(creates, using_db=conn)
        if updates:
            await PlexItem.bulk_update(updates, fields=list(UPDATE_FIELDS), using_db=conn)


async def delete_guids(guids: Iterable[str]) -> int:
    """Remove rows of items Plex no longer has; only ever called after a complete scan."""
    pending = list(guids)
    removed = 0
    async with in_transaction() as conn:
        for start in range(0, len(pending), _DELETE_CHUNK):
            chunk = pending[start : start + _DELETE_CHUNK]
            removed += await PlexItem.filter(plex_guid__in=chunk).using_db(conn).delete()
    return removed


async def stamp_seen(when: datetime | None = None) -> None:
    """Mark every row as seen by the scan that just completed."""
    await PlexItem.all().update(last_seen=when or datetime.now(UTC))


def library_item(row: PlexItem) -> LibraryItem:
    """The matcher's view of a row."""
    return LibraryItem(
        rating_key=row.rating_key,
        title=row.title,
        author=row.author,
        narrator=row.narrator,
        asin=row.asin,
        guid=row.plex_guid,
    )


async def all_library_items() -> list[LibraryItem]:
    """Every row in the matcher's form, read without building model objects."""
    rows = await PlexItem.all().values_list(
        "rating_key", "title", "author", "narrator", "asin", "plex_guid"
    )
    return [
        LibraryItem(rating_key=rk, title=t, author=a, narrator=n, asin=s, guid=g)
        for rk, t, a, n, s, g in rows
    ]
