"""What a download script sends to `POST /api/requests/{id}/status`, and what it reads back.

The body is untrusted input: every field is checked, an unknown field is
refused (a typo such as `stauts` must not pass as "no change"), and each
refusal says why in one sentence for the script's log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from core.models import BookRequest, RequestStatus
from core.requests.lifecycle import REASON_MAX

#: The longest reason, the same as `/admin status` and the Deny modal accept.
FIELDS = ("status", "reason", "progress")
STATUSES = ", ".join(s.value for s in RequestStatus)


class BadBody(ValueError):
    """The body is unusable; `reason` tells the script what to fix."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StatusUpdate:
    status: RequestStatus
    reason: str | None = None
    progress: int | None = None  # percent, rounded


def parse_status(body: Any) -> StatusUpdate:
    """The update in a decoded JSON body, or BadBody saying what is wrong with it."""
    if not isinstance(body, dict):
        raise BadBody('the body must be a JSON object such as {"status": "downloading"}')
    unknown = [key for key in body if key not in FIELDS]
    if unknown:
        raise BadBody(f"unknown field {unknown[0]!r}; the fields are {', '.join(FIELDS)}")
    return StatusUpdate(
        _status(body.get("status")), _reason(body.get("reason")), _progress(body.get("progress"))
    )


def _status(value: Any) -> RequestStatus:
    if value is None:
        raise BadBody(f"status is required: one of {STATUSES}")
    if not isinstance(value, str):
        raise BadBody(f"status must be a string: one of {STATUSES}")
    try:
        return RequestStatus(value)
    except ValueError:
        raise BadBody(f"unknown status {value[:40]!r}; use one of {STATUSES}") from None


def _reason(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadBody("reason must be a string")
    text = value.strip()
    if len(text) > REASON_MAX:
        raise BadBody(f"reason must be at most {REASON_MAX} characters")
    return text or None


def _progress(value: Any) -> int | None:
    if value is None:
        return None
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or not 0 <= number <= 100:
        raise BadBody("progress must be a number from 0 to 100 (percent)")
    return round(number)


def request_json(req: BookRequest) -> dict[str, Any]:
    """A request as the API shows it: the book and its state, nobody's identity."""
    return {
        "id": req.id,
        "status": RequestStatus(req.status).value,
        "title": req.title,
        "author": req.author,
        "narrator": req.narrator,
        "asin": req.asin,
        "reason": req.reason,
        "progress": req.progress,
        "created_at": _iso(req.created_at),
        "updated_at": _iso(req.updated_at),
    }


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if moment is not None else None
