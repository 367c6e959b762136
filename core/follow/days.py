"""Release days of books not out yet, so `/requests` can say "not released yet".

A request for a pre-order waits like any other; the catalog's day is kept
here (from the release check and from a release DM's Request button) rather
than asked again every time someone opens `/requests`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from core.catalog.models import CatalogBook
from core.models import ReleaseDay


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


async def remember(books: Iterable[CatalogBook], today: date | None = None) -> None:
    """Keep the release day of every book here that is not out yet (the newest word wins)."""
    day = (today.isoformat() if today else _today())
    rows = {b.asin: b.release_date for b in books if b.release_date and b.release_date > day}
    if rows:
        await ReleaseDay.bulk_create(
            [ReleaseDay(asin=asin, release_date=when) for asin, when in rows.items()],
            on_conflict=["asin"], update_fields=["release_date"],
        )


async def upcoming(asins: Iterable[str], today: date | None = None) -> dict[str, str]:
    """``{asin: ISO day}`` for the books among ``asins`` that are not out yet."""
    day = today.isoformat() if today else _today()
    wanted = list(dict.fromkeys(asins))
    if not wanted:
        return {}
    rows = await ReleaseDay.filter(asin__in=wanted, release_date__gt=day).values_list(
        "asin", "release_date"
    )
    return {asin: when for asin, when in rows}
