"""One way to be an async context manager, and one way to hold an HTTP session.

Every client and the runtime were written ``async with``-able by hand, five
copies of the same three methods. ``AsyncClosing`` is that shape once:
``__aenter__`` runs the overridable ``open()`` step (a no-op for HTTP clients;
the runtime opens its database and session there) and ``__aexit__`` calls
``close()``. ``SessionOwner`` adds the python-wled rule for sessions: use the
injected one (the bot shares one session), else open one lazily, and close
only the session you opened.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

import aiohttp

__all__ = ["AsyncClosing", "SessionClosed", "SessionOwner"]

log = logging.getLogger(__name__)


class AsyncClosing:
    """``async with obj`` opens it and always closes it, however the block ends."""

    async def open(self) -> Self:
        """Acquire what the object needs before use; the default needs nothing."""
        return self

    async def close(self) -> None:
        """Release what the object holds; must be safe to call twice."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class SessionClosed(aiohttp.ClientConnectionError):
    """The injected session was closed by its owner: this client may not replace it.

    An ``aiohttp.ClientError``, so each client's choke point maps it like any
    connection failure, onto its own exception tree.
    """


class SessionOwner(AsyncClosing):
    """Holds an optional injected ``aiohttp.ClientSession``; opens and closes only its own."""

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session
        self._owns_session = session is None

    def _http_session(self) -> aiohttp.ClientSession:
        """The session to send with: the injected one, or our own, opened on first use."""
        if self._session is not None and not self._session.closed:
            return self._session
        if not self._owns_session:
            raise SessionClosed("the shared HTTP session is closed")
        self._session = aiohttp.ClientSession()
        return self._session

    async def close(self) -> None:
        """Close the session if this object opened it; an injected one belongs to the caller."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None
