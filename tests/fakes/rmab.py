"""A fake ReadMeABook (aiohttp on 127.0.0.1), from /work/shared/readmeabook-api.md.

Token check (401) and the API-token allowlist (403 elsewhere); `POST
/api/requests` with 201 / 409 AlreadyAvailable, DuplicateRequest,
BeingProcessed / 404 UserNotFound / 400 ValidationError / 500; `GET
/api/requests` newest first with `take` (500 for a bad one) and `nextCursor`;
`GET /api/requests/:id` (500 FetchError once a download is selected, like the
real one). Tests move a request along with `advance`, take the server down
with `outage`, and slow it with `delay`. A fake webhook receiver checks
signatures too.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import socket
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from core.fulfil.webhook import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify

log = logging.getLogger(__name__)

ALLOWED = {
    ("GET", "/api/auth/me"), ("GET", "/api/audiobooks/search"), ("GET", "/api/requests"),
    ("POST", "/api/requests"), ("GET", "/api/requests/{id}"),
}
ACTIVE = ("pending", "searching", "downloading", "processing", "awaiting_search",
          "awaiting_import", "awaiting_approval", "awaiting_release")


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, str]
    body: Any = None


@dataclass
class FakeServer:
    """Start/stop on a random port of 127.0.0.1 (shared by both fakes)."""

    url: str = ""
    _runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Any:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@dataclass
class FakeRmab(FakeServer):
    token: str = "rmab_fake_token_0123456789"
    username: str = "earmark-bot"
    role: str = "user"
    requests: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    calls: list[Call] = field(default_factory=list)
    available: set[str] = field(default_factory=set)  # ASINs RMAB says are in Plex
    outage: bool = False  # every call answers 503
    delay: float = 0.0  # seconds before each answer
    post_delay_after_create: float = 0.0  # the request is created, then the answer is slow
    post_status: int | None = None  # force 404/400/500 on POST
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._dispatch)

    def created(self) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.method == "POST"]

    def find(self, asin: str) -> dict[str, Any]:
        return next(r for r in reversed(self.requests) if r["audiobook"]["audibleAsin"] == asin)

    def advance(self, asin: str, status: str, *, progress: int = 0,
                error: str | None = None, release: str | None = None) -> None:
        req = self.find(asin)
        req.update(status=status, progress=progress, errorMessage=error,
                   releaseDate=release or req.get("releaseDate"))
        if status == "downloading":
            req["selectedDownload"] = True

    def add(self, asin: str, status: str = "pending", title: str = "A Book") -> dict[str, Any]:
        req = {
            "id": f"00000000-0000-4000-8000-{next(self._ids):012d}", "status": status,
            "progress": 0, "errorMessage": None, "type": "audiobook", "releaseDate": None,
            "audiobook": {"audibleAsin": asin, "title": title, "author": "Someone"},
        }
        self.requests.append(req)
        return req

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        body = None
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                body = None
        path = request.path
        self.calls.append(Call(request.method, path, dict(request.query), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.outage:
            return web.json_response({"error": "Unavailable"}, status=503)
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response(
                {"error": "Unauthorized", "message": "Invalid or expired API token"}, status=401)
        route = "/api/requests/{id}" if path.startswith("/api/requests/") else path
        if (request.method, route) not in ALLOWED:
            return web.json_response({"error": "Forbidden", "message": "This endpoint is not "
                                      "available via API token authentication"}, status=403)
        if path == "/api/auth/me":
            return web.json_response({"user": {"id": "u-1", "plexId": "1", "role": self.role,
                                               "username": self.username, "email": None}})
        if route == "/api/requests/{id}":
            return self._one(path.rsplit("/", 1)[1])
        if request.method == "GET":
            return self._list(request.query)
        return await self._create(body)

    def _one(self, rid: str) -> web.Response:
        req = next((r for r in self.requests if r["id"] == rid), None)
        if req is None:
            return web.json_response({"error": "NotFound"}, status=404)
        if req.get("selectedDownload"):  # RMAB issue #261: the BigInt cannot be serialised
            return web.json_response({"error": "FetchError"}, status=500)
        return web.json_response({"success": True, "request": _public(req)})

    def _list(self, query: Any) -> web.Response:
        raw = query.get("take", "20")
        if not raw.isdigit() or int(raw) < 1:
            return web.json_response({"error": "FetchError"}, status=500)
        take = min(100, int(raw))
        newest = list(reversed(self.requests))
        cursor = query.get("cursor")
        if cursor:
            ids = [r["id"] for r in newest]
            newest = newest[ids.index(cursor) + 1:] if cursor in ids else []
        page = newest[:take]
        more = len(newest) > take
        return web.json_response({
            "success": True, "requests": [_public(r) for r in page],
            "nextCursor": page[-1]["id"] if more else None,
            "counts": {"all": len(self.requests)},
        })

    async def _create(self, body: Any) -> web.Response:
        if self.post_status is not None:
            names = {404: "UserNotFound", 400: "ValidationError", 500: "RequestError"}
            return web.json_response({"error": names.get(self.post_status, "Error")},
                                     status=self.post_status)
        book = body.get("audiobook") if isinstance(body, dict) else None
        if not isinstance(book, dict) or not all(book.get(k) for k in ("asin", "title", "author")):
            return web.json_response({"error": "ValidationError", "details": ["asin"]}, status=400)
        asin = book["asin"]
        if asin in self.available:
            return web.json_response({"error": "AlreadyAvailable", "message": "in Plex"},
                                     status=409)
        existing = [r for r in self.requests if r["audiobook"]["audibleAsin"] == asin
                    and r["status"] not in ("failed", "cancelled", "denied")]
        if existing:
            code = "BeingProcessed" if existing[-1]["status"] in ACTIVE[1:4] else "DuplicateRequest"
            return web.json_response({"error": code, "message": "exists"}, status=409)
        req = self.add(asin, "pending", book["title"])
        if self.post_delay_after_create:
            await asyncio.sleep(self.post_delay_after_create)
        return web.json_response({"success": True, "request": _public(req)}, status=201)


def _public(req: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in req.items() if k != "selectedDownload"}


@dataclass
class FakeWebhook(FakeServer):
    """Receives signed deliveries; refuses (401) a bad signature; `fail` answers 500."""

    secret: str = "whsec_test_secret_value"
    received: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    fail: int = 0  # how many next deliveries answer 500

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, request.headers.get(SIGNATURE_HEADER, ""), body):
            self.rejected += 1
            return web.Response(status=401)
        if self.fail:
            self.fail -= 1
            return web.Response(status=500)
        self.received.append({
            "event": request.headers.get(EVENT_HEADER),
            "delivery": request.headers.get(DELIVERY_HEADER),
            "body": json.loads(body),
        })
        return web.Response(status=204)


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
