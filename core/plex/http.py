"""The single request path of each Plex service: headers, timeout, error mapping, decoding.

Every call of ``PlexServer`` and ``PlexTV`` goes through ``PlexHTTP.request``,
so the status -> exception mapping (STYLE habit 4), the rule "tokens travel
in headers only, never in URLs, logs or messages" and the retry rule live in
one place: a GET that fails transiently (connection, timeout, 408, 429, 5xx)
is sent again under the client's ``RetryPolicy`` (``core.retry`` states the
bound), honouring ``Retry-After``; 401/403/404 and non-GETs never are.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from typing import Any
from urllib.parse import urlencode

import aiohttp

from core.aio import SessionClosed, SessionOwner
from core.plex.errors import (
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexUnauthorized,
    PlexUnavailable,
    strip_tokens,
)
from core.plex.parse import Listing, decode_body
from core.redact import register_secret
from core.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, parse_retry_after, retry_call

__all__ = ["CLIENT_VERSION", "DEFAULT_TIMEOUT", "PlexHTTP", "PlexResponse"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
IDEMPOTENT = frozenset({"GET", "HEAD"})


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


class PlexHTTP(SessionOwner):
    """One service endpoint (a PMS or plex.tv) with its session, headers, timeout and retries."""

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
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        if not client_identifier:
            raise ValueError("client_identifier must be a stable, non-empty id")
        super().__init__(session)
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self.retry = retry
        self._headers = {
            "Accept": "application/json",
            "X-Plex-Product": product,
            "X-Plex-Client-Identifier": client_identifier,
            "X-Plex-Version": version,
        }

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
        listing: Listing[Any] | None = None,
    ) -> PlexResponse:
        """The decoded answer, or a ``PlexError`` subclass once retries (GETs only) are spent.

        With ``listing`` the body is decoded into that listing's typed container
        (fast for JSON, converted for XML) instead of plain dicts.
        """
        headers = dict(self._headers)
        if token:
            register_secret(token)  # whatever logs it later, the filter masks it
            headers["X-Plex-Token"] = token
        what = strip_tokens(self._describe(method, path, params), token)
        send = partial(
            self._send,
            method,
            path,
            headers=headers,
            params=params,
            parse=parse,
            listing=listing,
            what=what,
        )
        policy = self.retry if method.upper() in IDEMPOTENT else NO_RETRY
        return await retry_call(send, policy, transient=_transient)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, ParamValue] | None,
        parse: bool,
        listing: Listing[Any] | None = None,
        what: str,
    ) -> PlexResponse:
        """One round trip: timeout, transport errors and statuses mapped onto the tree."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                session = self._http_session()
                async with session.request(
                    method,
                    f"{self.base_url}{path}",
                    params=params,
                    headers=headers,
                    allow_redirects=False,
                ) as resp:
                    status = resp.status
                    resp_headers = resp.headers
                    body = await resp.read()
        except TimeoutError as err:
            raise PlexUnavailable(
                strip_tokens(f"{self.service} did not answer within {self.timeout:g} s: {what}")
            ) from err
        except aiohttp.ClientError as err:
            detail = strip_tokens(f"{type(err).__name__}: {err}", headers.get("X-Plex-Token"))
            raise PlexUnavailable(f"cannot reach {self.service}: {what} ({detail})") from err
        elapsed_ms = (time.perf_counter() - started) * 1000
        log.debug("%s -> %d (%d bytes, %.0f ms)", what, status, len(body), elapsed_ms)
        if not 200 <= status < 300:
            raise _status_error(status, self.service, what, resp_headers.get("Retry-After"))
        if not parse:
            return PlexResponse(status, resp_headers, None)
        try:
            data = decode_body(body, resp_headers.get("Content-Type"), listing)
        except PlexBadResponse as err:
            raise PlexBadResponse(f"{what}: {err.message}", status=status) from err
        return PlexResponse(status, resp_headers, data)


def _transient(err: Exception) -> bool:
    """Worth sending again: the server or the network failed, not our request or token."""
    return isinstance(err, PlexUnavailable) and not isinstance(err.__cause__, SessionClosed)


def _status_error(
    status: int, service: str, what: str, retry_after_header: str | None = None
) -> PlexError:
    """Map an HTTP status to the exception tree (the body of an error is never parsed)."""
    if status in (401, 403):
        return PlexUnauthorized(f"{service} refused the token ({status}): {what}", status=status)
    if status == 404:
        return PlexNotFound(f"{service} has no such resource (404): {what}", status=status)
    if status >= 500 or status in (408, 429):
        unavailable = PlexUnavailable(f"{service} failed ({status}): {what}", status=status)
        unavailable.retry_after = parse_retry_after(retry_after_header)
        return unavailable
    return PlexError(f"{service} answered {status}: {what}", status=status)
