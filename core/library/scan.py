"""The one scan service: full scans and recently-added polls of the Plex library.

Every caller (the CLI, `/admin scan`, the scheduled jobs) goes through
`ScanService.run`, which lets one scan run at a time: a caller asking for the
scan already running (or for a recent poll while a full scan runs) joins it;
a full scan asked for during a recent poll starts once the poll is done.

Safety rules: rows are removed only after a complete, successful full scan;
an error or a short listing deletes nothing.

A full scan pays for what changed (issue 9). It reads the album listing and
writes only new or changed rows; file paths are fetched only for those books:
one `/children` request each (a few at a time) when they are few, the paged
track listing when they are many (a first scan). Files that moved while Plex
reports the album unchanged are found by a rotating refresh: each full scan
reads one of `path_windows` windows of the track listing (the rotation is kept
in the configuration table), so every path is checked within that many full
scans (8 by default: two days at the default six-hour schedule); a folder that
differs there is confirmed by the album's own `/children` before it is written.
The matcher's index is kept across scans and patched with what changed; it is
rebuilt only when the table changed behind this process's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol, overload

from core.db import sqlite_path
from core.library import mirror, off_loop
from core.matcher import LibraryIndex, packed
from core.matcher.chunks import workers_for
from core.plex import PlexAudiobook, PlexServer
from core.requests.fulfil import fulfil_open_requests, open_request_count

log = logging.getLogger(__name__)

ScanMode = Literal["full", "recent"]
Phase = Literal["connecting", "files", "books", "removing", "matching", "done"]

#: Windows of the track listing a full scan rotates through to re-check unchanged albums' paths.
PATH_WINDOWS = 8
#: Books needing a path above which the track listing beats one `/children` request each:
#: this share of the library, and never fewer than PATH_FETCH_MIN (measured: bench/scan_bench).
PATH_FETCH_SHARE = 0.05
PATH_FETCH_MIN = 200


#: Chunks of rows read ahead of an index build (each ~2,500 rows).
_FEED_AHEAD = 2


class PlexSource(Protocol):
    """Gives the scan a connected server client and the audiobook library's section key."""

    async def connect(self) -> tuple[PlexServer, str]: ...


@dataclass(frozen=True, slots=True)
class ScanProgress:
    mode: ScanMode
    phase: Phase
    done: int
    total: int | None


ProgressCallback = Callable[[ScanProgress], Awaitable[None] | None]


@dataclass(slots=True)
class ScanSummary:
    """The seed's summary, plus what a reader needs to trust it."""

    mode: ScanMode
    total: int = 0  # items seen in Plex by this scan
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    matched_requests: int = 0
    matched_request_ids: list[int] = field(default_factory=list)
    complete: bool = True
    seconds: float = 0.0
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "total": self.total,
            "new": self.new,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "removed": self.removed,
            "matched_requests": self.matched_requests,
            "complete": self.complete,
            "seconds": round(self.seconds, 3),
            "note": self.note,
        }


@dataclass(slots=True)
class _Run:
    mode: ScanMode
    listeners: list[ProgressCallback] = field(default_factory=list)
    task: asyncio.Task[ScanSummary] | None = None


class ScanService:
    """Runs scans one at a time and keeps the matcher's library index up to date."""

    def __init__(
        self,
        source: PlexSource,
        *,
        page_size: int = 500,
        folder_page_size: int = 2000,
        recent_page_size: int = 50,
        folder_concurrency: int = 8,
        path_windows: int = PATH_WINDOWS,
        path_fetch_share: float = PATH_FETCH_SHARE,
        path_fetch_min: int = PATH_FETCH_MIN,
        index_file: Path | None = None,
    ) -> None:
        self._source = source
        self._index_file = index_file  # the saved index (core.matcher.packed); None: never saved
        # Public: tuned by benchmarks and by tests that want many small pages.
        self.page_size = page_size
        self.folder_page_size = folder_page_size
        self.recent_page_size = recent_page_size
        self._folder_concurrency = folder_concurrency
        self.path_windows = path_windows
        self.path_fetch_share = path_fetch_share
        self.path_fetch_min = path_fetch_min
        # The autocomplete orders made with the index (the bot's /library wants them at once);
        # a one-off `match` clears it: a search would make them on first use.
        self.search_ready = True
        self._current: _Run | None = None
        self._index: LibraryIndex | None = None
        self._index_print = 0  # fingerprint of the table the index reflects (mirror.print_of)
        self._building: asyncio.Task[LibraryIndex] | None = None
        self._generation = 0  # bumped whenever the table changes under a build
        self._saving: asyncio.Task[None] | None = None
        self._save_again = False

    # ----- public -------------------------------------------------------------------------

    @property
    def running(self) -> ScanMode | None:
        return self._current.mode if self._current else None

    def covering(self, mode: ScanMode) -> ScanMode | None:
        """The running scan that a caller asking for `mode` would join, if any.

        The one rule for every caller: a scan of the same mode covers it, and a
        full scan covers a recently-added poll. A poll running when a full scan
        is asked for does not cover it (the full scan waits, then runs).
        """
        running = self.running
        if running is not None and (running == mode or running == "full"):
            return running
        return None

    async def run(self, mode: ScanMode, progress: ProgressCallback | None = None) -> ScanSummary:
        """Run (or join) a scan. The scan goes on even if this caller is cancelled."""
        while (current := self._current) is not None and current.task is not None:
            if self.covering(mode) is not None:
                if progress:
                    current.listeners.append(progress)
                return await asyncio.shield(current.task)
            await asyncio.wait([current.task])  # a recent poll is running: full waits for it
        run = _Run(mode, [progress] if progress else [])
        run.task = asyncio.create_task(self._execute(run), name=f"earmark-scan-{mode}")
        self._current = run
        return await asyncio.shield(run.task)

    async def wait_idle(self) -> None:
        """Return once no scan is running (its outcome is the scan callers' business)."""
        while (current := self._current) is not None and current.task is not None:
            await asyncio.wait([current.task])

    @overload
    async def library_index(self) -> LibraryIndex: ...

    @overload
    async def library_index(self, *, wait: float) -> LibraryIndex | None: ...

    async def library_index(self, *, wait: float | None = None) -> LibraryIndex | None:
        """The matcher's index of the whole table, built once and kept current by scans.

        Building takes seconds on a big library (in a worker thread). Callers
        with a deadline (autocomplete) pass `wait`: they get None when the
        index is not ready by then, and the build goes on for the next caller.
        """
        if self._index is not None:
            return self._index
        if self._building is None or self._building.done():
            self._building = asyncio.create_task(self._build_index(), name="earmark-index")
            self._building.add_done_callback(_log_build_failure)
        if wait is None:
            return await asyncio.shield(self._building)
        try:
            return await asyncio.wait_for(asyncio.shield(self._building), wait)
        except TimeoutError:
            return None

    async def _build_index(self) -> LibraryIndex:
        """Load the saved index when it is the table's, else build one (and save it)."""
        generation = self._generation
        started = time.perf_counter()
        index: LibraryIndex | None = None
        how = "loaded"
        if self._index_file is not None and self._index_file.exists():  # else: nothing to check
            fingerprint = await mirror.table_fingerprint()
            index = await off_loop.run(
                packed.load, self._index_file, fingerprint, search=self.search_ready
            )
        if index is None:
            how = "built"
            # Seconds of CPU on a big library: built off the event loop, a chunk at a time,
            # written to the index file as it goes (then it answers from there).
            index, fingerprint = await self._build_saved()
            if index is None:  # no file to write to: the index holds every record itself
                items, fingerprint = await mirror.all_library_items()
                index = await off_loop.run(packed.build, items, search=self.search_ready)
                how = "built in memory"
        if generation == self._generation:  # the table did not change meanwhile
            self._index = index
            self._index_print = fingerprint
        log.info("library index %s: %d items in %.2fs", how, len(index),
                 time.perf_counter() - started)
        return index

    async def _build_saved(self) -> tuple[LibraryIndex | None, int]:
        """The index built into its file, and the table's fingerprint.

        The rows go to the builder a chunk at a time, never many ahead of it:
        the whole table as objects was ~20 MB at 50,000 books that a built
        index kept in the process after freeing them. None without a file or
        when it cannot be written.
        """
        if self._index_file is None:
            return None, 0
        workers = workers_for(await mirror.row_count())
        loop = asyncio.get_running_loop()
        room = asyncio.Semaphore(_FEED_AHEAD)  # a chunk taken by the builder frees a place
        feed = packed.Feed(taken=lambda: loop.call_soon_threadsafe(room.release))
        building = asyncio.ensure_future(
            off_loop.run(
                packed.build_saved,
                feed,
                self._index_file,
                feed.fingerprint,
                search=self.search_ready,
                workers=workers,
            )
        )
        building.add_done_callback(lambda _: room.release())  # never wait for a builder gone
        fingerprint = 0
        try:
            async for chunk, share in mirror.library_item_chunks():
                fingerprint ^= share
                await room.acquire()
                if building.done():
                    break
                feed.put(chunk)
        except BaseException:
            feed.abort()
            building.add_done_callback(_log_build_failure)
            raise
        feed.close(fingerprint)
        try:
            return await building, fingerprint
        except OSError as err:
            log.warning("could not write the library index to %s: %s", self._index_file, err)
            return None, fingerprint

    def _save_index(self) -> None:
        """Save the kept index in the background (one save at a time, the latest state wins)."""
        if self._index_file is None or self._index is None:
            return
        if self._saving is not None and not self._saving.done():
            self._save_again = True
            return
        self._saving = asyncio.create_task(self._save_loop(), name="earmark-index-save")

    async def _save_loop(self) -> None:
        assert self._index_file is not None
        while True:
            self._save_again = False
            index = self._index
            if index is None:
                return
            try:
                saved = await off_loop.run(
                    packed.save, index, self._index_file, self._index_print, index.changes
                )
            except OSError as err:
                log.warning("could not save the library index to %s: %s", self._index_file, err)
                return
            if saved and not self._save_again:
                return
            self._save_again = False
            await asyncio.sleep(0)  # it changed while being written: write the new state

    def invalidate_index(self) -> None:
        """Forget the index (e.g. after another process changed the table)."""
        self._index = None
        self._generation += 1

    async def close(self) -> None:
        """Stop an index build in progress, let a save finish (the process is shutting down)."""
        if self._building is not None and not self._building.done():
            self._building.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._building
        if self._saving is not None:
            with contextlib.suppress(Exception):
                await self._saving

    # ----- internals ----------------------------------------------------------------------

    async def _execute(self, run: _Run) -> ScanSummary:
        started = time.perf_counter()
        try:
            if run.mode == "full":
                summary = await self._full(run)
            else:
                summary = await self._recent(run)
            summary.seconds = time.perf_counter() - started
            await self._emit(run, "done", summary.total, summary.total)
            log.info("%s scan finished: %s", run.mode, summary.as_dict())
            return summary
        except Exception:
            log.warning("%s scan failed after %.1fs", run.mode, time.perf_counter() - started)
            raise
        finally:
            if self._current is run:
                self._current = None

    async def _emit(self, run: _Run, phase: Phase, done: int, total: int | None) -> None:
        event = ScanProgress(run.mode, phase, done, total)
        for listener in list(run.listeners):
            try:
                outcome = listener(event)
                if outcome is not None:
                    await outcome
            except Exception:  # a broken progress display must not break the scan
                log.exception("progress callback failed")

    def _path_fetch_limit(self, books: int) -> int:
        """Most books whose paths are fetched one `/children` request each."""
        return max(self.path_fetch_min, int(books * self.path_fetch_share))

    async def _full(self, run: _Run) -> ScanSummary:
        summary = ScanSummary(mode="full")
        await self._emit(run, "connecting", 0, None)
        server, library_id = await self._source.connect()
        known = await mirror.load_known()
        table_print = await mirror.fingerprint(known)

        # Many books without a path (a first scan): the whole track listing, up front.
        # (Read while the album listing is read, it saved nothing: both are CPU work
        # here, and setting the paths afterwards cost a pass of updates.)
        folders: dict[str, str] | None = None
        expected = await server.album_count(library_id)
        if expected is None or expected - len(known) > self._path_fetch_limit(expected):
            folders = await self._all_folders(run, server, library_id)
        seen, last_total, changes, pathless = await self._read_albums(
            run, server, library_id, known, summary, folders
        )
        if folders is None:
            await self._refresh_paths(run, server, library_id, known, seen, pathless, summary)

        removed: list[tuple[str, mirror.Known]] = []
        if last_total is not None and len(seen) < last_total:
            summary.complete = False
            summary.note = (
                f"Plex listed {len(seen)} of {last_total} books; nothing was removed. "
                "The library probably changed during the scan: run it again."
            )
        elif not seen and known:
            summary.complete = False
            summary.note = (
                f"Plex returned no books but the mirror holds {len(known)}; nothing was removed. "
                "Check the library setting."
            )
        if summary.complete:
            gone = await mirror.missing(known, seen)
            if gone:
                await self._emit(run, "removing", 0, len(gone))
                summary.removed = await mirror.delete_guids(gone)
                removed = [(guid, known[guid]) for guid in gone]
            await mirror.mark_full_scan(datetime.now(UTC))
        else:
            log.warning("full scan incomplete: %s", summary.note)

        # The index is kept when it reflects the table this scan started from; another
        # process (`python -m bot scan`) may have changed the table: then rebuild it.
        if self._index is not None and self._index_print == table_print:
            self._patch_index(changes, removed)
            if changes or removed:
                self._save_index()
        else:
            self.invalidate_index()
        await self._match(run, summary)
        return summary

    async def _read_albums(
        self,
        run: _Run,
        server: PlexServer,
        library_id: str,
        known: dict[str, mirror.Known],
        summary: ScanSummary,
        folders: dict[str, str] | None,
    ) -> tuple[set[str], int | None, list[mirror.Change], dict[str, str]]:
        """Read the album listing and write what changed.

        ``folders``: the whole track listing, when it was read (every book's path is
        then written with it). Returns the guids seen, Plex's last total, the changes
        the index must learn, and rating key -> guid of the books written without a
        new path (when ``folders`` is None).
        """
        writer = mirror.Writer()
        changes: list[mirror.Change] = []
        pathless: dict[str, str] = {}
        seen: set[str] = set()
        # `seen` grows to one guid a book, and every full collection walked it: ~8 ms at
        # 200,000 books, several times a scan, each a stall for the event loop. Moved out
        # of the collector's way now, it is never walked (and freed as usual after).
        gc.freeze()
        last_total: int | None = None
        async for page in server.iter_albums(library_id, page_size=self.page_size):
            last_total = page.total if page.total is not None else last_total
            for book in page.items:
                if book.guid in seen:  # the listing shifted under us; count each book once
                    continue
                seen.add(book.guid)
                folder = None if folders is None else folders.get(book.rating_key)
                change = self._classify(book, library_id, folder, known, summary,
                                        full=folders is not None)
                if change is None:
                    continue
                writer.add(change)
                if change.old_hash != change.content_hash:
                    changes.append(change)
                if folders is None:  # new or changed: its path is fetched after
                    pathless[change.rating_key] = change.guid
            if writer.full:
                await writer.flush()
            summary.total = len(seen)
            await self._emit(run, "books", page.start + len(page.items), last_total)
        await writer.flush()
        return seen, last_total, changes, pathless

    async def _all_folders(
        self, run: _Run, server: PlexServer, library_id: str
    ) -> dict[str, str]:
        folders: dict[str, str] = {}
        async for fpage in server.iter_folders(library_id, page_size=self.folder_page_size):
            folders.update(fpage.folders)
            await self._emit(run, "files", fpage.start + fpage.tracks, fpage.total)
        return folders

    async def _refresh_paths(
        self,
        run: _Run,
        server: PlexServer,
        library_id: str,
        known: dict[str, mirror.Known],
        seen: set[str],
        pathless: dict[str, str],
        summary: ScanSummary,
    ) -> None:
        """Paths for the books written without one, and one window of the rest re-checked."""
        by_key = await mirror.keys_to_guids(known, seen)
        writer = mirror.Writer()
        found: dict[str, str | None] = {}
        if len(pathless) > self._path_fetch_limit(len(seen)):
            found.update(await self._all_folders(run, server, library_id))  # every path, too
        else:
            wanted = set(pathless)
            for key, seen_folder in (await self._window_folders(server, library_id)).items():
                owner = by_key.get(key)
                if owner is not None and known[owner].file_path != seen_folder:
                    wanted.add(key)  # moved, or an edge album seen in part: ask the album
            found = await self._album_folders(server, wanted)
        for key, folder in found.items():
            guid = pathless.get(key)
            if guid is not None:
                if folder is not None:
                    writer.set_path(guid, folder)
                continue
            guid = by_key.get(key)
            if guid is not None and folder is not None and known[guid].file_path != folder:
                writer.set_path(guid, folder)
                summary.updated += 1
                summary.unchanged -= 1
            if writer.full:
                await writer.flush()
        await writer.flush()

    async def _window_folders(self, server: PlexServer, library_id: str) -> dict[str, str]:
        """Folders of one window of the track listing (the rotating path refresh)."""
        window = await mirror.next_path_window(self.path_windows)
        tracks = await server.track_count(library_id)
        if not tracks:
            return {}
        size = -(-tracks // self.path_windows)
        folders: dict[str, str] = {}
        pages = server.iter_folders(
            library_id, page_size=self.folder_page_size, start=window * size, limit=size
        )
        async for fpage in pages:
            folders.update(fpage.folders)
        return folders

    async def _album_folders(
        self, server: PlexServer, keys: Iterable[str]
    ) -> dict[str, str | None]:
        """One `/children` request per album, a few at a time."""
        gate = asyncio.Semaphore(self._folder_concurrency)
        found: dict[str, str | None] = {}

        async def fetch(key: str) -> None:
            async with gate:
                found[key] = await server.album_folder(key)

        await asyncio.gather(*(fetch(key) for key in keys))
        return found

    async def _recent(self, run: _Run) -> ScanSummary:
        summary = ScanSummary(mode="recent")
        await self._emit(run, "connecting", 0, None)
        server, library_id = await self._source.connect()
        changes: list[mirror.Change] = []
        seen: set[str] = set()
        pages = server.recently_added(library_id, page_size=self.recent_page_size)
        try:
            async for page in pages:
                known = await mirror.load_known(b.guid for b in page.items)
                reached_known = False
                for book in page.items:
                    if book.guid in seen:
                        continue
                    seen.add(book.guid)
                    change = self._classify(book, library_id, None, known, summary, full=False)
                    if change is None:
                        reached_known = True
                        break
                    changes.append(change)
                summary.total = len(seen)
                await self._emit(run, "books", summary.total, None)
                if reached_known:
                    break
        finally:
            await pages.aclose()

        missing = [c for c in changes if c.file_path is None]
        found = await self._album_folders(server, {c.rating_key for c in missing})
        for change in missing:
            change.file_path = found.get(change.rating_key)
        writer = mirror.Writer()
        for change in changes:
            writer.add(change)
        await writer.flush()
        if changes:
            if self._index is None:
                self._generation += 1  # a build in progress may have read the table before
            else:
                self._patch_index(changes)
                self._save_index()
        await self._match(run, summary)
        return summary

    def _classify(
        self,
        book: PlexAudiobook,
        library_id: str,
        folder: str | None,
        known: dict[str, mirror.Known],
        summary: ScanSummary,
        *,
        full: bool,
    ) -> mirror.Change | None:
        """The write this book needs; None when it is known and unchanged.

        With ``full`` the given folder is the book's path (the whole track listing
        was read); otherwise the row keeps its path.
        """
        row = known.get(book.guid)
        if row is None:
            values = mirror.row_values(book, library_id)
            summary.new += 1
            return mirror.Change(book.guid, values, mirror.content_hash(values), folder)
        path = folder if full else row.file_path
        # The title is in the hash: when the values hash equal with the stored series,
        # the series read from that title are the stored ones. Most of an unchanged
        # scan's time was parsing every title again to find that out.
        values = mirror.row_values(book, library_id, row.series)
        digest = mirror.content_hash(values)
        if digest != row.content_hash:
            values = mirror.row_values(book, library_id)
            digest = mirror.content_hash(values)
        if row.content_hash == digest and row.file_path == path:
            summary.unchanged += 1
            return None
        summary.updated += 1
        return mirror.Change(
            book.guid, values, digest, path, row.id, row.content_hash, row.rating_key
        )

    def _patch_index(
        self,
        changes: list[mirror.Change],
        removed: Iterable[tuple[str, mirror.Known]] = (),
    ) -> None:
        """Teach the kept index what a scan wrote, and track the table's fingerprint."""
        index = self._index
        if index is None:
            return
        for guid, row in removed:
            index.remove(row.rating_key)
            self._index_print ^= mirror.print_of(guid, row.content_hash)
        for change in changes:
            if change.old_hash == change.content_hash:
                continue  # only the path changed: the index does not hold paths
            if change.old_hash is not None:
                self._index_print ^= mirror.print_of(change.guid, change.old_hash)
            if change.old_rating_key is not None:
                index.remove(change.old_rating_key)
            self._index_print ^= mirror.print_of(change.guid, change.content_hash)
            index.remove(change.rating_key)
            index.add(mirror.library_item(change))

    async def _match(self, run: _Run, summary: ScanSummary) -> None:
        if not await open_request_count():
            return
        await self._emit(run, "matching", 0, None)
        index = await self.library_index()
        summary.matched_request_ids = await fulfil_open_requests(index)
        summary.matched_requests = len(summary.matched_request_ids)


def saved_index_file(database_url: str) -> Path | None:
    """Where the matcher's index is saved: beside a SQLite database ("earmark.db.index").

    None for PostgreSQL: the index is then built at every start.
    """
    db = sqlite_path(database_url)
    return None if db is None else db.with_name(f"{db.name}.index")


def _log_build_failure(task: asyncio.Task[LibraryIndex]) -> None:
    """A background build nobody waited for must still report its failure."""
    if not task.cancelled() and task.exception() is not None:
        log.error("building the library index failed", exc_info=task.exception())
