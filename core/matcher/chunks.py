"""A build's parsing, a chunk of books at a time, in this thread or in worker processes.

Parsing every title and name is nearly all of a build (~31 us a book: 6 s
at 200,000 books in one process). A chunk's output is bytes and plain
lists, the same whichever process made it, so a build spreads its chunks
over one worker process per core and the writer only copies what comes
back: record for record the file one thread would write.

Workers are not forked from the bot's process: it runs threads (the event
loop, the database's, the executor's), and a fork copies their locks in
whatever state they are. They fork from a server process started clean
(``forkserver``), or are spawned where there is none.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import marshal
import multiprocessing
import os
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from core.matcher.book import LibraryItem
from core.matcher.entry import make_entry
from core.matcher.index import BookIndex
from core.matcher.postings import Postings
from core.matcher.store import record_bytes

log = logging.getLogger(__name__)

#: Keys per record of posting lists (about 10 ms to write or read at 200,000 books).
PIECE = 6_000
#: Chunks handed to each worker ahead of the one the writer waits for.
_AHEAD = 2
#: How much a worker process defers to the bot's (``os.nice``).
_NICE = 10
#: Books from which a build parses in worker processes. One thread parses 20,000 books in
#: ~0.6 s and lays the index out compactly (it reads its file back); below that, two more
#: processes in a small install are not worth the fraction of a second.
PARALLEL_FROM = 20_000

Row = tuple[str, str, str | None, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class ParsedChunk:
    """One chunk's records and what the file keeps beside them, ready to write."""

    records: bytes  # the records, back to back
    sizes: bytes  # array("Q") of each record's length
    keys: list[str]
    titles: list[str]
    texts: list[str]
    asins: list[tuple[str, ...]]
    match: list[bytes]  # the chunk's match posting lists, marshalled in pieces
    search: list[bytes]  # and its search posting lists


def parse_chunk(rows: Iterable[Row]) -> ParsedChunk:
    """Parse one chunk of rows (``LibraryItem`` fields in order) into what the file holds."""
    records: list[bytes] = []
    sizes = array("Q")
    keys: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    asins: list[tuple[str, ...]] = []
    match, search = Postings(), Postings()
    for row in rows:
        item = LibraryItem(*row)
        entry = make_entry(item.rating_key, item, BookIndex.asins(item))
        data = record_bytes(entry)
        records.append(data)
        sizes.append(len(data))
        keys.append(entry.key)
        titles.append(entry.search_title)
        texts.append(entry.search_text)
        asins.append(entry.asins)
        match.add(entry.key, entry.words)
        search.add(entry.key, entry.search_words)
    return ParsedChunk(
        b"".join(records), sizes.tobytes(), keys, titles, texts, asins,
        [marshal.dumps(p) for p in word_pieces(match.lists)],
        [marshal.dumps(p) for p in word_pieces(search.lists)],
    )  # fmt: skip


def word_pieces(lists: dict[str, list[str]]) -> Iterator[dict[str, list[str]]]:
    """Posting lists cut into records of ``PIECE`` keys (the last fewer), a long list over several.

    ``marshal.dumps`` of a record holds the interpreter throughout (a record of
    40,000 keys took 30-200 ms at 200,000 books); loading merges the pieces.
    """
    current: dict[str, list[str]] = {}
    size = 0
    for word, keys in lists.items():
        rest = iter(keys)
        left = len(keys)
        while left:
            piece = list(itertools.islice(rest, PIECE - size))
            if not piece:  # the list shrank under the save: it is abandoned (changes moved)
                break
            current[word] = piece
            size += len(piece)
            left -= len(piece)
            if size >= PIECE:
                yield current
                current, size = {}, 0
    if current:
        yield current


def row_of(item: LibraryItem) -> Row:
    """The item as a plain tuple: a tenth of the cost of pickling the dataclass."""
    return item.rating_key, item.title, item.author, item.narrator, item.asin, item.guid


def workers_for(books: int) -> int:
    """Worker processes for a build of ``books``: one per core, none on one core or few books."""
    count = _cores()
    return count if count > 1 and books >= PARALLEL_FROM else 0


def _cores() -> int:
    """The cores this process may run on."""
    with contextlib.suppress(AttributeError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextlib.contextmanager
def parsers(workers: int) -> Iterator[Callable[[Iterable[list[Row]]], Iterator[ParsedChunk]]]:
    """A function parsing chunks in order: in ``workers`` processes, or here when 0.

    Workers that cannot start (no ``fork``/``spawn`` allowed, no memory) leave
    the parsing to this thread, with a warning: slower, never wrong.
    """
    pool = _start(workers) if workers > 0 else None
    if pool is None:
        yield lambda chunks: (parse_chunk(c) for c in chunks)
        return
    try:
        yield lambda chunks: _in_order(pool, chunks, workers * (_AHEAD + 1))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _start(workers: int) -> ProcessPoolExecutor | None:
    try:
        pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=_worker_started)
        pool.submit(int).result()  # spawns now: a failure shows here, not mid-build
    except (OSError, RuntimeError) as err:  # BrokenProcessPool is a RuntimeError
        log.warning("index build in one thread: worker processes failed to start (%s)", err)
        return None
    return pool


def _context() -> multiprocessing.context.BaseContext:
    """Workers forked from a server process that imported the parser once, where there is one.

    The server starts with the first build and stays: later builds start their
    workers in milliseconds, and none runs its own imports (~0.25 s each).
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _worker_started() -> None:
    """A worker lives for one build and parses no cycles: collections would only cost it.

    It also yields the cores to the bot's process whenever that wants one: with
    every core parsing, the event loop's thread waited up to 40 ms for the
    scheduler at 200,000 books.
    """
    gc.disable()
    with contextlib.suppress(OSError, AttributeError):  # no nice() here: the same priority
        os.nice(_NICE)


def _in_order(
    pool: ProcessPoolExecutor, chunks: Iterable[list[Row]], ahead: int
) -> Iterator[ParsedChunk]:
    """Each chunk's output in the order given, at most ``ahead`` chunks submitted at once.

    A worker that stops (killed, out of memory) breaks the pool: its chunk and
    every later one are parsed in this thread instead, so the build still ends.
    """
    pending: deque[tuple[list[Row], Future[ParsedChunk] | None]] = deque()
    rest = iter(chunks)
    broken = False
    while True:
        while len(pending) < ahead and (chunk := next(rest, None)) is not None:
            pending.append((chunk, None if broken else _submit(pool, chunk)))
        if not pending:
            return
        chunk, future = pending.popleft()
        parsed = None if future is None or broken else _result(future)
        if parsed is None:
            broken = True
            parsed = parse_chunk(chunk)
        yield parsed


def _submit(pool: ProcessPoolExecutor, chunk: list[Row]) -> Future[ParsedChunk] | None:
    try:
        return pool.submit(parse_chunk, chunk)
    except BrokenProcessPool:
        return None


def _result(future: Future[ParsedChunk]) -> ParsedChunk | None:
    try:
        return future.result()
    except BrokenProcessPool as err:
        log.warning("a worker process stopped (%s): the index build goes on in this thread", err)
        return None
