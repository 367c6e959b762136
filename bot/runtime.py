"""The services of one Earmark process, wired from the settings.

Both the bot and the command line open a `Runtime`: the database, the token
cipher, the settings store, ONE shared aiohttp session, the Plex source, and
every core service (scans, catalog, requests, Plex setup, login,
recommendations, follows and the release check). Cogs and CLI commands reach core only through it.

A runtime cannot be used half-built: the services come into being together in
`open()` (all of them or, when a step fails, none, with what was opened closed
again), and reading one before `open()` or after `close()` raises
`RuntimeNotOpen` rather than an `AttributeError` somewhere deep in a cog.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Self

import aiohttp

from bot.config import Settings
from core.aio import AsyncClosing
from core.catalog.cache import CachedCatalog
from core.catalog.client import AudibleCatalog
from core.config_store import (
    FULFIL_BACKEND,
    FULFIL_SECRET,
    FULFIL_TOKEN,
    FULFIL_URL,
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
from core.follow import FollowService, ReleaseChecker
from core.fulfil.config import callback_base
from core.fulfil.service import FulfilService
from core.library import ScanService
from core.library.scan import saved_index_file
from core.login import LoginService
from core.plex import PlexError, PlexTV
from core.plex_setup import PlexSetup
from core.plex_source import StoredPlexSource
from core.recommend import RatingsSource, RecommendService
from core.redact import register_secret
from core.requests.service import RequestService

log = logging.getLogger(__name__)


class RuntimeNotOpen(RuntimeError):
    """A service was used before `Runtime.open()` or after `close()`."""


def _given(values: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if value}


def pinned_plex(settings: Settings) -> dict[str, str]:
    """The Plex values fixed by the file or the environment (they win over /setup)."""
    plex = settings.plex
    return _given({PLEX_URL: plex.url, PLEX_TOKEN: plex.token, PLEX_LIBRARY: plex.library_id,
                   PLEX_CLIENT_ID: plex.client_identifier})


def pinned_fulfil(settings: Settings) -> dict[str, str]:
    """The `[fulfil]` values fixed by the file or the environment (they win over /setup)."""
    fulfil = settings.fulfil
    return _given({FULFIL_BACKEND: fulfil.backend, FULFIL_URL: fulfil.url,
                   FULFIL_TOKEN: fulfil.token, FULFIL_SECRET: fulfil.secret})


@dataclass(frozen=True, slots=True)
class Services:
    """Everything `open()` builds, present all at once."""

    session: aiohttp.ClientSession
    plex: StoredPlexSource
    scans: ScanService
    catalog: AudibleCatalog
    catalog_cache: CachedCatalog
    requests: RequestService
    plex_setup: PlexSetup
    login: LoginService
    recommend: RecommendService
    fulfil: FulfilService
    follow: FollowService
    releases: ReleaseChecker


class Runtime(AsyncClosing):
    """Owns the long-lived resources; close it to release them all (`async with` works)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        key = load_or_create_key(settings.security.key_file)
        register_secret(key.decode())  # the Fernet key is a secret like any token
        self.cipher = TokenCipher(key)
        self.store = ConfigStore(self.cipher)
        self._services: Services | None = None
        self._opened_db = False

    @property
    def is_open(self) -> bool:
        return self._services is not None

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeNotOpen("the Earmark runtime is not open (call Runtime.open() first)")
        return self._services

    # Typed shortcuts: what cogs and the CLI use.
    @property
    def session(self) -> aiohttp.ClientSession:
        return self.services.session

    @property
    def plex(self) -> StoredPlexSource:
        return self.services.plex

    @property
    def scans(self) -> ScanService:
        return self.services.scans

    @property
    def catalog(self) -> AudibleCatalog:
        return self.services.catalog

    @property
    def catalog_cache(self) -> CachedCatalog:
        return self.services.catalog_cache

    @property
    def requests(self) -> RequestService:
        return self.services.requests

    @property
    def plex_setup(self) -> PlexSetup:
        return self.services.plex_setup

    @property
    def login(self) -> LoginService:
        return self.services.login

    @property
    def recommend(self) -> RecommendService:
        return self.services.recommend

    @property
    def fulfil(self) -> FulfilService:
        return self.services.fulfil

    @property
    def follow(self) -> FollowService:
        return self.services.follow

    @property
    def releases(self) -> ReleaseChecker:
        return self.services.releases

    async def open(self) -> Self:
        """Open the database and build every service; on failure nothing stays open."""
        if self._services is not None:
            return self
        await open_db(self.settings.database.url)
        self._opened_db = True
        session = aiohttp.ClientSession()
        try:
            self._services = self._build(session)
        except BaseException:
            await session.close()
            await self.close()
            raise
        return self

    def _build(self, session: aiohttp.ClientSession) -> Services:
        settings = self.settings
        plex = StoredPlexSource(
            self.store, pinned_plex(settings), session, product=settings.plex.product
        )
        scans = ScanService(plex, index_file=saved_index_file(settings.database.url))
        catalog = AudibleCatalog(
            session=session,
            region=settings.catalog.region,
            base_url=settings.catalog.audible_url or None,
        )
        catalog_cache = CachedCatalog(catalog)
        requests = RequestService(
            scans, self.store, max_open_per_user=settings.requests.max_open_per_user
        )
        fulfil = FulfilService(
            self.store, pinned_fulfil(settings), session, requests, book=catalog_cache.product,
            callback_url=callback_base(settings.http.listen),
        )
        requests.set_handoff_backend(fulfil.active_backend)
        # User operations get the server's location without the system token, and
        # plex.tv clients that never decrypt it (the seed's fixes #9 and #10).
        ratings = RatingsSource(
            plex.location, self.cipher, session,
            product=settings.plex.product, tv_url=settings.plex.tv_url,
        )
        return Services(
            session=session,
            plex=plex,
            scans=scans,
            catalog=catalog,
            catalog_cache=catalog_cache,
            requests=requests,
            plex_setup=PlexSetup(
                self.store, plex, scans, library_pinned=self._library_pinned
            ),
            login=LoginService(self.plex_tv, self.cipher, self.stored_machine_identifier),
            recommend=RecommendService(ratings, catalog_cache, requests),
            fulfil=fulfil,
            follow=FollowService(catalog_cache),
            releases=ReleaseChecker(catalog, requests),
        )

    def _library_pinned(self) -> bool:
        return self.settings.is_pinned("plex.library_id")

    async def stored_machine_identifier(self) -> str | None:
        """What `/setup plex` (or `ensure_machine_identifier`) stored; never fetched here."""
        return await self.store.get(PLEX_MACHINE_ID)

    async def ensure_machine_identifier(self) -> str | None:
        """Store the server's machineIdentifier when the config pins the server.

        `/setup plex` stores it; a server pinned in config.toml never went
        through `/setup`, so it is read once here, with the system token, as
        setup would. User operations then only ever read the stored value (the
        seed's fixes #9 and #10). Failing here is not fatal: `/login` says so.
        """
        stored = await self.stored_machine_identifier()
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
        services, self._services = self._services, None
        if services is not None:
            await services.login.aclose()
            await services.scans.close()
            await services.catalog_cache.aclose()
            await services.session.close()
        if self._opened_db:
            await close_db()
            self._opened_db = False
