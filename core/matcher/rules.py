"""Scoring one candidate against a query: title and person scores, thresholds, the verdict.

The order of the rules and the reasons for each threshold are in
``core.matcher``'s docstring; the numbers live here, next to the code
that applies them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from core.asin import normalize_asin
from core.matcher.book import Book, BookQuery
from core.matcher.titles import compare_titles, query_title
from core.normalize import Person, TitleParts, parse_people, parse_title, person_similarity

log = logging.getLogger(__name__)

TITLE_WEIGHT = 0.7
PERSON_WEIGHT = 0.3
MIN_TITLE = 80.0  # a floor: titles whose words all agree score 90+
MIN_PERSON = 70.0
UNKNOWN_PERSON = 50.0  # stands in for p in the score when a side names nobody
TITLE_ALONE = 95.0  # t needed when nobody can be compared
STRICT_TITLE = 95.0  # when ASINs differ
STRICT_PERSON = 90.0
SAME_PERSON = 95.0  # same_work: one normalised name, or one family name with agreeing initials
EXACT_TITLE = 100.0
AMBIGUITY_MARGIN = 5.0


@dataclass(frozen=True, slots=True)
class Parsed:
    """A query or an indexed book in normalised form, computed once."""

    title: TitleParts
    authors: tuple[Person, ...]
    narrators: tuple[Person, ...]
    asins: tuple[str, ...]


def parse_query(query: BookQuery) -> Parsed:
    """The query's normalised form; the catalog's subtitle and series shape its title."""
    asin = normalize_asin(query.asin)
    return Parsed(
        title=query_title(query.title or "", query.subtitle, query.series),
        authors=parse_people(query.author),
        narrators=parse_people(query.narrator),
        asins=(asin,) if asin else (),
    )


def parse_book(book: Book, asins: tuple[str, ...]) -> Parsed:
    """An indexed book's normalised form (its author field may name the narrator)."""
    return Parsed(
        title=parse_title(book.title or ""),
        authors=parse_people(book.author),
        narrators=(),
        asins=asins,
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """One candidate judged: accepted or not, the score, the title score, and why."""

    accepted: bool
    score: float
    title: float
    reason: str


def best_pair(a: tuple[Person, ...], b: tuple[Person, ...]) -> float | None:
    """The best similarity of any person of ``a`` with any of ``b``; None when a side is empty."""
    if not a or not b:
        return None
    return max(person_similarity(x, y) for x in a for y in b)


def _person_score(query: Parsed, book: Parsed) -> tuple[float | None, str]:
    """Best of author-vs-author and narrator-vs-author, and which one it was."""
    by_author = best_pair(query.authors, book.authors)
    by_narrator = best_pair(query.narrators, book.authors)
    if by_narrator is not None and (by_author is None or by_narrator > by_author):
        return by_narrator, "narrator"
    return by_author, "author"


def judge(q: Parsed, book: Parsed) -> Verdict:
    """Rules 2 to 5: structure, person, score, a different ASIN."""
    t, why = compare_titles(q.title, book.title)
    if why:
        return Verdict(False, round(TITLE_WEIGHT * t, 1), t, f"rejected: {why}")
    p, role = _person_score(q, book)
    other_asin = bool(q.asins and book.asins and q.asins[0] not in book.asins)
    if p is None:
        score = TITLE_WEIGHT * t + PERSON_WEIGHT * UNKNOWN_PERSON
        text = f"title {t:.0f} / author unknown"
        if other_asin:
            return Verdict(False, score, t, f"rejected: asin differs; {text}")
        ok = t >= TITLE_ALONE
        return Verdict(ok, score, t, text if ok else f"rejected: {text}")
    score = TITLE_WEIGHT * t + PERSON_WEIGHT * p
    text = f"title {t:.0f} / {role} {p:.0f}"
    if other_asin:
        ok = t >= STRICT_TITLE and p >= STRICT_PERSON
        text = f"asin differs; {text}"
    elif p < MIN_PERSON:
        return Verdict(False, score, t, f"rejected: {role} differs; {text}")
    else:
        ok = t >= MIN_TITLE
    return Verdict(ok, score, t, text if ok else f"rejected: {text}")


def same_book(a: Parsed, b: Parsed) -> bool:
    """Two indexed books that are editions of one book (so either satisfies a query)."""
    t, why = compare_titles(a.title, b.title)
    if why or t < STRICT_TITLE:
        return False
    p = best_pair(a.authors, b.authors)
    return p is None or p >= MIN_PERSON


def same_work(a: Parsed, b: Parsed) -> bool:
    """The strict test for "one request": the same ASIN, or the exact same title and author.

    Another edition or region of one work has its own ASIN, so a different
    ASIN does not refuse; but nothing short of an exact normalised title and
    the same author counts ("The Stone Heart" is not "Stone Hearts").
    """
    if set(a.asins) & set(b.asins):
        return True
    t, why = compare_titles(a.title, b.title)
    if why or t < EXACT_TITLE:
        return False
    p = best_pair(a.authors, b.authors)
    return p is not None and p >= SAME_PERSON
