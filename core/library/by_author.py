"""`/library query:` for an author: is the query a person, and which books are theirs.

Discord-free. A query names an author when it names (by the matcher's own
person rule, so "weir" and "Andy Weir" both count) one of the people of the
best hit's credit, and is not simply part of that book's title.
"""

from __future__ import annotations

from core.models import PlexItem
from core.normalize import fold, parse_people, person_similarity

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
