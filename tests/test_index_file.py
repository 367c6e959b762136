"""The library index answers from its file: records decoded only for the books a query judges."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.library import ScanService, mirror
from core.matcher import BookQuery, LibraryIndex, LibraryItem, packed
from core.matcher.store import FileEntries
from tests.fakes.plex import FakePlex
from tests.library_items import _library, index_answers, queries_of
from tests.scan_helpers import FakeSource, seed_books

ITEMS = _library(400)
QUERIES = queries_of(ITEMS)


def answers(index: LibraryIndex) -> list[Any]:
    return index_answers(index, ITEMS)


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every record decoded from a file, by number."""
    decoded: list[int] = []
    record = FileEntries.record

    def counted(self: FileEntries, i: int) -> Any:
        decoded.append(i)
        return record(self, i)

    monkeypatch.setattr(FileEntries, "record", counted)
    return decoded


def test_a_built_index_answers_from_its_file_as_one_held_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lib.index"
    held = LibraryIndex(ITEMS)
    expected = answers(held)
    assert sum(r[0] is not None for r in expected[0]) >= 8  # the queries do match
    decoded = count_decodes(monkeypatch)
    built = packed.build_saved(iter(ITEMS), path, lambda: 11)
    assert isinstance(built.store, FileEntries) and len(built) == len(ITEMS)
    assert decoded == []  # a build keeps nothing it parsed
    assert answers(built) == expected
    loaded = packed.load(path, 11)
    assert loaded is not None and isinstance(loaded.store, FileEntries)
    assert answers(loaded) == expected


def test_a_query_decodes_only_the_books_it_judges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lib.index"
    packed.build_saved(iter(ITEMS), path, lambda: 11)
    index = packed.load(path, 11)
    assert index is not None
    decoded = count_decodes(monkeypatch)
    assert index.match(QUERIES[1]).item == ITEMS[37]
    assert 0 < len(decoded) < 20
    decoded.clear()
    assert len(index.search("the")) == 25
    assert len(decoded) <= 25  # the books shown, not the hundreds that hold "the"


def test_a_patched_file_index_saves_and_loads_with_its_changes(tmp_path: Path) -> None:
    path = tmp_path / "lib.index"
    index = packed.build_saved(iter(ITEMS[:-1]), path, lambda: 1)
    index.add(ITEMS[-1])  # a poll found a new book
    index.remove(ITEMS[0].rating_key)  # and one left
    index.add(LibraryItem(ITEMS[1].rating_key, "Retitled Book", "Some Writer"))
    again = tmp_path / "again.index"
    assert packed.save(index, again, 2, index.changes)
    loaded = packed.load(again, 2)
    assert loaded is not None
    expected = LibraryIndex(
        [LibraryItem(ITEMS[1].rating_key, "Retitled Book", "Some Writer"), *ITEMS[2:]]
    )
    assert answers(loaded) == answers(expected) == answers(index)
    assert len(loaded) == len(ITEMS) - 1


def test_a_damaged_record_is_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "lib.index"
    packed.build_saved(iter(ITEMS), path, lambda: 5)
    data = bytearray(path.read_bytes())
    data[1000] ^= 0xFF  # inside the records, which a load does not decode
    path.write_bytes(bytes(data))
    assert packed.load(path, 5) is None


def test_an_aborted_feed_stops_the_build_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "lib.index"
    feed = packed.Feed()
    feed.put(ITEMS[:10])
    feed.abort()  # the database failed halfway
    with pytest.raises(RuntimeError):
        packed.build_saved(feed, path, feed.fingerprint)
    assert list(tmp_path.iterdir()) == []


def test_a_build_forgets_the_parses_it_cached(tmp_path: Path) -> None:
    from core.matcher.entry import author_words, packed_people, packed_title
    from core.normalize import parse_people, parse_title

    caches = [parse_title, packed_title, parse_people, packed_people, author_words]
    packed.build_saved(iter(ITEMS), tmp_path / "lib.index", lambda: 5)
    assert [cache.cache_info().currsize for cache in caches] == [0] * len(caches)
    LibraryIndex(ITEMS)  # what a build empties: the caches a parse fills
    assert all(cache.cache_info().currsize for cache in caches[1:])


@pytest.mark.usefixtures("db")
async def test_the_table_fingerprint_is_the_one_of_its_rows(
    pms: FakePlex, session: aiohttp.ClientSession
) -> None:
    seed_books(pms)
    await ScanService(FakeSource(pms, session, pms.token)).run("full")
    rows = await mirror.fingerprint(await mirror.load_known())
    assert rows != 0
    assert await mirror.table_fingerprint() == rows
    _items, of_items = await mirror.all_library_items()
    assert of_items == rows


@pytest.mark.usefixtures("db")
async def test_a_service_that_cannot_write_its_file_builds_in_memory(
    pms: FakePlex, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    seed_books(pms)
    path = tmp_path / "missing-directory" / "earmark.db.index"
    scans = ScanService(FakeSource(pms, session, pms.token), index_file=path)
    await scans.run("full")
    index = await scans.library_index()
    assert not isinstance(index.store, FileEntries) and len(index) == 5
    assert index.match(BookQuery("Dune", "Frank Herbert")).matched
    await scans.close()


@pytest.mark.usefixtures("db")
async def test_a_service_build_streams_the_rows_into_its_file(
    pms: FakePlex, session: aiohttp.ClientSession, tmp_path: Path
) -> None:
    seed_books(pms)
    path = tmp_path / "earmark.db.index"
    scans = ScanService(FakeSource(pms, session, pms.token), index_file=path)
    await scans.run("full")
    index = await scans.library_index()
    assert isinstance(index.store, FileEntries) and path.exists()
    assert index.match(BookQuery("Dune", "Frank Herbert")).matched
    await scans.close()
    assert packed.load(path, await mirror.table_fingerprint()) is not None


def test_an_index_for_matching_only_makes_its_search_orders_on_first_search(
    tmp_path: Path,
) -> None:
    path = tmp_path / "lib.index"
    built = packed.build_saved(iter(ITEMS), path, lambda: 3, search=False)
    loaded = packed.load(path, 3, search=False)
    assert loaded is not None
    for index in (built, loaded):
        assert index._starts is None  # a `match` never pays for them
        assert answers(index) == answers(LibraryIndex(ITEMS))
        assert index._starts is not None


def test_an_empty_table_builds_an_empty_index(tmp_path: Path) -> None:
    index = packed.build_saved(iter(()), tmp_path / "lib.index", lambda: 0)
    assert len(index) == 0 and index.search("the") == []
    assert not index.match(BookQuery("Dune", "Frank Herbert")).matched
    index.add(ITEMS[0])
    assert index.match(BookQuery(ITEMS[0].title, ITEMS[0].author)).item == ITEMS[0]


def test_a_load_removes_temporary_files_of_processes_that_stopped(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    path = tmp_path / "lib.index"
    packed.build_saved(iter(ITEMS[:20]), path, lambda: 9)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    stale = tmp_path / f"lib.index.{gone.stdout.strip()}.123.tmp"
    mine = tmp_path / f"lib.index.{os.getpid()}.456.tmp"  # a build running now
    other = tmp_path / "other.index.1.2.tmp"
    for file in (stale, mine, other):
        file.write_bytes(b"half written")
    assert packed.load(path, 9) is not None
    assert not stale.exists()
    assert mine.exists() and other.exists()
