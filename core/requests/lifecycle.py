"""Which status moves are allowed (DESIGN.md, "Request lifecycle").

pending -> approved -> searching -> downloading -> processing -> downloaded ->
available, with side exits denied, failed, cancelled. The download side may
skip forward or step back within the open states; closed states stay closed,
except that a failed or cancelled request may be re-opened as approved.
"""

from __future__ import annotations

from core.models import OPEN_STATUSES, RequestStatus

CLOSED = (
    RequestStatus.AVAILABLE,
    RequestStatus.DENIED,
    RequestStatus.FAILED,
    RequestStatus.CANCELLED,
)
#: The longest reason a move may carry (`/admin deny|status`, the Deny modal, the inbound API).
REASON_MAX = 500

REOPENABLE = (RequestStatus.FAILED, RequestStatus.CANCELLED)


def is_open(status: RequestStatus) -> bool:
    return status in OPEN_STATUSES


def can_move(current: RequestStatus, target: RequestStatus) -> bool:
    """True when `/admin status` may move a request from `current` to `target`."""
    if current == target:
        return False
    if current in OPEN_STATUSES:
        if current == RequestStatus.PENDING:
            # Approval is a decision: only approve/deny/cancel leave pending.
            return target in (
                RequestStatus.APPROVED, RequestStatus.DENIED, RequestStatus.CANCELLED,
                RequestStatus.AVAILABLE,
            )
        return target != RequestStatus.PENDING
    if current in REOPENABLE:
        return target == RequestStatus.APPROVED
    return False
