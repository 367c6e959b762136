"""The single request path of the fulfilment backends: timeout, error mapping, retries.

`RmabClient` and `WebhookClient` send through `FulfilHTTP.send`, so the rule
"GETs are retried after a transient failure, POSTs never (the hand-off worker
decides, after looking)" and the status -> exception mapping live once. The
token travels in a header only; messages name the method and the path.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import aiohttp

from core.aio import SessionClosed, SessionOwner
from core.fulfil.errors import (
    FulfilBadResponse,
    FulfilConflict,
    FulfilError,
    FulfilNotFound,
    FulfilRejected,
    FulfilUnauthorized,
    FulfilUnavailable,
)
from core.retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, parse_retry_after, retry_call

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 15.0
ParamValue = str | int


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer: its status and the decoded JSON body (None when empty or not JSON)."""

    status: int
    data: Any


class FulfilHTTP(SessionOwner):
    """One backend endpoint: base URL, session, timeout and retry policy."""

    def __init__(
        self,
        base_url: str,
        *,
        service: str,
        session: aiohttp.ClientSession | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        super().__init__(session)
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = timeout
        self.retry = retry

    async def send(
        self,
        method: str,
        path: str = "",
        *,
        headers: Mapping[str, str],
        params: Mapping[str, ParamValue] | None = None,
        body: bytes | None = None,
        want_json: bool = True,
    ) -> Answer:
        """The answer, or a `FulfilError` once retries (GETs only) are spent."""
        what = f"{method} {self.base_url}{path}"
        call = partial(self._once, method, path, headers, params, body, want_json, what)
        policy = self.retry if method.upper() == "GET" else NO_RETRY
        return await retry_call(call, policy, transient=_transient)

    async def _once(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        params: Mapping[str, ParamValue] | None,
        body: bytes | None,
        want_json: bool,
        what: str,
    ) -> Answer:
        sent = False
        try:
            async with asyncio.timeout(self.timeout):
                session = self._http_session()
                async with session.request(
                    method, f"{self.base_url}{path}", params=params, headers=headers,
                    data=body, allow_redirects=False,
                ) as resp:
                    sent = True
                    status = resp.status
                    retry_after = resp.headers.get("Retry-After")
                    raw = await resp.read()
        except TimeoutError as err:
            unavailable = FulfilUnavailable(
                f"{self.service} did not answer within {self.timeout:g} s: {what}"
            )
            unavailable.unclear = True  # the request may have arrived
            raise unavailable from err
        except aiohttp.ClientError as err:
            unavailable = FulfilUnavailable(
                f"cannot reach {self.service}: {what} ({type(err).__name__})"
            )
            unavailable.unclear = sent or isinstance(err, aiohttp.ServerDisconnectedError)
            raise unavailable from err
        data = _decode(raw)
        if not 200 <= status < 300:
            raise _status_error(status, self.service, what, data, retry_after)
        if want_json and raw.strip() and data is None:
            raise FulfilBadResponse(f"{self.service} answered {status} without JSON: {what}",
                                    status=status)
        return Answer(status, data)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def _transient(err: Exception) -> bool:
    return isinstance(err, FulfilUnavailable) and not isinstance(err.__cause__, SessionClosed)


def _status_error(
    status: int, service: str, what: str, data: Any, retry_after: str | None
) -> FulfilError:
    """Map a status (and the backend's `error` name, when it sent JSON) onto the tree."""
    code = str(data.get("error") or "") if isinstance(data, dict) else ""
    detail = str(data.get("message") or "")[:200] if isinstance(data, dict) else ""
    text = f"{service} answered {status}{' ' + code if code else ''}: {what}"
    if detail:
        text += f" ({detail})"
    if status in (401, 403):
        return FulfilUnauthorized(text, status=status, code=code)
    if status == 404:
        return FulfilNotFound(text, status=status, code=code)
    if status == 409:
        return FulfilConflict(text, status=status, code=code)
    if status >= 500 or status in (408, 429):
        unavailable = FulfilUnavailable(text, status=status, code=code)
        unavailable.retry_after = parse_retry_after(retry_after)
        return unavailable
    return FulfilRejected(text, status=status, code=code)
