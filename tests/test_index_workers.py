"""A build parses in worker processes and answers as one parsed in a single thread.

Also: the search orders gathered a chunk at a time, and the title parser's
shortcut for titles with nothing to take off, each equal to the long way.
"""

from __future__ import annotations

import ast
import json
import logging
import marshal
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from core import normalize
from core.library import ScanService, mirror
from core.matcher import BookQuery, LibraryIndex, chunks, packed
from core.matcher.starts import Starts
from core.matcher.store import FileEntries
from tests.fakes.plex import FakePlex
from tests.library_items import _library, index_answers
from tests.scan_helpers import FakeSource, seed_books

ITEMS = _library(2_500)  # two chunks and a part: the workers' outputs are joined in order
TESTS = Path(__file__).parent


def answers(index: LibraryIndex) -> list[Any]:
    return index_answers(index, ITEMS)


def contents(index: LibraryIndex) -> list[Any]:
    """Everything the index holds, records decoded, in file order."""
    store = index.store
    assert isinstance(store, FileEntries)
    records = [(key, store.searchable(i), store.record(i)) for i, key in store.stored()]
    postings = [dict(p.lists) for p in index.postings]
    return [records, postings]


def test_an_index_parsed_by_worker_processes_is_the_one_parsed_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    here = packed.build_saved(iter(ITEMS), tmp_path / "here.index", lambda: 7)
    with caplog.at_level(logging.WARNING, logger="core.matcher.chunks"):
        there = packed.build_saved(iter(ITEMS), tmp_path / "there.index", lambda: 7, workers=2)
    assert caplog.records == []  # parsed by the workers, not by a fallback here
    assert contents(there) == contents(here)
    assert answers(there) == answers(here) == answers(LibraryIndex(ITEMS))
    assert there._starts is not None  # gathered with the rest: the first search waits for none
    loaded = packed.load(tmp_path / "there.index", 7)
    assert loaded is not None and contents(loaded) == contents(here)
    for index in (here, there, loaded):  # one string a key: the postings hold the entries' own
        held = {id(key) for _i, key in index.store.stored()}  # type: ignore[attr-defined]
        posted = {id(k) for lists in index.postings for keys in lists.lists.values() for k in keys}
        assert posted <= held


def test_workers_that_cannot_start_leave_the_parsing_to_this_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(chunks, "WORKER", [str(tmp_path / "no-such-python")])
    with caplog.at_level(logging.WARNING, logger="core.matcher.chunks"):
        index = packed.build_saved(iter(ITEMS), tmp_path / "lib.index", lambda: 1, workers=2)
    assert "worker processes failed to start" in caplog.text
    assert answers(index) == answers(LibraryIndex(ITEMS))


def test_a_worker_that_stops_mid_build_leaves_the_rest_to_this_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    items = _library(5_000, seed=5)  # three chunks: the third goes to a worker already done
    # Each worker is given a little more than its first chunk, then its input ends.
    first = len(marshal.dumps([chunks.row_of(item) for item in items[: packed.CHUNK]]))
    serve = shlex.join(chunks.WORKER)
    monkeypatch.setattr(chunks, "WORKER", ["sh", "-c", f"head -c {first + 100} | {serve}"])
    with caplog.at_level(logging.WARNING, logger="core.matcher.chunks"):
        index = packed.build_saved(iter(items), tmp_path / "lib.index", lambda: 1, workers=2)
    assert "stopped (exit 0): the build goes on in this thread" in caplog.text
    assert index_answers(index, items) == index_answers(LibraryIndex(items), items)


def test_workers_only_for_a_big_table_on_more_than_one_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(chunks, "_cores", lambda: 4)
    assert chunks.workers_for(chunks.PARALLEL_FROM) == 4
    assert chunks.workers_for(chunks.PARALLEL_FROM - 1) == 0
    monkeypatch.setattr(chunks, "_cores", lambda: 1)
    assert chunks.workers_for(10 * chunks.PARALLEL_FROM) == 0


@pytest.mark.usefixtures("db")
async def test_the_bot_builds_a_big_library_with_worker_processes(
    pms: FakePlex, session: aiohttp.ClientSession, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    seed_books(pms)
    monkeypatch.setattr(chunks, "PARALLEL_FROM", 1)  # five books are "big" here
    monkeypatch.setattr(chunks, "_cores", lambda: 2)
    started: list[int] = []
    start = chunks._Workers.start

    def counted(count: int) -> Any:
        started.append(count)
        return start(count)

    monkeypatch.setattr(chunks._Workers, "start", counted)
    path = tmp_path / "earmark.db.index"
    scans = ScanService(FakeSource(pms, session, pms.token), index_file=path)
    await scans.run("full")
    index = await scans.library_index()
    assert started == [2] and isinstance(index.store, FileEntries)
    assert index.match(BookQuery("Dune", "Frank Herbert")).matched
    assert [item.title for item, _ in index.search("dun")][:1] == ["Dune"]
    await scans.close()
    assert packed.load(path, await mirror.table_fingerprint()) is not None


def test_search_orders_gathered_a_chunk_at_a_time_are_the_orders_made_at_once() -> None:
    pairs = [(f"k{i}", title) for i, title in enumerate(
        ["the hobbit", "hobbit", "a", "the", "dune", "dune messiah", "dunes", "the dune",
         "zoë", "zoe", "émile", "x" * 40, "the the", "a tale", "an tale", "", "hob"] * 3
    )]  # fmt: skip
    whole = Starts(pairs)
    gathered = Starts(sort=False)
    for i in range(0, len(pairs), 7):
        gathered.extend(pairs[i : i + 7])
    gathered.sort()
    assert gathered._by_text == whole._by_text == sorted(whole._by_text)
    for text in ("the", "h", "dune", "the d", "a", "zo", "x"):
        assert gathered.first(text, 5) == whole.first(text, 5)
    with pytest.raises(RuntimeError):
        gathered.extend([("late", "late")])


def _test_strings() -> set[str]:
    """Every string of the matcher's tests and labelled cases, and the synthetic titles."""
    found: set[str] = set()
    for name in ("test_matcher.py", "test_normalize.py", "test_match_batch.py"):
        for node in ast.walk(ast.parse((TESTS / name).read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
                found.add(node.value[:200])
    for name in ("matcher_cases.jsonl", "matcher_agentless_cases.jsonl"):
        for line in (TESTS / "fixtures" / name).read_text().splitlines():
            found.update(_strings_in(json.loads(line)))
    return found | {item.title for item in ITEMS}


def _strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings_in(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings_in(inner)


DECORATIONS = [
    "{} (Unabridged)", "{}: A Novel", "{} - Book 2", "{}, Book 2", "{} Book Two", "{} #3",
    "{} Vol. II", "{} vol 2", "{} Part One", "{} no 5", "{} 7", "Book 1. {}", "Vol 2 - {}",
    "{} Unabridged", "{} Dramatized Adaptation", "{} An Audible Original", "{}-", "-{}",
    "{}; Series", "The {}, The", "{} [Mistborn 2]", "Mistborn 2: {}",
]  # fmt: skip


def test_titles_with_nothing_to_take_off_parse_as_the_full_parser_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    titles = _test_strings()
    titles |= {shape.format(t) for t in list(titles)[:400] for shape in DECORATIONS}
    short = {t: normalize.parse_title.__wrapped__(t) for t in titles}
    monkeypatch.setattr(normalize, "_DECORATED", re.compile(""))  # every title the long way
    assert {t: normalize.parse_title.__wrapped__(t) for t in titles} == short


def test_most_plain_titles_take_the_shortcut() -> None:
    plain = ["The Hobbit", "Dune Messiah", "Where the Crawdads Sing", "Project Hail Mary"]
    decorated = ["Dune (Unabridged)", "Mistborn #2", "Dune: Book One", "Catch-22", "Dune Vol 2"]
    assert not any(normalize._DECORATED.search(normalize.fold(t)) for t in plain)
    assert all(normalize._DECORATED.search(normalize.fold(t)) for t in decorated)
