"""The one ASIN rule: its shape, the guid forms Plex agents write, and that every caller agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.asin import asin_from_guid, is_asin, normalize_asin
from core.matcher import BookQuery, LibraryItem, match_one
from core.plex import extract_asin
from core.plex.parse import parse_album, parse_albums

FIXTURES = Path(__file__).parent / "fixtures"

# (guid, the ASIN it carries or None); every form the Plex agents write, then what must not count.
GUIDS: list[tuple[str, str | None]] = [
    # Audnexus, with and without the store region, with ?lang=
    ("com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en", "B08G9PRS1K"),
    ("com.plexapp.agents.audnexus://B08G9PRS1K_uk?lang=en", "B08G9PRS1K"),
    ("com.plexapp.agents.audnexus://b08g9prs1k_de?lang=de", "B08G9PRS1K"),
    ("com.plexapp.agents.audnexus://B000AP7VIY?lang=en", "B000AP7VIY"),
    ("com.plexapp.agents.audnexus://B000AP7VIY", "B000AP7VIY"),
    ("com.plexapp.agents.audnexus://B08G9PRS1K_us", "B08G9PRS1K"),
    # the Audiobooks agent, and the old Audible one
    ("com.plexapp.agents.audiobooks://B017V4IM1G?lang=en", "B017V4IM1G"),
    ("com.plexapp.agents.audible://B08C6YJ1LS?lang=en", "B08C6YJ1LS"),
    ("audiobook://B08G9PRS1K", "B08G9PRS1K"),
    ("audible://B08C6YJ1LS", "B08C6YJ1LS"),
    # a regional Audible scheme
    ("audible.de://B08G9PRS1K", "B08G9PRS1K"),
    ("audible.co.uk://B08G9PRS1K?lang=en", "B08G9PRS1K"),
    # Guid children
    ("audnexus://album/B079LRSMNN", "B079LRSMNN"),
    ("audnexus://book/B079LRSMNN_us", "B079LRSMNN"),
    ("audible://album/b079lrsmnn", "B079LRSMNN"),
    # ISBN-10 ASINs: ten digits, or nine digits and X
    ("com.plexapp.agents.audnexus://0553418025?lang=en", "0553418025"),
    ("com.plexapp.agents.audnexus://055341802X?lang=en", "055341802X"),
    ("com.plexapp.agents.audnexus://055341802x_us?lang=en", "055341802X"),
    # not an ASIN
    ("plex://album/5d07ca42403c640290d10d9f", None),
    ("plex://album/B08G9PRS1K", None),  # not an Audible agent
    ("local://56939", None),
    ("local://1234567890", None),
    ("audnexus://author/B000APZOQA", None),  # an author, not a book
    ("com.plexapp.agents.audnexus://B08G9PRS1?lang=en", None),  # too short
    ("com.plexapp.agents.audnexus://B08G9PRS1K1?lang=en", None),  # too long
    ("com.plexapp.agents.audnexus://not-an-asin?lang=en", None),
    ("com.plexapp.agents.audnexus://ABCDEFGHIJ?lang=en", None),  # a word
    ("com.plexapp.agents.audnexus://A08G9PRS1K?lang=en", None),  # not B0, not an ISBN
    ("com.plexapp.agents.audnexus://05534180XX?lang=en", None),
    ("com.plexapp.agents.lastfm://Artist/Album?lang=en", None),
    ("com.plexapp.agents.none://12345?lang=xn", None),
    ("notaudible://B08G9PRS1K", None),
    ("", None),
]


@pytest.mark.parametrize(("guid", "asin"), GUIDS, ids=[g or "empty" for g, _ in GUIDS])
def test_asin_from_every_guid_form(guid: str, asin: str | None) -> None:
    assert asin_from_guid(guid) == asin


@pytest.mark.parametrize(("guid", "asin"), GUIDS, ids=[g or "empty" for g, _ in GUIDS])
def test_scan_and_matcher_read_a_guid_alike(guid: str, asin: str | None) -> None:
    """The scan stores what the matcher derives: one answer for one guid."""
    album = parse_album({"ratingKey": "1", "type": "album", "title": "t", "guid": guid})
    assert album is not None and album.asin == asin
    item = LibraryItem("1", "Some Other Title", "Nobody", guid=guid)
    query = BookQuery("Project Hail Mary", "Andy Weir", asin=asin or "B0ZZZZZZZZ")
    assert match_one(query, [item]).matched is (asin is not None)


def test_guid_children_and_lists() -> None:
    children = [
        {"id": "plex://album/5d07ca42403c640290d10d9f"},
        {"id": "audnexus://album/B08G9PRS1K"},
    ]
    assert asin_from_guid(children) == "B08G9PRS1K"
    assert asin_from_guid(["local://1", "com.plexapp.agents.audnexus://B000AP7VIY?lang=en"]) == (
        "B000AP7VIY"
    )
    assert asin_from_guid([{"id": "plex://album/abc"}]) is None
    assert asin_from_guid([{"id": None}, {}]) is None
    assert asin_from_guid(None) is None
    assert asin_from_guid([]) is None
    assert extract_asin is asin_from_guid  # the Plex package's name for the same rule


def test_real_plex_guids_carry_no_asin() -> None:
    """A real music listing (plex://, mbid://, local:// guids): no album may get an ASIN."""
    data = json.loads(
        (FIXTURES / "plex" / "pms_library_sections_15_all_type9_music_albums.json").read_bytes()
    )
    albums, _ = parse_albums(data)
    assert len(albums) == 99
    assert {a.guid.split("://")[0] for a in albums} == {"plex", "mbid", "local"}
    assert [a.asin for a in albums if a.asin] == []


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (FIXTURES / "catalog").glob("audible_catalog_products_*.json")),
)
def test_real_catalog_asins_have_the_shape(name: str) -> None:
    product = json.loads((FIXTURES / "catalog" / name).read_bytes())["product"]
    assert is_asin(product["asin"])
    assert normalize_asin(product["asin"].lower() + "_us") == product["asin"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("b08g9prs1k_us", "B08G9PRS1K"),
        ("B08G9PRS1K", "B08G9PRS1K"),
        (" B000AP7VIY_uk ", "B000AP7VIY"),
        ("0553418025", "0553418025"),
        ("055341802x", "055341802X"),
        ("B08G9PRS1", None),  # nine characters
        ("B08G9PRS1K1", None),  # eleven
        ("B08G9-RS1K", None),
        ("ABCDEFGHIJ", None),  # a word, not an identifier
        ("ABCDEFGHI1", None),  # neither B0 nor an ISBN
        ("12345678XX", None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_asin(raw: str | None, expected: str | None) -> None:
    assert normalize_asin(raw) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("B08G9PRS1K", True),
        ("055341802X", True),
        ("b08g9prs1k", False),  # canonical means upper case
        ("B08G9PRS1K_us", False),  # and no region
        ("../../etc/passwd", False),
        ("SHORT", False),
        ("", False),
    ],
)
def test_is_asin(value: str, expected: bool) -> None:
    assert is_asin(value) is expected
