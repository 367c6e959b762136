"""Audible catalog: book search and lookup for ``/request`` and ``python -m bot check``.

``AudibleCatalog`` talks to the regional Audible API; ``CachedCatalog`` puts a
cache, request sharing and a hard deadline in front of it for autocomplete.
"""

from core.catalog.cache import CachedCatalog, CatalogSource, normalise_query
from core.catalog.client import AUDIBLE_HOSTS, AudibleCatalog, base_url_for, product_url
from core.catalog.errors import (
    CatalogBadResponse,
    CatalogError,
    CatalogNotFound,
    CatalogUnavailable,
)
from core.catalog.models import CatalogBook, parse_product

__all__ = [
    "AUDIBLE_HOSTS",
    "AudibleCatalog",
    "CachedCatalog",
    "CatalogBadResponse",
    "CatalogBook",
    "CatalogError",
    "CatalogNotFound",
    "CatalogSource",
    "CatalogUnavailable",
    "base_url_for",
    "normalise_query",
    "parse_product",
    "product_url",
]
