"""The one scan service: full scans and recently-added polls of the Plex library.

Every caller (the CLI, `/admin scan`, the scheduled jobs) goes through
`ScanService.run`, which lets one scan run at a time: a caller asking for the
scan already running (or for a recent poll while a full scan runs) joins it;
a full scan asked for during a recent poll starts once the poll is done.

Safety rules: rows are removed only after a complete, successful full scan;
an error or a short listing deletes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol, overload

from core.library import mirror
from core.matcher import LibraryIndex
from core.models import PlexItem
from core.plex import PlexAudiobook, PlexServer
from core.requests.fulfil import fulfil_open_requests, open_request_count

log = logging.getLogger(__name__)

ScanMode = Literal["full", "recent"]
Phase = Literal["connecting", "files", "books", "removing", "matching", "done"]


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
    ) -> None:
        self._source = source
        # Public: tuned by benchmarks and by tests that want many small pages.
        self.page_size = page_size
        self.folder_page_size = folder_page_size
        self.recent_page_size = recent_page_size
        self._folder_concurrency = folder_concurrency
        self._current: _Run | None = None
        self._index: LibraryIndex | None = None
        self._building: asyncio.Task[LibraryIndex] | None = None
        self._generation = 0  # bumped whenever the table changes under a build

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
        generation = self._generation
        started = time.perf_counter()
        items = await mirror.all_library_items()
        # ~3 s of CPU at 50,000 books: built off the event loop.
        index = await asyncio.to_thread(LibraryIndex, items)
        if generation == self._generation:  # the table did not change meanwhile
            self._index = index
        log.info("library index built: %d items in %.2fs", len(index),
                 time.perf_counter() - started)
        return index

    def invalidate_index(self) -> None:
        """Forget the index (e.g. after another process changed the table)."""
        self._index = None
        self._generation += 1

    async def close(self) -> None:
        """Stop an index build in progress (the process is shutting down)."""
        if self._building is not None and not self._building.done():
            self._building.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._building

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

    async def _full(self, run: _Run) -> ScanSummary:
        summary = ScanSummary(mode="full")
        await self._emit(run, "connecting", 0, None)
        server, library_id = await self._source.connect()
        known = await mirror.load_known()

        folders: dict[str, str] = {}
        async for fpage in server.iter_folders(library_id, page_size=self.folder_page_size):
            folders.update(fpage.folders)
            await self._emit(run, "files", fpage.start + len(fpage.folders), fpage.total)

        seen: set[str] = set()
        last_total: int | None = None
        async for page in server.iter_albums(library_id, page_size=self.page_size):
            last_total = page.total if page.total is not None else last_total
            creates: list[PlexItem] = []
            updates: list[PlexItem] = []
            for book in page.items:
                if book.guid in seen:  # the listing shifted under us; count each book once
                    continue
                seen.add(book.guid)
                self._classify(
                    book, library_id, folders.get(book.rating_key), known, creates, updates,
                    summary, full=True,
                )
            await mirror.write_batch(creates, updates)
            summary.total = len(seen)
            await self._emit(run, "books", page.start + len(page.items), last_total)

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
            gone = known.keys() - seen
            if gone:
                await self._emit(run, "removing", 0, len(gone))
                summary.removed = await mirror.delete_guids(gone)
            await mirror.stamp_seen(datetime.now(UTC))
        else:
            log.warning("full scan incomplete: %s", summary.note)

        # Always: another process (`python -m bot scan`) may have changed the table
        # without this one noticing. A rebuild is a few seconds in a thread, per full scan.
        self.invalidate_index()
        await self._match(run, summary)
        return summary

    async def _recent(self, run: _Run) -> ScanSummary:
        summary = ScanSummary(mode="recent")
        await self._emit(run, "connecting", 0, None)
        server, library_id = await self._source.connect()
        creates: list[PlexItem] = []
        updates: list[PlexItem] = []
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
                    if self._classify(
                        book, library_id, None, known, creates, updates, summary, full=False
                    ):
                        reached_known = True
                        break
                summary.total = len(seen)
                await self._emit(run, "books", summary.total, None)
                if reached_known:
                    break
        finally:
            await pages.aclose()

        await self._fill_folders(server, [*creates, *updates])
        await mirror.write_batch(creates, updates)
        if creates or updates:
            await self._apply_to_index([*creates, *updates])
        await self._match(run, summary)
        return summary

    def _classify(
        self,
        book: PlexAudiobook,
        library_id: str,
        folder: str | None,
        known: dict[str, mirror.Known],
        creates: list[PlexItem],
        updates: list[PlexItem],
        summary: ScanSummary,
        *,
        full: bool,
    ) -> bool:
        """Queue the write this book needs; True when it is known and unchanged."""
        values = mirror.row_values(book, library_id)
        digest = mirror.content_hash(values)
        row = known.get(book.guid)
        if row is None:
            creates.append(
                PlexItem(plex_guid=book.guid, file_path=folder, content_hash=digest, **values)
            )
            summary.new += 1
            return False
        path = folder if full else row.file_path
        if row.content_hash == digest and row.file_path == path:
            summary.unchanged += 1
            return True
        item = PlexItem(
            id=row.id, plex_guid=book.guid, file_path=path, content_hash=digest, **values
        )
        updates.append(item)
        summary.updated += 1
        return False

    async def _fill_folders(self, server: PlexServer, items: list[PlexItem]) -> None:
        """File paths of a poll's new items: one small request each, a few at a time."""
        missing = [item for item in items if item.file_path is None]
        if not missing:
            return
        gate = asyncio.Semaphore(self._folder_concurrency)

        async def fill(item: PlexItem) -> None:
            async with gate:
                item.file_path = await server.album_folder(item.rating_key)

        await asyncio.gather(*(fill(item) for item in missing))

    async def _apply_to_index(self, items: list[PlexItem]) -> None:
        if self._index is None:
            self._generation += 1  # a build in progress may have read the table before
            return
        for item in items:
            self._index.remove(item.rating_key)
            self._index.add(mirror.library_item(item))

    async def _match(self, run: _Run, summary: ScanSummary) -> None:
        if not await open_request_count():
            return
        await self._emit(run, "matching", 0, None)
        index = await self.library_index()
        summary.matched_request_ids = await fulfil_open_requests(index)
        summary.matched_requests = len(summary.matched_request_ids)


def _log_build_failure(task: asyncio.Task[LibraryIndex]) -> None:
    """A background build nobody waited for must still report its failure."""
    if not task.cancelled() and task.exception() is not None:
        log.error("building the library index failed", exc_info=task.exception())
