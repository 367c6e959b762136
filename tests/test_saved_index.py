"""The saved library index: loaded only for the table and the code it was made from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core.library import ScanService, mirror
from core.library.scan import saved_index_file
from core.matcher import BookQuery, LibraryIndex, LibraryItem, packed
from core.matcher.entry import packed_reading, unpack_reading
from core.matcher.readings import readings
from core.normalize import parse_people, parse_title
from tests.fakes.plex import FakePlex
from tests.scan_helpers import FakeSource, seed_books

ITEMS = [
    LibraryItem("1", "Project Hail Mary", "Andy Weir", "Ray Porter", "B08G9PRS1K"),
    LibraryItem("2", "Jasper Fforde - The Eyre Affair", "Unknown Artist"),
    LibraryItem("3", "Book 02 - Lost in a Good Book [B000AP7VIY] (Disc 1) 64kbps", "Jasper Fforde"),
    LibraryItem("4", "Northern Lights", "Philip Pullman"),
    LibraryItem("5", "Dungeon Crawler Carl, Book 2", "Matt Dinniman",
                guid="com.plexapp.agents.audnexus://B08V8B2CGV_us?lang=en"),
    LibraryItem("6", "Grit: The Power of Passion and Perseverance", "Angela Duckworth"),
    LibraryItem("7", "The Hobbit", "J.R.R. Tolkien"),
    LibraryItem("8", "The Hobbit (Graphic Novel)", "Chuck Dixon"),
]  # fmt: skip
QUERIES = [
    BookQuery("Project Hail Mary", "Andy Weir"),
    BookQuery("The Eyre Affair", "Jasper Fforde"),
    BookQuery("Lost in a Good Book", "Jasper Fforde"),
    BookQuery("The Golden Compass", "Philip Pullman"),
    BookQuery("Dungeon Crawler Carl 2", "Matt Dinniman"),
    BookQuery("Grit", "Angela Duckworth", subtitle="The Power of Passion and Perseverance"),
    BookQuery("The Hobbit", "Tolkien"),
    BookQuery("Anything", asin="B08V8B2CGV"),
]


def answers(index: LibraryIndex) -> list[Any]:
    matched = [(r.item, r.score, r.reason) for r in map(index.match, QUERIES)]
    found = [index.search(text) for text in ("hob", "the", "a t", "fforde", "eyre affair")]
    return [matched, found]


def test_a_packed_reading_unpacks_to_the_parse_of_its_title_and_people() -> None:
    index = LibraryIndex(ITEMS)
    assert sum(len(entry.packed) for entry in index.entries()) > len(ITEMS)  # more readings
    for item in ITEMS:
        asins = LibraryIndex.asins(item)
        for reading in readings(item.title, item.author):
            got = unpack_reading(packed_reading(reading, asins))
            assert got.title == parse_title(reading.title)
            assert got.authors == parse_people(reading.author)
            assert got.narrators == (parse_people(reading.narrator) if reading.label else ())
            assert set(asins) <= set(got.asins)
            assert (got.raw, got.label, got.part, got.needs_author) == (
                reading.title, reading.label, reading.part, reading.needs_author
            )


def test_a_loaded_index_answers_as_the_built_one(tmp_path: Path) -> None:
    built = LibraryIndex(ITEMS)
    path = tmp_path / "lib.index"
    assert packed.save(built, path, 42, built.changes)
    loaded = packed.load(path, 42)
    assert loaded is not None and len(loaded) == len(ITEMS)
    assert answers(loaded) == answers(built)
    assert answers(built)[0][0][0] is not None  # the queries do match something
    loaded.add(LibraryItem("9", "The Silmarillion", "J.R.R. Tolkien"))  # still patchable
    loaded.remove("7")
    assert [i.title for i, _ in loaded.search("silmar")] == ["The Silmarillion"]
    assert loaded.match(QUERIES[6]).item is None


def test_a_saved_index_is_never_trusted_for_another_table_or_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lib.index"
    assert packed.load(path, 42) is None  # none saved yet
    index = LibraryIndex(ITEMS)
    packed.save(index, path, 42, index.changes)
    assert packed.load(path, 43) is None  # the table changed
    monkeypatch.setattr(packed, "code_version", lambda: "another matcher")
    assert packed.load(path, 42) is None  # the rules changed


def test_a_damaged_file_is_rebuilt_not_believed(tmp_path: Path) -> None:
    path = tmp_path / "lib.index"
    index = LibraryIndex(ITEMS)
    packed.save(index, path, 42, index.changes)
    path.write_bytes(path.read_bytes()[:-20])
    assert packed.load(path, 42) is None
    path.write_bytes(b"not an index at all")
    assert packed.load(path, 42) is None


def test_an_index_that_changed_while_saving_is_not_written(tmp_path: Path) -> None:
    path = tmp_path / "lib.index"
    index = LibraryIndex(ITEMS)
    seen = index.changes
    index.remove("7")  # a scan patched it after the save was asked for
    assert not packed.save(index, path, 42, seen)
    assert not path.exists()
    assert not list(tmp_path.iterdir())  # no temporary file left behind


def test_the_table_fingerprint_is_stable_across_processes() -> None:
    code = "from core.library import mirror; print(mirror.print_of('plex://album/1', 'ab12'))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""}, cwd=Path(__file__).parents[1],
        ).stdout
        for seed in ("1", "2")
    }  # fmt: skip
    assert outs == {f"{mirror.print_of('plex://album/1', 'ab12')}\n"}


def test_the_index_file_sits_beside_a_sqlite_database() -> None:
    assert saved_index_file("sqlite://data/earmark.db") == Path("data/earmark.db.index")
    assert saved_index_file("sqlite://:memory:") is None
    assert saved_index_file("postgres://u:p@host/db") is None


# ----- the scan service saves, loads and refuses ------------------------------------------


def no_build(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the table's items (what a build needs) fails: only a load can answer."""

    async def refuse() -> None:
        raise AssertionError("the index was built, not loaded")

    def refuse_chunks() -> None:
        raise AssertionError("the index was built, not loaded")

    monkeypatch.setattr(mirror, "all_library_items", refuse)
    monkeypatch.setattr(mirror, "library_item_chunks", refuse_chunks)


@pytest.mark.usefixtures("db")
async def test_the_service_saves_loads_and_rebuilds_when_stale(
    pms: FakePlex, session: aiohttp.ClientSession, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = tmp_path / "earmark.db.index"

    def fresh() -> ScanService:
        return ScanService(FakeSource(pms, session, pms.token), index_file=path)

    seed_books(pms)
    first = fresh()
    await first.run("full")
    built = await first.library_index()
    await first.close()  # waits for the save
    assert path.exists()

    with monkeypatch.context() as m:
        no_build(m)
        second = fresh()
        loaded = await second.library_index()  # another process starting: loaded
        assert answers(loaded) == answers(built)
        pms.add_album("The Left Hand of Darkness", "Ursula K. Le Guin")
        await second.run("full")  # patches its index and saves it
        await second.close()
        third = fresh()
        assert len(await third.library_index()) == 6  # loaded, with the new book

    pms.add_album("Added Elsewhere", "Some Writer")
    await ScanService(FakeSource(pms, session, pms.token)).run("full")  # no saving: stale file
    fourth = fresh()
    index = await fourth.library_index()  # rebuilt, never the stale file
    assert len(index) == 7
    assert [i.title for i, _ in index.search("added elsewhere")] == ["Added Elsewhere"]
    await fourth.close()
