"""The notification outbox: rows owed to users, delivered at most once.

Producers (scans, request decisions) insert rows with a dedupe key; the
Discord delivery worker takes due rows, and marks each sent or schedules a
retry with exponential backoff. Undelivered rows survive a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q

from core.models import BookRequest, Notification, RequestStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = 5.0  # seconds; doubled per attempt, capped below
MAX_DELAY = 3600.0

KIND_AVAILABLE = "available"
KIND_APPROVED = "approved"
KIND_DENIED = "denied"
KIND_FAILED = "failed"
KIND_STATUS = "status"

#: The status changes people are told about, each with its outbox kind. The one
#: list: the request service queues by it and `/admin` says "will be told" by it.
STATUS_KINDS: dict[RequestStatus, str] = {
    RequestStatus.APPROVED: KIND_APPROVED,
    RequestStatus.DENIED: KIND_DENIED,
    RequestStatus.FAILED: KIND_FAILED,
    RequestStatus.AVAILABLE: KIND_AVAILABLE,
}


def kind_for(status: RequestStatus) -> str | None:
    """The outbox kind a move to `status` queues, or None when nobody is told."""
    return STATUS_KINDS.get(status)


def request_payload(req: BookRequest, **extra: object) -> dict[str, object]:
    """What a message about a request needs to render without another query."""
    return {
        "request_id": req.id,
        "title": req.title,
        "author": req.author,
        "narrator": req.narrator,
        "asin": req.asin,
        "cover_url": req.cover_url,
        "status": str(req.status),
        "reason": req.reason,
        **extra,
    }


def dedupe_key(kind: str, request_id: int | None, user_id: int, extra: str = "") -> str:
    """One message of a kind per request and person (plus `extra` for repeatable kinds)."""
    return f"{kind}:{request_id}:{user_id}{':' + extra if extra else ''}"


def rows_for(
    req: BookRequest, kind: str, people: Iterable[int], *, extra: str = "", **payload: object
) -> list[Notification]:
    """One unsaved outbox row per person about `req` (save with `ignore_conflicts`)."""
    body = request_payload(req, **payload)
    return [
        Notification(
            user_id=user_id,
            request_id=req.id,
            kind=kind,
            dedupe_key=dedupe_key(kind, req.id, user_id, extra),
            payload=body,
        )
        for user_id in dict.fromkeys(people)
    ]


async def queue(
    user_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    request_id: int | None = None,
    key: str | None = None,
) -> bool:
    """Add a row unless one with the same dedupe key exists; True when added."""
    key = key or dedupe_key(kind, request_id, user_id)
    _, created = await Notification.get_or_create(
        dedupe_key=key,
        defaults={"user_id": user_id, "request_id": request_id, "kind": kind, "payload": payload},
    )
    return created


async def due(limit: int = 50, now: datetime | None = None) -> list[Notification]:
    """Unsent rows whose retry time has come, oldest first."""
    now = now or datetime.now(UTC)
    return (
        await Notification.filter(sent_at=None, attempts__lt=MAX_ATTEMPTS)
        .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .limit(limit)
    )


async def mark_sent(note: Notification, now: datetime | None = None) -> None:
    note.sent_at = now or datetime.now(UTC)
    note.attempts += 1
    await note.save(update_fields=["sent_at", "attempts"])


def backoff(attempts: int) -> float:
    """Seconds to wait before the next try after `attempts` failures."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))


async def mark_failed(note: Notification, error: str, now: datetime | None = None) -> None:
    """Count a failed try and schedule the next one (or give up after MAX_ATTEMPTS)."""
    now = now or datetime.now(UTC)
    note.attempts += 1
    note.last_error = error[:500]
    note.next_attempt_at = now + timedelta(seconds=backoff(note.attempts))
    await note.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    if note.attempts >= MAX_ATTEMPTS:
        log.warning(
            "giving up on notification %s after %d tries: %s", note.id, note.attempts, error
        )


async def pending_count() -> int:
    return await Notification.filter(sent_at=None, attempts__lt=MAX_ATTEMPTS).count()
