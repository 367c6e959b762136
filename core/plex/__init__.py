"""Async clients for Plex Media Server and plex.tv, with typed results and one error tree."""

from core.plex.errors import (
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexUnauthorized,
    PlexUnavailable,
)
from core.plex.models import (
    AlbumPage,
    FolderPage,
    PlexAccount,
    PlexAudiobook,
    PlexIdentity,
    PlexLibrary,
    PlexPin,
    PlexResource,
)
from core.plex.parse import extract_asin
from core.plex.server import PlexServer
from core.plex.tv import PlexTV

__all__ = [
    "AlbumPage",
    "FolderPage",
    "PlexAccount",
    "PlexAudiobook",
    "PlexBadResponse",
    "PlexError",
    "PlexIdentity",
    "PlexLibrary",
    "PlexNotFound",
    "PlexPin",
    "PlexResource",
    "PlexServer",
    "PlexTV",
    "PlexUnauthorized",
    "PlexUnavailable",
    "extract_asin",
]
