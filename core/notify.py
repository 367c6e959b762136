"""The notification outbox: rows owed to users, delivered exactly once, never dropped.

Producers (scans, request decisions) insert rows with a dedupe key; the
Discord delivery worker takes due rows, and marks each sent or schedules a
retry with capped exponential backoff. Undelivered rows survive a restart,
and no row is ever given up: after `REPORT_AFTER` of failures the admins are
told once (a `KIND_UNDELIVERED` row of its own) and the row keeps being tried
at the capped interval. Each row carries a stable `nonce`, so a resend of the
same row (after a slow answer, a crash between send and mark) can never make
Discord create a second message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Min

from core.models import BookRequest, Notification, RequestStatus

log = logging.getLogger(__name__)

BASE_DELAY = 5.0  # seconds; doubled per failed try, capped below
MAX_DELAY = 600.0  # a Discord outage of hours: tried every 10 minutes, delivered soon after
REPORT_AFTER = timedelta(hours=24)  # then the admins are told (once); the row is kept

KIND_AVAILABLE = "available"
KIND_APPROVED = "approved"
KIND_DENIED = "denied"
KIND_FAILED = "failed"
KIND_STATUS = "status"
KIND_RELEASE = "release"  # new books of followed authors and series (payload: {"books": [...]})
KIND_UNDELIVERED = "undelivered"  # for the admin channel: a row that could not be delivered

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
    """What a message about a request needs to render without another query.

    `requester_id` lets a DM tell the requester from someone who joined the
    request ("the book you also asked for"); the server's name is not stored:
    the bot knows its home server when it delivers.
    """
    return {
        "request_id": req.id,
        "requester_id": req.requester_id,
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
    """Rows to send now, oldest first: each person's oldest unsent row, once its time has come.

    One row at a time per person, so a person's messages arrive in the order
    they were queued even when one of them needs retries. Reports for the
    admin channel are not part of anyone's queue.
    """
    now = now or datetime.now(UTC)
    heads = (
        await Notification.filter(sent_at=None)
        .exclude(kind=KIND_UNDELIVERED)
        .annotate(head=Min("id"))
        .group_by("user_id")
        .values_list("head", flat=True)
    )
    return (
        await Notification.filter(sent_at=None)
        .filter(Q(id__in=list(heads)) | Q(kind=KIND_UNDELIVERED))
        .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
        .order_by("id")
        .limit(limit)
    )


def nonce(note: Notification, where: str) -> str:
    """Discord's message nonce for this row in one place (`dm`, `admin`): at most 25 chars.

    Derived from the row alone, so every resend of it carries the same one and
    Discord (`enforce_nonce`) returns the first message instead of a second.
    """
    created = int(note.created_at.timestamp()) if note.created_at else 0
    return f"{where[:5]}{note.id}.{created}"[:25]


async def mark_sent(note: Notification, now: datetime | None = None) -> None:
    note.sent_at = now or datetime.now(UTC)
    note.attempts += 1
    await note.save(update_fields=["sent_at", "attempts"])


def backoff(attempts: int) -> float:
    """Seconds to wait before the next try after `attempts` failures."""
    return min(MAX_DELAY, BASE_DELAY * 2 ** min(max(0, attempts - 1), 30))


async def mark_failed(note: Notification, error: str, now: datetime | None = None) -> bool:
    """Count a failed try and schedule the next one; True when the admins were just told.

    A row failing for longer than `REPORT_AFTER` queues one `KIND_UNDELIVERED`
    report (its dedupe key makes it once per row) and stays, tried on.
    """
    now = now or datetime.now(UTC)
    note.attempts += 1
    note.last_error = error[:500]
    note.next_attempt_at = now + timedelta(seconds=backoff(note.attempts))
    await note.save(update_fields=["attempts", "last_error", "next_attempt_at"])
    if note.kind == KIND_UNDELIVERED or not note.created_at:
        return False
    if now - note.created_at < REPORT_AFTER:
        return False
    return await queue(
        note.user_id,
        KIND_UNDELIVERED,
        {
            "note_id": note.id,
            "kind": note.kind,
            "request_id": note.request_id,
            "attempts": note.attempts,
            "since": note.created_at.isoformat(),
            "last_error": note.last_error,
        },
        request_id=note.request_id,
        key=f"{KIND_UNDELIVERED}:{note.id}",
    )


async def pending_count() -> int:
    return await Notification.filter(sent_at=None).count()


async def is_sent(note_id: int) -> bool:
    """Whether a row went out meanwhile (an undelivered report about it is then moot)."""
    return await Notification.filter(id=note_id).exclude(sent_at=None).exists()
