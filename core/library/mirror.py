"""Rows of the plex_library table: conversion from Plex items and batched writes.

Each row carries a hash of its Plex metadata, so a scan compares one string
per item and writes only what changed: a second scan of an unchanged library
writes nothing but one configuration row saying when it ended. Writes are
plain SQL sent with `executemany` in large transactions; reads of the whole
table go in chunks.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from core.matcher import LibraryItem
from core.models import ConfigEntry, PlexItem
from core.plex import PlexAudiobook
from core.plex.parse import title_series

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
    "series",  # derived from the title; in the hash so the first scan after 0004 fills it
    "series_index",
)
_RK = 0  # position of rating_key in META_FIELDS
_WRITTEN = (*META_FIELDS, "file_path", "content_hash")
_DELETE_CHUNK = 500
_READ_CHUNK = 2_500  # rows per read: fetchall and the loop's work on them hold the loop ~5 ms
#: Rows per transaction: 10k-row transactions halved SQLite's write cost (issue 9).
WRITE_BATCH = 10_000
#: The configuration-table row holding the next path-refresh window of full scans.
PATH_WINDOW_KEY = "scan.path_window"
#: The configuration-table row holding when the last complete full scan ended (ISO 8601).
LAST_FULL_SCAN_KEY = "scan.last_full"

Values = tuple[object, ...]


@dataclass(slots=True)
class Known:
    """What a scan needs to know of an existing row to decide whether to write it."""

    id: int
    rating_key: str
    content_hash: str
    file_path: str | None
    # The stored series columns: with them a scan can check an album's hash without
    # parsing its title (the parse was most of an unchanged scan's time).
    series: tuple[str | None, str | None] = (None, None)


@dataclass(slots=True)
class Change:
    """One row to insert (``row_id`` None) or to rewrite, as a scan decided it."""

    guid: str
    values: Values
    content_hash: str
    file_path: str | None
    row_id: int | None = None
    old_hash: str | None = None
    old_rating_key: str | None = None

    @property
    def rating_key(self) -> str:
        return str(self.values[_RK])


def row_values(
    book: PlexAudiobook, library_id: str, series: tuple[str | None, str | None] | None = None
) -> Values:
    """The plex_library column values for one Plex album, in META_FIELDS order.

    ``series``: the (series, position) to use instead of reading them from the
    title (a stored row's, to test whether anything changed without parsing).
    """
    name, series_index = title_series(book.title) if series is None else series
    return (
        book.rating_key,
        book.title,
        book.author or None,
        book.narrator,
        book.asin,
        book.summary,
        book.duration_ms,
        book.year,
        book.thumb,
        book.added_at,
        book.updated_at,
        book.user_rating,
        book.library_id or library_id,
        name,
        series_index,
    )


def content_hash(values: Values) -> str:
    """A digest of the metadata fields: equal digests mean nothing to write."""
    joined = "\x1f".join("" if v is None else str(v) for v in values)
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


def print_of(guid: str, digest: str) -> int:
    """One row's share of a table fingerprint (XOR of these over the rows).

    Stable across processes (not ``hash``): a saved matcher index is keyed by it.
    """
    row = hashlib.blake2b(f"{guid}\x1f{digest}".encode(), digest_size=8).digest()
    return int.from_bytes(row, "little")


async def fingerprint(known: dict[str, Known]) -> int:
    """The table's fingerprint from its loaded rows, yielding to the loop as it goes."""
    result = 0
    for n, (guid, row) in enumerate(known.items(), 1):
        result ^= print_of(guid, row.content_hash)
        if not n % _READ_CHUNK:
            await asyncio.sleep(0)
    return result


async def row_count() -> int:
    """How many books the table holds."""
    return await PlexItem.all().count()


async def table_fingerprint() -> int:
    """The table's fingerprint read from the database: two columns, nothing kept.

    Loading every row (``load_known``) to compute it left ~20 MB of freed rows
    in the process at 50,000 books, all for a number.
    """
    result = 0
    sql = "SELECT id, plex_guid, content_hash FROM plex_library WHERE id > {} ORDER BY id LIMIT "
    async for chunk in _chunks(sql + str(_READ_CHUNK)):
        for _id, guid, digest in chunk:
            result ^= print_of(guid, digest)
    return result


async def keys_to_guids(known: dict[str, Known], wanted: set[str]) -> dict[str, str]:
    """Rating key -> guid of the loaded rows among ``wanted`` guids, yielding as it goes."""
    result: dict[str, str] = {}
    for n, (guid, row) in enumerate(known.items(), 1):
        if guid in wanted:
            result[row.rating_key] = guid
        if not n % _READ_CHUNK:
            await asyncio.sleep(0)
    return result


async def missing(known: dict[str, Known], seen: set[str]) -> set[str]:
    """Guids of loaded rows not ``seen``, yielding to the loop as it goes.

    ``known.keys() - seen`` is one C call: about 30 ms on the loop at 200,000 rows.
    """
    result: set[str] = set()
    for n, guid in enumerate(known, 1):
        if guid not in seen:
            result.add(guid)
        if not n % _READ_CHUNK:
            await asyncio.sleep(0)
    return result


async def load_known(guids: Iterable[str] | None = None) -> dict[str, Known]:
    """Existing rows by guid: all of them, or only those of the given guids."""
    if guids is not None:
        query = PlexItem.filter(plex_guid__in=list(guids))
        rows = await query.values_list(
            "plex_guid", "id", "rating_key", "content_hash", "file_path", "series", "series_index"
        )
        return {g: Known(i, rk, h, fp, _series(s, n)) for g, i, rk, h, fp, s, n in rows}
    known: dict[str, Known] = {}
    sql = (
        "SELECT id, plex_guid, rating_key, content_hash, file_path, series, series_index"
        " FROM plex_library WHERE id > {} ORDER BY id LIMIT " + str(_READ_CHUNK)
    )
    async for chunk in _chunks(sql):
        for i, g, rk, h, fp, s, n in chunk:
            known[g] = Known(i, rk, h, fp, _series(s, n))
    return known


_NO_SERIES: tuple[str | None, str | None] = (None, None)


def _series(name: str | None, index: str | None) -> tuple[str | None, str | None]:
    """A row's series columns (one shared tuple for the many books in none)."""
    return _NO_SERIES if name is None and index is None else (name, index)


async def _chunks(sql: str) -> AsyncIterator[list[tuple[Any, ...]]]:
    """Read a table in id order, one chunk per round trip, so the loop never holds long.

    ``sql`` selects ``id`` first and has one ``{}`` for the id placeholder.
    """
    conn = connections.get("default")
    query = sql.format(_placeholders(conn, 1)[0])
    last = 0
    while True:
        _count, rows = await conn.execute_query(query, [last])
        if not rows:
            return
        chunk = [tuple(row) for row in rows]
        last = chunk[-1][0]
        yield chunk
        # What the caller keeps of each chunk is long-lived: out of the collector's way,
        # or full collections walking 200,000 fresh rows stall the loop 50-120 ms each.
        # (Also when it keeps nothing: the freeze also takes the process's own objects
        # out of the way, ~50 ms a full collection at start-up, when nothing else has.)
        gc.freeze()
        await asyncio.sleep(0)


def _placeholders(conn: BaseDBAsyncClient, count: int) -> list[str]:
    """The dialect's parameter markers: ``?`` (SQLite), ``$n`` (PostgreSQL)."""
    if conn.capabilities.dialect == "postgres":
        return [f"${n}" for n in range(1, count + 1)]
    return ["?"] * count


class Writer:
    """Inserts, rewrites and path changes, sent with ``executemany`` in large transactions.

    Plain SQL: ORM objects and per-row statements were a quarter of a first
    scan's time. The same statements run on SQLite and PostgreSQL.
    """

    def __init__(self, batch: int = WRITE_BATCH) -> None:
        self.batch = batch
        self._inserts: list[list[object]] = []
        self._updates: list[list[object]] = []
        self._paths: list[list[object]] = []

    def add(self, change: Change) -> None:
        row = [*change.values, change.file_path, change.content_hash]
        if change.row_id is None:
            self._inserts.append([change.guid, *row])
        else:
            self._updates.append([*row, change.row_id])

    def set_path(self, guid: str, path: str | None) -> None:
        self._paths.append([path, guid])

    @property
    def full(self) -> bool:
        return len(self._inserts) + len(self._updates) + len(self._paths) >= self.batch

    async def flush(self) -> None:
        """Send everything buffered in one transaction (inserts, then rewrites, then paths)."""
        if not (self._inserts or self._updates or self._paths):
            return
        inserts, updates, paths = self._inserts, self._updates, self._paths
        self._inserts, self._updates, self._paths = [], [], []
        async with in_transaction() as conn:
            if inserts:
                marks = _placeholders(conn, len(_WRITTEN) + 1)
                columns = ", ".join(("plex_guid", *_WRITTEN))
                sql = f"INSERT INTO plex_library ({columns}) VALUES ({', '.join(marks)})"
                await conn.execute_many(sql, inserts)
            if updates:
                marks = _placeholders(conn, len(_WRITTEN) + 1)
                sets = ", ".join(f"{c} = {m}" for c, m in zip(_WRITTEN, marks, strict=False))
                sql = f"UPDATE plex_library SET {sets} WHERE id = {marks[-1]}"
                await conn.execute_many(sql, updates)
            if paths:
                first, second = _placeholders(conn, 2)
                sql = f"UPDATE plex_library SET file_path = {first} WHERE plex_guid = {second}"
                await conn.execute_many(sql, paths)


async def delete_guids(guids: Iterable[str]) -> int:
    """Remove rows of items Plex no longer has; only ever called after a complete scan."""
    pending = list(guids)
    removed = 0
    async with in_transaction() as conn:
        for start in range(0, len(pending), _DELETE_CHUNK):
            chunk = pending[start : start + _DELETE_CHUNK]
            removed += await PlexItem.filter(plex_guid__in=chunk).using_db(conn).delete()
    return removed


async def mark_full_scan(when: datetime | None = None) -> None:
    """Record that a complete full scan ended now (the scheduler reads it).

    One configuration row, not a stamp on every book: stamping rewrote the
    whole table at every full scan of an unchanged library (50,000 rows, 0.1 s
    and the table's size in SQLite's journal). ``plex_library.last_seen`` keeps
    what earlier releases stamped.
    """
    stamp = (when or datetime.now(UTC)).isoformat()
    await ConfigEntry.update_or_create(key=LAST_FULL_SCAN_KEY, defaults={"value": stamp})


async def next_path_window(windows: int) -> int:
    """The path-refresh window this full scan reads (0..windows-1), and advance it.

    Kept in the configuration table so that the bot and `python -m bot scan`
    take turns on one rotation.
    """
    row = await ConfigEntry.get_or_none(key=PATH_WINDOW_KEY)
    try:
        current = int(row.value) % windows if row is not None else 0
    except ValueError:
        current = 0
    await ConfigEntry.update_or_create(
        key=PATH_WINDOW_KEY, defaults={"value": str((current + 1) % windows)}
    )
    return current


def library_item(change: Change) -> LibraryItem:
    """The matcher's view of a written row."""
    values = change.values
    return LibraryItem(
        rating_key=change.rating_key,
        title=str(values[1]),
        author=_opt(values[2]),
        narrator=_opt(values[3]),
        asin=_opt(values[4]),
        guid=change.guid,
    )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


async def all_library_items() -> tuple[list[LibraryItem], int]:
    """Every row in the matcher's form, and the table's fingerprint (see ``print_of``)."""
    items: list[LibraryItem] = []
    fingerprint = 0
    async for chunk, share in library_item_chunks():
        items += chunk
        fingerprint ^= share
    return items, fingerprint


async def library_item_chunks() -> AsyncIterator[tuple[list[LibraryItem], int]]:
    """The rows in the matcher's form a chunk at a time, each with its share of the fingerprint.

    Read without building model objects, yielding to the loop between chunks;
    a consumer that keeps few of them (an index build) never holds them all.
    """
    sql = (
        "SELECT id, rating_key, title, author, narrator, asin, plex_guid, content_hash"
        " FROM plex_library WHERE id > {} ORDER BY id LIMIT " + str(_READ_CHUNK)
    )
    async for chunk in _chunks(sql):
        share = 0
        items: list[LibraryItem] = []
        for _id, rk, t, a, n, s, g, h in chunk:
            items.append(LibraryItem(rating_key=rk, title=t, author=a, narrator=n, asin=s, guid=g))
            share ^= print_of(g, h)
        yield items, share
