"""The services of one Earmark process, wired from the settings.

Both the bot and the command line open a `Runtime`: the database, the token
cipher, the settings store, ONE shared aiohttp session, the Plex source, the
scan service and the catalog. Cogs and CLI commands reach core only through it.
"""

from __future__ import annotations

import logging
from types import TracebackType

import aiohttp

from bot.config import Settings
from core.catalog.cache import CachedCatalog
from core.catalog.client import AudibleCatalog
from core.config_store import (
    PLEX_CLIENT_ID,
    PLEX_LIBRARY,
    PLEX_MACHINE_ID,
    PLEX_TOKEN,
    PLEX_URL,
    ConfigStore,
    client_identifier,
)
from core.crypto import TokenCipher, load_or_create_key
from core.db import close_db, open_db
from core.library import ScanService
from core.plex import PlexError, PlexTV
from core.plex_source import StoredPlexSource
from core.redact import register_secret
from core.requests.service import RequestService

log = logging.getLogger(__name__)


def pinned_plex(settings: Settings) -> dict[str, str]:
    """The Plex values fixed by the file or the environment (they win over /setup)."""
    plex = settings.plex
    values = {
        PLEX_URL: plex.url,
        PLEX_TOKEN: plex.token,
        PLEX_LIBRARY: plex.library_id,
        PLEX_CLIENT_ID: plex.client_identifier,
    }
    return {key: value for key, value in values.items() if value}


class Runtime:
    """Owns the long-lived resources; close it to release them all."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key = load_or_create_key(settings.security.key_file)
        register_secret(key.decode())  # the Fernet key is a secret like any token
        self.cipher = TokenCipher(key)
        self.store = ConfigStore(self.cipher)
        self.session: aiohttp.ClientSession | None = None
        self._opened_db = False

    async def open(self) -> Runtime:
        await open_db(self.settings.database.url)
        self._opened_db = True
        self.session = aiohttp.ClientSession()
        self.plex = StoredPlexSource(
            self.store, pinned_plex(self.settings), self.session, product=self.settings.plex.product
        )
        self.scans = ScanService(self.plex)
        self.catalog = AudibleCatalog(
            session=self.session,
            region=self.settings.catalog.region,
            base_url=self.settings.catalog.audible_url or None,
        )
        self.catalog_cache = CachedCatalog(self.catalog)
        self.requests = RequestService(
            self.scans, self.store, max_open_per_user=self.settings.requests.max_open_per_user
        )
        return self

    async def ensure_machine_identifier(self) -> str | None:
        """Store the server's machineIdentifier when the config pins the server.

        `/setup plex` stores it; a server pinned in config.toml never went
        through `/setup`, so it is read once here, with the system token, as
        setup would. User operations then only ever read the stored value (the
        seed's fixes #9 and #10). Failing here is not fatal: `/login` says so.
        """
        stored = await self.store.get(PLEX_MACHINE_ID)
        if stored:
            return stored
        try:
            conn = await self.plex.connection()
            if not conn.configured:
                return None
            identity = await (await self.plex.server(conn)).identity()
        except PlexError as err:
            log.warning("could not read the Plex server's identity: %s", err)
            return None
        await self.store.set(PLEX_MACHINE_ID, identity.machine_identifier)
        log.info("stored the Plex machine identifier %s", identity.machine_identifier)
        return identity.machine_identifier

    async def plex_tv(self) -> PlexTV:
        """A plex.tv client with this install's stable client identifier.

        Used for user operations (login, ratings), so it reads the client id
        alone and never touches the system token (the seed's fix #9).
        """
        plex = self.settings.plex
        return PlexTV(
            session=self.session,
            client_identifier=await client_identifier(self.store, plex.client_identifier),
            product=plex.product,
            tv_url=plex.tv_url,
            app_url=plex.app_url,
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.scans.close()
            await self.catalog_cache.aclose()
            await self.session.close()
            self.session = None
        if self._opened_db:
            await close_db()
            self._opened_db = False

    async def __aenter__(self) -> Runtime:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
