"""PlexServer over real sockets against the fake PMS: formats, paging, folders, failures."""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.plex import (
    AlbumPage,
    PlexAudiobook,
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexServer,
    PlexUnauthorized,
    PlexUnavailable,
)
from core.plex.server import TRACK_FIELDS_LEFT_OFF
from tests.fakes.plex import TEST_CLIENT_ID, UNAUTHORIZED_HTML, FakePlex
from tests.fakes.retry import QUICK_RETRY

TOKEN = "sys-token-SECRET-4242"


@pytest.fixture
async def pms() -> AsyncIterator[FakePlex]:
    async with FakePlex(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def server(pms: FakePlex) -> AsyncIterator[PlexServer]:
    async with pms.client() as client:
        yield client


def listing_requests(pms: FakePlex) -> list[tuple[int | None, int | None]]:
    return [(r.start, r.size) for r in pms.requests if r.path.endswith("/all")]


async def all_albums(server: PlexServer, section: str, **kwargs: object) -> list[AlbumPage]:
    return [page async for page in server.iter_albums(section, **kwargs)]  # type: ignore[arg-type]


def add_books(pms: FakePlex, n: int) -> None:
    for i in range(n):
        pms.add_album(f"Book {i:03d}", f"Author {i % 4}", added_at=1_700_000_000 + i)


# -- formats ---------------------------------------------------------------------------


async def test_json_and_xml_give_equal_objects(pms: FakePlex, server: PlexServer) -> None:
    pms.make_synthetic(120, seed=3)
    pms.add_album(
        'Quotes "&" <Angles>\nand newlines',
        "Ünïcødé Àuthor",
        narrators=["Solo Voice"],
        guids=["audnexus://album/B0QUOTES01"],
        summary="line one\nline two\t& more",
        user_rating=7.5,
        files=["/books/Ü/CD1/01.mp3", "/books/Ü/CD2/01.mp3"],
    )
    results = {}
    for fmt in ("json", "xml"):
        pms.format = fmt
        albums = [
            a for page in await all_albums(server, pms.section_id, page_size=50) for a in page.items
        ]
        folders: dict[str, str] = {}
        async for page in server.iter_folders(pms.section_id, page_size=100):
            folders.update(page.folders)
        results[fmt] = (
            albums,
            folders,
            await server.identity(),
            await server.libraries(),
            await server.metadata(albums[-1].rating_key),
            await server.album_folder(albums[-1].rating_key),
        )
    assert results["json"] == results["xml"]
    albums, folders, *_ = results["json"]
    assert len(albums) == 121
    assert len(folders) == 121
    assert albums[-1].title == 'Quotes "&" <Angles>\nand newlines'
    assert albums[-1].summary == "line one\nline two\t& more"
    assert folders[albums[-1].rating_key] == "/books/Ü"


async def test_client_sends_plex_headers_and_never_a_token_in_the_url(
    pms: FakePlex, server: PlexServer
) -> None:
    pms.add_album("Dune", "Frank Herbert")
    await server.libraries()
    await all_albums(server, pms.section_id)
    for request in pms.requests:
        assert request.headers["X-Plex-Token"] == TOKEN
        assert request.headers["X-Plex-Client-Identifier"] == TEST_CLIENT_ID
        assert request.headers["X-Plex-Product"] == "Earmark"
        assert request.headers["X-Plex-Version"]
        assert request.headers["Accept"] == "application/json"
        assert "X-Plex-Token" not in request.query
    listing = next(r for r in pms.requests if r.path.endswith("/all"))
    assert listing.query["type"] == "9"
    assert listing.query["includeGuids"] == "1"


# -- paging ---------------------------------------------------------------------------------


async def test_paging_with_totals(pms: FakePlex, server: PlexServer) -> None:
    add_books(pms, 23)
    pages = await all_albums(server, pms.section_id, page_size=10)
    assert [(p.start, len(p.items), p.total) for p in pages] == [
        (0, 10, 23),
        (10, 10, 23),
        (20, 3, 23),
    ]
    assert listing_requests(pms) == [(0, 10), (10, 10), (20, 10)]
    assert [a.title for p in pages for a in p.items] == [f"Book {i:03d}" for i in range(23)]


async def test_paging_with_totals_stops_exactly_at_the_end(
    pms: FakePlex, server: PlexServer
) -> None:
    add_books(pms, 20)
    pages = await all_albums(server, pms.section_id, page_size=10)
    assert sum(len(p.items) for p in pages) == 20
    assert listing_requests(pms) == [(0, 10), (10, 10)]


async def test_paging_without_totals_stops_on_a_short_page(
    pms: FakePlex, server: PlexServer
) -> None:
    pms.omit_totals = True
    add_books(pms, 23)
    pages = await all_albums(server, pms.section_id, page_size=10)
    assert [(p.start, len(p.items), p.total) for p in pages] == [
        (0, 10, None),
        (10, 10, None),
        (20, 3, None),
    ]
    assert listing_requests(pms) == [(0, 10), (10, 10), (20, 10)]


async def test_paging_without_totals_stops_on_an_empty_page(
    pms: FakePlex, server: PlexServer
) -> None:
    pms.omit_totals = True
    add_books(pms, 20)
    pages = await all_albums(server, pms.section_id, page_size=10)
    assert [len(p.items) for p in pages] == [10, 10, 0]
    assert listing_requests(pms) == [(0, 10), (10, 10), (20, 10)]


async def test_paging_totals_from_header_only(pms: FakePlex, server: PlexServer) -> None:
    """Some PMS versions put the total only in X-Plex-Container-Total-Size."""
    add_books(pms, 15)
    pms.format = "xml"
    original = pms._respond

    def drop_body_total(
        request: web.Request, container: dict[str, Any], **kwargs: Any
    ) -> web.Response:
        container.pop("totalSize", None)
        container.pop("offset", None)
        return original(request, container, **kwargs)

    pms._respond = drop_body_total  # type: ignore[method-assign]
    pages = await all_albums(server, pms.section_id, page_size=5)
    assert [p.total for p in pages] == [15, 15, 15]
    assert listing_requests(pms) == [(0, 5), (5, 5), (10, 5)]


async def test_server_capping_page_size_is_followed_to_the_total(
    pms: FakePlex, server: PlexServer
) -> None:
    pms.max_page_size = 7
    add_books(pms, 20)
    pages = await all_albums(server, pms.section_id, page_size=10)
    assert sum(len(p.items) for p in pages) == 20
    assert listing_requests(pms) == [(0, 10), (7, 10), (14, 10)]


async def test_server_ignoring_paging_is_read_once(pms: FakePlex, server: PlexServer) -> None:
    pms.ignore_paging = True
    add_books(pms, 25)
    pages = await all_albums(server, pms.section_id, page_size=10)
    assert [len(p.items) for p in pages] == [25]
    assert len(listing_requests(pms)) == 1


async def test_recently_added_is_newest_first_and_never_prefetches(
    pms: FakePlex, server: PlexServer
) -> None:
    add_books(pms, 30)
    async for page in server.recently_added(pms.section_id, page_size=5):
        assert [a.title for a in page.items] == [f"Book {i:03d}" for i in range(29, 24, -1)]
        break
    requests = [r for r in pms.requests if r.path.endswith("/all")]
    assert len(requests) == 1
    assert requests[0].query["sort"] == "addedAt:desc"
    assert (requests[0].start, requests[0].size) == (0, 5)


async def test_fake_accepts_paging_in_headers(pms: FakePlex) -> None:
    add_books(pms, 12)
    headers = {
        "X-Plex-Token": TOKEN,
        "Accept": "application/json",
        "X-Plex-Container-Start": "10",
        "X-Plex-Container-Size": "5",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{pms.url}/library/sections/{pms.section_id}/all?type=9", headers=headers
        ) as resp,
    ):
        body = await resp.json()
        assert resp.headers["X-Plex-Container-Total-Size"] == "12"
        assert resp.headers["X-Plex-Container-Start"] == "10"
    container = body["MediaContainer"]
    assert (container["size"], container["totalSize"], container["offset"]) == (2, 12, 10)
    assert [m["title"] for m in container["Metadata"]] == ["Book 010", "Book 011"]


async def test_empty_section_in_json_omits_metadata(pms: FakePlex, server: PlexServer) -> None:
    pages = await all_albums(server, pms.section_id)
    assert [(p.items, p.total) for p in pages] == [([], 0)]
    movie = await all_albums(server, pms.movie_section_id)
    assert movie[0].items == []


# -- albums: guid forms, narrators, ratings -----------------------------------------------


GUID_CASES: list[tuple[str, list[str], str | None]] = [
    ("com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en", [], "B08G9PRS1K"),
    ("com.plexapp.agents.audnexus://B000AP7VIY?lang=en", [], "B000AP7VIY"),
    ("com.plexapp.agents.audiobooks://B017V4IM1G?lang=en", [], "B017V4IM1G"),
    ("plex://album/5d07ca42403c640290d10d9f", ["audnexus://album/B079LRSMNN"], "B079LRSMNN"),
    ("plex://album/5d07ca42403c640290d10d9e", [], None),
    ("local://56939", [], None),
]


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_every_guid_form_over_the_wire(pms: FakePlex, server: PlexServer, fmt: str) -> None:
    pms.format = fmt  # type: ignore[assignment]
    for i, (guid, children, _) in enumerate(GUID_CASES):
        pms.add_album(f"Title {i}", "Someone", guid=guid, guids=children)
    (page,) = await all_albums(server, pms.section_id)
    assert [a.asin for a in page.items] == [asin for *_, asin in GUID_CASES]
    assert [a.guid for a in page.items] == [guid for guid, *_ in GUID_CASES]
    without = await all_albums(server, pms.section_id, include_guids=False)
    assert without[0].items[3].asin is None  # only the Guid child carried it


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_narrators_come_from_style_tags(pms: FakePlex, server: PlexServer, fmt: str) -> None:
    pms.format = fmt  # type: ignore[assignment]
    pms.add_album("Project Hail Mary", "Andy Weir", narrators=["Ray Porter"], duration=58_200_000)
    pms.add_album("Coldest Case", "James Patterson", narrators=["Aaron Paul", "Krysten Ritter"])
    pms.add_album("Unknown Voice", "Anon")
    (page,) = await all_albums(server, pms.section_id)
    assert [a.narrator for a in page.items] == ["Ray Porter", "Aaron Paul, Krysten Ritter", None]
    assert [a.duration_ms for a in page.items] == [58_200_000, None, None]


async def test_full_album_fields(pms: FakePlex, server: PlexServer) -> None:
    album = pms.add_album(
        "Project Hail Mary",
        "Andy Weir",
        guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en",
        narrators=["Ray Porter"],
        year=2021,
        summary="A lone astronaut.",
        added_at=1_700_000_000,
        updated_at=1_700_000_500,
        duration=58_200_000,
        user_rating=9.0,
    )
    (page,) = await all_albums(server, pms.section_id)
    assert page.items == [
        PlexAudiobook(
            rating_key=album.rating_key,
            guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en",
            title="Project Hail Mary",
            author="Andy Weir",
            narrator="Ray Porter",
            duration_ms=58_200_000,
            year=2021,
            summary="A lone astronaut.",
            thumb=f"/library/metadata/{album.rating_key}/thumb/1700000500",
            added_at=1_700_000_000,
            updated_at=1_700_000_500,
            file_path=None,
            user_rating=9.0,
            asin="B08G9PRS1K",
            library_id=pms.section_id,
        )
    ]
    assert await server.metadata(album.rating_key) == page.items[0]


async def test_user_token_sees_its_own_ratings(pms: FakePlex) -> None:
    first = pms.add_album("Rated", "A", user_rating=4.0)
    second = pms.add_album("Unrated by user", "B", user_rating=10.0)
    pms.add_user("user-server-token-77", {first.rating_key: 8.0})
    async with pms.client(token="user-server-token-77") as user_server:
        (page,) = await all_albums(user_server, pms.section_id)
        assert [a.user_rating for a in page.items] == [8.0, None]
        assert (await user_server.metadata(second.rating_key)).user_rating is None  # type: ignore[union-attr]


async def test_metadata_search_refresh_and_libraries(pms: FakePlex, server: PlexServer) -> None:
    pms.add_album("The Way of Kings", "Brandon Sanderson")
    pms.add_album("Words of Radiance", "Brandon Sanderson")
    pms.add_album("Dune", "Frank Herbert")
    assert await server.metadata("999999") is None
    found = await server.search(pms.section_id, "OF")
    assert [a.title for a in found] == ["The Way of Kings", "Words of Radiance"]
    assert len(await server.search(pms.section_id, "of", limit=1)) == 1
    assert await server.search(pms.section_id, "nothing like this") == []
    await server.refresh(pms.section_id)
    assert pms.refreshes == [pms.section_id]
    libraries = await server.libraries()
    music = [lib for lib in libraries if lib.is_music]
    assert [(lib.id, lib.title, lib.locations) for lib in music] == [
        (pms.section_id, "Audiobooks", ("/audiobooks",))
    ]
    assert len(libraries) == 2
    assert await server.album_count(pms.section_id) == 3
    assert await server.album_count(pms.movie_section_id) == 0
    pms.omit_totals = True
    assert await server.album_count(pms.section_id) is None
    identity = await server.identity()
    assert identity.machine_identifier == pms.machine_identifier


# -- folders -------------------------------------------------------------------------------


async def test_folders_from_track_pages_and_children(pms: FakePlex, server: PlexServer) -> None:
    single = pms.add_album("Single", "A", folder="/books/A/Single", tracks=1)
    discs = pms.add_album("Discs", "B", folder="/books/B/Discs", tracks=5, discs=2)
    windows = pms.add_album(
        "Windows", "C", files=["D:\\Books\\C\\Win\\CD1\\01.mp3", "D:\\Books\\C\\Win\\CD2\\02.mp3"]
    )
    empty = pms.add_album("No files", "D", tracks=0)
    folders: dict[str, str] = {}
    pages = []
    async for page in server.iter_folders(pms.section_id, page_size=3):
        pages.append(page)
        folders.update(page.folders)
    assert folders == {
        single.rating_key: "/books/A/Single",
        discs.rating_key: "/books/B/Discs",
        windows.rating_key: "D:\\Books\\C\\Win",
    }
    assert [(p.start, p.tracks, p.total) for p in pages] == [(0, 3, 8), (3, 3, 8), (6, 2, 8)]
    # "Discs" straddles pages 1 and 2: the second report is the common folder so far.
    assert pages[0].folders[discs.rating_key] == "/books/B/Discs/CD1"
    assert pages[1].folders[discs.rating_key] == "/books/B/Discs"
    assert [r.query["type"] for r in pms.requests if r.path.endswith("/all")] == ["10"] * 3
    assert await server.album_folder(discs.rating_key) == "/books/B/Discs"
    assert await server.album_folder(windows.rating_key) == "D:\\Books\\C\\Win"
    assert await server.album_folder(empty.rating_key) is None
    assert await server.album_folder("424242") is None


async def test_path_lookups_ask_plex_to_leave_off_what_they_never_read(
    pms: FakePlex, server: PlexServer
) -> None:
    """``excludeFields`` (documented, honoured or not): paths come through either way."""
    book = pms.add_album("Discs", "B", folder="/books/B/Discs", tracks=4, discs=2)
    folders: dict[str, str] = {}
    async for page in server.iter_folders(pms.section_id, page_size=3):
        folders.update(page.folders)
    assert folders == {book.rating_key: "/books/B/Discs"}
    assert await server.album_folder(book.rating_key) == "/books/B/Discs"
    asked = [r for r in pms.requests if r.path.endswith(("/all", "/children"))]
    assert asked and all(
        set(r.query["excludeFields"].split(",")) == TRACK_FIELDS_LEFT_OFF for r in asked
    )
    assert {"parentRatingKey", "Media", "ratingKey"}.isdisjoint(TRACK_FIELDS_LEFT_OFF)


async def test_folders_without_totals(pms: FakePlex, server: PlexServer) -> None:
    pms.omit_totals = True
    for i in range(4):
        pms.add_album(f"B{i}", "A", tracks=3, folder=f"/b/{i}")
    folders: dict[str, str] = {}
    async for page in server.iter_folders(pms.section_id, page_size=5):
        assert page.total is None
        folders.update(page.folders)
    assert sorted(folders.values()) == ["/b/0", "/b/1", "/b/2", "/b/3"]
    assert listing_requests(pms) == [(0, 5), (5, 5), (10, 5)]


# -- failures --------------------------------------------------------------------------------


async def test_wrong_token_is_unauthorized_with_the_real_html_body(pms: FakePlex) -> None:
    async with pms.client(token="wrong-token-abcdef") as bad:
        with pytest.raises(PlexUnauthorized) as caught:
            await bad.libraries()
        assert caught.value.status == 401
        assert "wrong-token-abcdef" not in str(caught.value)
        # PMS answers /identity without a token: it proves reachability, not the token.
        assert (await bad.identity()).machine_identifier == pms.machine_identifier
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{pms.url}/library/sections", headers={"Accept": "application/json"}) as resp,
    ):
        assert resp.status == 401
        assert resp.content_type == "text/html"
        assert await resp.read() == UNAUTHORIZED_HTML


async def test_server_error_mid_listing_is_unavailable(pms: FakePlex, server: PlexServer) -> None:
    add_books(pms, 25)
    pms.fail_at_start = {10: 500}
    seen = []
    with pytest.raises(PlexUnavailable) as caught:
        async for page in server.iter_albums(pms.section_id, page_size=10):
            seen.append(page)
    assert caught.value.status == 500
    assert [p.start for p in seen] == [0]
    pms.fail_at_start = {0: 503}
    with pytest.raises(PlexUnavailable):
        await all_albums(server, pms.section_id)


async def test_other_statuses_map_to_the_tree(pms: FakePlex, server: PlexServer) -> None:
    pms.fail_at_start = {0: 403}
    with pytest.raises(PlexUnauthorized):
        await all_albums(server, pms.section_id)
    pms.fail_at_start = {0: 404}
    with pytest.raises(PlexNotFound):
        await all_albums(server, pms.section_id)
    pms.fail_at_start = {0: 400}
    with pytest.raises(PlexError) as caught:
        await all_albums(server, pms.section_id)
    assert caught.value.status == 400
    with pytest.raises(PlexNotFound):
        await all_albums(server, "77")  # no such section


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_malformed_body_is_bad_response(pms: FakePlex, server: PlexServer, fmt: str) -> None:
    pms.format = fmt  # type: ignore[assignment]
    add_books(pms, 15)
    pms.malformed_at_start = {10}
    with pytest.raises(PlexBadResponse):
        await all_albums(server, pms.section_id, page_size=10)


async def test_timeout_is_unavailable(pms: FakePlex) -> None:
    pms.delay = 1.0
    async with pms.client(timeout=0.1) as slow:
        with pytest.raises(PlexUnavailable) as caught:
            await slow.libraries()
    assert "did not answer within 0.1 s" in str(caught.value)
    assert caught.value.status is None


async def test_dropped_connection_is_unavailable(pms: FakePlex, server: PlexServer) -> None:
    pms.drop_connections = True
    with pytest.raises(PlexUnavailable):
        await server.libraries()
    pms.drop_connections = False
    add_books(pms, 12)
    pms.drop_at_start = {10}
    with pytest.raises(PlexUnavailable):
        await all_albums(server, pms.section_id, page_size=10)


async def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with PlexServer(url, TOKEN, client_identifier="t", retry=QUICK_RETRY) as server:
        with pytest.raises(PlexUnavailable) as caught:
            await server.identity()
    assert caught.value.status is None
    assert f"127.0.0.1:{port}" in str(caught.value)


async def test_no_token_in_any_message_or_log_record(
    pms: FakePlex, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add_books(pms, 12)
    errors: list[BaseException] = []
    async with pms.client() as server:
        await all_albums(server, pms.section_id, page_size=5)
        await server.metadata("1")
        for knob in ("fail", "malformed", "drop"):
            pms.fail_at_start = {0: 500} if knob == "fail" else {}
            pms.malformed_at_start = {0} if knob == "malformed" else set()
            pms.drop_at_start = {0} if knob == "drop" else set()
            with pytest.raises(PlexError) as caught:
                await all_albums(server, pms.section_id)
            errors.append(caught.value)
    pms.delay = 0.5
    async with pms.client(timeout=0.05) as slow:
        with pytest.raises(PlexUnavailable) as caught:
            await slow.libraries()
        errors.append(caught.value)
    async with pms.client(token="another-secret-token-999") as bad:
        pms.delay = 0
        with pytest.raises(PlexUnauthorized) as caught:
            await bad.libraries()
        errors.append(caught.value)
    assert any(r.name.startswith("core.plex") for r in caplog.records)
    for secret in (TOKEN, "another-secret-token-999"):
        for record in caplog.records:
            assert secret not in record.getMessage()
        for error in errors:
            chain: BaseException | None = error
            while chain is not None:
                assert secret not in str(chain)
                assert secret not in repr(chain)
                chain = chain.__cause__


async def test_injected_session_is_left_open_and_own_session_closed(pms: FakePlex) -> None:
    async with aiohttp.ClientSession() as session:
        async with pms.client(session=session) as server:
            await server.identity()
        assert not session.closed
        owned = pms.client()
        await owned.identity()
        own_session = owned._http._session
        await owned.close()
        assert own_session is not None and own_session.closed
