"""The rules of connecting a Plex server and library (`core.plex_setup`), over the fake PMS."""

from __future__ import annotations

import aiohttp
import pytest

from core.config_store import PLEX_LIBRARY, PLEX_MACHINE_ID, PLEX_TOKEN, PLEX_URL, ConfigStore
from core.crypto import TokenCipher
from core.library import ScanService
from core.plex import PlexLibrary, PlexUnauthorized
from core.plex_setup import PlexSetup, find_library
from core.plex_source import StoredPlexSource
from tests.fakes.plex import FakePlex


def setup_for(
    store: ConfigStore, session: aiohttp.ClientSession, *, pinned: bool = False
) -> tuple[PlexSetup, ScanService]:
    source = StoredPlexSource(store, {}, session)
    scans = ScanService(source)
    return PlexSetup(store, source, scans, library_pinned=lambda: pinned), scans


async def test_a_refused_token_stores_nothing(
    db: None, cipher: TokenCipher, session: aiohttp.ClientSession
) -> None:
    store = ConfigStore(cipher)
    plex_setup, _ = setup_for(store, session)
    async with FakePlex() as pms:
        with pytest.raises(PlexUnauthorized):
            await plex_setup.connect_server(pms.url, "wrong-token")
    assert await store.get(PLEX_URL) is None and await store.get(PLEX_TOKEN) is None


async def test_another_server_unsets_the_library_and_drops_the_index(
    db: None, cipher: TokenCipher, session: aiohttp.ClientSession
) -> None:
    store = ConfigStore(cipher)
    plex_setup, scans = setup_for(store, session)
    async with FakePlex(machine_identifier="first") as one, FakePlex(
        machine_identifier="second"
    ) as two:
        saved = await plex_setup.connect_server(one.url, one.token)
        assert not saved.library_reset and [lib.id for lib in saved.music] == [one.section_id]
        assert await plex_setup.save_library(one.section_id)
        assert not await plex_setup.save_library(one.section_id)  # unchanged: index kept
        index = await scans.library_index()
        same = await plex_setup.connect_server(one.url, one.token)  # the same server again
        assert not same.library_reset and await store.get(PLEX_LIBRARY) == one.section_id
        assert await scans.library_index() is not index  # a new token: rebuilt all the same
        moved = await plex_setup.connect_server(two.url, two.token)
    assert moved.library_reset
    assert await store.get(PLEX_LIBRARY) is None
    assert await store.get(PLEX_MACHINE_ID) == "second"


async def test_a_pinned_library_survives_another_server(
    db: None, cipher: TokenCipher, session: aiohttp.ClientSession
) -> None:
    store = ConfigStore(cipher)
    plex_setup, _ = setup_for(store, session, pinned=True)
    async with FakePlex(machine_identifier="first") as one, FakePlex(
        machine_identifier="second"
    ) as two:
        await plex_setup.connect_server(one.url, one.token)
        await store.set(PLEX_LIBRARY, "1")
        moved = await plex_setup.connect_server(two.url, two.token)
    assert not moved.library_reset and await store.get(PLEX_LIBRARY) == "1"


def test_find_library_by_key_then_title() -> None:
    libraries = [PlexLibrary("1", "Audiobooks", "artist"), PlexLibrary("7", "1", "artist")]
    assert find_library(libraries, "1") is libraries[0]  # a key wins over a title
    assert find_library(libraries, " audiobooks ") is libraries[0]
    assert find_library(libraries, "7") is libraries[1]
    assert find_library(libraries, "nope") is None
