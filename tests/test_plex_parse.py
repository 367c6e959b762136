"""core.plex.parse against the real captured Plex samples (no network)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from core.normalize import fold, parse_title
from core.plex import PlexBadResponse, PlexPin, extract_asin
from core.plex.parse import (
    ALBUM_LISTING,
    MAY_NAME_A_SERIES,
    TRACK_LISTING,
    album_folder_from,
    albums_from,
    common_folder,
    decode_body,
    folder_of,
    folders_from,
    parse_account,
    parse_album_folder,
    parse_albums,
    parse_folders,
    parse_identity,
    parse_libraries,
    parse_pin,
    parse_resources,
    parse_xml,
    title_series,
)
from tests.fakes.plex import synthetic_albums

FIXTURES = Path(__file__).parent / "fixtures" / "plex"


def load(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def load_json(name: str) -> Any:
    return json.loads(load(name))


def test_real_json_album_listing_parses_every_album() -> None:
    albums, count = parse_albums(load_json("pms_library_sections_15_all_type9_music_albums.json"))
    assert count == 99
    assert len(albums) == 99
    first = albums[0]
    assert first.rating_key == "28146"
    assert first.title == "Bad Omens"
    assert first.author == "Bad Omens"  # parentTitle (seed fix #4)
    assert first.guid == "plex://album/5d07ca42403c640290d10d9f"
    assert first.asin is None  # plex:// guids carry no ASIN
    assert first.year == 2016
    assert first.added_at == 1738341988
    assert first.updated_at == 1738341990
    assert first.library_id == "15"  # from the container: items do not repeat it
    assert first.file_path is None
    assert first.narrator is None
    assert all(a.rating_key and a.title for a in albums)


def _split_samples(xml: bytes) -> list[bytes]:
    return [
        m.encode() for m in re.findall(r"<MediaContainer.*?</MediaContainer>", xml.decode(), re.S)
    ]


def test_real_xml_album_listing_and_children() -> None:
    listing, children = _split_samples(
        load("pms_music_album_listing_and_album_children_tracks_2017.xml")
    )
    albums, count = parse_albums(parse_xml(listing))
    assert count == 1
    (album,) = albums
    assert album.rating_key == "14"
    assert album.title == "Title"
    assert album.author == "Artist1 and Artist2"
    assert album.year == 2016  # XML strings become ints
    assert album.added_at == 1514064996
    assert album.summary is None  # summary="" means none
    assert album.library_id == "3"
    tracks = parse_xml(children)
    assert parse_folders(tracks) == ({"14": "/"}, 1)
    assert parse_album_folder(tracks) == "/"


def test_real_metadata_with_local_guid_and_part_file() -> None:
    data = load_json("pms_library_metadata_56939_json_local_guid_media_part.json")
    item = data["MediaContainer"]["Metadata"][0]
    assert extract_asin(item["guid"]) is None
    assert parse_albums(data) == ([], 1)  # a movie is not a book
    assert parse_album_folder(data) == "/Movies (Documentaries)/Boiling Point (1999)"


def test_identity_sections_from_real_samples() -> None:
    identity = parse_identity(parse_xml(load("pms_identity_1.42.2.xml")))
    assert identity.machine_identifier == "2757a8d90a22f2fd9077c77b9107536981bf1a28"
    assert identity.version == "1.42.2.10156-f737b826c"
    assert identity.claimed is True
    libraries = parse_libraries(load_json("pms_library_sections.json"))
    music = [lib for lib in libraries if lib.is_music]
    assert [lib.id for lib in music] == ["5"]
    assert music[0].title == "Audiobooks"
    assert music[0].locations == ("/mnt/Media/Audiobooks",)
    assert music[0].agent == "tv.plex.agents.music"
    tv = next(lib for lib in libraries if lib.id == "1")
    assert tv.locations == ("/mnt/TV_3", "/mnt/TV_1", "/mnt/TV_2")
    assert not tv.is_music


@pytest.mark.parametrize(
    "name", ["pms_401_unauthorized_body.html", "pms_401_unauthorized_body_legacy_2015.html"]
)
@pytest.mark.parametrize("content_type", ["text/html", None, ""])
def test_html_bodies_are_bad_responses_not_crashes(name: str, content_type: str | None) -> None:
    with pytest.raises(PlexBadResponse):
        decode_body(load(name), content_type)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"MediaContainer": {"size": 2, "Metad', "application/json"),
        (b"<MediaContainer size='2'><Directory ", "text/xml;charset=utf-8"),
        (b"", "application/json"),
        (b"", None),
        (b"\x00\x01garbage", "application/octet-stream"),
    ],
)
def test_malformed_bodies_raise_bad_response(body: bytes, content_type: str | None) -> None:
    with pytest.raises(PlexBadResponse):
        decode_body(body, content_type)


def test_body_sniffing_when_content_type_is_missing() -> None:
    assert decode_body(b'  {"a": 1}', None) == {"a": 1}
    assert decode_body(b'<MediaContainer size="0" />', "") == {"MediaContainer": {"size": "0"}}
    with pytest.raises(PlexBadResponse):
        parse_albums({"errors": []})


def test_xml_single_children_become_lists_like_json() -> None:
    xml = (
        b'<MediaContainer size="1" librarySectionID="5">'
        b'<Directory ratingKey="7" type="album" title="Dune" parentTitle="Frank Herbert" '
        b'guid="plex://album/abc" userRating="8.0" duration="75600000">'
        b'<Style tag="Scott Brick" /><Guid id="audnexus://album/B002V1OF70" /></Directory>'
        b"</MediaContainer>"
    )
    (album,), _ = parse_albums(parse_xml(xml))
    assert album.narrator == "Scott Brick"
    assert album.asin == "B002V1OF70"
    assert album.user_rating == 8.0
    assert album.duration_ms == 75_600_000
    assert album.library_id == "5"


def test_empty_json_listing_omits_metadata() -> None:
    assert parse_albums({"MediaContainer": {"size": 0, "totalSize": 0}}) == ([], 0)
    assert parse_folders({"MediaContainer": {"size": 0}}) == ({}, 0)


def test_folders_use_the_common_path_of_an_albums_tracks() -> None:
    def track(parent: str, path: str) -> dict[str, Any]:
        return {"parentRatingKey": parent, "Media": [{"Part": [{"file": path}]}]}

    data = {
        "MediaContainer": {
            "Metadata": [
                track("1", "/books/A/Book/CD1/01.mp3"),
                track("1", "/books/A/Book/CD2/02.mp3"),
                track("2", "/books/B/Other/Other.m4b"),
                track("3", "C:\\Books\\C\\Third\\Disc 1\\01.mp3"),
                track("3", "C:\\Books\\C\\Third\\Disc 2\\01.mp3"),
                {
                    "parentRatingKey": "4",
                    "Media": [{"Part": [{"file": "/x/a.mp3"}, {"file": "/x/y/b.mp3"}]}],
                },
                {"parentRatingKey": "5"},  # no media: no folder
            ]
        }
    }
    folders, count = parse_folders(data)
    assert count == 7
    assert folders == {
        "1": "/books/A/Book",
        "2": "/books/B/Other",
        "3": "C:\\Books\\C\\Third",
        "4": "/x",
    }
    assert folder_of("/a.mp3") == "/"
    assert common_folder("/a/b", "/a/b") == "/a/b"
    assert common_folder("/a/b", "relative/b") == "/a/b"


def test_plex_tv_samples() -> None:
    resources = parse_resources(load_json("plextv_api_v2_resources.json"))
    assert len(resources) == 7
    first = resources[0]
    assert first.name == "StreamMaster"
    assert first.client_identifier == "8276c3fa6bc24e44b347e19c71fbb98b9287c1e9"
    assert first.is_server and first.owned
    assert first.access_token == "Hg7FGK9xVGdWZRa_sj76"
    assert first.connections[0].startswith("https://192-168-1-150.")
    assert "Hg7FGK9xVGdWZRa_sj76" not in repr(first)  # tokens stay out of logs

    account = parse_account(load_json("plextv_api_v2_users_signin_user.json"))
    assert (account.id, account.uuid, account.username) == (62735028, "b9h6f3c8k1", "ZjFvKLCb")
    assert account.email == "c9eMdShR@example.com"
    xml_account = parse_account(parse_xml(load("plextv_api_v2_user_python-plexapi_payload.xml")))
    assert (xml_account.id, xml_account.username, xml_account.title) == (
        12345,
        "testuser",
        "Test User",
    )

    sample = load_json("plextv_api_v2_pins_strong_response_ombi_issue_2894.json")
    with pytest.raises(PlexBadResponse):
        parse_pin(sample)  # the captured id was redacted to text
    pin = parse_pin({**sample, "id": 373040866})
    assert pin == PlexPin(373040866, "authentication-code", None, "2019-03-28T01:26:17.245Z")
    assert not pin.authorized


def test_resources_in_xml_shape() -> None:
    xml = (
        b'<resources size="1"><resource name="Home" clientIdentifier="abc" provides="server" '
        b'owned="0" accessToken="tok123456"><connections>'
        b'<connection uri="http://10.0.0.2:32400" /></connections></resource></resources>'
    )
    (resource,) = parse_resources(parse_xml(xml))
    assert resource.client_identifier == "abc"
    assert resource.owned is False
    assert resource.access_token == "tok123456"
    assert resource.connections == ["http://10.0.0.2:32400"]


def test_typed_json_decoding_gives_what_the_generic_road_gives() -> None:
    """The scan's fast road (msgspec into typed entries) and the dict road agree."""
    body = load("pms_library_sections_15_all_type9_music_albums.json")
    fast = albums_from(decode_body(body, "application/json", ALBUM_LISTING))
    assert fast == parse_albums(json.loads(body))
    meta = load("pms_library_metadata_56939_json_local_guid_media_part.json")
    folder = album_folder_from(decode_body(meta, "application/json", TRACK_LISTING))
    assert folder == "/Movies (Documentaries)/Boiling Point (1999)"


def test_xml_decodes_into_the_same_typed_listing() -> None:
    listing, children = _split_samples(
        load("pms_music_album_listing_and_album_children_tracks_2017.xml")
    )
    albums, count = albums_from(decode_body(listing, "text/xml", ALBUM_LISTING))
    assert (count, albums[0].year, albums[0].library_id) == (1, 2016, "3")
    assert folders_from(decode_body(children, "text/xml", TRACK_LISTING)) == ({"14": "/"}, 1)


def test_odd_shapes_cost_the_odd_value_never_the_book_or_the_page() -> None:
    """Untrusted metadata: an object where a number belongs, a Media that is not a list."""
    body = json.dumps(
        {
            "MediaContainer": {
                "totalSize": 2,
                "Metadata": [
                    {"ratingKey": "1", "type": "album", "title": "Odd", "year": {"x": 1},
                     "guid": "plex://album/1", "Style": "not a list"},
                    {"ratingKey": 2, "type": "album", "title": 7, "guid": "plex://album/2"},
                ],
            }
        }
    ).encode()
    albums, count = albums_from(decode_body(body, "application/json", ALBUM_LISTING))
    assert count == 2
    got = [(a.rating_key, a.title, a.year) for a in albums]
    assert got == [("1", "Odd", None), ("2", "7", None)]
    tracks = json.dumps(
        {
            "MediaContainer": {
                "Metadata": [
                    {"parentRatingKey": "9", "Media": {"Part": [{"file": "/b/Book/01.mp3"}]}},
                    {"parentRatingKey": "9", "Media": [{"Part": [{"file": "/b/Book/02.mp3"}]}]},
                    {"parentRatingKey": 8, "Media": [{"Part": "garbage"}]},
                ]
            }
        }
    ).encode()
    listing = decode_body(tracks, "application/json", TRACK_LISTING)
    assert folders_from(listing) == ({"9": "/b/Book"}, 3)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Leviathan Wakes (The Expanse, Book 1)", ("The Expanse", "1")),
        ("Words of Radiance (Stormlight Archive #2)", ("Stormlight Archive", "2")),
        ("Caliban's War: Book 2 of the Expanse", ("The Expanse", "2")),  # one spelling
        ("Mistborn: The Final Empire (Mistborn, Book 1)", ("Mistborn", "1")),
        ("Project Hail Mary", (None, None)),
        ("Dungeon Crawler Carl 2", (None, None)),  # a volume, but no series named
    ],
)
def test_title_series_keeps_the_titles_spelling(
    title: str, expected: tuple[str | None, str | None]
) -> None:
    assert title_series(title) == expected


TRICKY_TITLES = [
    "Leviathan Wakes (The Expanse, Book 1)",
    "Caliban's War: Book 2 of the Expanse",
    "Mistborn 2: The Well of Ascension",
    "The Expanse 3 - Abaddon's Gate",
    "Book 2 - Lost in a Good Book",
    "Oathbringer; The Stormlight Archive, Book 3",
    "Red Rising – Book 1",  # en dash
    "Golden Son — Red Rising 2",  # em dash
    "Morning Star [Red Rising #3]",
    "Iron Gold {Red Rising Saga}",
    "The Stone Sky: A Broken Earth Novel",
    "Catch-22",
    "Full-Cast Dramatization",
    "Dungeon Crawler Carl 2",
    "Project Hail Mary",
    "Twenty Thousand Leagues Under the Sea, Book One",
    "Ｈａｌｏ：Ｔｈｅ Ｆａｌｌ ｏｆ Ｒｅａｃｈ",  # full-width colon
]


@pytest.mark.parametrize("seed", [1, 2])
def test_titles_the_pre_check_skips_name_no_series(seed: int) -> None:
    """The cheap test in `title_series` never hides a series `parse_title` would find."""
    titles = [a.title for a in synthetic_albums(4000, seed=seed)] + TRICKY_TITLES
    skipped = [t for t in titles if not MAY_NAME_A_SERIES.search(fold(t))]
    assert len(skipped) > len(titles) // 2  # it does skip most titles
    assert [t for t in skipped if parse_title(t).series] == []
    assert all(title_series(t) == (None, None) for t in skipped)
    with_series = [t for t in titles if parse_title(t).series]
    assert with_series and all(title_series(t)[0] for t in with_series)
