"""The scan service over real sockets: full scans, recently-added polls, safety, matching."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from core.library import ScanProgress, ScanService, mirror, query
from core.models import BookRequest, Notification, PlexItem, RequestStatus, RequestSubscriber, User
from core.plex import (
    AlbumPage,
    FolderPage,
    PlexAudiobook,
    PlexBadResponse,
    PlexServer,
    PlexUnauthorized,
    PlexUnavailable,
)
from core.plex.parse import title_series
from tests.fakes.plex import FakePlex
from tests.fakes.retry import QUICK_RETRY
from tests.scan_helpers import FakeSource, seed_books

pytestmark = pytest.mark.usefixtures("db")


def service(pms: FakePlex, session: aiohttp.ClientSession, **kw: Any) -> ScanService:
    kw.setdefault("page_size", 3)
    kw.setdefault("folder_page_size", 4)
    kw.setdefault("recent_page_size", 2)
    return ScanService(FakeSource(pms, session, pms.token), **kw)


async def scanned(
    pms: FakePlex, session: aiohttp.ClientSession, books: int, seed: int, **kw: Any
) -> ScanService:
    """A synthetic library of ``books`` and a service that has run its first full scan."""
    pms.make_synthetic(books, seed=seed)
    scans = service(pms, session, **kw)
    await scans.run("full")
    return scans


async def test_full_scan_mirrors_every_book_with_asin_narrator_and_folder(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    summary = await service(pms, session).run("full")
    assert (summary.total, summary.new, summary.updated, summary.removed) == (5, 5, 0, 0)
    assert summary.complete
    phm = await PlexItem.get(title="Project Hail Mary")
    assert phm.asin == "B08G9PRS1K"
    assert phm.author == "Andy Weir"
    assert phm.narrator == "Ray Porter"
    assert phm.file_path == "/books/Andy Weir/Project Hail Mary"
    assert await query.last_full_scan() is not None  # the scheduler's clock, one row
    assert (await PlexItem.get(title="The Hobbit")).asin == "B0099SNJ7K"
    assert (await PlexItem.get(title="Foundation")).asin is None
    # paged: several album pages and folder pages were requested, with the token in a header
    listing = [r for r in pms.requests if r.path.endswith("/all")]
    assert len(listing) >= 4


async def test_second_scan_of_unchanged_library_writes_nothing(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    """Not a row is rewritten: the scan records when it ended in one configuration row
    (it stamped `last_seen` on every book before)."""
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    first = await query.last_full_scan()
    before = await PlexItem.all().order_by("id").values_list("id", "last_seen", "content_hash")
    summary = await scans.run("full")
    assert (summary.new, summary.updated, summary.unchanged, summary.removed) == (0, 0, 5, 0)
    after = await PlexItem.all().order_by("id").values_list("id", "last_seen", "content_hash")
    assert after == before
    later = await query.last_full_scan()
    assert first is not None and later is not None and later >= first


async def test_an_unchanged_scan_reads_no_title_and_a_retitled_book_gets_its_series(
    pms: FakePlex, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Series come from titles: an unchanged album is recognised by its hash with the stored
    series, without parsing its title (issue 9); a new title still sets the series."""
    seed_books(pms)
    pms.add_album("Leviathan Wakes (The Expanse, Book 1)", "James S. A. Corey", added_at=1005)
    scans = service(pms, session)
    await scans.run("full")
    parsed: list[str] = []

    def counted(title: str) -> tuple[str | None, str | None]:
        parsed.append(title)
        return title_series(title)

    monkeypatch.setattr(mirror, "title_series", counted)
    summary = await scans.run("full")
    assert (summary.updated, summary.unchanged) == (0, 6)
    assert parsed == []
    book = next(a for a in pms.albums.values() if a.title.startswith("Leviathan"))
    pms.update_album(book.rating_key, title="Caliban's War (The Expanse, Book 2)")
    summary = await scans.run("full")
    assert (summary.updated, summary.unchanged) == (1, 5)
    assert parsed == ["Caliban's War (The Expanse, Book 2)"]
    row = await PlexItem.get(rating_key=book.rating_key)
    assert (row.series, row.series_index) == ("The Expanse", "2")


async def test_the_last_full_scan_of_an_earlier_release_is_its_newest_stamp() -> None:
    """A database last scanned by a release that stamped rows has no configuration row."""
    when = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    await PlexItem.create(
        plex_guid="g1", rating_key="1", title="T", library_id="1", content_hash="h",
        last_seen=when,
    )  # fmt: skip
    assert await query.last_full_scan() == when
    await mirror.mark_full_scan(datetime(2026, 12, 1, tzinfo=UTC))
    assert await query.last_full_scan() == datetime(2026, 12, 1, tzinfo=UTC)


async def test_updated_and_removed_books(pms: FakePlex, session: aiohttp.ClientSession) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    dune = next(a for a in pms.albums.values() if a.title == "Dune")
    pms.update_album(dune.rating_key, title="Dune (Unabridged)")
    gone = next(a for a in pms.albums.values() if a.title == "Mistborn")
    pms.remove_album(gone.rating_key)
    summary = await scans.run("full")
    assert (summary.total, summary.new, summary.updated, summary.removed) == (4, 0, 1, 1)
    assert await PlexItem.filter(title="Dune (Unabridged)").exists()
    assert not await PlexItem.filter(title="Mistborn").exists()


async def test_moved_files_of_an_unchanged_album_are_found_within_path_windows_scans(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    """Plex reports the album unchanged; one window of the track listing per full scan."""
    scans = await scanned(pms, session, 30, 11, page_size=10, folder_page_size=5, path_windows=3)
    moved = list(pms.albums.values())[17]
    moved.folder = "/moved/elsewhere"  # no updatedAt bump: the album listing looks the same
    found_after = None
    for scan in range(1, 4):
        summary = await scans.run("full")
        row = await PlexItem.get(rating_key=moved.rating_key)
        if row.file_path == "/moved/elsewhere":
            found_after = scan
            assert summary.updated == 1 and summary.unchanged == 29
            break
        assert summary.updated == 0
    assert found_after is not None  # within path_windows full scans


async def test_unchanged_rescan_reads_one_window_of_tracks_and_no_album_children(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    pms.make_synthetic(60, seed=12)
    for album in pms.albums.values():
        album.discs = 1  # one folder per album: a window edge needs no confirmation
    scans = service(pms, session, page_size=20, folder_page_size=10, path_windows=4)
    await scans.run("full")
    tracks = sum(a.track_count for a in pms.albums.values())
    pms.requests.clear()
    summary = await scans.run("full")
    assert (summary.new, summary.updated, summary.unchanged) == (0, 0, 60)
    read = sum(r.size or 0 for r in pms.requests if r.query.get("type") == "10")
    assert 0 < read <= -(-tracks // 4)  # one window of the track listing
    assert not [r for r in pms.requests if r.path.endswith("/children")]


async def test_few_changed_books_get_paths_one_request_each(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session, path_windows=1_000)  # windows too small to matter
    await scans.run("full")
    dune = next(a for a in pms.albums.values() if a.title == "Dune")
    pms.update_album(dune.rating_key, title="Dune (Unabridged)", folder="/books/Dune 2")
    pms.add_album("Brand New", "Someone", folder="/books/Someone/Brand New", tracks=2)
    pms.requests.clear()
    summary = await scans.run("full")
    assert (summary.new, summary.updated, summary.unchanged) == (1, 1, 4)
    children = sorted(r.path for r in pms.requests if r.path.endswith("/children"))
    assert len(children) == 2
    assert (await PlexItem.get(title="Dune (Unabridged)")).file_path == "/books/Dune 2"
    assert (await PlexItem.get(title="Brand New")).file_path == "/books/Someone/Brand New"


async def test_many_changed_books_read_the_track_listing_instead(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    scans = await scanned(
        pms, session, 40, 13, page_size=10, folder_page_size=50, path_fetch_share=0.1,
        path_fetch_min=2,
    )
    for album in list(pms.albums.values())[:10]:  # a quarter of the library changed
        pms.update_album(album.rating_key, summary="new blurb", folder=album.folder + " (new)")
    pms.requests.clear()
    summary = await scans.run("full")
    assert (summary.updated, summary.unchanged) == (10, 30)
    assert not [r for r in pms.requests if r.path.endswith("/children")]
    rows = {row.rating_key: row.file_path for row in await PlexItem.all()}
    assert all(rows[a.rating_key] == a.folder for a in pms.albums.values())


async def test_the_index_is_kept_and_patched_by_full_scans(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    index = await scans.library_index()
    await scans.run("full")  # nothing changed
    assert await scans.library_index(wait=0) is index
    dune = next(a for a in pms.albums.values() if a.title == "Dune")
    pms.update_album(dune.rating_key, title="Children of Dune")
    gone = next(a for a in pms.albums.values() if a.title == "Mistborn")
    pms.remove_album(gone.rating_key)
    pms.add_album("The Left Hand of Darkness", "Ursula K. Le Guin")
    summary = await scans.run("full")
    assert (summary.new, summary.updated, summary.removed) == (1, 1, 1)
    assert await scans.library_index(wait=0) is index  # patched, not rebuilt
    titles = sorted(item.title for item, _ in index.search("dune"))
    assert titles == ["Children of Dune"]
    assert index.search("mistborn") == []
    assert [item.title for item, _ in index.search("left hand of darkness")][:1] == [
        "The Left Hand of Darkness"
    ]
    assert len(index) == 5


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("status", PlexUnavailable),
        ("malformed", PlexBadResponse),
        ("drop", PlexUnavailable),
        ("timeout", PlexUnavailable),
    ],
)
async def test_failed_scan_deletes_nothing(
    pms: FakePlex, session: aiohttp.ClientSession, fault: str, error: type[Exception]
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    # a book disappears, and the next scan fails on its second album page
    pms.remove_album(next(iter(pms.albums)))
    if fault == "status":
        pms.fail_at_start = {3: 500}
    elif fault == "malformed":
        pms.malformed_at_start = {3}
    elif fault == "drop":
        pms.drop_at_start = {3}
    else:  # a server slower than the client's timeout
        scans = ScanService(FakeSource(pms, session, pms.token, timeout=0.2), page_size=3)
        pms.delay = 0.5
    with pytest.raises(error):
        await scans.run("full")
    assert await PlexItem.all().count() == 5  # nothing removed


async def test_one_transient_500_on_page_7_of_50_does_not_fail_the_scan(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    pms.make_synthetic(500, seed=5)
    scans = service(pms, session, page_size=10, folder_page_size=10_000)
    fault = pms.fail_page(60, 500, listing="9")  # page 7 of the 50 album pages
    summary = await scans.run("full")
    assert fault.served == 1
    assert summary.complete and (summary.total, summary.new) == (500, 500)
    assert await PlexItem.all().count() == 500
    albums = [r for r in pms.requests if r.query.get("type") == "9" and r.size]
    assert len(albums) == 51  # 50 pages, page 7 twice (and one empty page for the count)


async def test_a_persistent_500_fails_the_scan_after_retries_and_deletes_nothing(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    pms.make_synthetic(50, seed=6)
    scans = service(pms, session, page_size=10, folder_page_size=10_000)
    await scans.run("full")
    for key in list(pms.albums)[:5]:  # a complete scan would remove these
        pms.remove_album(key)
    fault = pms.fail_page(30, 500, times=None, listing="9")
    with pytest.raises(PlexUnavailable):
        await scans.run("full")
    assert fault.served == QUICK_RETRY.attempts > 1
    assert await PlexItem.all().count() == 50


async def test_scan_without_totals_still_completes_and_removes(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    pms.omit_totals = True
    pms.remove_album(next(iter(pms.albums)))
    summary = await scans.run("full")
    assert summary.complete
    assert (summary.total, summary.removed) == (4, 1)


async def test_empty_listing_never_wipes_the_mirror(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    pms.albums.clear()
    summary = await scans.run("full")
    assert not summary.complete
    assert summary.removed == 0
    assert "nothing was removed" in (summary.note or "")
    assert await PlexItem.all().count() == 5


class ShortListing:
    """A server whose listing announces more books than it delivers (a partial scan)."""

    def __init__(self, books: list[PlexAudiobook]) -> None:
        self.books = books

    async def album_count(self, section_id: str) -> int | None:
        return None

    async def track_count(self, section_id: str) -> int | None:
        return 0

    async def iter_folders(
        self, section_id: str, *, page_size: int = 0, start: int = 0, limit: int | None = None
    ) -> AsyncIterator[FolderPage]:
        yield FolderPage(folders={}, start=0, total=0)

    async def iter_albums(self, section_id: str, *, page_size: int = 0) -> AsyncIterator[AlbumPage]:
        yield AlbumPage(items=self.books, start=0, total=len(self.books) + 3)


async def test_partial_listing_deletes_nothing() -> None:
    await PlexItem.create(
        plex_guid="plex://album/old", rating_key="9", title="Old", content_hash="x"
    )
    book = PlexAudiobook(
        rating_key="1",
        guid="plex://album/new",
        title="New",
        author="A",
        narrator=None,
        duration_ms=None,
        year=None,
        summary=None,
        thumb=None,
        added_at=1,
        updated_at=1,
        file_path=None,
        user_rating=None,
        asin=None,
        library_id="1",
    )

    class Source:
        async def connect(self) -> tuple[ShortListing, str]:
            return ShortListing([book]), "1"

    summary = await ScanService(Source()).run("full")  # type: ignore[arg-type]
    assert not summary.complete and summary.removed == 0
    assert await PlexItem.filter(plex_guid="plex://album/old").exists()
    assert await PlexItem.filter(plex_guid="plex://album/new").exists()


async def test_recently_added_stops_at_the_first_known_book(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    scans = await scanned(
        pms, session, 200, 3, page_size=100, folder_page_size=500, recent_page_size=5
    )
    pms.add_album("Brand New Book", "Some Author", tracks=2, folder="/books/new/Brand New Book")
    pms.add_album("Another New One", "Other Author")
    pms.requests.clear()
    summary = await scans.run("recent")
    assert (summary.new, summary.updated) == (2, 0)
    listing = [r for r in pms.requests if r.path.endswith("/all")]
    assert len(listing) == 1  # one page of 5, not the 200-book library
    assert "addedAt:desc" in str(listing[0].query)
    row = await PlexItem.get(title="Brand New Book")
    assert row.file_path == "/books/new/Brand New Book"  # from /children, one request per new book
    assert await PlexItem.all().count() == 202


async def test_recently_added_walks_pages_until_known(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session, recent_page_size=2)
    await scans.run("full")
    for n in range(5):
        pms.add_album(f"Fresh {n}", "New Writer")
    pms.requests.clear()
    summary = await scans.run("recent")
    assert summary.new == 5
    listing = [r for r in pms.requests if r.path.endswith("/all")]
    assert len(listing) == 3  # 2 + 2 + (1 new, then a known one)


async def test_scan_matches_open_requests_and_queues_one_dm_per_person(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    alice = await User.create(discord_id=1)
    bob = await User.create(discord_id=2)
    wanted = await BookRequest.create(
        requester=alice,
        asin="B0TENANT01",
        title="The Tenant (Unabridged)",
        author="Freida McFadden",
        status=RequestStatus.DOWNLOADED,
    )
    await RequestSubscriber.create(request=wanted, user=bob)
    other = await BookRequest.create(
        requester=bob,
        asin="B0NOTHERE1",
        title="Not Here",
        author="Nobody",
        status=RequestStatus.PENDING,
    )
    denied = await BookRequest.create(
        requester=bob,
        asin="B0TENANT01",
        title="The Tenant",
        author="Freida McFadden",
        status=RequestStatus.DENIED,
    )
    pms.add_album("The Tenant", "Freida McFadden")
    summary = await scans.run("recent")
    assert summary.matched_requests == 1
    await wanted.refresh_from_db()
    assert wanted.status == RequestStatus.AVAILABLE
    assert wanted.plex_guid == (await PlexItem.get(title="The Tenant")).plex_guid
    assert (await BookRequest.get(id=other.id)).status == RequestStatus.PENDING
    assert (await BookRequest.get(id=denied.id)).status == RequestStatus.DENIED
    notes = await Notification.filter(request_id=wanted.id).order_by("user_id")
    people = [(n.user_id, n.kind) for n in notes]  # type: ignore[attr-defined]
    assert people == [(1, "available"), (2, "available")]
    # a later full scan does not announce it again
    summary = await scans.run("full")
    assert summary.matched_requests == 0
    assert await Notification.all().count() == 2


async def test_one_scan_at_a_time_second_caller_joins(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    pms.delay = 0.02
    scans = service(pms, session)
    events: list[ScanProgress] = []
    first = asyncio.create_task(scans.run("full"))
    await asyncio.sleep(0.01)
    assert scans.running == "full"
    joined, recent = await asyncio.gather(scans.run("full", events.append), scans.run("recent"))
    one = await first
    assert joined is one and recent is one  # a recent poll during a full scan joins it
    assert one.new == 5
    assert events and events[-1].phase == "done"
    assert scans.running is None


async def test_full_requested_during_recent_runs_after_it(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    pms.delay = 0.02
    scans = service(pms, session)
    recent = asyncio.create_task(scans.run("recent"))
    await asyncio.sleep(0.01)
    full = await scans.run("full")
    assert (await recent).mode == "recent"
    assert full.mode == "full" and full.unchanged == 5


async def test_cancelled_caller_does_not_stop_the_scan(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    pms.delay = 0.02
    scans = service(pms, session)
    caller = asyncio.create_task(scans.run("full"))
    await asyncio.sleep(0.03)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await scans.wait_idle()
    assert await PlexItem.all().count() == 5


async def test_unauthorized_token_raises_and_keeps_data(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    pms.token = "rotated-token-xyz"
    with pytest.raises(PlexUnauthorized):
        await scans.run("recent")
    assert await PlexItem.all().count() == 5


async def test_unreachable_server_is_unavailable(session: aiohttp.ClientSession) -> None:
    async with FakePlex() as pms:
        url = pms.url
    server = PlexServer(
        url, "t" * 20, session=session, client_identifier="x", timeout=1.0, retry=QUICK_RETRY
    )

    class Source:
        async def connect(self) -> tuple[PlexServer, str]:
            return server, "1"

    with pytest.raises(PlexUnavailable):
        await ScanService(Source()).run("full")


async def test_library_index_with_a_deadline_does_not_wait_for_a_cold_build(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    release = asyncio.Event()
    real_build = scans._build_index

    async def gated_build() -> object:
        await release.wait()
        return await real_build()

    scans._build_index = gated_build  # type: ignore[method-assign, assignment]
    assert await scans.library_index(wait=0.05) is None  # not ready: no answer, no wait
    assert await scans.library_index(wait=0.05) is None  # the same build is still running
    release.set()
    index = await scans.library_index()
    assert len(index) == 5
    assert await scans.library_index(wait=0) is index  # built once, then cached


async def test_index_built_while_the_table_changed_is_not_kept(
    pms: FakePlex, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_books(pms)
    scans = service(pms, session)
    await scans.run("full")
    release = asyncio.Event()
    real_read = mirror.all_library_items

    async def slow_read() -> object:
        rows = await real_read()  # read before the poll below writes
        await release.wait()
        return rows

    monkeypatch.setattr(mirror, "all_library_items", slow_read)
    building = asyncio.create_task(scans.library_index())
    await asyncio.sleep(0.05)
    pms.add_album("Arrived Meanwhile", "New Writer")
    await scans.run("recent")  # changes the table under the build
    release.set()
    assert len(await building) == 5  # that caller gets what was read...
    monkeypatch.setattr(mirror, "all_library_items", real_read)
    assert len(await scans.library_index()) == 6  # ...but it was not kept


async def test_full_scan_refreshes_an_index_made_stale_by_another_process(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    bot_side = service(pms, session)
    await bot_side.run("full")
    assert len(await bot_side.library_index()) == 5
    pms.add_album("Added By The CLI", "Some Writer")
    await service(pms, session).run("full")  # e.g. `python -m bot scan` in another process
    await bot_side.run("full")  # finds nothing new: the CLI wrote it already
    assert len(await bot_side.library_index()) == 6


async def test_covering_is_the_one_join_rule(pms: FakePlex, session: aiohttp.ClientSession) -> None:
    """A full scan covers a poll and itself; a running poll covers only a poll."""
    seed_books(pms)
    pms.delay = 0.02
    scans = service(pms, session)
    assert scans.covering("full") is None and scans.covering("recent") is None
    full = asyncio.create_task(scans.run("full"))
    await asyncio.sleep(0.01)
    assert scans.covering("recent") == "full"
    assert scans.covering("full") == "full"
    await full
    poll = asyncio.create_task(scans.run("recent"))
    await asyncio.sleep(0.01)
    assert scans.covering("recent") == "recent"
    assert scans.covering("full") is None  # the full scan waits for the poll, then runs
    await poll
