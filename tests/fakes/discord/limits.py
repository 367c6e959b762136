"""Discord's bad days for the fake: rate limits, outages, slow answers, and the nonce rule.

Tests plan faults (`fd.faults.rate_limit(...)`, `.fail(...)`, `.slow(...)`);
the REST middleware asks `Faults.before` whether to answer with one instead of
running the handler, and `Faults.after` whether to delay or replace the
answer of a request that already took effect (Discord stored the message, then
the answer was slow or lost). The shapes follow Discord's documentation
("Rate Limits": headers, `retry_after`, `global`, `Via`), because discord.py
acts on each of them (no `Via` on a 429 means "Cloudflare ban": no retry).

`Nonces` is Discord's `enforce_nonce` rule: a message with the same nonce by
the same author within a few minutes returns the first message, unchanged,
instead of creating another.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import DM

if TYPE_CHECKING:
    from .harness import FakeDiscord
    from .models import FakeMessage

log = logging.getLogger(__name__)

#: The route the bot's notifications use (DMs and channel posts).
CREATE_MESSAGE = re.compile(r"^/api/v10/channels/(\d+)/messages$")
NONCE_WINDOW = 180.0  # seconds: Discord checks "the past few minutes"
Where = str  # "dm" | "guild" | "any"


def _json(data: dict[str, Any], status: int, headers: dict[str, str]) -> web.Response:
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json",
        headers=headers,
    )


def too_many(retry_after: float, *, scope: str, bucket: str = "fake-bucket") -> web.Response:
    """A 429 as Discord sends it: per-route (`user`/`shared`) or `global`."""
    seconds = f"{retry_after:.3f}"
    headers = {"Retry-After": seconds, "Via": "1.1 google", "X-RateLimit-Scope": scope}
    body: dict[str, Any] = {
        "message": "You are being rate limited.", "retry_after": retry_after,
        "global": scope == "global", "code": 0,
    }
    if scope == "global":
        headers["X-RateLimit-Global"] = "true"
    else:
        reset = time.time() + retry_after  # epoch seconds, like Discord
        headers |= {
            "X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{reset:.3f}", "X-RateLimit-Reset-After": seconds,
            "X-RateLimit-Bucket": bucket,
        }
    return _json(body, 429, headers)


@dataclass
class Fault:
    """One planned misbehaviour for message creation in some channels."""

    status: int  # the answer: 429, 400, 5xx; 200 with `delay` = just slow
    times: int | None  # None: until `Faults.clear()`
    where: Where = "dm"
    retry_after: float = 0.0  # 429 only
    scope: str = "user"  # 429 only: "user" (per route) or "global"
    after_store: bool = False  # the request takes effect, then this answer
    delay: float = 0.0  # seconds before answering
    when: Callable[[dict[str, Any]], bool] | None = None  # on the JSON payload
    hits: int = 0

    def matches(self, channel_type: int | None, payload: dict[str, Any]) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.where == "dm" and channel_type != DM:
            return False
        if self.where == "guild" and channel_type in (DM, None):
            return False
        return self.when is None or self.when(payload)

    def answer(self) -> web.Response:
        if self.status == 429:
            return too_many(self.retry_after, scope=self.scope)
        if self.status == 400:
            errors = {"embeds.0": {"_errors": [{"code": "INVALID", "message": "Invalid"}]}}
            return _json({"message": "Invalid Form Body", "code": 50035, "errors": errors},
                         400, {})
        return _json({"message": f"{self.status}: Server Error", "code": 0}, self.status, {})


@dataclass
class Faults:
    """Planned faults plus the rate-limit windows they opened."""

    planned: list[Fault] = field(default_factory=list)
    global_until: float = 0.0  # loop time: every request is 429 global until then
    route_until: dict[str, float] = field(default_factory=dict)  # path -> loop time
    fired: list[tuple[str, int]] = field(default_factory=list)  # (path, status) in order

    # -- planning (tests) -------------------------------------------------------

    def rate_limit(
        self, retry_after: float, *, scope: str = "user", times: int = 1, where: Where = "dm"
    ) -> Fault:
        """The next `times` matching messages get 429; `scope="global"` closes every route."""
        return self._add(Fault(429, times, where, retry_after=retry_after, scope=scope))

    def fail(
        self,
        status: int,
        *,
        times: int | None = 1,
        where: Where = "dm",
        after_store: bool = False,
        when: Callable[[dict[str, Any]], bool] | None = None,
    ) -> Fault:
        """The next `times` matching messages get `status` (stored first if `after_store`)."""
        return self._add(Fault(status, times, where, after_store=after_store, when=when))

    def slow(self, delay: float, *, times: int = 1, where: Where = "dm") -> Fault:
        """The next `times` matching messages are stored at once but answered after `delay`."""
        return self._add(Fault(200, times, where, after_store=True, delay=delay))

    def clear(self) -> None:
        """Discord is fine again (open windows still run out on their own)."""
        self.planned.clear()

    def _add(self, fault: Fault) -> Fault:
        self.planned.append(fault)
        return fault

    # -- applying (the REST middleware) -----------------------------------------

    def _match(
        self, fake: FakeDiscord, request: web.Request, payload: dict[str, Any], stored: bool
    ) -> Fault | None:
        hit = CREATE_MESSAGE.match(request.path) if request.method == "POST" else None
        if hit is None:
            return None
        channel = fake.channels.get(int(hit.group(1)))
        ctype = channel.type if channel is not None else None
        for fault in self.planned:
            if fault.after_store == stored and fault.matches(ctype, payload):
                fault.hits += 1
                self.fired.append((request.path, fault.status))
                return fault
        return None

    def window(self, request: web.Request) -> web.Response | None:
        """A 429 while a global or per-route window opened by a fault is still open."""
        now = asyncio.get_running_loop().time()
        if now < self.global_until:
            return too_many(self.global_until - now, scope="global")
        until = self.route_until.get(request.path, 0.0)
        if now < until:
            return too_many(until - now, scope="user")
        return None

    def before(
        self, fake: FakeDiscord, request: web.Request, payload: dict[str, Any]
    ) -> web.Response | None:
        """The answer replacing the handler's, if a fault says so."""
        fault = self._match(fake, request, payload, stored=False)
        if fault is None:
            return None
        if fault.status == 429:
            until = asyncio.get_running_loop().time() + fault.retry_after
            if fault.scope == "global":
                self.global_until = until
            else:
                self.route_until[request.path] = until
        log.info("fake discord: planned %s for %s", fault.status, request.path)
        return fault.answer()

    async def after(
        self,
        fake: FakeDiscord,
        request: web.Request,
        payload: dict[str, Any],
        response: web.StreamResponse,
    ) -> web.StreamResponse:
        """Delay or replace the answer of a request that already took effect."""
        fault = self._match(fake, request, payload, stored=True)
        if fault is None or response.status >= 300:
            return response
        if fault.delay:
            await asyncio.sleep(fault.delay)
        return response if fault.status < 300 else fault.answer()


@dataclass
class Nonces:
    """Discord's `enforce_nonce`: (author, nonce) -> the first message, for a few minutes."""

    seen: dict[tuple[int, str], tuple[FakeMessage, float]] = field(default_factory=dict)
    replays: int = 0

    def first(self, author_id: int, payload: dict[str, Any]) -> FakeMessage | None:
        """The message this payload's nonce already created, if it is enforced and recent."""
        nonce = payload.get("nonce")
        if nonce is None or not payload.get("enforce_nonce"):
            return None
        hit = self.seen.get((author_id, str(nonce)))
        now = asyncio.get_running_loop().time()
        if hit is None or now - hit[1] > NONCE_WINDOW:
            return None
        self.replays += 1
        return hit[0]

    def remember(self, author_id: int, payload: dict[str, Any], msg: FakeMessage) -> None:
        nonce = payload.get("nonce")
        if nonce is not None and payload.get("enforce_nonce"):
            self.seen[(author_id, str(nonce))] = (msg, asyncio.get_running_loop().time())
