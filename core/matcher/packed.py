"""The library index on disk: built once, loaded in a fraction of the build's time.

Building the index parses every title (seconds on a big library); loading a
saved one only reads tuples back. The file sits next to the database and is
trusted only when both keys agree: the table's fingerprint (the same one the
scan keeps, ``core.library.mirror.print_of``) and the matcher's code version
(a digest of the matcher's and normaliser's sources and Python's version), so
a changed table or a changed rule never answers from a stale file.

The file holds every book's record (its fields, parsed readings and ASINs),
then a header, the keys and search texts in chunks, and the posting lists in
chunks, each written with ``marshal`` (plain tuples and strings, nothing
executable). A load reads the chunks, a few milliseconds each so a worker
thread never holds the interpreter for long, and maps the records into memory
without reading them: a record is decoded when a query judges its book
(``core.matcher.store``). A digest of the records, checked at load, keeps a
damaged file from answering.

Building the index of a table writes this file as it parses (``build_saved``)
and answers from it: a built index holds as little as a loaded one.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import hashlib
import itertools
import logging
import marshal
import mmap
import os
import queue
import shutil
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from core.matcher.book import LibraryItem
from core.matcher.chunks import ParsedChunk, parsers, row_of, word_pieces
from core.matcher.entry import Entry, author_words, packed_people, packed_title
from core.matcher.index import LibraryIndex
from core.matcher.kinds import kinds
from core.matcher.postings import Postings
from core.matcher.starts import Starts
from core.matcher.store import FileEntries, decode_record, record_bytes
from core.normalize import parse_people, parse_title

log = logging.getLogger(__name__)

FORMAT = 5
_MAGIC = b"EARMARK\x05"
#: Entries per record: one loads in 5-20 ms (busy machine), a step short enough for the loop.
CHUNK = 2_000
#: Books between two emptyings of the parse caches during a build (``forget_parses``).
_FORGET = 10 * CHUNK
#: Written a megabyte at a time: each write lets the event loop's thread in and out again.
_BUFFER = 1 << 20
_SOURCES = ("core/matcher", "core/normalize.py", "core/asin.py")


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


def build(items: Iterable[LibraryItem], *, search: bool = True) -> LibraryIndex:
    """A new index of ``items`` held in memory, settled a chunk at a time (see ``settle``).

    ``search``: make the autocomplete orders now (else the first search does).
    """
    index = LibraryIndex(())
    for n, item in enumerate(items, 1):
        index.add(item)
        if not n % CHUNK:
            if not n % _FORGET:
                forget_parses(people=False)
            settle()
    if search:
        with _collector_paused():  # a few hundred thousand sorted tuples, all kept
            index.prepare_search()
    forget_parses()
    return index


def build_saved(
    items: Iterable[LibraryItem], path: Path, fingerprint: Callable[[], int], *,
    search: bool = True, workers: int = 0,
) -> LibraryIndex:  # fmt: skip
    """The index of ``items`` written to ``path`` as it is built, answering from that file.

    Each record, its keys and texts and its share of the posting lists go to
    the file (and three scratch files beside it) a chunk at a time, so a build
    keeps nothing of what it parsed. Parsed in this thread, the index is then
    loaded from the file, laid out as compactly as any load's (one kept from
    the build sat among the holes its parsing left: 124 against 116 MB RSS at
    50,000 books). Parsed by worker processes, this thread holds no garbage
    of theirs and gathers the index from what they send as it writes. Raises
    OSError when the file cannot be written (the caller builds in memory
    instead). ``fingerprint`` names the table once every item is read (the
    rows may still be arriving, ``Feed``). ``workers``: processes that parse
    (``core.matcher.chunks``); 0 parses in this thread.
    """
    sweep(path)
    tmp = _tmp_of(path)
    try:
        with tmp.open("w+b", buffering=_BUFFER) as f:
            parts, tail = _write_items(f, path.parent, items, fingerprint, workers, search)
            if parts is None:  # parsed here: the load lays the index out away from the garbage
                forget_parses()  # first: the load then reuses the memory they held
                index = _load(f, fingerprint(), search)
            else:
                index = parts.index(f, tail)
        if index is None:  # what was just written does not read back: a bug, not a state
            raise RuntimeError("the index just built does not load")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("library index built and saved: %d items to %s", len(index), path)
    return index


def _write_items(
    f: BinaryIO, scratch: Path, items: Iterable[LibraryItem], fingerprint: Callable[[], int],
    workers: int, search: bool,
) -> tuple[_Parts | None, int]:  # fmt: skip
    """Parse and write every item, a chunk at a time (nothing parsed outlives this call).

    With ``workers`` this thread only writes what they send, so it also
    gathers the index from it meanwhile (returned, with where the records
    end): the file is not read back.
    """
    writer = _Writer(f, scratch)
    parts = _Parts(search) if workers else None
    rows = (row_of(item) for item in items)
    with parsers(workers) as parse:
        for n, chunk in enumerate(parse(iter(lambda: list(itertools.islice(rows, CHUNK)), [])), 1):
            starts = writer.add_chunk(chunk)
            if parts is not None:
                parts.light(chunk.keys, chunk.titles, chunk.texts, chunk.asins, starts)
                for lists, pieces in zip(parts.postings, (chunk.match, chunk.search), strict=True):
                    for piece in pieces:
                        parts.merge(lists, _loads(piece))
            elif not n % (_FORGET // CHUNK):
                forget_parses(people=False)  # names recur across the library: kept to the end
    return parts, writer.finish(fingerprint())


class _Parts:
    """What an index is made of, gathered a chunk at a time: read from a file, or from a build."""

    def __init__(self, search: bool) -> None:
        """``search``: gather the autocomplete orders too (``Starts``)."""
        self.keys: list[str] = []
        self.titles: list[str] = []
        self.texts: list[str] = []
        self.asins: list[tuple[str, ...]] = []
        self.starts = array("Q")
        self.postings = (Postings(), Postings())
        self.orders = Starts(sort=False) if search else None

    def light(
        self, keys: list[str], titles: list[str], texts: list[str],
        asins: list[tuple[str, ...]], starts: bytes,
    ) -> None:  # fmt: skip
        self.keys += keys
        self.titles += titles
        self.texts += texts
        self.asins += asins
        self.starts.frombytes(starts)
        if self.orders is not None:
            self.orders.extend(zip(keys, titles, strict=True))
        settle()

    @staticmethod
    def merge(lists: Postings, piece: dict[str, list[str]]) -> None:
        lists.merge(piece)
        settle()
        # Hundreds of pieces of ~1 ms each, back to back: the event loop's thread was
        # measured waiting 45-60 ms for the interpreter here at 200,000 books unless
        # it is handed over explicitly.
        time.sleep(0)

    def index(self, f: BinaryIO, tail: int) -> LibraryIndex:
        """The index answering from ``f``, the file these parts came from (records mapped).

        ``tail``: where the records end (the last one's end).
        """
        starts = self.starts
        starts.append(tail)
        keys = self.keys
        if not len(keys) == len(self.titles) == len(self.texts) == len(starts) - 1:
            raise ValueError("short")
        view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        entries = FileEntries(view, starts, keys, self.titles, self.texts)
        if self.orders is not None:
            with _collector_paused():  # a few hundred thousand forms, all kept
                self.orders.sort()
        return LibraryIndex.of_file(
            entries, zip(keys, self.asins, strict=True), self.postings, self.orders
        )


class Feed:
    """Rows handed from the event loop to a build in a worker thread, a chunk at a time.

    The builder iterates it; the loop ``put``s chunks and ends with ``close``
    (the table's fingerprint, known once every row is read) or ``abort``.
    """

    def __init__(self, taken: Callable[[], object] = lambda: None) -> None:
        self._taken = taken  # told (in the builder's thread) each time a chunk is taken
        self._chunks: queue.SimpleQueue[list[LibraryItem] | None] = queue.SimpleQueue()
        self._fingerprint: int | None = None
        self._aborted = False

    def put(self, chunk: list[LibraryItem]) -> None:
        self._chunks.put(chunk)

    def close(self, fingerprint: int) -> None:
        self._fingerprint = fingerprint
        self._chunks.put(None)

    def abort(self) -> None:
        """The rows could not all be read: the builder stops with an error."""
        self._aborted = True
        self._chunks.put(None)

    def fingerprint(self) -> int:
        """The table's fingerprint, once the feed is closed."""
        if self._fingerprint is None:
            raise RuntimeError("the feed was not closed")
        return self._fingerprint

    def __iter__(self) -> Iterator[LibraryItem]:
        while (chunk := self._chunks.get()) is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
                self._taken()
            yield from chunk
        if self._aborted:
            raise RuntimeError("the rows could not all be read")


def forget_parses(*, people: bool = True) -> None:
    """Empty the parsers' caches, which a build fills with every title of the library.

    They speed up queries that repeat a title; kept after a build, they held
    ~10 MB at 50,000 books for titles no query will ask again. A build
    empties them every ``_FORGET`` books: emptying 100,000 entries at once is
    one C call that held the interpreter ~35 ms at 200,000 books (every
    chunk instead cost a build 15%: titles recur across chunks).
    """
    parse_title.cache_clear()
    kinds.cache_clear()
    packed_title.cache_clear()
    if people:
        parse_people.cache_clear()
        packed_people.cache_clear()
        author_words.cache_clear()


def _tmp_of(path: Path) -> Path:
    """A temporary file beside ``path``, named for this process (see ``sweep``)."""
    return path.with_name(f"{path.name}.{os.getpid()}.{id(path)}.tmp")


def sweep(path: Path) -> None:
    """Remove temporary files beside ``path`` left by processes that no longer run.

    A process killed while it wrote the index leaves its temporary file (a
    few MB to a few hundred); a file of a running process (a `match` beside
    the bot) is left alone.
    """
    for tmp in path.parent.glob(f"{glob.escape(path.name)}.*.*.tmp"):
        pid = tmp.name[len(path.name) + 1 :].split(".", 1)[0]
        if pid.isdigit() and not _running(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                log.info("removed %s, left by a process that stopped", tmp.name)


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it runs, as another user
        return True
    return True


def save(index: LibraryIndex, path: Path, fingerprint: int, changes: int) -> bool:
    """Write ``index`` as it was at its ``changes`` count, for the table with ``fingerprint``.

    Runs in a worker thread while the event loop may patch the index: when the
    index changed meanwhile the file is not written (False), so a saved file
    always holds exactly the table its fingerprint names.
    """
    tmp = _tmp_of(path)
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
    """Stream the records: those of a loaded file are copied as they are, not decoded."""
    entries = index.store
    with tmp.open("wb", buffering=_BUFFER) as f:
        writer = _Writer(f, path.parent)
        if isinstance(entries, FileEntries):
            for i, key in entries.stored():
                raw = entries.raw(i)
                writer.add(key, *entries.searchable(i), decode_record(raw)[2], raw)
            fresh: Iterator[Entry[LibraryItem]] = entries.fresh()
        else:
            fresh = entries.values()
        for entry in fresh:
            writer.add(entry.key, entry.search_title, entry.search_text, entry.asins,
                       record_bytes(entry))  # fmt: skip
        writer.finish(fingerprint, index.postings)
    if index.changes != changes:
        return False
    os.replace(tmp, path)
    log.info("library index saved: %d items to %s", len(index), path)
    return True


class _Writer:
    """Writes records as they come, then the header, the keys and texts, and the postings.

    Keys, texts and (for a build) posting lists go to scratch files a chunk at
    a time and are copied after the records at the end: the writer holds one
    chunk, never the library.
    """

    def __init__(self, f: BinaryIO, scratch: Path) -> None:
        self._f = f
        f.write(_MAGIC + bytes(8))
        self._at = len(_MAGIC) + 8
        self._digest = hashlib.blake2b(digest_size=16)
        self._count = 0
        # Keys and texts; match postings; search postings: each with its count of records.
        self._parts = [(tempfile.TemporaryFile(dir=scratch), [0]) for _ in range(3)]  # noqa: SIM115
        self._new_chunk()

    def _new_chunk(self) -> None:
        self._starts = array("Q")
        self._keys: list[str] = []
        self._titles: list[str] = []
        self._texts: list[str] = []
        self._asins: list[tuple[str, ...]] = []

    def add(self, key: str, title: str, text: str, asins: tuple[str, ...], data: bytes) -> None:
        """One record (a save: the posting lists come whole to ``finish``)."""
        self._starts.append(self._at)
        self._write(data)
        self._keys.append(key)
        self._titles.append(title)
        self._texts.append(text)
        self._asins.append(asins)
        if len(self._keys) == CHUNK:
            self._spill()

    def add_chunk(self, chunk: ParsedChunk) -> bytes:
        """A build's parsed chunk, with its share of the posting lists; its records' starts."""
        self._spill()  # a chunk is a chunk of the file too, whatever came before it
        starts = array("Q", itertools.accumulate(array("Q", chunk.sizes), initial=self._at))
        starts.pop()
        self._write(chunk.records)
        self._starts = starts
        self._keys, self._titles, self._texts = chunk.keys, chunk.titles, chunk.texts
        self._asins = chunk.asins
        self._spill()
        for n, pieces in enumerate((chunk.match, chunk.search), 1):
            self._part(n, pieces, marshalled=True)
        return starts.tobytes()

    def _write(self, data: bytes) -> None:
        self._f.write(data)
        self._digest.update(data)
        self._at += len(data)

    def _spill(self) -> None:
        """The chunk's keys and texts to their scratch file."""
        if self._keys:
            self._count += len(self._keys)
            chunk = (self._keys, self._titles, self._texts, self._asins, self._starts.tobytes())
            self._part(0, [chunk])
            self._new_chunk()
        settle()

    def _part(self, n: int, records: Iterable[Any], *, marshalled: bool = False) -> None:
        part, written = self._parts[n]
        for record in records:
            _put(part, record if marshalled else marshal.dumps(record))
            written[0] += 1

    def finish(self, fingerprint: int, postings: tuple[Postings, Postings] | None = None) -> int:
        """The header and the scratch files after the records; ``postings``: a saved index's.

        Returns where the records end.
        """
        self._spill()
        if postings is not None:
            for n, lists in enumerate(postings, 1):
                self._part(n, word_pieces(lists.lists))
        f, tail = self._f, self._at
        header: tuple[Any, ...] = (
            FORMAT, code_version(), fingerprint, self._count, self._digest.hexdigest(),
            *(written[0] for _, written in self._parts),
        )  # fmt: skip
        _put(f, marshal.dumps(header))
        for part, _ in self._parts:
            with part:  # closed (and gone) once copied
                part.seek(0)
                shutil.copyfileobj(part, f, _BUFFER)
        f.seek(len(_MAGIC))
        f.write(tail.to_bytes(8, "little"))
        f.flush()
        return tail


def _put(f: BinaryIO, data: bytes) -> None:
    """One length-prefixed (marshalled) record."""
    f.write(len(data).to_bytes(8, "little"))
    f.write(data)


def load(path: Path, fingerprint: int, *, search: bool = True) -> LibraryIndex | None:
    """The saved index of the table with ``fingerprint``; None when absent, stale or unreadable.

    ``search``: make the autocomplete orders now (else the first search does).
    """
    sweep(path)
    try:
        with path.open("rb") as f:
            index = _load(f, fingerprint, search)
    except FileNotFoundError:
        return None
    except (OSError, EOFError, ValueError, TypeError, IndexError) as err:
        log.warning("saved library index unreadable (%s): rebuilding", err)
        return None
    if index is None:
        log.info("saved library index is stale: %s", path)
    return index


def _load(f: BinaryIO, fingerprint: int, search: bool) -> LibraryIndex | None:
    f.seek(0)
    head = f.read(len(_MAGIC) + 8)
    if head[: len(_MAGIC)] != _MAGIC:
        return None  # another format (an earlier release's file): stale
    tail = int.from_bytes(head[len(_MAGIC) :], "little")
    if not len(head) <= tail <= os.fstat(f.fileno()).st_size:
        raise EOFError("truncated")
    f.seek(tail)
    header = _read(f)
    if header[:3] != (FORMAT, code_version(), fingerprint):
        return None
    count, digest, light_chunks, match_chunks, search_chunks = header[3:]
    parts = _Parts(search)
    for _ in range(light_chunks):
        parts.light(*_read(f))
    for lists, chunks in zip(parts.postings, (match_chunks, search_chunks), strict=True):
        for _ in range(chunks):
            parts.merge(lists, _read(f))
    if len(parts.keys) != count:
        raise ValueError("short")
    if _digest_of(f, len(head), tail) != digest or any(
        a > b for a, b in itertools.pairwise(itertools.chain(parts.starts, [tail]))
    ):
        raise ValueError("records damaged")
    return parts.index(f, tail)


def _digest_of(f: BinaryIO, start: int, end: int) -> str:
    """The records' digest, read a megabyte at a time (not mapped: no memory kept)."""
    digest = hashlib.blake2b(digest_size=16)
    f.seek(start)
    left = end - start
    while left:
        block = f.read(min(left, 1 << 20))
        if not block:
            raise EOFError("truncated")
        digest.update(block)
        left -= len(block)
    return digest.hexdigest()


def _read(f: BinaryIO) -> Any:
    """One length-prefixed marshal record (loads of bytes in memory: far faster than a file)."""
    size = int.from_bytes(f.read(8), "little")
    if size > os.fstat(f.fileno()).st_size - f.tell():
        raise EOFError("truncated")
    data = f.read(size)
    if len(data) != size:
        raise EOFError("truncated")
    return _loads(data)


def _loads(data: bytes) -> Any:
    with _collector_paused():
        return marshal.loads(data)
