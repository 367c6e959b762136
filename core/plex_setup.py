"""Connecting Earmark to a Plex server and library: the rules `/setup` applies.

The cog only parses input and renders: what a new server means for the stored
library, and when the library index must be rebuilt, is decided here, so the
CLI or a future web setup cannot forget it.

- A server is tested (`/identity`, then the library list, which needs the
  token) before anything is stored.
- Another server (a new machine identifier) unsets a stored library, unless
  the library is pinned in the config: a section key means nothing elsewhere.
- Any change of server or library throws the library index away; the next
  caller rebuilds it from the mirror.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from core.config_store import PLEX_LIBRARY, PLEX_MACHINE_ID, PLEX_TOKEN, PLEX_URL, ConfigStore
from core.library import ScanService
from core.plex import PlexIdentity, PlexLibrary
from core.plex_source import StoredPlexSource

log = logging.getLogger(__name__)

TEST_TIMEOUT = 10.0  # seconds: a server slower than this is reported unreachable


@dataclass(frozen=True, slots=True)
class ServerSaved:
    """What `/setup plex` stored, and what it had to undo."""

    identity: PlexIdentity
    libraries: list[PlexLibrary]
    library_reset: bool

    @property
    def music(self) -> list[PlexLibrary]:
        return [lib for lib in self.libraries if lib.is_music]


class PlexSetup:
    """Test and store the Plex server and the audiobook library.

    `library_pinned` is asked at each change: the config may pin the library.
    """

    def __init__(
        self, store: ConfigStore, source: StoredPlexSource, scans: ScanService, *,
        library_pinned: Callable[[], bool], test_timeout: float = TEST_TIMEOUT,
    ) -> None:
        self.test_timeout = test_timeout
        self._store = store
        self._source = source
        self._scans = scans
        self._library_pinned = library_pinned

    async def connect_server(self, url: str, token: str) -> ServerSaved:
        """Test the server with this token, then store it; PlexError leaves all as it was."""
        server = await self._source.client_for(url, token, request_timeout=self.test_timeout)
        identity = await server.identity()
        libraries = await server.libraries()  # /identity needs no token; this proves it
        previous = await self._store.get(PLEX_MACHINE_ID)
        await self._store.set(PLEX_URL, url)
        await self._store.set(PLEX_TOKEN, token)
        await self._store.set(PLEX_MACHINE_ID, identity.machine_identifier)
        reset = bool(
            previous
            and previous != identity.machine_identifier
            and not self._library_pinned()
            and await self._store.get(PLEX_LIBRARY)
        )
        if reset:
            await self._store.delete(PLEX_LIBRARY)
            log.info("another Plex server: the stored audiobook library was unset")
        self._scans.invalidate_index()
        return ServerSaved(identity, libraries, reset)

    async def save_library(self, library_id: str) -> bool:
        """Store the audiobook library; True when it changed (the index is rebuilt)."""
        previous = await self._store.get(PLEX_LIBRARY)
        await self._store.set(PLEX_LIBRARY, library_id)
        if previous == library_id:
            return False
        self._scans.invalidate_index()
        return True


def find_library(libraries: list[PlexLibrary], wanted: str) -> PlexLibrary | None:
    """A library by section key, else by title (any case): what an admin may type."""
    wanted = wanted.strip()
    by_id = next((lib for lib in libraries if lib.id == wanted), None)
    return by_id or next(
        (lib for lib in libraries if lib.title.casefold() == wanted.casefold()), None
    )
