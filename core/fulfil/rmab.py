"""Async client for ReadMeABook's API-token endpoints (/work/shared/readmeabook-api.md).

Only the allowlisted endpoints a token may call: `me`, `create_request`,
`get_request`, `list_requests` (cursor paging). Every call goes through
`FulfilHTTP`; RMAB's answers are untrusted and parsed into small typed
records here, so nothing past this module reads RMAB's JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from core.fulfil.errors import FulfilBadResponse
from core.fulfil.http import FulfilHTTP, ParamValue
from core.redact import register_secret
from core.retry import DEFAULT_RETRY, RetryPolicy

log = logging.getLogger(__name__)

SERVICE = "ReadMeABook"
MAX_TAKE = 100  # RMAB's cap; 0, negative or non-numeric answer 500


@dataclass(frozen=True, slots=True)
class RmabUser:
    """The user a token acts as."""

    id: str
    username: str
    role: str


@dataclass(frozen=True, slots=True)
class RmabRequest:
    """The fields of an RMAB request that Earmark acts on."""

    id: str
    status: str
    asin: str | None
    progress: int | None = None
    error_message: str | None = None
    release_date: str | None = None


@dataclass(frozen=True, slots=True)
class RmabPage:
    requests: list[RmabRequest]
    next_cursor: str | None


def _text(value: Any, limit: int = 500) -> str | None:
    return str(value)[:limit] if isinstance(value, str | int | float) and value != "" else None


def parse_request(raw: Any) -> RmabRequest:
    """One request object; `FulfilBadResponse` when it has no id or status."""
    if not isinstance(raw, dict) or not raw.get("id") or not raw.get("status"):
        raise FulfilBadResponse(f"{SERVICE} sent a request without id or status")
    nested = raw.get("audiobook")
    book: dict[str, Any] = nested if isinstance(nested, dict) else {}
    progress = raw.get("progress")
    number = None
    if isinstance(progress, int | float) and not isinstance(progress, bool):
        number = max(0, min(100, round(progress)))
    release = _text(raw.get("releaseDate") or book.get("releaseDate"), 40)
    return RmabRequest(
        id=str(raw["id"])[:64],
        status=str(raw["status"])[:32],
        asin=_text(book.get("audibleAsin") or book.get("asin"), 16),
        progress=number,
        error_message=_text(raw.get("errorMessage")),
        release_date=release[:10] if release else None,
    )


class RmabClient(FulfilHTTP):
    """ReadMeABook at `base_url`, acting as the owner of `token`."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 15.0,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        super().__init__(base_url, service=SERVICE, session=session, timeout=timeout, retry=retry)
        register_secret(token)
        self._headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Authorization": f"Bearer {token}",
        }

    async def _get(self, path: str, params: Mapping[str, ParamValue] | None = None) -> Any:
        return (await self.send("GET", path, headers=self._headers, params=params)).data

    async def me(self) -> RmabUser:
        data = await self._get("/api/auth/me")
        user = data.get("user") if isinstance(data, dict) else None
        if not isinstance(user, dict) or not user.get("id"):
            raise FulfilBadResponse(f"{SERVICE} /api/auth/me sent no user")
        return RmabUser(
            id=str(user["id"])[:64],
            username=_text(user.get("username"), 100) or "?",
            role=_text(user.get("role"), 20) or "user",
        )

    async def create_request(self, audiobook: Mapping[str, Any]) -> RmabRequest:
        """POST /api/requests (never retried here: the caller looks before it sends again)."""
        body = json.dumps({"audiobook": dict(audiobook)}).encode()
        answer = await self.send("POST", "/api/requests", headers=self._headers, body=body)
        data = answer.data
        return parse_request(data.get("request") if isinstance(data, dict) else None)

    async def get_request(self, request_id: str) -> RmabRequest:
        """One request; a 500 here means "unknown" (RMAB issue #261), never "failed"."""
        data = await self._get(f"/api/requests/{request_id}")
        return parse_request(data.get("request") if isinstance(data, dict) else None)

    async def list_requests(
        self, *, cursor: str | None = None, take: int = MAX_TAKE, status: str | None = None
    ) -> RmabPage:
        """One page, newest first, of the token owner's audiobook requests."""
        params: dict[str, ParamValue] = {
            "take": max(1, min(MAX_TAKE, take)), "myOnly": "true", "type": "audiobook",
        }
        if cursor:
            params["cursor"] = cursor
        if status:
            params["status"] = status
        data = await self._get("/api/requests", params)
        if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
            raise FulfilBadResponse(f"{SERVICE} /api/requests sent no list")
        requests = []
        for raw in data["requests"]:
            try:
                requests.append(parse_request(raw))
            except FulfilBadResponse:
                log.warning("%s listed a request without id or status; skipped", SERVICE)
        cursor_out = data.get("nextCursor")
        return RmabPage(requests, str(cursor_out) if cursor_out else None)

    async def all_requests(self, *, max_pages: int = 1000) -> AsyncIterator[RmabRequest]:
        """Every request of the token's owner, page by page (a cursor that repeats stops it)."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            page = await self.list_requests(cursor=cursor)
            for req in page.requests:
                yield req
            if not page.next_cursor or page.next_cursor in seen:
                return
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    async def find_by_asin(self, asin: str) -> RmabRequest | None:
        """The newest request for this ASIN, if RMAB has one (to link rather than duplicate)."""
        async for req in self.all_requests():
            if req.asin and req.asin.upper() == asin.upper():
                return req
        return None
