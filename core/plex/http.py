"""The single request path of each Plex service: headers, timeout, error mapping, decoding.

Every call of ``PlexServer`` and ``PlexTV`` goes through ``PlexHTTP.request``,
so the status -> exception mapping (STYLE habit 4) and the rule "tokens travel
in headers only, never in URLs, logs or messages" live in one place.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlencode

import aiohttp

from core.plex.errors import (
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexUnauthorized,
    PlexUnavailable,
    strip_tokens,
)
from core.plex.parse import decode_body
from core.redact import register_secret

__all__ = ["CLIENT_VERSION", "DEFAULT_TIMEOUT", "PlexHTTP", "PlexResponse"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0


def _client_version() -> str:
    try:
        return metadata.version("earmark")
    except metadata.PackageNotFoundError:
        return "0.0.0"


CLIENT_VERSION = _client_version()

ParamValue = str | int | float


@dataclass(frozen=True, slots=True)
class PlexResponse:
    """A successful answer: status, headers and the decoded body (None when not parsed)."""

    status: int
    headers: Mapping[str, str]
    data: Any


class PlexHTTP:
    """One service endpoint (a PMS or plex.tv) with its session, headers and timeout."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        client_identifier: str,
        product: str = "Earmark",
        version: str = CLIENT_VERSION,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not client_identifier:
            raise ValueError("client_identifier must be a stable, non-empty id")
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self._session = session
        self._owns_session = session is None
        self._headers = {
            "Accept": "application/json",
            "X-Plex-Product": product,
            "X-Plex-Client-Identifier": client_identifier,
            "X-Plex-Version": version,
        }

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session if this object opened it; an injected one belongs to the caller."""
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise PlexUnavailable(f"{self.service}: the injected HTTP session is closed")
            self._session = aiohttp.ClientSession()
        return self._session

    def _describe(self, method: str, path: str, params: Mapping[str, ParamValue] | None) -> str:
        query = f"?{urlencode(params)}" if params else ""
        return f"{method} {self.base_url}{path}{query}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        params: Mapping[str, ParamValue] | None = None,
        parse: bool = True,
    ) -> PlexResponse:
        """Send one request; return the decoded answer or raise a ``PlexError`` subclass."""
        headers = dict(self._headers)
        if token:
            register_secret(token)  # whatever logs it later, the filter masks it
            headers["X-Plex-Token"] = token
        url = f"{self.base_url}{path}"
        what = strip_tokens(self._describe(method, path, params), token)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                session = self._get_session()
                async with session.request(
                    method, url, params=params, headers=headers, allow_redirects=False
                ) as resp:
                    status = resp.status
                    resp_headers = resp.headers
                    body = await resp.read()
        except TimeoutError as err:
            raise PlexUnavailable(
                strip_tokens(f"{self.service} did not answer within {self.timeout:g} s: {what}")
            ) from err
        except aiohttp.ClientError as err:
            detail = strip_tokens(f"{type(err).__name__}: {err}", token)
            raise PlexUnavailable(f"cannot reach {self.service}: {what} ({detail})") from err
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.debug("%s -> %d (%d bytes, %.0f ms)", what, status, len(body), elapsed_ms)
        if not 200 <= status < 300:
            raise _status_error(status, self.service, what)
        if not parse:
            return PlexResponse(status, resp_headers, None)
        try:
            data = decode_body(body, resp_headers.get("Content-Type"))
        except PlexBadResponse as err:
            raise PlexBadResponse(f"{what}: {err.message}", status=status) from err
        return PlexResponse(status, resp_headers, data)


def _status_error(status: int, service: str, what: str) -> PlexError:
    """Map an HTTP status to the exception tree (the body of an error is never parsed)."""
    if status in (401, 403):
        return PlexUnauthorized(f"{service} refused the token ({status}): {what}", status=status)
    if status == 404:
        return PlexNotFound(f"{service} has no such resource (404): {what}", status=status)
    if status >= 500 or status in (408, 429):
        return PlexUnavailable(f"{service} failed ({status}): {what}", status=status)
    return PlexError(f"{service} answered {status}: {what}", status=status)
