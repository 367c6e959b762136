"""ReadMeABook's request statuses, read as Earmark's lifecycle (DESIGN.md "Request lifecycle").

RMAB has more states than Earmark; each maps to the Earmark state a member
would recognise, plus a note for the ones that need words ("not released
yet, expected DATE"). `None` leaves the request where it is. RMAB's
`available` is `downloaded` here: Earmark's own scan alone marks a request
available.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.fulfil.rmab import RmabRequest
from core.models import RequestStatus

#: The outbox kind of the "download started" DM (once per request and person; can be turned off).
KIND_DOWNLOAD_STARTED = "download_started"

STAGES: dict[str, RequestStatus | None] = {
    "pending": RequestStatus.APPROVED,
    "awaiting_approval": RequestStatus.APPROVED,
    "awaiting_search": RequestStatus.APPROVED,
    "awaiting_release": RequestStatus.APPROVED,
    "searching": RequestStatus.SEARCHING,
    "downloading": RequestStatus.DOWNLOADING,
    "processing": RequestStatus.PROCESSING,
    "awaiting_import": RequestStatus.PROCESSING,
    "downloaded": RequestStatus.DOWNLOADED,
    "available": RequestStatus.DOWNLOADED,
    "failed": RequestStatus.FAILED,
    "cancelled": RequestStatus.CANCELLED,
    "denied": RequestStatus.DENIED,
    "warn": None,
}
#: RMAB states after which the book should be in Plex: scan at once.
IN_PLACE = frozenset({"downloaded", "available"})


@dataclass(frozen=True, slots=True)
class Stage:
    """Where an RMAB request puts Earmark's: the status (None = unchanged), progress, note."""

    status: RequestStatus | None
    progress: int | None
    note: str | None


def stage_of(remote: RmabRequest) -> Stage:
    status = STAGES.get(remote.status)
    note: str | None = None
    if remote.status == "awaiting_release":
        when = remote.release_date or "an unknown date"
        note = f"not released yet, expected {when}"
    elif remote.status == "awaiting_approval":
        note = "waiting for approval in ReadMeABook (auto-approve the token's user there)"
    elif remote.status in ("failed", "warn") and remote.error_message:
        note = remote.error_message
    progress = remote.progress if status == RequestStatus.DOWNLOADING else None
    return Stage(status, progress, note)
