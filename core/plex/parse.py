"""Wire bodies (PMS/plex.tv JSON or XML) -> the typed models, one code path for both formats.

XML is decoded with xmltodict into the JSON shape (attributes without a
prefix, repeatable children always lists), so every ``parse_*`` function reads
one structure; the only difference left is that XML values are strings, which
the small ``_int``/``_float``/``_bool`` helpers absorb. This module runs once
per item of 50,000-album scans: module-level regexes and plain dict access,
no per-item allocation beyond the model itself.

The two big listings (albums, tracks) have a faster road: their JSON is
decoded by msgspec straight into small typed entries holding only the fields
Earmark keeps (``AlbumEntry``, ``TrackEntry``), skipping everything else
(about 4x faster than ``json.loads`` on a track page). XML, and any JSON whose
shape surprises the typed decoder, is decoded generically and converted entry
by entry into the same types, so one mapping (``albums_from``,
``folders_from``) serves every format. Album fields stay untyped (``Any``):
book metadata is untrusted, and one odd value must cost that value, never the
page.
"""

from __future__ import annotations

import json
import logging
import ntpath
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Generic, TypeVar
from xml.parsers.expat import ExpatError

import msgspec
import xmltodict

from core.asin import asin_from_guid
from core.normalize import fold, parse_title
from core.plex.errors import PlexBadResponse
from core.plex.models import (
    PlexAccount,
    PlexAudiobook,
    PlexIdentity,
    PlexLibrary,
    PlexPin,
    PlexResource,
)

# The scan's ASIN comes from the one rule (``core.asin``); the old name stays public.
extract_asin = asin_from_guid

__all__ = [
    "ALBUM_LISTING",
    "TRACK_LISTING",
    "AlbumEntry",
    "AlbumListing",
    "Listing",
    "TrackEntry",
    "TrackListing",
    "album_folder_from",
    "albums_from",
    "common_folder",
    "container_offset",
    "container_total",
    "decode_body",
    "extract_asin",
    "folder_of",
    "folders_from",
    "media_container",
    "parse_account",
    "parse_album",
    "parse_albums",
    "parse_folders",
    "parse_identity",
    "parse_libraries",
    "parse_pin",
    "parse_resources",
    "parse_xml",
]

log = logging.getLogger(__name__)

# Elements that may repeat: always lists after decoding, like in JSON.
_LIST_TAGS = frozenset(
    {
        "Metadata",
        "Directory",
        "Track",
        "Video",
        "Photo",
        "Guid",
        "Style",
        "Genre",
        "Mood",
        "Collection",
        "Label",
        "Media",
        "Part",
        "Stream",
        "Location",
        "Image",
        "Device",
        "Connection",
        "resource",
        "connection",
    }
)

_HTML_START = (b"<html", b"<!doctype html", b"<head", b"<body")


def parse_xml(body: bytes | str) -> dict[str, Any]:
    """Decode an XML body into the JSON shape; PlexBadResponse when it is not XML."""
    try:
        doc = xmltodict.parse(body, attr_prefix="", force_list=_LIST_TAGS)
    except (ExpatError, ValueError) as err:
        raise PlexBadResponse(f"unparseable XML body: {err}") from err
    if not isinstance(doc, dict):
        raise PlexBadResponse("XML body has no root element")
    # An element without attributes or children decodes to None.
    return {key: ({} if value is None else value) for key, value in doc.items()}


def decode_body(body: bytes, content_type: str | None, listing: Listing[Any] | None = None) -> Any:
    """Parse by Content-Type, sniffing the body when the type says neither JSON nor XML.

    With a ``listing``, the answer is that listing's typed container whatever the format.
    """
    ctype = (content_type or "").lower()
    head = body[:256].lstrip().lower()
    if "json" in ctype or ("xml" not in ctype and head.startswith((b"{", b"["))):
        return _parse_json(body) if listing is None else listing.from_json(body)
    if "xml" not in ctype:
        if head.startswith(_HTML_START):
            raise PlexBadResponse("server answered with an HTML page instead of data")
        if not head:
            raise PlexBadResponse("empty body")
        if not head.startswith(b"<"):
            raise PlexBadResponse(
                f"unrecognised body (content type {content_type or 'missing'!r})"
            )
    data = parse_xml(body)
    return data if listing is None else listing.from_data(data)


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError as err:
        raise PlexBadResponse(f"unparseable JSON body: {err}") from err


# -- value helpers: JSON gives typed values, XML gives strings ---------------


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if type(value) is int:
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if type(value) is str else str(value)


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    return str(value).strip().lower() in {"1", "true", "yes"}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def _tags(value: Any) -> list[str]:
    """The ``tag`` values of Style/Genre-like children, in order."""
    out: list[str] = []
    for entry in _as_list(value):
        tag = entry.get("tag") if isinstance(entry, dict) else entry
        if tag:
            out.append(str(tag))
    return out


# -- containers ----------------------------------------------------------------


def media_container(data: Any) -> dict[str, Any]:
    """The ``MediaContainer`` of a PMS answer; PlexBadResponse when there is none."""
    if not isinstance(data, dict) or "MediaContainer" not in data:
        raise PlexBadResponse("answer has no MediaContainer")
    container = data["MediaContainer"]
    if container is None:
        return {}
    if not isinstance(container, dict):
        raise PlexBadResponse("MediaContainer is not an object")
    return container


def _items(container: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entries of a container: JSON ``Metadata``; XML ``Directory``/``Track``/``Video``."""
    items = container.get("Metadata")
    if items is None:
        items = container.get("Directory") or container.get("Track") or container.get("Video") or []
    items = _as_list(items)
    return [item for item in items if isinstance(item, dict)]


def _field(container: Mapping[str, Any] | Listed, name: str) -> Any:
    if isinstance(container, Mapping):
        return container.get(name)
    return getattr(container, name, None)


def container_total(
    container: Mapping[str, Any] | Listed, headers: Mapping[str, str]
) -> int | None:
    """Total matches from ``totalSize`` or ``X-Plex-Container-Total-Size``; None when absent."""
    total = _int(_field(container, "totalSize"))
    if total is None:
        total = _int(headers.get("X-Plex-Container-Total-Size"))
    return total


def container_offset(
    container: Mapping[str, Any] | Listed, headers: Mapping[str, str]
) -> int | None:
    """The offset the server says this page starts at, when it says so."""
    offset = _int(_field(container, "offset"))
    if offset is None:
        offset = _int(headers.get("X-Plex-Container-Start"))
    return offset


# -- typed listings (the scan's hot path) ------------------------------------------


class AlbumEntry(msgspec.Struct):
    """The fields of an album entry that Earmark keeps; untyped, as metadata is untrusted."""

    ratingKey: Any = None
    guid: Any = None
    type: Any = None
    title: Any = None
    parentTitle: Any = None
    summary: Any = None
    year: Any = None
    thumb: Any = None
    duration: Any = None
    addedAt: Any = None
    updatedAt: Any = None
    userRating: Any = None
    librarySectionID: Any = None
    Style: Any = None
    Guid: Any = None


class PartEntry(msgspec.Struct):
    file: Any = None


class MediaEntry(msgspec.Struct):
    Part: list[PartEntry] | None = None


class TrackEntry(msgspec.Struct):
    """A track reduced to its album and its files (the structure typed: the hot loop)."""

    parentRatingKey: Any = None
    Media: list[MediaEntry] | None = None


class AlbumListing(msgspec.Struct):
    totalSize: Any = None
    offset: Any = None
    librarySectionID: Any = None
    Metadata: list[AlbumEntry] | None = None


class TrackListing(msgspec.Struct):
    totalSize: Any = None
    offset: Any = None
    librarySectionID: Any = None
    Metadata: list[TrackEntry] | None = None


Listed = AlbumListing | TrackListing
L = TypeVar("L", AlbumListing, TrackListing)


class Listing(Generic[L]):
    """How one kind of PMS listing is decoded: typed from JSON, converted from anything else."""

    def __init__(
        self,
        container: type[L],
        entry: type[Any],
        salvage: Callable[[dict[str, Any]], Any] | None = None,
    ) -> None:
        self._container: type[L] = container
        self._entry = entry
        self._salvage = salvage or self._unchecked
        root = msgspec.defstruct(
            f"{container.__name__}Root", [("MediaContainer", container | None)]
        )
        self._decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(root)

    def from_json(self, body: bytes) -> L:
        """The typed decode; a shape it does not expect falls back to the tolerant road."""
        try:
            root = self._decoder.decode(body)
        except msgspec.ValidationError:
            return self.from_data(_parse_json(body))
        except msgspec.DecodeError as err:
            raise PlexBadResponse(f"unparseable JSON body: {err}") from err
        container = root.MediaContainer
        return self._container() if container is None else container

    def from_data(self, data: Any) -> L:
        """A generically decoded answer (XML, odd JSON) converted entry by entry."""
        container = media_container(data)
        return self._container(
            totalSize=container.get("totalSize"),
            offset=container.get("offset"),
            librarySectionID=container.get("librarySectionID"),
            Metadata=[self.entry(item) for item in _items(container)],
        )

    def entry(self, item: Mapping[str, Any]) -> Any:
        """One entry; a malformed part of it is dropped, never the entry (its book stays)."""
        try:
            return msgspec.convert(item, self._entry, strict=False)
        except msgspec.ValidationError:
            return self._salvage(dict(item))

    def _unchecked(self, item: dict[str, Any]) -> Any:
        fields = self._entry.__struct_fields__
        return self._entry(**{name: item.get(name) for name in fields})


def _salvage_track(item: dict[str, Any]) -> TrackEntry:
    parts = [PartEntry(file=path) for path in _part_files(item)]
    return TrackEntry(parentRatingKey=item.get("parentRatingKey"), Media=[MediaEntry(Part=parts)])


ALBUM_LISTING: Listing[AlbumListing] = Listing(AlbumListing, AlbumEntry)
TRACK_LISTING: Listing[TrackListing] = Listing(TrackListing, TrackEntry, _salvage_track)


# -- PMS -------------------------------------------------------------------------


def parse_identity(data: Any) -> PlexIdentity:
    """``GET /identity`` (root ``MediaContainer`` attributes)."""
    container = media_container(data)
    machine = _str(container.get("machineIdentifier"))
    if not machine:
        raise PlexBadResponse("identity answer has no machineIdentifier")
    return PlexIdentity(
        machine_identifier=machine,
        version=_str(container.get("version")),
        platform=_str(container.get("platform")),
        claimed=_bool(container.get("claimed")),
        api_version=_str(container.get("apiVersion")),
    )


def parse_libraries(data: Any) -> list[PlexLibrary]:
    """``GET /library/sections``: every section, music or not (callers filter ``is_music``)."""
    container = media_container(data)
    libraries: list[PlexLibrary] = []
    for entry in _as_list(container.get("Directory")):
        if not isinstance(entry, dict):
            continue
        key = _str(entry.get("key"))
        if key is None:
            continue
        locations = tuple(
            str(loc["path"])
            for loc in _as_list(entry.get("Location"))
            if isinstance(loc, dict) and loc.get("path")
        )
        libraries.append(
            PlexLibrary(
                id=key,
                title=_str(entry.get("title")) or "",
                type=_str(entry.get("type")) or "",
                locations=locations,
                item_count=_int(entry.get("count", entry.get("totalSize"))),
                agent=_str(entry.get("agent")),
            )
        )
    return libraries


def parse_album(
    item: Mapping[str, Any],
    *,
    library_id: str | None = None,
    file_path: str | None = None,
) -> PlexAudiobook | None:
    """One album entry -> PlexAudiobook; None when it is not an album or has no ratingKey."""
    return album_from(ALBUM_LISTING.entry(item), library_id=library_id, file_path=file_path)


def album_from(
    item: AlbumEntry, *, library_id: str | None = None, file_path: str | None = None
) -> PlexAudiobook | None:
    """The one mapping of an album entry, whatever format it came in."""
    rating_key = item.ratingKey
    if rating_key is None or rating_key == "":
        return None
    kind = item.type
    if kind is not None and kind != "album":
        return None
    guid = item.guid or ""
    asin = asin_from_guid(guid) or asin_from_guid(item.Guid)
    narrators = _tags(item.Style)
    section = item.librarySectionID
    return PlexAudiobook(
        rating_key=str(rating_key),
        guid=str(guid),
        title=_str(item.title) or "",
        author=_str(item.parentTitle) or "",
        narrator=", ".join(narrators) if narrators else None,
        duration_ms=_int(item.duration),
        year=_int(item.year),
        summary=_str(item.summary),
        thumb=_str(item.thumb),
        added_at=_int(item.addedAt),
        updated_at=_int(item.updatedAt),
        file_path=file_path,
        user_rating=_float(item.userRating),
        asin=asin,
        library_id=_str(section) if section is not None else library_id,
    )


def parse_albums(data: Any, *, library_id: str | None = None) -> tuple[list[PlexAudiobook], int]:
    """A type=9 listing -> (albums, number of raw entries on the page, for paging)."""
    return albums_from(ALBUM_LISTING.from_data(data), library_id=library_id)


def albums_from(
    listing: AlbumListing, *, library_id: str | None = None
) -> tuple[list[PlexAudiobook], int]:
    """A decoded album listing -> (albums, raw entries on the page)."""
    items = listing.Metadata or []
    section = listing.librarySectionID
    default_library = _str(section) if section is not None else library_id
    albums: list[PlexAudiobook] = []
    for item in items:
        album = album_from(item, library_id=default_library)
        if album is not None:
            albums.append(album)
    if len(albums) != len(items):
        log.debug("skipped %d non-album entries in a listing", len(items) - len(albums))
    return albums, len(items)


# -- folders -------------------------------------------------------------------


def _pathmod(path: str) -> Any:
    """ntpath for Windows server paths (``C:\\...``, ``\\\\nas\\...``), else posixpath."""
    return ntpath if "\\" in path and not path.startswith("/") else posixpath


def folder_of(file_path: str) -> str:
    """The folder holding a file, in the server's own path flavour."""
    if "\\" not in file_path:  # POSIX fast path: runs once per track of a full scan
        head, sep, _tail = file_path.rpartition("/")
        if head and not head.endswith("/"):
            return head
        return posixpath.dirname(file_path) if sep else ""
    return _pathmod(file_path).dirname(file_path)


def common_folder(first: str, second: str) -> str:
    """The deepest folder containing both (``.../Book/CD1`` + ``.../Book/CD2`` -> ``.../Book``)."""
    if first == second:
        return first
    mod = _pathmod(first)
    try:
        common = mod.commonpath([first, second])
    except ValueError:  # relative vs absolute, different drives: keep what we had
        return first
    return common or first


def _part_files(track: Mapping[str, Any]) -> Iterator[str]:
    for media in _as_list(track.get("Media")):
        if not isinstance(media, dict):
            continue
        for part in _as_list(media.get("Part")):
            if isinstance(part, dict):
                path = part.get("file")
                if path:
                    yield str(path)


def parse_folders(data: Any) -> tuple[dict[str, str], int]:
    """Track entries -> ({album rating key: folder of its files}, raw entries on the page)."""
    return folders_from(TRACK_LISTING.from_data(data))


def folders_from(listing: TrackListing) -> tuple[dict[str, str], int]:
    """A decoded track listing -> ({album rating key: common folder of its files}, entries).

    Hot loop of a full scan (one pass per track).
    """
    items = listing.Metadata or []
    folders: dict[str, str] = {}
    get_folder = folders.get
    for track in items:
        parent = track.parentRatingKey
        if parent is None or parent == "":
            continue
        album = parent if type(parent) is str else str(parent)
        for media in track.Media or ():
            for part in media.Part or ():
                path = part.file
                if not path:
                    continue
                folder = folder_of(path if type(path) is str else str(path))
                previous = get_folder(album)
                if previous is None:
                    folders[album] = folder
                elif previous != folder:
                    folders[album] = common_folder(previous, folder)
    return folders, len(items)


def parse_album_folder(data: Any) -> str | None:
    """``/library/metadata/{rk}/children`` -> the common folder of the album's files."""
    return album_folder_from(TRACK_LISTING.from_data(data))


def album_folder_from(listing: TrackListing) -> str | None:
    """The common folder of every file of a decoded track listing (one album's children)."""
    folder: str | None = None
    for track in listing.Metadata or ():
        for media in track.Media or ():
            for part in media.Part or ():
                if part.file:
                    here = folder_of(str(part.file))
                    folder = here if folder is None else common_folder(folder, here)
    return folder


# -- plex.tv ---------------------------------------------------------------------


def _unwrap(data: Any, root: str) -> dict[str, Any]:
    """plex.tv JSON objects are bare; their XML twins sit under a root element."""
    if isinstance(data, dict) and root in data and isinstance(data[root], dict):
        return data[root]
    if isinstance(data, dict):
        return data
    raise PlexBadResponse(f"expected a {root} object")


def parse_pin(data: Any) -> PlexPin:
    """``POST /api/v2/pins`` and ``GET /api/v2/pins/{id}``."""
    pin = _unwrap(data, "pin")
    pin_id = _int(pin.get("id"))
    code = _str(pin.get("code"))
    if pin_id is None or code is None:
        raise PlexBadResponse("PIN answer lacks id or code")
    return PlexPin(
        id=pin_id,
        code=code,
        auth_token=_str(pin.get("authToken")),
        expires_at=_str(pin.get("expiresAt")),
    )


def parse_account(data: Any) -> PlexAccount:
    """``GET /api/v2/user``."""
    user = _unwrap(data, "user")
    account_id = _int(user.get("id"))
    if account_id is None:
        raise PlexBadResponse("user answer lacks id")
    return PlexAccount(
        id=account_id,
        uuid=_str(user.get("uuid")) or "",
        username=_str(user.get("username")) or _str(user.get("title")) or "",
        email=_str(user.get("email")),
        title=_str(user.get("title")),
        thumb=_str(user.get("thumb")),
    )


def _resource_entries(data: Any) -> list[Any]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        if "resources" in data:  # v2 XML: <resources><resource .../></resources>
            inner = data["resources"]
            return _as_list(inner.get("resource")) if isinstance(inner, dict) else []
        if "MediaContainer" in data:  # v1 XML: <MediaContainer><Device .../></MediaContainer>
            return _as_list(media_container(data).get("Device"))
    raise PlexBadResponse("resources answer is not a list of devices")


def _connection_uris(entry: Mapping[str, Any]) -> list[str]:
    raw = entry.get("connections", entry.get("Connection"))
    if isinstance(raw, dict):  # XML: <connections><connection/></connections>
        raw = raw.get("connection")
    return [
        str(conn["uri"]) for conn in _as_list(raw) if isinstance(conn, dict) and conn.get("uri")
    ]


def parse_resources(data: Any) -> list[PlexResource]:
    """``GET /api/v2/resources``: the devices (servers, players) the account can reach."""
    resources: list[PlexResource] = []
    for entry in _resource_entries(data):
        if not isinstance(entry, dict):
            continue
        client_id = _str(entry.get("clientIdentifier"))
        if client_id is None:
            continue
        resources.append(
            PlexResource(
                name=_str(entry.get("name")) or "",
                client_identifier=client_id,
                provides=_str(entry.get("provides")) or "",
                owned=bool(_bool(entry.get("owned"))),
                access_token=_str(entry.get("accessToken")),
                connections=_connection_uris(entry),
            )
        )
    return resources


_TITLE_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
#: What a folded title must hold for ``parse_title`` to find a series in it: a bracket
#: ("(The Expanse, Book 1)"), or a separator before a decoration or after a prefix
#: (":", ";", " -"). Every series rule of ``core.normalize`` needs one of them.
MAY_NAME_A_SERIES = re.compile(r"[\(\[\{:;]|\s-")


def title_series(title: str) -> tuple[str | None, str | None]:
    """(series, position) from a title's series decoration, spelled as the title spells it.

    Plex's album listing has no series field, so "Leviathan Wakes (The
    Expanse, Book 1)" is where the series is. A leading "the" is written
    "The" so that every book of a series carries one spelling. A bare volume
    ("Dungeon Crawler Carl 2") names no series: (None, None).
    """
    if not MAY_NAME_A_SERIES.search(fold(title)):
        return None, None  # three titles in four: no parse (a first scan parses every new one)
    parts = parse_title(title)
    if not parts.series:
        return None, None
    words = _TITLE_WORD.findall(title)
    keys = ["".join(ch for ch in fold(word) if ch.isalnum()) for word in words]
    size = len(parts.series)
    for start in range(len(words) - size, -1, -1):  # the decoration sits last
        if tuple(keys[start : start + size]) == parts.series:
            name = " ".join(words[start : start + size])
            if start and keys[start - 1] == "the":
                name = f"The {name}"
            return name, parts.volume
    return " ".join(parts.series).title(), parts.volume
