"""A build's parsing, a chunk of books at a time, in this thread or in worker processes.

Parsing every title and name is nearly all of a build (~31 us a book: 6 s
at 200,000 books in one process). A chunk's output is bytes and plain
lists, the same whichever process made it, so a build spreads its chunks
over one worker process per core and the writer only copies what comes
back: record for record the file one thread would write.

Workers are new interpreters (~0.07 s to start and import the parser), not
forks of the bot's process: it runs threads (the event loop, the
database's, the executor's), and a fork copies their locks in whatever
state they are. They are plain subprocesses talking marshal over pipes, not
``multiprocessing``: that leaves a server process and a resource tracker
running for the rest of the bot's life (~35 MB), and imports the caller's
main module in each worker. Marshal keeps the keys interned across the pipe,
so the entries and their postings share one string a key.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import logging
import marshal
import os
import queue
import subprocess
import sys
import threading
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

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
#: Seconds a worker has to end once its stdin is closed.
_STOP_WAIT = 5.0
#: How much a worker process defers to the bot's (``os.nice``).
_NICE = 10
#: Books from which a build parses in worker processes. One thread parses 20,000 books in
#: ~0.6 s and lays the index out compactly (it reads its file back); below that, two more
#: processes in a small install are not worth the fraction of a second.
PARALLEL_FROM = 20_000

Row = tuple[str, str, str | None, str | None, str | None, str | None]


class ParsedChunk(NamedTuple):
    """One chunk's records and what the file keeps beside them, ready to write.

    A tuple, so that it crosses a worker's pipe as a plain one (``tuple(chunk)``).
    """

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

    Workers that cannot start leave the parsing to this thread, with a warning:
    slower, never wrong.
    """
    pool = _Workers.start(workers) if workers > 0 else None
    if pool is None:
        yield lambda chunks: (parse_chunk(c) for c in chunks)
        return
    try:
        yield pool.parse
    finally:
        pool.close()


class _Workers:
    """Worker processes, each fed chunks through its stdin and answering on its stdout.

    Chunks go round the workers in turn and come back in the same turn, so the
    answers are read in order. Each worker has a thread writing its chunks:
    a worker blocked on a full stdout while this side blocked on its full
    stdin would wait for each other forever.
    """

    def __init__(self, processes: list[subprocess.Popen[bytes]]) -> None:
        self._processes = processes
        self._inboxes: list[queue.SimpleQueue[bytes | None]] = []
        for process in processes:
            inbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
            threading.Thread(
                target=_feed, args=(process, inbox), name="earmark-index-feed", daemon=True
            ).start()
            self._inboxes.append(inbox)

    @classmethod
    def start(cls, count: int) -> _Workers | None:
        processes: list[subprocess.Popen[bytes]] = []
        try:
            env, pipe = _worker_env(), subprocess.PIPE
            for _ in range(count):
                processes.append(subprocess.Popen(WORKER, stdin=pipe, stdout=pipe, env=env))
        except OSError as err:
            log.warning("index build in one thread: worker processes failed to start (%s)", err)
            for process in processes:
                process.kill()
                process.wait()
            return None
        return cls(processes)

    def parse(self, chunks: Iterable[list[Row]]) -> Iterator[ParsedChunk]:
        """Each chunk's output in the order given, ``_AHEAD`` chunks ahead a worker.

        A worker that stops (killed, out of memory) ends the others' use too:
        its chunk and every later one are parsed in this thread instead.
        """
        count = len(self._processes)
        pending: deque[list[Row]] = deque()
        rest = iter(chunks)
        broken = False
        sent = received = 0
        while True:
            while not broken and sent - received < count * (_AHEAD + 1):
                if (chunk := next(rest, None)) is None:
                    break
                pending.append(chunk)
                self._inboxes[sent % count].put(marshal.dumps(chunk))
                sent += 1
            if not pending:
                break
            chunk = pending.popleft()
            parsed = None if broken else self._answer(received % count)
            received += 1
            if parsed is None:
                broken = True
                parsed = parse_chunk(chunk)
            yield parsed
        for chunk in rest:  # only once broken
            yield parse_chunk(chunk)

    def _answer(self, n: int) -> ParsedChunk | None:
        stdout = self._processes[n].stdout
        assert stdout is not None
        data = _read_frame(stdout)
        if data is None:
            code = self._processes[n].poll()
            log.warning("index worker %d stopped (exit %s): the build goes on in this thread",
                        self._processes[n].pid, code)  # fmt: skip
            return None
        return ParsedChunk._make(marshal.loads(data))

    def close(self) -> None:
        """Let the workers end (their stdin closes), or end them."""
        for inbox in self._inboxes:
            inbox.put(None)
        for process in self._processes:
            try:
                process.wait(timeout=_STOP_WAIT)
            except subprocess.TimeoutExpired:  # still parsing what nobody will read
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _feed(process: subprocess.Popen[bytes], inbox: queue.SimpleQueue[bytes | None]) -> None:
    """Write a worker's chunks to its stdin until told to stop; close it then."""
    stdin = process.stdin
    assert stdin is not None
    with contextlib.suppress(OSError):  # the worker stopped: its reader sees that
        while (data := inbox.get()) is not None:
            _write_frame(stdin, data)
            stdin.flush()
    with contextlib.suppress(OSError):
        stdin.close()


def _worker_env() -> dict[str, str]:
    """This process's environment, with the directory ``core`` is imported from on the path."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": f"{root}{os.pathsep}{path}" if path else root}


def _read_frame(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed frame; None at the end of the stream."""
    head = stream.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "little")
    data = stream.read(size)
    return data if len(data) == size else None


def _write_frame(stream: IO[bytes], data: bytes) -> None:
    stream.write(len(data).to_bytes(8, "little"))
    stream.write(data)


def serve() -> None:
    """A worker's life: parse each chunk read from stdin, answer on stdout, until stdin ends.

    It lives for one build and parses nothing cyclic, so the collector is off
    (a quarter of a one-process parse was collections). It also yields the
    cores to the bot's process whenever that wants one: with every core
    parsing, the event loop's thread waited up to 40 ms for the scheduler at
    200,000 books.
    """
    gc.disable()
    with contextlib.suppress(OSError, AttributeError):  # no nice() here: the same priority
        os.nice(_NICE)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while (data := _read_frame(stdin)) is not None:
        _write_frame(stdout, marshal.dumps(tuple(parse_chunk(marshal.loads(data)))))
        stdout.flush()


#: How a worker is started: this interpreter, importing only the parser.
WORKER = [sys.executable, "-c", f"from {__name__} import serve; serve()"]
