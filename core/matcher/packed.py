"""The library index on disk: built once, loaded in a fraction of the build's time.

Building the index parses every title (seconds on a big library); loading a
saved one only reads tuples back. The file sits next to the database and is
trusted only when both keys agree: the table's fingerprint (the same one the
scan keeps, ``core.library.mirror.print_of``) and the matcher's code version
(a digest of the matcher's and normaliser's sources and Python's version), so
a changed table or a changed rule never answers from a stale file.

The file is a header, chunks of entries and chunks of posting lists, each
written with ``marshal`` (plain tuples and
strings, nothing executable). Each chunk is loaded and installed on its own,
so a worker thread never holds the interpreter for long, and the entries are
moved out of the garbage collector's way as they arrive (``settle``).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import logging
import marshal
import os
import sys
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from core.matcher.book import LibraryItem
from core.matcher.entry import Entry
from core.matcher.index import LibraryIndex

log = logging.getLogger(__name__)

FORMAT = 4
#: Entries per record: one loads in 5-20 ms (busy machine), a step short enough for the loop.
CHUNK = 2_000
#: Keys per record of posting lists (about 10 ms to write or read at 200,000 books).
_PIECE = 6_000
_SOURCES = ("core/matcher", "core/normalize.py", "core/asin.py")

Row = tuple[Any, ...]


@lru_cache(maxsize=1)
def code_version() -> str:
    """A digest of everything that decides what an entry holds."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.blake2b(f"{FORMAT} {sys.version}".encode(), digest_size=16)
    for name in _SOURCES:
        path = root / name
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def settle() -> None:
    """Move every object alive now out of the collector's generations.

    An index is tens of thousands of long-lived objects: a full collection
    walking them holds the interpreter for 0.2 s at 50,000 books (0.8 s at
    200,000), a stall for the event loop whichever thread triggers it. Frozen
    objects are still freed by reference counting when the index is replaced
    (entries hold no cycles).
    """
    gc.freeze()


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """No collections meanwhile; what survives is then settled, not walked.

    Re-enabling the collector alone would make its next collection walk
    everything allocated meanwhile: 0.2-0.3 s at 200,000 books.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        settle()
        if enabled:
            gc.enable()


def build(items: Iterable[LibraryItem]) -> LibraryIndex:
    """A new index of ``items``, settled a chunk at a time (see ``settle``)."""
    index = LibraryIndex(())
    for n, item in enumerate(items, 1):
        index.add(item)
        if not n % CHUNK:
            settle()
    with _collector_paused():  # a few hundred thousand sorted tuples, all kept
        index.prepare_search()
    return index


def save(index: LibraryIndex, path: Path, fingerprint: int, changes: int) -> bool:
    """Write ``index`` as it was at its ``changes`` count, for the table with ``fingerprint``.

    Runs in a worker thread while the event loop may patch the index: when the
    index changed meanwhile the file is not written (False), so a saved file
    always holds exactly the table its fingerprint names.
    """
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        if index.changes != changes:
            return False
        with _collector_paused():  # 200,000 short-lived rows: full collections for nothing
            return _write(index, tmp, path, fingerprint, changes)
    except RuntimeError:  # a dict changed size under the iteration: it changed
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _write(index: LibraryIndex, tmp: Path, path: Path, fingerprint: int, changes: int) -> bool:
    """Stream the records: freeing 200,000 rows at once held the interpreter ~0.1 s."""
    count = len(index)
    keys = [sum(map(len, p.lists.values())) for p in index.postings]
    header = (FORMAT, code_version(), fingerprint, count, -(-count // CHUNK),
              *(-(-n // _PIECE) for n in keys))  # fmt: skip
    with tmp.open("wb") as f:
        _put(f, header)
        entries = index.entries()
        while chunk := [_row(entry) for entry in itertools.islice(entries, CHUNK)]:
            _put(f, chunk)
        for postings in index.postings:
            for piece in _word_chunks(postings.lists):
                _put(f, piece)
    if index.changes != changes:
        return False
    os.replace(tmp, path)
    log.info("library index saved: %d items to %s", count, path)
    return True


def _put(f: BinaryIO, part: Any) -> None:
    """One length-prefixed marshal record."""
    data = marshal.dumps(part)
    f.write(len(data).to_bytes(8, "little"))
    f.write(data)


def load(path: Path, fingerprint: int) -> LibraryIndex | None:
    """The saved index of the table with ``fingerprint``; None when absent, stale or unreadable."""
    try:
        with path.open("rb") as f:
            header = _read(f)
            if header[:3] != (FORMAT, code_version(), fingerprint):
                log.info("saved library index is stale: %s", path)
                return None
            count, entry_chunks, match_chunks, search_chunks = header[3:]
            index = LibraryIndex(())
            for _ in range(entry_chunks):
                for row in _read(f):
                    index.install(_entry(row), post=False)
                settle()
            for postings, chunks in zip(index.postings, (match_chunks, search_chunks), strict=True):
                for _ in range(chunks):
                    postings.merge(_read(f))
                    settle()
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError, IndexError) as err:
        log.warning("saved library index unreadable (%s): rebuilding", err)
        return None
    if len(index) != count:
        log.warning("saved library index is short: rebuilding")
        return None
    with _collector_paused():  # here in the worker thread, not on the first autocomplete
        index.prepare_search()
    return index


def _read(f: BinaryIO) -> Any:
    """One length-prefixed marshal record (loads of bytes in memory: far faster than a file)."""
    size = int.from_bytes(f.read(8), "little")
    if size > os.fstat(f.fileno()).st_size - f.tell():
        raise EOFError("truncated")
    data = f.read(size)
    if len(data) != size:
        raise EOFError("truncated")
    with _collector_paused():
        return marshal.loads(data)


def _word_chunks(lists: dict[str, list[str]]) -> Iterator[dict[str, list[str]]]:
    """Posting lists cut into records of ``_PIECE`` keys (the last fewer), a long list over several.

    ``marshal.dumps`` of a record holds the interpreter throughout (a record of
    40,000 keys took 30-200 ms at 200,000 books); loading merges the pieces.
    """
    current: dict[str, list[str]] = {}
    size = 0
    for word, keys in lists.items():
        rest = iter(keys)
        left = len(keys)
        while left:
            piece = list(itertools.islice(rest, _PIECE - size))
            if not piece:  # the list shrank under the save: it is abandoned (changes moved)
                break
            current[word] = piece
            size += len(piece)
            left -= len(piece)
            if size >= _PIECE:
                yield current
                current, size = {}, 0
    if current:
        yield current


def _row(entry: Entry[LibraryItem]) -> Row:
    item = entry.item
    return (
        (item.rating_key, item.title, item.author, item.narrator, item.asin, item.guid),
        entry.key, entry.packed, entry.asins, entry.search_title, entry.search_text,
    )  # fmt: skip


def _entry(row: Row) -> Entry[LibraryItem]:
    item, *rest = row
    return Entry(rest[0], LibraryItem(*item), *rest[1:])
