"""`/library query:` for an author or a series: what the query names, and its books.

Discord-free. A query names an author when it names (by the matcher's own
person rule, so "weir" and "Andy Weir" both count) one of the people of the
best hit's credit, and is not simply part of that book's title. It names a
series when it is a series' name, with or without its "The", whatever the
case ("expanse" is The Expanse); the mirror's series comes from the titles.
"""

from __future__ import annotations

import re

from core.models import PlexItem
from core.normalize import fold, parse_people, person_similarity

_THE = re.compile(r"^the\s+", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
SAME_PERSON = 90.0  # person_similarity: a bare family name scores 90, full names 95-100


def author_of_query(text: str, best: PlexItem) -> str | None:
    """The author credit of `best` when `text` names one of its people, else None."""
    query = fold(text).strip()
    if not query or not best.author or query in fold(best.title):
        return None
    asked = parse_people(text)
    credited = parse_people(best.author)
    if any(person_similarity(a, c) >= SAME_PERSON for a in asked for c in credited):
        return best.author
    return None


async def books_by(author: str, *, offset: int = 0, limit: int = 10) -> tuple[list[PlexItem], int]:
    """One page of the books credited exactly like `author`, oldest first, and their number."""
    query = PlexItem.filter(author=author)
    total = await query.count()
    rows = await query.order_by("year", "title", "id").offset(offset).limit(limit)
    return rows, total


async def series_of_query(text: str) -> str | None:
    """The series (as the mirror spells it) that `text` names, else None."""
    name = _THE.sub("", text.strip())
    if not name:
        return None
    row = await PlexItem.filter(series__iexact=name).first() or await PlexItem.filter(
        series__iexact=f"The {name}"
    ).first()
    return row.series if row is not None else None


def _position(row: PlexItem) -> tuple[float, str, int]:
    """Order by the number in the series ("2" < "10", "2.5" between), then by title."""
    found = _NUMBER.search(row.series_index or "")
    return (float(found.group()) if found else float("inf"), row.title, row.id)


async def books_in(
    series: str, *, offset: int = 0, limit: int = 10
) -> tuple[list[PlexItem], int]:
    """One page of a series' books in reading order, and their number.

    Sorted here, not in SQL: positions are text ("10" sorts before "2"), and
    a series is short.
    """
    rows = sorted(await PlexItem.filter(series=series), key=_position)
    return rows[offset : offset + limit], len(rows)
