"""Typed, immutable results of the Plex clients; the same objects whether PMS spoke JSON or XML.

Fields holding tokens are left out of ``repr`` so that logging a model never
leaks a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "AlbumPage",
    "FolderPage",
    "PlexAccount",
    "PlexAudiobook",
    "PlexIdentity",
    "PlexLibrary",
    "PlexPin",
    "PlexResource",
]


@dataclass(frozen=True, slots=True)
class PlexAudiobook:
    """One book = one Plex album (seed fix #4: the author is the album's ``parentTitle``)."""

    rating_key: str
    guid: str
    title: str
    author: str
    narrator: str | None = None
    duration_ms: int | None = None
    year: int | None = None
    summary: str | None = None
    thumb: str | None = None
    added_at: int | None = None
    updated_at: int | None = None
    file_path: str | None = None
    user_rating: float | None = None
    asin: str | None = None
    library_id: str | None = None


@dataclass(frozen=True, slots=True)
class PlexLibrary:
    """A library section; audiobooks live in music sections (type ``artist``)."""

    id: str
    title: str
    type: str
    locations: tuple[str, ...] = ()
    item_count: int | None = None
    agent: str | None = None

    @property
    def is_music(self) -> bool:
        """True for sections that can hold audiobooks."""
        return self.type == "artist"


@dataclass(frozen=True, slots=True)
class PlexIdentity:
    """What ``/identity`` tells about a server; ``machine_identifier`` ties it to plex.tv."""

    machine_identifier: str
    version: str | None = None
    platform: str | None = None
    claimed: bool | None = None
    api_version: str | None = None


@dataclass(frozen=True, slots=True)
class AlbumPage:
    """One page of a paged album listing; ``total`` is None when the server did not say."""

    items: list[PlexAudiobook]
    start: int
    total: int | None


@dataclass(frozen=True, slots=True)
class FolderPage:
    """One page of the track listing reduced to album rating key -> folder of its files.

    An album whose tracks straddle pages may appear again on a later page; the
    later value is the common folder of all its tracks seen so far, so
    ``dict.update`` over the pages gives the right answer. ``tracks`` is the
    number of tracks this page covered (for progress against ``total``).
    """

    folders: dict[str, str]
    start: int
    total: int | None
    tracks: int = 0


@dataclass(frozen=True, slots=True)
class PlexPin:
    """A plex.tv login PIN; ``auth_token`` is set once the user approved it."""

    id: int
    code: str
    auth_token: str | None = field(default=None, repr=False)
    expires_at: str | None = None

    @property
    def authorized(self) -> bool:
        """True once plex.tv handed out a token for this PIN."""
        return bool(self.auth_token)


@dataclass(frozen=True, slots=True)
class PlexAccount:
    """The plex.tv account behind a token."""

    id: int
    uuid: str
    username: str
    email: str | None = None
    title: str | None = None
    thumb: str | None = None


@dataclass(frozen=True, slots=True)
class PlexResource:
    """A device the account can reach; a server's ``access_token`` is the key to that server."""

    name: str
    client_identifier: str
    provides: str
    owned: bool
    access_token: str | None = field(default=None, repr=False)
    connections: list[str] = field(default_factory=list)

    @property
    def is_server(self) -> bool:
        """True when the device provides a media server."""
        return "server" in (part.strip() for part in self.provides.split(","))
