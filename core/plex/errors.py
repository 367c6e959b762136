"""The Plex exception tree: one place maps wire failures to these, callers catch only these.

Messages end up in logs and in Discord replies, so every constructor strips
``X-Plex-Token`` values from the text it is given; the HTTP layer also masks
the token of the failing call, which covers tokens outside URLs.
"""

from __future__ import annotations

import re

__all__ = [
    "PlexBadResponse",
    "PlexError",
    "PlexNotFound",
    "PlexUnauthorized",
    "PlexUnavailable",
    "strip_tokens",
]

MASK = "***"

# X-Plex-Token in a query string, a header dump or a repr'd dict.
_TOKEN_IN_TEXT = re.compile(r"(?i)(x-plex-token['\"]?\s*[=:]\s*['\"]?)[^&\s'\",}#]+")


def strip_tokens(text: str, *secrets: str | None) -> str:
    """The text with URL/header tokens and the given secret values replaced by ***."""
    text = _TOKEN_IN_TEXT.sub(rf"\g<1>{MASK}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


class PlexError(Exception):
    """Base of every error raised by ``core.plex``; ``status`` is the HTTP status if any."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        clean = strip_tokens(message)
        super().__init__(clean)
        self.message = clean
        self.status = status

    def __str__(self) -> str:
        return self.message


class PlexUnauthorized(PlexError):
    """401/403: the token is missing, wrong, revoked or lacks access."""


class PlexNotFound(PlexError):
    """404: the item, section or PIN does not exist (an expired PIN on plex.tv)."""


class PlexUnavailable(PlexError):
    """Connection refused, DNS, TLS, timeout, 408, 429 or a 5xx: worth retrying later.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    retry_after: float | None = None


class PlexBadResponse(PlexError):
    """A 2xx answer whose body cannot be parsed or has an unexpected shape."""
