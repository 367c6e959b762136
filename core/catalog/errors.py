"""The catalog's own exception tree.

Cogs and the CLI catch these and turn them into sentences; transport details
(aiohttp, JSON) never leak past the client's single request choke point.
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base for every catalog failure; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class CatalogUnavailable(CatalogError):
    """The catalog could not answer now (connection, timeout, 5xx, 429): try later.

    ``retry_after`` is the server's ``Retry-After`` in seconds, when it sent one.
    """

    retry_after: float | None = None


class CatalogBadResponse(CatalogError):
    """The catalog answered something we cannot parse: likely an API change."""


class CatalogNotFound(CatalogError):
    """The catalog says the requested resource does not exist (404)."""
