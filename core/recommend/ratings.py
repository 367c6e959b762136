"""A user's own Plex ratings, read with the user's own access, cached per user.

Plex keeps ratings per account, so the library listing fetched with a user's
server access token carries *that user's* ``userRating``. Getting that token
never touches the system Plex token (the seed's fixes #9 and #10): the user's
plex.tv token + the machineIdentifier stored at setup -> plex.tv's resources
-> the server's ``accessToken`` -> the listing. Only the server URL, the
library id and the stable client identifier are read from the settings.

Every failure becomes a ``RatingsUnavailable`` (a ``UserError``) whose message
says what happened and what to do; no message or log line carries a token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp

from core.catalog.cache import TTLCache
from core.config_store import PlexLocation
from core.crypto import TokenCipher
from core.errors import NotLinked, UserError
from core.models import User
from core.plex import (
    PlexError,
    PlexNotFound,
    PlexServer,
    PlexTV,
    PlexUnauthorized,
)
from core.recommend.engine import RatedBook
from core.redact import register_secret
from core.users import plex_token

__all__ = [
    "NO_ACCESS_MESSAGE",
    "NoServerAccess",
    "PlexLocation",
    "PlexLoginExpired",
    "RatingsNotConfigured",
    "RatingsSource",
    "RatingsUnavailable",
]

log = logging.getLogger(__name__)

RATINGS_TTL = 600.0  # new stars in Plex show up here within ten minutes
MAX_CACHED_USERS = 256
FETCH_TIMEOUT = 60.0  # the whole listing; one page already has its own timeout
PAGE_SIZE = 500

NO_ACCESS_MESSAGE = (
    "Your Plex account doesn't have access to this Plex server any more, so Earmark "
    "can't read your ratings. Ask the server owner to share the library with you, "
    "then run `/login` again."
)


class RatingsUnavailable(UserError):
    """The user's ratings can't be read now; the message says why and what to do."""


class RatingsNotConfigured(RatingsUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "Plex is not set up yet: an admin must run `/setup plex` and `/setup library` first."
        )


class NoServerAccess(RatingsUnavailable):
    """plex.tv lists no access to this server for the account, or the server refused it."""

    def __init__(self) -> None:
        super().__init__(NO_ACCESS_MESSAGE)


class PlexLoginExpired(RatingsUnavailable):
    """plex.tv no longer accepts the user's stored token."""

    def __init__(self) -> None:
        super().__init__("plex.tv no longer accepts your Plex login. Run `/login` again.")


class PlexTVUnavailable(RatingsUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "plex.tv can't be reached right now, so Earmark can't read your ratings. "
            "Please try again later."
        )


class ServerUnavailable(RatingsUnavailable):
    def __init__(self) -> None:
        super().__init__(
            "The Plex server can't be reached right now, so Earmark can't read your ratings. "
            "Please try again later."
        )


class RatingsSource:
    """Fetches a user's rated books from Plex with their own access; caches them per user.

    ``location`` gives the server and library without the system token
    (`StoredPlexSource.location`): the token is neither given nor read here.
    """

    def __init__(
        self,
        location: Callable[[], Awaitable[PlexLocation]],
        cipher: TokenCipher,
        session: aiohttp.ClientSession | None,
        *,
        product: str = "Earmark",
        tv_url: str = "https://plex.tv",
        ttl: float = RATINGS_TTL,
        max_users: int = MAX_CACHED_USERS,
        timeout: float = FETCH_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._location = location
        self._cipher = cipher
        self._session = session
        self._product = product
        self._tv_url = tv_url
        self._timeout = timeout
        self._cache: TTLCache[int, tuple[str, tuple[RatedBook, ...]]] = TTLCache(
            ttl=ttl, max_entries=max_users, clock=clock
        )
        self._locks: dict[int, asyncio.Lock] = {}

    async def settings(self) -> PlexLocation:
        """The server and library to read, from the config file or `/setup`."""
        where = await self._location()
        if not (where.url and where.library_id and where.machine_identifier):
            raise RatingsNotConfigured()
        return where

    async def ratings(self, user: User) -> tuple[RatedBook, ...]:
        """The user's rated books (cached ~10 minutes; a new `/login` starts afresh)."""
        if not user.plex_token:
            raise NotLinked()
        # The stored ciphertext changes with every login: another account misses the cache.
        login = hashlib.sha256(user.plex_token.encode()).hexdigest()
        lock = self._locks.setdefault(user.discord_id, asyncio.Lock())
        async with lock:  # one fetch per user at a time; a second caller gets the cache
            cached = self._cache.get(user.discord_id)
            if cached is not None and cached[0] == login:
                return cached[1]
            books = await self._fetch(user)
            self._cache.put(user.discord_id, (login, books))
            return books

    async def _fetch(self, user: User) -> tuple[RatedBook, ...]:
        where = await self.settings()
        token = await plex_token(self._cipher, user)
        if token is None:
            raise NotLinked()
        started = time.perf_counter()
        access = await self._server_access(where, token, user.discord_id)
        try:
            async with asyncio.timeout(self._timeout):
                books = await self._listing(where, access)
        except TimeoutError as err:
            log.warning("reading the ratings of %s timed out", user.discord_id)
            raise ServerUnavailable() from err
        except PlexUnauthorized as err:
            log.info("the Plex server refused the access token of %s: %s", user.discord_id, err)
            raise NoServerAccess() from err
        except PlexNotFound as err:
            log.warning("library %s not found reading ratings: %s", where.library_id, err)
            raise RatingsNotConfigured() from err
        except PlexError as err:
            log.warning("reading the ratings of %s failed: %s", user.discord_id, err)
            raise ServerUnavailable() from err
        log.info("read %d ratings of %s in %.2fs", len(books), user.discord_id,
                 time.perf_counter() - started)
        return books

    async def _server_access(self, where: PlexLocation, token: str, discord_id: int) -> str:
        tv = PlexTV(
            session=self._session,
            client_identifier=where.client_identifier,
            product=self._product,
            tv_url=self._tv_url,
        )
        try:
            async with tv:
                access = await tv.server_access_token(token, where.machine_identifier)
        except PlexUnauthorized as err:
            log.info("plex.tv refused the stored token of %s: %s", discord_id, err)
            raise PlexLoginExpired() from err
        except PlexError as err:
            log.warning("plex.tv resources failed for %s: %s", discord_id, err)
            raise PlexTVUnavailable() from err
        if not access:
            log.info("plex account of %s has no access to server %s", discord_id,
                     where.machine_identifier)
            raise NoServerAccess()
        register_secret(access)
        return access

    async def _listing(self, where: PlexLocation, access: str) -> tuple[RatedBook, ...]:
        books: list[RatedBook] = []
        async with PlexServer(
            where.url,
            access,
            session=self._session,
            client_identifier=where.client_identifier,
            product=self._product,
        ) as server:
            async for page in server.iter_albums(where.library_id, page_size=PAGE_SIZE):
                books.extend(
                    RatedBook(
                        rating_key=item.rating_key,
                        title=item.title,
                        author=item.author or None,
                        narrator=item.narrator,
                        asin=item.asin,
                        guid=item.guid,
                        rating=item.user_rating,
                    )
                    for item in page.items
                    if item.user_rating is not None
                )
        return tuple(books)
