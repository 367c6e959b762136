"""The fake PMS itself: synthetic library realism, rendering consistency, process mode."""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from itertools import pairwise
from pathlib import Path

from core.plex import PlexServer, extract_asin
from tests.fakes.plex import REAL_BOOKS, FakeAlbum, FakePlex, synthetic_albums

ROOT = Path(__file__).resolve().parent.parent


def guid_form(album: FakeAlbum) -> str:
    if album.guid.startswith("com.plexapp.agents.audnexus://"):
        return "audnexus-region" if "_" in album.guid.split("?")[0] else "audnexus"
    if album.guid.startswith("com.plexapp.agents.audiobooks://"):
        return "audiobooks"
    if album.guid.startswith("local://"):
        return "local"
    return "plex+guid-child" if album.guids else "plex"


def test_synthetic_library_is_varied_realistic_and_deterministic() -> None:
    albums = synthetic_albums(3000, seed=11)
    again = synthetic_albums(3000, seed=11)
    assert [(a.rating_key, a.title, a.guid, a.folder) for a in albums] == [
        (a.rating_key, a.title, a.guid, a.folder) for a in again
    ]
    assert synthetic_albums(3000, seed=12)[10].title != albums[10].title
    assert len({a.rating_key for a in albums}) == 3000
    forms = Counter(guid_form(a) for a in albums)
    assert set(forms) == {
        "audnexus-region",
        "audnexus",
        "audiobooks",
        "plex+guid-child",
        "plex",
        "local",
    }
    assert min(forms.values()) > 100
    assert sum(1 for a in albums if a.narrators) > 1000
    assert sum(1 for a in albums if len(a.narrators) > 1) > 50
    assert len({a.author for a in albums}) > 300
    assert len({a.title for a in albums}) > 2000
    assert sum(1 for a in albums if a.discs > 1) > 10
    assert Counter(a.tracks == 1 for a in albums)[True] > 1000
    for asin, title, author, voices, _year in REAL_BOOKS:
        album = next(a for a in albums if a.title == title)
        assert (album.author, album.narrators, extract_asin(album.guid)) == (author, voices, asin)
    # Added order is roughly the listing order, but not exactly (recently-added sorts).
    added = [a.added_at for a in albums]
    assert added != sorted(added)
    assert sum(1 for a, b in pairwise(added) if b >= a) > 1500


def test_asins_match_the_guids_the_fake_generated() -> None:
    for album in synthetic_albums(500, seed=5):
        expected = extract_asin(album.guid) or extract_asin(album.guids)
        form = guid_form(album)
        assert (expected is None) == (form in ("plex", "local")), album.guid


def test_fast_track_json_equals_the_dict_shape() -> None:
    pms = FakePlex()
    pms.make_synthetic(30, seed=2)
    pms.add_album('Tricky "title" \\ with ünïcode\n', "Author / Slash", tracks=3, discs=2)
    pms.add_album("Other keys", "X", rating_key="abc", files=["C:\\b\\x.mp3"])
    for album in pms.albums.values():
        for index in range(album.track_count):
            fast = json.loads(pms.track_json(album, index))
            assert fast == pms.track_entry(album, index)
            trimmed = json.loads(pms.track_json(album, index, frozenset({"title", "thumb"})))
            assert trimmed == {
                k: v
                for k, v in pms.track_entry(album, index).items()
                if k not in {"title", "thumb"}
            }


async def test_assigning_album_fields_invalidates_track_offsets() -> None:
    async with FakePlex() as pms:
        first = pms.add_album("One", "A", tracks=2, folder="/one")
        pms.add_album("Two", "B", tracks=2, folder="/two")
        async with pms.client() as server:
            folders = [page.folders async for page in server.iter_folders(pms.section_id)]
            assert folders == [{first.rating_key: "/one", "10001": "/two"}]
            first.tracks = 0
            pages = [page async for page in server.iter_folders(pms.section_id)]
            assert [(p.folders, p.total) for p in pages] == [({"10001": "/two"}, 2)]
            pms.remove_album("10001")
            before = first.updated_at
            updated = pms.update_album(first.rating_key, tracks=1, title="Uno")
            assert updated is first
            assert updated.updated_at > before
            (page,) = [page async for page in server.iter_albums(pms.section_id)]
            assert [a.title for a in page.items] == ["Uno"]


async def test_benchmark_process_mode_prints_ready_and_serves() -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.plex",
        "--albums",
        "40",
        "--port",
        "0",
        "--token",
        "bench-token-123",
        "--section",
        "7",
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=15)).decode().strip()
        word, url = line.split()
        assert word == "READY"
        assert url.startswith("http://127.0.0.1:")
        async with PlexServer(url, "bench-token-123", client_identifier="bench") as server:
            pages = [page async for page in server.iter_albums("7", page_size=25)]
            assert sum(len(p.items) for p in pages) == 40
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
