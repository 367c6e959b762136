"""The fulfilment backends' exception tree: each client maps wire failures onto these once.

The hand-off worker decides by class alone: `FulfilUnavailable` is retried,
`FulfilUnauthorized` is told to the admins, `FulfilConflict` names what the
backend already knows about the book, anything else fails the hand-off.
Messages never carry the token or the secret (the clients build them from
the method and the path only).
"""

from __future__ import annotations

__all__ = [
    "FulfilBadResponse",
    "FulfilConflict",
    "FulfilError",
    "FulfilNotFound",
    "FulfilRejected",
    "FulfilUnauthorized",
    "FulfilUnavailable",
]


class FulfilError(Exception):
    """Base of every fulfilment failure; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code  # the backend's error name, e.g. RMAB's "DuplicateRequest"

    def __str__(self) -> str:
        return self.message


class FulfilUnauthorized(FulfilError):
    """401/403: the token or secret is wrong, expired, or lacks the rights."""


class FulfilNotFound(FulfilError):
    """404: the backend has no such request (deleted, or never created)."""


class FulfilConflict(FulfilError):
    """409: the backend already has the book (`code` says how: available, duplicate...)."""


class FulfilRejected(FulfilError):
    """A 4xx other than the above: the backend refuses this request as it is."""


class FulfilUnavailable(FulfilError):
    """Connection refused, timeout, 408, 429 or a 5xx: worth trying again later.

    `unclear` is True when the request may have reached the backend (a timeout
    after sending): a POST must then look before it sends again.
    """

    retry_after: float | None = None
    unclear: bool = False


class FulfilBadResponse(FulfilError):
    """A 2xx answer whose body is not what the API documents."""
