"""Async plex.tv client: the PIN login flow and the account's server access tokens.

The PIN flow (create, send the user to ``auth_url``, poll ``check_pin``) gives
a plex.tv token. That token is not a server token: ``server_access_token``
looks the configured server up in the account's resources, which both checks
that the account may use the server and yields the token to use with it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlencode

import aiohttp

from core.aio import AsyncClosing
from core.plex.http import DEFAULT_TIMEOUT, PlexHTTP
from core.plex.models import PlexAccount, PlexPin, PlexResource
from core.plex.parse import parse_account, parse_pin, parse_resources
from core.retry import DEFAULT_RETRY, RetryPolicy

__all__ = ["PlexTV"]

log = logging.getLogger(__name__)


class PlexTV(AsyncClosing):
    """plex.tv with a stable client identifier (plex.tv ties PINs and devices to it)."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None = None,
        client_identifier: str,
        product: str = "Earmark",
        tv_url: str = "https://plex.tv",
        app_url: str = "https://app.plex.tv",
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self.client_identifier = client_identifier
        self.product = product
        self.app_url = app_url.rstrip("/")
        self._http = PlexHTTP(
            tv_url,
            service="plex.tv",
            client_identifier=client_identifier,
            product=product,
            session=session,
            timeout=timeout,
            retry=retry,
        )

    async def close(self) -> None:
        """Release the HTTP session if this client created it."""
        await self._http.close()

    async def create_pin(self) -> PlexPin:
        """A new strong PIN (long code, valid about 30 minutes) for the browser login."""
        resp = await self._http.request("POST", "/api/v2/pins", params={"strong": "true"})
        return parse_pin(resp.data)

    async def check_pin(self, pin_id: int) -> PlexPin:
        """The PIN's current state; ``auth_token`` is set once approved.

        Raises PlexNotFound when plex.tv forgot the PIN (it expired).
        """
        resp = await self._http.request("GET", f"/api/v2/pins/{int(pin_id)}")
        return parse_pin(resp.data)

    def auth_url(self, pin_code: str) -> str:
        """The app.plex.tv page where the user approves ``pin_code`` for this client."""
        query = urlencode(
            {
                "clientID": self.client_identifier,
                "code": pin_code,
                "context[device][product]": self.product,
            },
            quote_via=quote,
        )
        return f"{self.app_url}/auth#?{query}"

    async def account(self, token: str) -> PlexAccount:
        """The account behind a plex.tv token; PlexUnauthorized when the token is bad."""
        resp = await self._http.request("GET", "/api/v2/user", token=token)
        return parse_account(resp.data)

    async def resources(self, token: str) -> list[PlexResource]:
        """Every device (servers and players) the account can reach."""
        resp = await self._http.request(
            "GET",
            "/api/v2/resources",
            token=token,
            params={"includeHttps": 1, "includeRelay": 1},
        )
        return parse_resources(resp.data)

    async def server_access_token(self, token: str, machine_identifier: str) -> str | None:
        """The account's token for the server ``machine_identifier``; None without access."""
        for resource in await self.resources(token):
            if resource.client_identifier == machine_identifier and resource.is_server:
                return resource.access_token
        log.debug("account has no access to server %s", machine_identifier)
        return None
