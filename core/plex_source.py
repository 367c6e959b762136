"""Where the scan gets its Plex server: pinned config values merged with `/setup`'s."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp

from core.config_store import (
    ConfigStore,
    PlexConnection,
    PlexLocation,
    effective_plex,
    plex_location,
)
from core.errors import PlexNotConfigured
from core.plex import PlexServer
from core.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy


class StoredPlexSource:
    """Builds a `PlexServer` for the system token each time a scan starts.

    Reading the settings per scan means `/setup plex` takes effect without a
    restart; the HTTP session is the process's shared one.
    """

    def __init__(
        self,
        store: ConfigStore,
        pinned: Mapping[str, str],
        session: aiohttp.ClientSession,
        *,
        product: str = "Earmark",
        timeout: float = 30.0,
    ) -> None:
        self._store = store
        self._pinned = pinned
        self._session = session
        self._product = product
        self._timeout = timeout

    async def connection(self) -> PlexConnection:
        """Everything, the system token included: scans and admin work only."""
        return await effective_plex(self._store, self._pinned)

    async def location(self) -> PlexLocation:
        """Server and library without the token: what user operations may read."""
        return await plex_location(self._store, self._pinned)

    async def server(self, conn: PlexConnection | None = None) -> PlexServer:
        """A client for the configured server (the library may still be unset)."""
        conn = conn or await self.connection()
        if not conn.configured:
            raise PlexNotConfigured(
                "No Plex server is configured: set [plex] url and token in the config "
                "file or run /setup plex."
            )
        return self._client(conn.url, conn.token, conn.client_identifier, self._timeout)

    async def client_for(self, url: str, token: str, *, request_timeout: float) -> PlexServer:
        """A client for a server that is not stored yet (`/setup plex` tests it first).

        No retries: the admin waits for the answer and can simply try again.
        """
        location = await self.location()
        return self._client(url, token, location.client_identifier, request_timeout, NO_RETRY)

    def _client(
        self, url: str, token: str, client_id: str, timeout: float,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> PlexServer:
        return PlexServer(
            url,
            token,
            session=self._session,
            client_identifier=client_id,
            product=self._product,
            timeout=timeout,
            retry=retry,
        )

    async def connect(self) -> tuple[PlexServer, str]:
        conn = await self.connection()
        server = await self.server(conn)
        if not conn.library_id:
            raise PlexNotConfigured(
                "No audiobook library is chosen: set [plex] library_id in the config "
                "file or run /setup library."
            )
        return server, conn.library_id
