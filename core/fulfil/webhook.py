"""Signed webhook deliveries: the hand-off for people who run their own download scripts.

Signed like Stripe's: `X-Earmark-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
so a receiver checks the body and the time together (and may refuse old
timestamps to stop replays). `X-Earmark-Event` names the event and
`X-Earmark-Delivery` is one id per hand-off, the same on every retry, so a
receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from core.fulfil.http import FulfilHTTP
from core.redact import register_secret

SERVICE = "the webhook"
SIGNATURE_HEADER = "X-Earmark-Signature"
EVENT_HEADER = "X-Earmark-Event"
DELIVERY_HEADER = "X-Earmark-Delivery"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance: float = 300.0) -> bool:
    """True when `header` signs `body` with `secret`, made within `tolerance` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookClient(FulfilHTTP):
    """POSTs signed JSON documents to one URL."""

    def __init__(
        self, url: str, secret: str, *, session: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
    ) -> None:
        super().__init__(url, service=SERVICE, session=session, timeout=timeout)
        register_secret(secret)
        self._secret = secret

    async def deliver(
        self, event: str, delivery_id: str, document: Mapping[str, Any],
        *, now: int | None = None,
    ) -> int:
        """Send one event; its 2xx status, else a `FulfilError` (never retried here)."""
        body = json.dumps(document, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature(self._secret, int(time.time()) if now is None else now,
                                        body),
            EVENT_HEADER: event,
            DELIVERY_HEADER: delivery_id,
        }
        answer = await self.send("POST", headers=headers, body=body, want_json=False)
        return answer.status
