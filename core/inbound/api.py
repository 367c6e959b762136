"""The inbound API as an aiohttp application: token check, routes, error answers.

    GET  /healthz                     no token: 200 healthy / 503 not, JSON
    GET  /api/requests/{id}           the request's book and state
    POST /api/requests/{id}/status    {"status", "reason"?, "progress"?}: a lifecycle move

Everything but /healthz needs `Authorization: Bearer <token>`; a wrong or
missing token gets 401 and nothing else (not even whether the path exists).
The token is compared in constant time, as digests of equal length. A move
goes through `RequestService.set_status`, the rules of `/admin status`, and
answers with its sentence when refused (409); the caller's hooks then do
what `/admin status` does after a move (admin post, outbox).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from core.errors import UserError
from core.inbound.body import BadBody, parse_status, request_json
from core.models import BookRequest
from core.requests.service import RequestService

log = logging.getLogger(__name__)

PUBLIC_PATHS = frozenset({"/healthz"})
#: The largest body read: a status update is a few hundred bytes.
MAX_BODY = 16 * 1024
MAX_ID_DIGITS = 18  # longer ids are beyond a database integer: no such request

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class InboundHooks(Protocol):
    """What the bot does around the API: after a move, and for /healthz."""

    async def moved(self, req: BookRequest) -> None:
        """A request changed state: refresh its admin post, wake the outbox."""

    async def health(self) -> tuple[bool, dict[str, Any]]:
        """Whether the bot is healthy, and the JSON body that says so."""


def error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "replace")).digest()


def bearer_ok(header: str | None, token: str) -> bool:
    """`Authorization: Bearer <token>` with the right token, compared in constant time."""
    scheme, _, given = (header or "").partition(" ")
    matches = hmac.compare_digest(_digest(given.strip()), _digest(token))
    return scheme.lower() == "bearer" and matches


class InboundApi:
    """The routes over one request service, one token and the bot's hooks."""

    def __init__(self, requests: RequestService, hooks: InboundHooks, token: str) -> None:
        if not token:
            raise ValueError("the inbound API needs a token")
        self._requests = requests
        self._hooks = hooks
        self._token = token

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=MAX_BODY)
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get(r"/api/requests/{id:\d+}", self.get_request)
        app.router.add_post(r"/api/requests/{id:\d+}/status", self.post_status)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The token first, then every failure as a JSON error (never an HTML page)."""
        if request.path not in PUBLIC_PATHS and not bearer_ok(
            request.headers.get("Authorization"), self._token
        ):
            log.info("inbound API: %s %s from %s refused: wrong or missing token",
                     request.method, request.path, request.remote)
            return error(401, "unauthorized", **{"WWW-Authenticate": "Bearer"})
        try:
            return await handler(request)
        except web.HTTPException as err:  # the router's 404 / 405, a body over MAX_BODY
            allow = {"Allow": err.headers["Allow"]} if "Allow" in err.headers else {}
            return error(err.status, err.reason.lower(), **allow)
        except Exception:
            log.exception("inbound API: %s %s failed", request.method, request.path)
            return error(500, "internal error")

    async def healthz(self, request: web.Request) -> web.Response:
        healthy, body = await self._hooks.health()
        return web.json_response(body, status=200 if healthy else 503)

    async def get_request(self, request: web.Request) -> web.Response:
        found = await self._find(request)
        if isinstance(found, web.Response):
            return found
        return web.json_response(request_json(found))

    async def post_status(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return error(400, "the body is not JSON")
        try:
            update = parse_status(body)
        except BadBody as err:
            return error(400, err.reason)
        found = await self._find(request)
        if isinstance(found, web.Response):
            return found
        try:
            req = await self._requests.set_status(
                found.id, update.status, update.reason, progress=update.progress
            )
        except UserError as err:  # the sentence `/admin status` gives
            return error(409, err.message)
        log.info("request %s -> %s by the inbound API", req.id, req.status)
        try:
            await self._hooks.moved(req)
        except Exception:  # the move stands; the admin post is only a view of it
            log.exception("inbound API: request %s moved, but what follows a move failed", req.id)
        return web.json_response(request_json(req))

    async def _find(self, request: web.Request) -> BookRequest | web.Response:
        """The request named in the path, or the 404 to answer."""
        digits = request.match_info["id"].lstrip("0")
        if not digits or len(digits) > MAX_ID_DIGITS:  # no row has it; don't echo a huge number
            return error(404, "There is no such request.")
        request_id = int(digits)
        try:
            return await self._requests.get(request_id)
        except UserError as err:
            return error(404, err.message)
