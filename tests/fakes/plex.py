"""A fake Plex Media Server and a fake plex.tv on 127.0.0.1, speaking the real wire formats.

Shapes are copied from the real samples in ``tests/fixtures/plex/``: JSON
``MediaContainer.Metadata`` (omitted when empty) when the client sends
``Accept: application/json``, XML otherwise (albums ``<Directory
type="album">``, tracks ``<Track><Media><Part file=.../>``), the real HTML
body on a 401, ``totalSize``/``offset`` plus the ``X-Plex-Container-*``
headers on paged listings. Tests mutate the state (``albums``, knobs) directly.

Knobs of ``FakePlex`` (all plain attributes, change them at any time):
``format`` ("auto" | "json" | "xml"), ``omit_totals``, ``fail_at_start``
({start: status}), ``malformed_at_start`` ({start}), ``drop_at_start``
({start}), ``drop_connections``, ``delay`` (seconds per request),
``ignore_paging``, ``max_page_size``, ``identity_requires_token``; for
transient faults ``fail_page(start, status, times=, retry_after=)`` (once, k
times or always, 429 with ``Retry-After``), ``stall_page`` (a timeout) and
``drop_page``, each a ``PageFault`` in ``page_faults`` that counts ``served``;
``requests`` logs every request, ``refreshes`` every section refresh;
``add_user(token, ratings)`` accepts a shared user's server token whose
listings carry that user's ``userRating``. The audiobook section is ``"1"``
(``section_id``), the movie section ``"2"``; ``/identity`` needs no token, as
on a real PMS.

Usage::

    async with FakePlex() as pms:                   # clients retry with QUICK_RETRY
        pms.add_album("Project Hail Mary", "Andy Weir", narrators=["Ray Porter"],
                      guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en")
        async with pms.client() as server:          # a PlexServer pointed at the fake
            pages = [p async for p in server.iter_albums(pms.section_id)]
    async with FakePlexTV() as tv:
        tv.add_account("user-token", username="reader", servers={pms.machine_identifier: "srv-tok"})

For benchmarks run it as its own process (so only the scanner's memory is
measured): ``python -m tests.fakes.plex --albums 50000 --port 0 --token T``
prints ``READY <url>`` once listening and serves until killed (``--seed``,
``--section``, ``--format`` optional).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import logging
import math
import os
import random
import signal
import string
import sys
import time
import zlib
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from json.encoder import encode_basestring_ascii
from pathlib import Path
from typing import Any, Literal, Self, TypeVar

from aiohttp import web

from core.aio import AsyncClosing
from core.plex.server import TRACK_FIELDS_LEFT_OFF, PlexServer
from core.plex.tv import PlexTV
from tests.fakes.retry import QUICK_RETRY

log = logging.getLogger(__name__)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plex"

DEFAULT_TOKEN = "fake-plex-system-token-0001"
DEFAULT_MACHINE_ID = "2757a8d90a22f2fd9077c77b9107536981bf1a28"  # from pms_identity sample
DEFAULT_VERSION = "1.42.2.10156-f737b826c"
TEST_CLIENT_ID = "earmark-tests-client-0001"

UNAUTHORIZED_HTML = (FIXTURES / "pms_401_unauthorized_body.html").read_bytes()
SERVER_ERROR_HTML = (
    b"<html><head><title>Internal Server Error</title></head>"
    b"<body><h1>500 Internal Server Error</h1></body></html>"
)
NOT_FOUND_HTML = (
    b"<html><head><title>Not Found</title></head><body><h1>404 Not Found</h1></body></html>"
)
BAD_REQUEST_HTML = (
    b"<html><head><title>Bad Request</title></head><body><h1>400 Bad Request</h1></body></html>"
)
XML_TYPE = "text/xml;charset=utf-8"
JSON_TYPE = "application/json"

Format = Literal["auto", "json", "xml"]
_T = TypeVar("_T")

# Bumped by every attribute assignment on any FakeAlbum: caches derived from
# the album list (track offsets) compare it instead of rescanning 50k albums.
_generation = 0
_Listing = list["FakeAlbum"] | None


_FIXTURE_TEXT: dict[str, str] = {}


def _load_json(name: str) -> Any:
    """A fresh parse of a fixture (read once), so callers may mutate what they get."""
    text = _FIXTURE_TEXT.get(name)
    if text is None:
        text = _FIXTURE_TEXT[name] = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text)


# -- wire rendering ------------------------------------------------------------

_XML_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _xml_value(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value).translate(_XML_ESCAPES)


def render_xml(tag: str, obj: Mapping[str, Any], child_tag: str | None = None) -> str:
    """JSON-shaped dict -> PMS XML: scalars become attributes, lists of dicts child elements.

    ``child_tag`` renames the ``Metadata`` list (``Directory`` for albums,
    ``Track`` for tracks), the one place where PMS's two formats differ in name.
    """
    attrs: list[str] = []
    children: list[str] = []
    for key, value in obj.items():
        if isinstance(value, list):
            name = child_tag if key == "Metadata" and child_tag else key
            children.extend(render_xml(name, child) for child in value if isinstance(child, dict))
        elif isinstance(value, dict):
            children.append(render_xml(key, value))
        elif value is not None:
            attrs.append(f' {key}="{_xml_value(value)}"')
    head = f"<{tag}{''.join(attrs)}"
    if not children:
        return head + " />"
    return head + ">" + "".join(children) + f"</{tag}>"


_json_str: Callable[[str], str] = encode_basestring_ascii


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def _hex24(text: str) -> str:
    """A stable 24-hex id like the ones in ``plex://album/...`` guids."""
    a = _crc(text)
    b = _crc(text[::-1] + "#")
    c = _crc("@" + text)
    return f"{a:08x}{b:08x}{c:08x}"


def _safe_name(text: str) -> str:
    return text.replace("/", "-").replace("\\", "-")


# -- the album record ------------------------------------------------------------


@dataclass(slots=True, eq=False)
class FakeAlbum:
    """One audiobook as PMS stores it: an album whose artist is the author.

    ``guid`` is the album's agent guid; ``guids`` the ``Guid`` children
    (``includeGuids=1``); ``narrators`` go out as ``Style`` tags, the way the
    Audnexus agent writes them. Files: ``files`` if given, else ``tracks``
    generated names under ``folder`` (spread over ``CD1``..``CDn`` when
    ``discs`` > 1). Assigning any attribute invalidates the fake's caches; after
    mutating a list in place call ``touch()``.
    """

    rating_key: str
    title: str
    author: str
    guid: str = ""
    guids: list[str] = field(default_factory=list)
    narrators: list[str] = field(default_factory=list)
    genres: list[str] = field(default_factory=list)
    year: int | None = None
    summary: str = ""
    added_at: int = 0
    updated_at: int = 0
    duration: int | None = None
    user_rating: float | None = None
    folder: str = ""
    tracks: int = 1
    discs: int = 1
    files: list[str] | None = None
    author_key: str = ""

    def __post_init__(self) -> None:
        if not self.guid:
            self.guid = f"plex://album/{_hex24(self.rating_key + self.title)}"
        if not self.folder:
            self.folder = f"/audiobooks/{_safe_name(self.author)}/{_safe_name(self.title)}"
        if not self.author_key:
            self.author_key = str(800_000_000 + _crc(self.author) % 100_000_000)
        if not self.updated_at:
            self.updated_at = self.added_at

    def __setattr__(self, name: str, value: Any) -> None:
        global _generation
        object.__setattr__(self, name, value)
        _generation += 1

    def touch(self) -> None:
        """Tell the fake that a list field was mutated in place."""
        global _generation
        _generation += 1

    @property
    def track_count(self) -> int:
        return len(self.files) if self.files is not None else max(self.tracks, 0)

    def track_file(self, index: int) -> str:
        """Absolute path of track ``index`` (0-based)."""
        if self.files is not None:
            return self.files[index]
        name = _safe_name(self.title)
        if self.tracks <= 1:
            return f"{self.folder}/{name}.m4b"
        discs = max(1, min(self.discs, self.tracks))
        if discs == 1:
            return f"{self.folder}/{index + 1:02d} - {name}.mp3"
        per_disc = math.ceil(self.tracks / discs)
        return f"{self.folder}/CD{index // per_disc + 1}/{index + 1:02d} - {name}.mp3"

    def track_key(self, index: int) -> str:
        if self.rating_key.isdigit():
            return str(int(self.rating_key) * 1000 + index + 1)
        return f"{self.rating_key}.{index + 1}"


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """What the fake saw: for asserting on paging, headers and the absence of URL tokens."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]

    @property
    def start(self) -> int | None:
        raw = self.query.get("X-Plex-Container-Start", self.headers.get("X-Plex-Container-Start"))
        return int(raw) if raw is not None else None

    @property
    def size(self) -> int | None:
        raw = self.query.get("X-Plex-Container-Size", self.headers.get("X-Plex-Container-Size"))
        return int(raw) if raw is not None else None


@dataclass(slots=True)
class PageFault:
    """A listing page that fails its next ``times`` requests (None: every one).

    It answers ``status`` (with ``Retry-After`` when set), or drops the
    connection (``drop``), or first waits ``stall`` seconds, long enough for
    the client to time out, and then answers normally (``status`` None).
    ``listing`` limits it to one ``type`` (``"9"`` albums, ``"10"`` tracks).
    """

    status: int | None = 500
    times: int | None = 1
    retry_after: str | None = None
    drop: bool = False
    stall: float = 0.0
    listing: str | None = None
    served: int = 0

    def fires(self, listing: str | None) -> bool:
        """Whether this request fails; counts it when it does."""
        if self.listing is not None and listing != self.listing:
            return False
        if self.times is not None and self.served >= self.times:
            return False
        self.served += 1
        return True


def _record(request: web.Request) -> RecordedRequest:
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=dict(request.query),
        headers=dict(request.headers),
    )


# -- synthetic library ---------------------------------------------------------------


def _words(text: str) -> list[str]:
    """Space-separated words; ``_`` joins two-word names."""
    return [word.replace("_", " ") for word in text.split()]


_FIRST = _words(
    "Andy Ann Brandon Carla Colleen Dan David Delia Diana Elena Emily Frank Fredrik George "
    "Hannah Holly Ian Isaac James Jane Jasmine John Jojo Kate Kazuo Kristin Laura Lee Leigh "
    "Liane Lisa Madeline Maggie Margaret Mark Martha Mary Matt Michael Naomi Neil Nora Octavia "
    "Patrick Paula Pierce Rachel Ray Rebecca Richard Robin Ruth Sally Sarah Stephen Susanna "
    "Taylor Terry Tess Ursula Victoria Walter Yaa Zadie"
)
_LAST = _words(
    "Adams Anspach Atwood Bardugo Brown Butler Card Christie Clarke Cline Cole Collins Corey "
    "Crouch Doerr Evanovich Flynn Gaiman Gladwell Grisham Hannah Harris Herbert Hobb Hoover "
    "Ishiguro Jemisin Jenkins Kawakami King Kingsolver Lackey Larsson Le_Guin Leckie Lee "
    "Lowry Maas Mandel Martin McCarthy Mieville Miller Morgenstern Moriarty Murakami Ng Novik "
    "Obama Owens Patchett Patterson Picoult Pratchett Reid Riley Roberts Rooney Rothfuss "
    "Rowling Sanderson Scalzi Schwab Sedaris Shelley Smith Stewart Tartt Tolkien Walker Ward "
    "Weir Whitehead Wilson Winters Woolf Yanagihara Zevin"
)
_ADJ = _words(
    "Silent Broken Golden Hidden Last Lost Burning Crimson Dark Distant Empty Endless Fallen "
    "Final Forgotten Frozen Gentle Glass Hollow Invisible Iron Little Midnight Northern "
    "Quiet Restless Sacred Secret Shattered Silver Sleeping Stolen Strange Sunken Wild "
    "Wandering Wicked Winter"
)
_NOUN = _words(
    "Archive Atlas Bridge Castle City Clock Code Covenant Crown Daughter Dragon Dream Empire "
    "Engine Garden Ghost Girl Harbor Heir House Hunter Island Kingdom Library Lighthouse "
    "Machine Map Mirror Mountain Night Ocean Orchard Palace Path Prince Queen River Road "
    "Saint Sea Shadow Signal Sister Sky Song Star Storm Sword Throne Tide Tower Valley Voyage "
    "War Widow Wind Witness Wolf"
)
_PLACE = _words(
    "Avalon Babel Carthage Eldoria Hollowmere Kestrel_Bay Lindon Marrow_Hill Northfall "
    "Oldport Ravenhold Saltmarsh Thornwick Umber_Vale Westmarch Yarrow Zenith"
)
_GENRES = (
    "Fiction",
    "Science Fiction",
    "Fantasy",
    "Mystery",
    "Thriller",
    "Romance",
    "Historical Fiction",
    "Biography",
    "Memoir",
    "History",
    "Self-Help",
    "Business",
    "Horror",
    "Young Adult",
    "Literary Fiction",
)
_REGIONS = ("us", "us", "us", "uk", "de", "au", "ca", "fr")

# Real books, so that catalog fixtures (same ASINs) and matcher tests meet in the library.
REAL_BOOKS: tuple[tuple[str, str, str, list[str], int], ...] = (
    ("B08G9PRS1K", "Project Hail Mary", "Andy Weir", ["Ray Porter"], 2021),
    (
        "B017V4IM1G",
        "Harry Potter and the Sorcerer's Stone, Book 1",
        "J.K. Rowling",
        ["Jim Dale"],
        2015,
    ),
    ("B079LRSMNN", "Galaxy's Edge", "Jason Anspach, Nick Cole", ["R.C. Bray"], 2018),
    (
        "B08C6YJ1LS",
        "The Coldest Case: A Black Book Audio Drama",
        "James Patterson",
        ["Aaron Paul", "Krysten Ritter", "Nathalie Emmanuel", "Beau Bridges", "full cast"],
        2021,
    ),
)


def _asin(rng: random.Random) -> str:
    if rng.random() < 0.04:  # older titles carry an ISBN-10 as ASIN
        digits = "".join(rng.choices(string.digits, k=9))
        return digits + rng.choice("0123456789X")
    return "B0" + "".join(rng.choices(string.ascii_uppercase + string.digits, k=8))


def _title(rng: random.Random) -> str:
    roll = rng.random()
    adj, noun, noun2, place = (
        rng.choice(_ADJ),
        rng.choice(_NOUN),
        rng.choice(_NOUN),
        rng.choice(_PLACE),
    )
    if roll < 0.22:
        title = f"The {adj} {noun}"
    elif roll < 0.38:
        title = f"The {noun} of {place}"
    elif roll < 0.50:
        title = f"{adj} {noun}s"
    elif roll < 0.60:
        title = f"A {noun} of {noun2}s and {adj} {noun}s"
    elif roll < 0.70:
        title = f"The {noun}'s {noun2}"
    elif roll < 0.80:
        title = f"{place}: The {adj} {noun}"
    elif roll < 0.90:
        title = f"{noun2} {noun}, Book {rng.randint(1, 12)}"
    else:
        title = f"The {adj} {noun}: A {rng.choice(_GENRES)} Novel"
    if rng.random() < 0.07:
        title += " (Unabridged)"
    return title


def _person(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    roll = rng.random()
    if roll < 0.12:
        return f"{first} {rng.choice(string.ascii_uppercase)}. {last}"
    if roll < 0.16:
        return f"{first[0]}.{rng.choice(string.ascii_uppercase)}. {last}"
    return f"{first} {last}"


def _summary(rng: random.Random, title: str, author: str) -> str:
    adj = rng.choice(_ADJ).lower()
    article = "An" if adj[0] in "aeiou" else "A"
    first, second = rng.choice(_NOUN).lower(), rng.choice(_NOUN).lower()
    return f"{title} by {author}. {article} {adj} story of {first}s & {second}s."


def _track_total(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.55:
        return 1  # a single .m4b
    if roll < 0.85:
        return rng.randint(2, 12)
    return rng.randint(13, 40)


def synthetic_albums(
    n: int, *, seed: int = 0, first_key: int = 10_000, now: int | None = None
) -> list[FakeAlbum]:
    """``n`` varied, realistic audiobooks; deterministic for a seed; ~1 s for 50,000."""
    rng = random.Random(seed)
    now = now or 1_735_689_600  # 2025-01-01: stable across runs
    authors = [_person(rng) for _ in range(max(8, n // 5))]
    narrators = [_person(rng) for _ in range(max(8, n // 10))]
    span = 6 * 365 * 86_400
    start_at = now - span
    step = span / max(n, 1)
    albums: list[FakeAlbum] = []
    for i in range(n):
        rk = str(first_key + i)
        if i < len(REAL_BOOKS):
            asin, title, author, voices, year = REAL_BOOKS[i]
        else:
            asin, title, author = _asin(rng), _title(rng), rng.choice(authors)
            voices = [rng.choice(narrators) for _ in range(1 if rng.random() < 0.85 else 2)]
            year = rng.randint(1950, 2025)
        roll = rng.random()
        guids: list[str] = []
        if i < len(REAL_BOOKS) or roll < 0.30:
            guid = f"com.plexapp.agents.audnexus://{asin}_{rng.choice(_REGIONS)}?lang=en"
        elif roll < 0.45:
            guid = f"com.plexapp.agents.audnexus://{asin}?lang=en"
        elif roll < 0.55:
            guid = f"com.plexapp.agents.audiobooks://{asin}?lang=en"
        elif roll < 0.75:
            guid = f"plex://album/{_hex24(rk + title)}"
            guids = [f"audnexus://album/{asin}", f"plex://album/{_hex24(rk)}"]
        elif roll < 0.90:
            guid = f"plex://album/{_hex24(rk + title)}"
        else:
            guid = f"local://{rk}"
        has_agent = guid.startswith("com.") or bool(guids)
        styles = voices if (has_agent and rng.random() < 0.85) or rng.random() < 0.1 else []
        added = int(start_at + i * step + rng.uniform(-3 * step, 3 * step))
        updated = added + (
            rng.randint(0, 200 * 86_400) if rng.random() < 0.3 else rng.randint(0, 120)
        )
        tracks = _track_total(rng)
        folder_author = _safe_name(author)
        folder = (
            f"/audiobooks/{folder_author}/{_safe_name(title)}"
            if rng.random() < 0.8
            else f"/audiobooks/{folder_author}/({year}) {_safe_name(title)}"
        )
        albums.append(
            FakeAlbum(
                rating_key=rk,
                title=title,
                author=author,
                guid=guid,
                guids=guids,
                narrators=styles,
                genres=rng.sample(_GENRES, k=rng.randint(0, 2)),
                year=year if rng.random() < 0.9 else None,
                summary=_summary(rng, title, author) if rng.random() < 0.8 else "",
                added_at=added,
                updated_at=updated,
                duration=rng.randint(2, 40) * 3_600_000 + rng.randint(0, 3_599_999)
                if rng.random() < 0.6
                else None,
                user_rating=float(rng.randint(1, 5) * 2) if rng.random() < 0.2 else None,
                folder=folder,
                tracks=tracks,
                discs=rng.randint(2, 3) if tracks >= 10 and rng.random() < 0.25 else 1,
            )
        )
    return albums


# -- base server ---------------------------------------------------------------------


class _FakeServer(AsyncClosing):
    """aiohttp app on 127.0.0.1 with request logging and a per-request delay."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.delay = 0.0
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        if self._runner is None:
            raise RuntimeError("the fake is not running: use `async with`")
        return f"http://{self.host}:{self.port}"

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def _guard(self, request: web.Request) -> web.StreamResponse | None:
        """Return a response to short-circuit the handler (auth, faults), else None."""
        return None

    async def start(self) -> Self:
        @web.middleware
        async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
            self.requests.append(_record(request))
            if self.delay:
                await asyncio.sleep(self.delay)
            early = await self._guard(request)
            if early is not None:
                return early
            return await handler(request)

        app = web.Application(middlewares=[middleware])
        self._routes(app)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def open(self) -> Self:
        return await self.start()

    async def close(self) -> None:
        await self.stop()


def _drop(request: web.Request) -> web.Response:
    """Abort the TCP connection: the client sees ServerDisconnectedError."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=500)


def _html(status: int) -> web.Response:
    body = {
        400: BAD_REQUEST_HTML,
        401: UNAUTHORIZED_HTML,
        404: NOT_FOUND_HTML,
    }.get(status, SERVER_ERROR_HTML)
    return web.Response(status=status, body=body, content_type="text/html")


# -- fake PMS -------------------------------------------------------------------------

_SORT_FIELDS = {
    "addedAt": "added_at",
    "updatedAt": "updated_at",
    "title": "title",
    "titleSort": "title",
    "year": "year",
    "originallyAvailableAt": "year",
    "userRating": "user_rating",
    "artist.titleSort": "author",
}


def _sort_key(attr: str, album: FakeAlbum) -> Any:
    """Names sort case-blind, numbers with None as 0 (as PMS does)."""
    value = getattr(album, attr)
    return value.casefold() if attr in ("title", "author") else (value or 0)


class FakePlex(_FakeServer):
    """A Plex Media Server with one audiobook (music) section and one movie section."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        machine_identifier: str = DEFAULT_MACHINE_ID,
        version: str = DEFAULT_VERSION,
        section_id: str = "1",
        section_title: str = "Audiobooks",
        agent: str = "com.plexapp.agents.audnexus",
        format: Format = "auto",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self.token = token
        self.machine_identifier = machine_identifier
        self.version = version
        self.section_id = str(section_id)
        self.section_title = section_title
        self.movie_section_id = "2" if self.section_id != "2" else "3"
        self.agent = agent
        self.albums: dict[str, FakeAlbum] = {}
        # Extra accepted tokens (a user's server access token) -> that user's ratings.
        self.user_ratings: dict[str, dict[str, float]] = {}
        self.refreshes: list[str] = []
        # knobs
        self.format: Format = format
        self.omit_totals = False
        self.fail_at_start: dict[int, int] = {}
        self.malformed_at_start: set[int] = set()
        self.drop_at_start: set[int] = set()
        self.drop_connections = False
        self.page_faults: dict[int, PageFault] = {}
        self.ignore_paging = False
        self.max_page_size: int | None = None
        self.identity_requires_token = False
        self._next_key = itertools.count(10_000)
        self._track_cache: tuple[tuple[int, int, int], list[FakeAlbum], list[int]] | None = None
        self._album_cache: dict[tuple[str, bool, float | None], tuple[int, str]] = {}
        self._track_json_cache: dict[tuple[str, int, frozenset[str]], tuple[int, str]] = {}
        #: One album list per query for all its pages (the benchmark process sets it).
        self.cache_listings = False
        self._listing_cache: dict[tuple[str, str], tuple[tuple[int, int], _Listing]] = {}

    # -- state helpers --------------------------------------------------------------

    def client(self, token: str | None = None, **kwargs: Any) -> PlexServer:
        """A PlexServer aimed at this fake (system token unless ``token`` is given).

        It retries like production but with millisecond waits (``QUICK_RETRY``)
        unless ``retry=`` says otherwise.
        """
        kwargs.setdefault("client_identifier", TEST_CLIENT_ID)
        kwargs.setdefault("retry", QUICK_RETRY)
        return PlexServer(self.url, self.token if token is None else token, **kwargs)

    def fail_page(
        self,
        start: int,
        status: int = 500,
        *,
        times: int | None = 1,
        retry_after: str | None = None,
        listing: str | None = None,
    ) -> PageFault:
        """The listing page at ``start`` answers ``status`` ``times`` times (None: always)."""
        fault = PageFault(status, times, retry_after, listing=listing)
        self.page_faults[start] = fault
        return fault

    def stall_page(
        self, start: int, seconds: float, *, times: int | None = 1, listing: str | None = None
    ) -> PageFault:
        """The page at ``start`` answers ``seconds`` late (a client timeout), ``times`` times."""
        fault = PageFault(None, times, stall=seconds, listing=listing)
        self.page_faults[start] = fault
        return fault

    def drop_page(
        self, start: int, *, times: int | None = 1, listing: str | None = None
    ) -> PageFault:
        """The connection asking for the page at ``start`` is cut, ``times`` times."""
        fault = PageFault(None, times, drop=True, listing=listing)
        self.page_faults[start] = fault
        return fault

    def add_user(self, token: str, ratings: Mapping[str, float] | None = None) -> None:
        """Accept another token (a shared user's server token) with its own ratings."""
        self.user_ratings[token] = dict(ratings or {})

    def _new_key(self) -> str:
        while True:
            key = str(next(self._next_key))
            if key not in self.albums:
                return key

    def add_album(
        self,
        title: str,
        author: str,
        *,
        rating_key: str | None = None,
        guid: str = "",
        guids: Iterable[str] = (),
        narrators: Iterable[str] = (),
        genres: Iterable[str] = (),
        year: int | None = None,
        summary: str = "",
        added_at: int | None = None,
        updated_at: int | None = None,
        duration: int | None = None,
        user_rating: float | None = None,
        folder: str = "",
        tracks: int = 1,
        discs: int = 1,
        files: Iterable[str] | None = None,
    ) -> FakeAlbum:
        """Add a book at the end of the library; ``added_at`` defaults to now (newest)."""
        key = rating_key or self._new_key()
        if added_at is None:
            newest = max((a.added_at for a in self.albums.values()), default=0)
            added_at = max(int(time.time()), newest + 1)
        album = FakeAlbum(
            rating_key=key,
            title=title,
            author=author,
            guid=guid,
            guids=list(guids),
            narrators=list(narrators),
            genres=list(genres),
            year=year,
            summary=summary,
            added_at=added_at,
            updated_at=updated_at or added_at,
            duration=duration,
            user_rating=user_rating,
            folder=folder,
            tracks=tracks,
            discs=discs,
            files=list(files) if files is not None else None,
        )
        self.albums[key] = album
        return album

    def remove_album(self, rating_key: str) -> FakeAlbum:
        """Delete a book, as when its files vanish from the library."""
        return self.albums.pop(str(rating_key))

    def update_album(self, rating_key: str, **changes: Any) -> FakeAlbum:
        """Change fields of a book and bump ``updated_at`` like a metadata refresh does."""
        album = self.albums[str(rating_key)]
        for name, value in changes.items():
            setattr(album, name, value)
        if "updated_at" not in changes:
            album.updated_at = max(int(time.time()), album.updated_at + 1)
        return album

    def make_synthetic(self, n: int, *, seed: int = 0) -> list[FakeAlbum]:
        """Append ``n`` realistic albums (all guid forms mixed; the first few are real books)."""
        first = max((int(k) for k in self.albums if k.isdigit()), default=9_999) + 1
        made = synthetic_albums(n, seed=seed, first_key=first)
        for album in made:
            self.albums[album.rating_key] = album
        return made

    # -- plumbing ---------------------------------------------------------------------

    def _routes(self, app: web.Application) -> None:
        app.router.add_get("/identity", self._identity)
        app.router.add_get("/library/sections", self._sections)
        app.router.add_get("/library/sections/{sid}/all", self._section_all)
        app.router.add_get("/library/sections/{sid}/refresh", self._refresh)
        app.router.add_get("/library/metadata/{rk}", self._metadata)
        app.router.add_get("/library/metadata/{rk}/children", self._children)
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    @staticmethod
    def _token_of(request: web.Request) -> str | None:
        return request.headers.get("X-Plex-Token") or request.query.get("X-Plex-Token")

    async def _guard(self, request: web.Request) -> web.StreamResponse | None:
        if self.drop_connections:
            return _drop(request)
        if request.path == "/identity" and not self.identity_requires_token:
            return None
        token = self._token_of(request)
        if token != self.token and token not in self.user_ratings:
            return _html(401)
        return None

    def _format(self, request: web.Request) -> str:
        if self.format != "auto":
            return self.format
        return "json" if "application/json" in request.headers.get("Accept", "") else "xml"

    def _respond(
        self,
        request: web.Request,
        container: dict[str, Any],
        *,
        child_tag: str = "Directory",
        headers: Mapping[str, str] | None = None,
        truncate: bool = False,
        fragments: list[str] | None = None,
    ) -> web.Response:
        """Render a JSON-shaped MediaContainer in the format the request asked for.

        ``fragments`` are entries already rendered as JSON text (JSON only).
        """
        if self._format(request) == "json":
            text = json.dumps({"MediaContainer": container})
            if fragments:
                text = text[:-2] + ', "Metadata": [' + ",".join(fragments) + "]}}"
            body = text.encode()
            ctype = JSON_TYPE
        else:
            xml = render_xml("MediaContainer", container, child_tag)
            body = ('<?xml version="1.0" encoding="UTF-8"?>\n' + xml + "\n").encode()
            ctype = XML_TYPE
        if truncate:
            body = body[: max(1, len(body) // 2)]
        return web.Response(
            body=body,
            headers={"Content-Type": ctype, "X-Plex-Protocol": "1.0", **(headers or {})},
        )

    def _rating_for(self, request: web.Request, album: FakeAlbum) -> float | None:
        token = self._token_of(request)
        if token is not None and token != self.token and token in self.user_ratings:
            return self.user_ratings[token].get(album.rating_key)
        return album.user_rating

    def _section_attrs(self) -> dict[str, Any]:
        return {
            "allowSync": True,
            "art": "/:/resources/artist-fanart.jpg",
            "identifier": "com.plexapp.plugins.library",
            "librarySectionID": int(self.section_id)
            if self.section_id.isdigit()
            else self.section_id,
            "librarySectionTitle": self.section_title,
            "librarySectionUUID": f"00000000-0000-4000-8000-{_crc(self.section_id):012x}",
            "mediaTagPrefix": "/system/bundle/media/flags/",
            "mediaTagVersion": 1734358180,
        }

    # -- entries --------------------------------------------------------------------------

    def album_entry(
        self,
        album: FakeAlbum,
        *,
        include_guids: bool = True,
        rating: float | None = None,
        detail: bool = False,
    ) -> dict[str, Any]:
        """The JSON-shaped album entry (XML renders the same dict)."""
        rk = album.rating_key
        entry: dict[str, Any] = {
            "ratingKey": rk,
            "key": f"/library/metadata/{rk}/children",
            "parentRatingKey": album.author_key,
            "guid": album.guid,
            "parentGuid": f"plex://artist/{_hex24(album.author)}",
            "type": "album",
            "title": album.title,
        }
        if detail:
            entry["librarySectionTitle"] = self.section_title
            entry["librarySectionID"] = self._section_attrs()["librarySectionID"]
            entry["librarySectionKey"] = f"/library/sections/{self.section_id}"
        entry["parentKey"] = f"/library/metadata/{album.author_key}"
        entry["parentTitle"] = album.author
        entry["summary"] = album.summary
        entry["index"] = 1
        if rating is not None:
            entry["userRating"] = rating
            entry["lastRatedAt"] = album.updated_at
        if album.year is not None:
            entry["year"] = album.year
        entry["thumb"] = f"/library/metadata/{rk}/thumb/{album.updated_at}"
        entry["parentThumb"] = f"/library/metadata/{album.author_key}/thumb/{album.updated_at}"
        if album.year is not None:
            entry["originallyAvailableAt"] = f"{album.year}-01-01"
        entry["leafCount"] = album.track_count
        entry["viewedLeafCount"] = 0
        if album.duration is not None:
            entry["duration"] = album.duration
        entry["addedAt"] = album.added_at
        entry["updatedAt"] = album.updated_at
        if album.genres:
            entry["Genre"] = [{"tag": g} for g in album.genres]
        if album.narrators:
            entry["Style"] = [{"tag": n} for n in album.narrators]
        if include_guids and album.guids:
            entry["Guid"] = [{"id": g} for g in album.guids]
        return entry

    def track_entry(self, album: FakeAlbum, index: int) -> dict[str, Any]:
        """The JSON-shaped track entry with its Media/Part (file path)."""
        key = album.track_key(index)
        path = album.track_file(index)
        ext = path.rpartition(".")[2] or "mp3"
        count = max(album.track_count, 1)
        length = (album.duration or 3_600_000 * count) // count
        media_id = int(key) if key.isdigit() else _crc(key)
        codec = "aac" if ext in ("m4b", "m4a") else "mp3"
        return {
            "ratingKey": key,
            "key": f"/library/metadata/{key}",
            "parentRatingKey": album.rating_key,
            "grandparentRatingKey": album.author_key,
            "guid": f"local://{key}",
            "type": "track",
            "title": album.title if count == 1 else f"{album.title} - Part {index + 1}",
            "grandparentKey": f"/library/metadata/{album.author_key}",
            "parentKey": f"/library/metadata/{album.rating_key}",
            "grandparentTitle": album.author,
            "parentTitle": album.title,
            "summary": "",
            "index": index + 1,
            "parentIndex": 1,
            "thumb": f"/library/metadata/{album.rating_key}/thumb/{album.updated_at}",
            "duration": length,
            "addedAt": album.added_at,
            "updatedAt": album.updated_at,
            "Media": [
                {
                    "id": media_id,
                    "duration": length,
                    "bitrate": 64,
                    "audioChannels": 2,
                    "audioCodec": codec,
                    "container": ext,
                    "Part": [
                        {
                            "id": media_id,
                            "key": f"/library/parts/{media_id}/{album.updated_at}/file.{ext}",
                            "duration": length,
                            "file": path,
                            "size": length * 8,
                            "container": ext,
                        }
                    ],
                }
            ],
        }

    def _album_json(self, album: FakeAlbum, include_guids: bool, rating: float | None) -> str:
        """``album_entry`` as JSON text, kept until anything changes: the benchmark's limit
        (the album listing alone) must measure Earmark, not the fake building dicts."""
        key = (album.rating_key, include_guids, rating)
        cached = self._album_cache.get(key)
        if cached is not None and cached[0] == _generation:
            return cached[1]
        text = json.dumps(self.album_entry(album, include_guids=include_guids, rating=rating))
        self._album_cache[key] = (_generation, text)
        return text

    def track_json(
        self, album: FakeAlbum, index: int, exclude: frozenset[str] = frozenset()
    ) -> str:
        """``track_entry`` as JSON text, kept until anything changes (as ``_album_json``):
        rendering ~330k tracks took the fake 1.6 s of CPU per listing at 50k albums, more
        than Earmark's whole share of reading it, so the fake was the bottleneck.

        ``exclude``: top-level attributes left off, as PMS does for ``excludeFields``.
        """
        key = (album.rating_key, index, exclude)
        cached = self._track_json_cache.get(key)
        if cached is not None and cached[0] == _generation:
            return cached[1]
        text = self._render_track_json(album, index, exclude)
        self._track_json_cache[key] = (_generation, text)
        return text

    def _render_track_json(self, album: FakeAlbum, index: int, exclude: frozenset[str]) -> str:
        q = _json_str
        key = album.track_key(index)
        path = album.track_file(index)
        ext = path.rpartition(".")[2] or "mp3"
        count = max(album.track_count, 1)
        length = (album.duration or 3_600_000 * count) // count
        media_id = int(key) if key.isdigit() else _crc(key)
        codec = "aac" if ext in ("m4b", "m4a") else "mp3"
        rk, ak, upd = album.rating_key, album.author_key, album.updated_at
        title = album.title if count == 1 else f"{album.title} - Part {index + 1}"
        qext = q(ext)
        fields = (
            ("ratingKey", q(key)),
            ("key", q("/library/metadata/" + key)),
            ("parentRatingKey", q(rk)),
            ("grandparentRatingKey", q(ak)),
            ("guid", q("local://" + key)),
            ("type", '"track"'),
            ("title", q(title)),
            ("grandparentKey", q("/library/metadata/" + ak)),
            ("parentKey", q("/library/metadata/" + rk)),
            ("grandparentTitle", q(album.author)),
            ("parentTitle", q(album.title)),
            ("summary", '""'),
            ("index", str(index + 1)),
            ("parentIndex", "1"),
            ("thumb", q(f"/library/metadata/{rk}/thumb/{upd}")),
            ("duration", str(length)),
            ("addedAt", str(album.added_at)),
            ("updatedAt", str(upd)),
        )
        media = (
            f'[{{"id":{media_id},"duration":{length},"bitrate":64,"audioChannels":2,'
            f'"audioCodec":"{codec}","container":{qext},'
            f'"Part":[{{"id":{media_id},"key":{q(f"/library/parts/{media_id}/{upd}/file.{ext}")},'
            f'"duration":{length},"file":{q(path)},"size":{length * 8},"container":{qext}}}]}}]'
        )
        attrs = ",".join(f'"{name}":{text}' for name, text in fields if name not in exclude)
        return f'{{{attrs},"Media":{media}}}'

    def _artist_entries(self, albums: list[FakeAlbum]) -> list[dict[str, Any]]:
        seen: dict[str, FakeAlbum] = {}
        for album in albums:
            seen.setdefault(album.author_key, album)
        return [
            {
                "ratingKey": key,
                "key": f"/library/metadata/{key}/children",
                "guid": f"plex://artist/{_hex24(album.author)}",
                "type": "artist",
                "title": album.author,
                "summary": "",
                "index": 1,
                "addedAt": album.added_at,
                "updatedAt": album.updated_at,
            }
            for key, album in seen.items()
        ]

    def _track_index(self) -> tuple[list[FakeAlbum], list[int]]:
        """Albums and cumulative track counts, recomputed only when something changed."""
        stamp = (_generation, id(self.albums), len(self.albums))
        if self._track_cache is None or self._track_cache[0] != stamp:
            albums = list(self.albums.values())
            cumulative = list(itertools.accumulate(a.track_count for a in albums))
            self._track_cache = (stamp, albums, cumulative)
        return self._track_cache[1], self._track_cache[2]

    def _track_page(
        self, start: int, size: int | None, render: Callable[[FakeAlbum, int], _T]
    ) -> tuple[list[_T], int]:
        """Tracks ``start``..``start+size`` of the section (album order), and the total."""
        albums, cumulative = self._track_index()
        total = cumulative[-1] if cumulative else 0
        end = total if size is None else min(total, start + size)
        entries: list[_T] = []
        position = start
        index = bisect_right(cumulative, position)
        while position < end and index < len(albums):
            before = cumulative[index - 1] if index else 0
            album = albums[index]
            offset = position - before
            take = min(album.track_count - offset, end - position)
            entries.extend(render(album, offset + i) for i in range(take))
            position += take
            index += 1
        return entries, total

    def _sorted_albums(self, request: web.Request) -> list[FakeAlbum] | None:
        """The albums a listing pages through (``title`` filter, ``sort``); None: bad sort.

        With ``cache_listings`` (the benchmark process, whose library does not
        change) one list per query serves every page: copying 200,000 albums per
        page made the fake the slower half of reading the listing.
        """
        if not self.cache_listings:
            return self._albums_for(request)
        key = (request.query.get("title", ""), request.query.get("sort", ""))
        stamp = (_generation, len(self.albums))
        cached = self._listing_cache.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, self._albums_for(request))
            self._listing_cache[key] = cached
        return cached[1]

    def _albums_for(self, request: web.Request) -> list[FakeAlbum] | None:
        albums = list(self.albums.values())
        title = request.query.get("title")
        if title:
            needle = title.casefold()
            albums = [a for a in albums if needle in a.title.casefold()]
        sort = request.query.get("sort")
        if sort:
            for part in reversed(sort.split(",")):
                name, _, direction = part.partition(":")
                attr = _SORT_FIELDS.get(name)
                if attr is None:
                    return None
                albums.sort(key=partial(_sort_key, attr), reverse=direction == "desc")
        return albums

    @staticmethod
    def _paging(request: web.Request) -> tuple[int, int | None, bool]:
        """(start, size, paging requested) from the query, else from the headers."""

        def pick(name: str) -> str | None:
            return request.query.get(name, request.headers.get(name))

        raw_start, raw_size = pick("X-Plex-Container-Start"), pick("X-Plex-Container-Size")
        start = int(raw_start) if raw_start is not None else 0
        size = int(raw_size) if raw_size is not None else None
        if start < 0 or (size is not None and size < 0):
            raise ValueError("negative paging")
        return start, size, raw_start is not None or raw_size is not None

    # -- handlers ----------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        return _html(404)

    async def _identity(self, request: web.Request) -> web.Response:
        return self._respond(
            request,
            {
                "size": 0,
                "apiVersion": "1.1.1",
                "claimed": True,
                "machineIdentifier": self.machine_identifier,
                "version": self.version,
            },
        )

    async def _sections(self, request: web.Request) -> web.Response:
        sample = _load_json("pms_library_sections.json")["MediaContainer"]["Directory"]
        movie = dict(next(d for d in sample if d["type"] == "movie"))
        music = dict(next(d for d in sample if d["type"] == "artist"))
        movie.update(
            key=self.movie_section_id, title="Movies", Location=[{"id": 31, "path": "/movies"}]
        )
        music.update(
            key=self.section_id,
            title=self.section_title,
            agent=self.agent,
            scanner="Plex Music Scanner",
            hidden=0,
            composite=f"/library/sections/{self.section_id}/composite/1743766611",
            Location=[{"id": 49, "path": "/audiobooks"}],
        )
        container = {
            "size": 2,
            "allowSync": False,
            "title1": "Plex Library",
            "Directory": [movie, music],
        }
        return self._respond(request, container)

    async def _refresh(self, request: web.Request) -> web.Response:
        sid = request.match_info["sid"]
        if sid not in (self.section_id, self.movie_section_id):
            return _html(404)
        self.refreshes.append(sid)
        return web.Response(body=b"", content_type="text/html")

    async def _section_all(self, request: web.Request) -> web.StreamResponse:
        sid = request.match_info["sid"]
        if sid not in (self.section_id, self.movie_section_id):
            return _html(404)
        try:
            start, size, paged = self._paging(request)
        except ValueError:
            return _html(400)
        fault = self.page_faults.get(start)
        if fault is not None and fault.fires(request.query.get("type")):
            if fault.stall:
                await asyncio.sleep(fault.stall)
            if fault.drop:
                return _drop(request)
            if fault.status is not None:
                response = _html(fault.status)
                if fault.retry_after is not None:
                    response.headers["Retry-After"] = fault.retry_after
                return response
        if start in self.drop_at_start:
            return _drop(request)
        if start in self.fail_at_start:
            return _html(self.fail_at_start[start])
        if self.ignore_paging:
            start, size, paged = 0, None, False
        elif self.max_page_size is not None and (size is None or size > self.max_page_size):
            size = self.max_page_size
        kind = request.query.get("type")
        attrs = self._section_attrs()
        child_tag = "Directory"
        entries: list[dict[str, Any]] = []
        fragments: list[str] | None = None
        total = 0
        if sid != self.section_id:
            attrs.update(librarySectionID=int(self.movie_section_id), librarySectionTitle="Movies")
        elif kind == "9":
            albums = self._sorted_albums(request)
            if albums is None:
                return _html(400)
            total = len(albums)
            chosen = albums[start:] if size is None else albums[start : start + size]
            include = request.query.get("includeGuids") == "1"
            if self._format(request) == "json":
                fragments = [
                    self._album_json(a, include, self._rating_for(request, a)) for a in chosen
                ]
            else:
                entries = [
                    self.album_entry(a, include_guids=include, rating=self._rating_for(request, a))
                    for a in chosen
                ]
            attrs.update(title1=self.section_title, title2="All Albums", viewGroup="album")
        elif kind == "10":
            left_off = _excluded_fields(request)
            if self._format(request) == "json":
                fragments, total = self._track_page(
                    start, size, partial(self.track_json, exclude=left_off)
                )
            else:
                entries, total = self._track_page(start, size, self.track_entry)
                entries = [{k: v for k, v in e.items() if k not in left_off} for e in entries]
            attrs.update(title1=self.section_title, title2="All Tracks", viewGroup="track")
            child_tag = "Track"
        elif kind in (None, "8"):
            artists = self._artist_entries(list(self.albums.values()))
            total = len(artists)
            entries = artists[start:] if size is None else artists[start : start + size]
            attrs.update(title1=self.section_title, title2="All Artists", viewGroup="artist")
        container: dict[str, Any] = {
            "size": len(fragments) if fragments is not None else len(entries)
        }
        headers: dict[str, str] = {}
        if paged and not self.omit_totals:
            container["totalSize"] = total
            container["offset"] = start
            headers["X-Plex-Container-Start"] = str(start)
            headers["X-Plex-Container-Total-Size"] = str(total)
        container.update(attrs)
        if entries:
            container["Metadata"] = entries
        return self._respond(
            request,
            container,
            child_tag=child_tag,
            headers=headers,
            truncate=start in self.malformed_at_start,
            fragments=fragments,
        )

    def _find_track(self, rating_key: str) -> tuple[FakeAlbum, int] | None:
        album_key, _, index = rating_key.rpartition(".")
        if not album_key and rating_key.isdigit() and len(rating_key) > 3:
            album_key, index = str(int(rating_key) // 1000), str(int(rating_key) % 1000)
        album = self.albums.get(album_key)
        if album is None or not index.isdigit():
            return None
        position = int(index) - 1
        if 0 <= position < album.track_count:
            return album, position
        return None

    async def _metadata(self, request: web.Request) -> web.Response:
        rk = request.match_info["rk"]
        attrs = self._section_attrs()
        album = self.albums.get(rk)
        if album is not None:
            entry = self.album_entry(
                album, include_guids=True, rating=self._rating_for(request, album), detail=True
            )
            return self._respond(request, {"size": 1, **attrs, "Metadata": [entry]})
        found = self._find_track(rk)
        if found is None:
            return _html(404)
        entry = self.track_entry(*found)
        return self._respond(request, {"size": 1, **attrs, "Metadata": [entry]}, child_tag="Track")

    async def _children(self, request: web.Request) -> web.Response:
        album = self.albums.get(request.match_info["rk"])
        if album is None:
            return _html(404)
        left_off = _excluded_fields(request)
        entries = [
            {k: v for k, v in self.track_entry(album, i).items() if k not in left_off}
            for i in range(album.track_count)
        ]
        container: dict[str, Any] = {
            "size": len(entries),
            **self._section_attrs(),
            "key": album.rating_key,
            "parentIndex": 1,
            "parentTitle": album.author,
            "title1": album.author,
            "title2": album.title,
            "viewGroup": "track",
        }
        if entries:
            container["Metadata"] = entries
        return self._respond(request, container, child_tag="Track")


# -- fake plex.tv -------------------------------------------------------------------------


@dataclass(slots=True)
class FakePin:
    """A PIN as plex.tv keeps it."""

    id: int
    code: str
    client_identifier: str
    product: str
    strong: bool
    created_at: datetime
    expires_in: int
    auth_token: str | None = None
    expired: bool = False


@dataclass(slots=True)
class FakeAccount:
    """A plex.tv account and the servers it can reach (machine id -> its access token)."""

    token: str
    id: int
    uuid: str
    username: str
    email: str
    title: str
    thumb: str
    servers: dict[str, str] = field(default_factory=dict)
    owned: set[str] = field(default_factory=set)
    server_uris: dict[str, str] = field(default_factory=dict)


def _tv_error(status: int, code: int, message: str) -> web.Response:
    """plex.tv's JSON error envelope."""
    body = {"errors": [{"code": code, "message": message, "status": status}]}
    return web.json_response(body, status=status)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakePlexTV(_FakeServer):
    """plex.tv: PINs, ``/api/v2/user`` and ``/api/v2/resources``, JSON as in the samples."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.pins: dict[int, FakePin] = {}
        self.accounts: dict[str, FakeAccount] = {}
        self._pin_ids = itertools.count(373_040_866)
        self._account_ids = itertools.count(62_735_028)
        self._rng = random.Random(7)

    def client(self, **kwargs: Any) -> PlexTV:
        """A PlexTV aimed at this fake (``app_url`` stays the real one unless given)."""
        kwargs.setdefault("client_identifier", TEST_CLIENT_ID)
        kwargs.setdefault("tv_url", self.url)
        kwargs.setdefault("retry", QUICK_RETRY)
        return PlexTV(**kwargs)

    def add_account(
        self,
        token: str,
        *,
        username: str = "reader",
        email: str | None = None,
        servers: Mapping[str, str] | None = None,
        owned: Iterable[str] = (),
        server_uris: Mapping[str, str] | None = None,
        title: str | None = None,
    ) -> FakeAccount:
        """Register an account for ``token``; ``servers`` maps machine id -> access token."""
        account_id = next(self._account_ids)
        uuid = f"{account_id:x}{_crc(username):08x}"[:16]
        account = FakeAccount(
            token=token,
            id=account_id,
            uuid=uuid,
            username=username,
            email=email or f"{username}@example.com",
            title=title or username,
            thumb=f"https://plex.tv/users/{uuid}/avatar?c=1724402119",
            servers=dict(servers or {}),
            owned=set(owned),
            server_uris=dict(server_uris or {}),
        )
        self.accounts[token] = account
        return account

    def authorize(self, pin_id: int, token: str) -> None:
        """The user approved the PIN in the browser: checks now return ``token``."""
        self.pins[int(pin_id)].auth_token = token

    def expire(self, pin_id: int) -> None:
        """plex.tv forgets the PIN: checks now get 404."""
        self.pins[int(pin_id)].expired = True

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/api/v2/pins", self._create_pin)
        app.router.add_get("/api/v2/pins/{pin_id}", self._check_pin)
        app.router.add_get("/api/v2/user", self._user)
        app.router.add_get("/api/v2/resources", self._resources)

    def _pin_body(self, pin: FakePin) -> dict[str, Any]:
        sample = _load_json("plextv_api_v2_pins_strong_response_ombi_issue_2894.json")
        return {
            "id": pin.id,
            "code": pin.code,
            "product": pin.product,
            "trusted": False,
            "qr": f"https://plex.tv/api/v2/pins/qr/{pin.code}",
            "clientIdentifier": pin.client_identifier,
            "location": sample["location"],
            "expiresIn": pin.expires_in,
            "createdAt": _iso(pin.created_at),
            "expiresAt": _iso(pin.created_at + timedelta(seconds=pin.expires_in)),
            "authToken": pin.auth_token,
            "newRegistration": None,
        }

    async def _create_pin(self, request: web.Request) -> web.Response:
        client_id = request.headers.get("X-Plex-Client-Identifier")
        if not client_id:
            return _tv_error(400, 1000, "X-Plex-Client-Identifier is missing")
        strong = request.query.get("strong") in ("true", "1")
        alphabet = string.ascii_lowercase + string.digits if strong else string.ascii_uppercase
        code = "".join(self._rng.choices(alphabet, k=25 if strong else 4))
        pin = FakePin(
            id=next(self._pin_ids),
            code=code,
            client_identifier=client_id,
            product=request.headers.get("X-Plex-Product", ""),
            strong=strong,
            created_at=datetime.now(UTC),
            expires_in=1799 if strong else 900,
        )
        self.pins[pin.id] = pin
        return web.json_response(self._pin_body(pin), status=201)

    async def _check_pin(self, request: web.Request) -> web.Response:
        try:
            pin = self.pins.get(int(request.match_info["pin_id"]))
        except ValueError:
            pin = None
        client_id = request.headers.get("X-Plex-Client-Identifier")
        if pin is None or pin.expired or client_id != pin.client_identifier:
            return _tv_error(404, 1020, "Code not found or expired")
        return web.json_response(self._pin_body(pin))

    def _account_of(self, request: web.Request) -> FakeAccount | None:
        token = request.headers.get("X-Plex-Token") or request.query.get("X-Plex-Token")
        return self.accounts.get(token or "")

    async def _user(self, request: web.Request) -> web.Response:
        account = self._account_of(request)
        if account is None:
            return _tv_error(401, 1001, "User could not be authenticated")
        body = _load_json("plextv_api_v2_users_signin_user.json")
        body.update(
            id=account.id,
            uuid=account.uuid,
            username=account.username,
            title=account.title,
            email=account.email,
            thumb=account.thumb,
            authToken=account.token,
            services=[],
        )
        return web.json_response(body)

    async def _resources(self, request: web.Request) -> web.Response:
        account = self._account_of(request)
        if account is None:
            return _tv_error(401, 1001, "User could not be authenticated")
        template = _load_json("plextv_api_v2_resources.json")[0]
        devices: list[dict[str, Any]] = []
        for number, (machine_id, access_token) in enumerate(account.servers.items(), 1):
            device = dict(template)
            uri = account.server_uris.get(machine_id)
            connections = list(template["connections"])
            if uri:
                host, _, port = uri.split("://", 1)[1].partition(":")
                connections = [
                    {
                        "protocol": uri.split("://", 1)[0],
                        "address": host,
                        "port": int(port or 32400),
                        "uri": uri,
                        "local": True,
                        "relay": False,
                        "IPv6": False,
                    }
                ]
            device.update(
                name=f"Server {number}",
                clientIdentifier=machine_id,
                accessToken=access_token,
                owned=machine_id in account.owned,
                ownerId=None if machine_id in account.owned else 2_639_453,
                sourceTitle=None if machine_id in account.owned else "library-owner",
                connections=connections,
            )
            devices.append(device)
        # A player device: it has a token too, but is not a server.
        devices.append(
            {
                "name": "Plex Web (Chrome)",
                "product": "Plex Web",
                "productVersion": "4.145.1",
                "platform": "Chrome",
                "platformVersion": "131.0",
                "device": "Linux",
                "clientIdentifier": f"web-{account.uuid}",
                "createdAt": "2024-01-01T00:00:00Z",
                "lastSeenAt": "2024-09-05T03:15:45Z",
                "provides": "client,player,pubsub-player",
                "ownerId": None,
                "sourceTitle": None,
                "publicAddress": "54.231.109.34",
                "accessToken": f"player-{account.uuid}",
                "owned": True,
                "home": False,
                "synced": False,
                "relay": False,
                "presence": True,
                "httpsRequired": False,
                "publicAddressMatches": True,
                "dnsRebindingProtection": False,
                "natLoopbackSupported": False,
                "connections": [],
            }
        )
        return web.json_response(devices)


def _excluded_fields(request: web.Request) -> frozenset[str]:
    """``excludeFields=a,b``: the top-level attributes a client asks PMS to leave off."""
    raw = request.query.get("excludeFields", "")
    return frozenset(name.strip() for name in raw.split(",") if name.strip())


# -- separate process for benchmarks ---------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    pms = FakePlex(
        token=args.token,
        section_id=args.section,
        format=args.format,
        host=args.host,
        port=args.port,
    )
    started = time.perf_counter()
    pms.make_synthetic(args.albums, seed=args.seed)
    pms.cache_listings = True
    for album in pms.albums.values():  # the scan's listings, rendered before anyone asks
        pms._album_json(album, True, album.user_rating)
        for index in range(album.track_count):
            pms.track_json(album, index, TRACK_FIELDS_LEFT_OFF)
    # Millions of long-lived objects at 200k albums: out of the collector's way, or each
    # full collection walks them while a listing is being served.
    gc.collect()
    gc.freeze()
    built = time.perf_counter() - started
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with pms:
        print(f"READY {pms.url}", flush=True)
        print(
            f"fake PMS: {len(pms.albums)} albums built in {built:.2f} s, "
            f"section {pms.section_id}, machine {pms.machine_identifier}",
            file=sys.stderr,
            flush=True,
        )
        watchdog = asyncio.create_task(_exit_with_parent(stop, args.parent))
        await stop.wait()
        watchdog.cancel()


async def _exit_with_parent(stop: asyncio.Event, parent: int) -> None:
    """Stop when the process that started us is gone, so a crashed bench leaves no server."""
    while not stop.is_set():
        await asyncio.sleep(1.0)
        if os.getppid() != parent:
            stop.set()


def main(argv: list[str] | None = None) -> None:
    """``python -m tests.fakes.plex --albums N --port 0 --token T``: serve until killed."""
    parser = argparse.ArgumentParser(description="Fake Plex Media Server for benchmarks")
    parser.add_argument("--albums", type=int, default=1000)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("auto", "json", "xml"), default="auto")
    parser.add_argument("--section", default="1", help="key of the audiobook section")
    args = parser.parse_args(argv)
    args.parent = os.getppid()
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
