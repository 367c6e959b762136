"""Scoring one candidate against a query: title and person scores, thresholds, the verdict.

The order of the rules and the reasons for each threshold are in
``core.matcher``'s docstring; the numbers live here, next to the code
that applies them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from core.asin import normalize_asin
from core.matcher.book import BookQuery
from core.matcher.kinds import kinds
from core.matcher.readings import query_title as clean_query_title
from core.matcher.titles import compare_titles, query_title
from core.normalize import Person, TitleParts, parse_people, person_similarity

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
    """A query or one reading of an indexed book in normalised form, computed once.

    ``label`` names the reading ("" for the album as tagged); ``part`` is set
    for one album of a book split in several; ``raw`` is the title as given,
    for the derivative kinds it names (``work_kinds``, asked only of candidates).
    """

    title: TitleParts
    authors: tuple[Person, ...]
    narrators: tuple[Person, ...]
    asins: tuple[str, ...]
    raw: str = ""
    label: str = ""
    part: str | None = None
    needs_author: bool = False


def parse_query(query: BookQuery) -> Parsed:
    """The query's normalised form; the catalog's subtitle and series shape its title.

    Bitrate and format tags come off the title, and an ASIN in it counts
    when the query carries none.
    """
    title, title_asin = clean_query_title(query.title or "")
    asin = normalize_asin(query.asin) or title_asin
    parts = query_title(title, query.subtitle, query.series)
    return Parsed(
        title=parts,
        authors=parse_people(query.author),
        narrators=parse_people(query.narrator),
        asins=(asin,) if asin else (),
        raw=query.title or "",
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """One candidate judged: accepted or not, the score, the title score, and why."""

    accepted: bool
    score: float
    title: float
    reason: str
    person: float | None = None  # None: a side names nobody


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
    """Rules 2 to 5: kind, structure, person, score, a different ASIN."""
    if (q_kinds := work_kinds(q)) != (book_kinds := work_kinds(book)):
        return Verdict(False, 0.0, 0.0, f"rejected: {_kind_text(q_kinds, book_kinds)}")
    t, why = compare_titles(q.title, book.title)
    if why:
        return Verdict(False, round(TITLE_WEIGHT * t, 1), t, f"rejected: {why}")
    p, role = _person_score(q, book)
    if book.needs_author and p is None:
        # A name cut from the title, or a retitling: only the query's author confirms it.
        return Verdict(False, TITLE_WEIGHT * t, t, "rejected: author unconfirmed")
    other_asin = bool(q.asins and book.asins and q.asins[0] not in book.asins)
    if p is None:
        score = TITLE_WEIGHT * t + PERSON_WEIGHT * UNKNOWN_PERSON
        text = f"title {t:.0f} / author unknown"
        if other_asin:
            return Verdict(False, score, t, f"rejected: asin differs; {text}")
        if book.asins and not q.asins and q.authors:
            # The album is one known book (its ASIN) but names nobody: the title alone
            # can't say it is this author's. The ASIN can: /request always sends one.
            return Verdict(False, score, t, f"rejected: {text}; the album's ASIN could tell")
        ok = t >= TITLE_ALONE
        return Verdict(ok, score, t, text if ok else f"rejected: {text}")
    score = TITLE_WEIGHT * t + PERSON_WEIGHT * p
    text = f"title {t:.0f} / {role} {p:.0f}"
    if other_asin:
        ok = t >= STRICT_TITLE and p >= STRICT_PERSON
        text = f"asin differs; {text}"
    elif p < MIN_PERSON:
        return Verdict(False, score, t, f"rejected: {role} differs; {text}", p)
    else:
        ok = t >= MIN_TITLE
    return Verdict(ok, score, t, text if ok else f"rejected: {text}", p)


def work_kinds(p: Parsed) -> frozenset[str]:
    """Summary, omnibus, companion...: what derivative work the title names (cached)."""
    return kinds(p.raw, p.title.core + p.title.subtitle)


def _kind_text(q: frozenset[str], book: frozenset[str]) -> str:
    """ "a summary is not the book", "the book is not an omnibus"."""
    if book - q:
        return f"{' / '.join(sorted(book - q))} is not the book asked for"
    return f"the library's book is not a {' / '.join(sorted(q - book))}"


def judge_readings(q: Parsed, readings: tuple[Parsed, ...]) -> tuple[Verdict, Parsed]:
    """The best accepted reading (the earlier on a tie), else the nearest miss.

    The reading's label goes into the reason, so ``match --json`` tells which one matched.
    """
    best: tuple[Verdict, Parsed] | None = None
    for reading in readings:
        v = judge(q, reading)
        if best is None or _better(v, best[0]):
            best = (v, reading)
    assert best is not None  # every entry has its as-tagged reading
    v, reading = best
    if reading.label:
        v = replace(v, reason=f"{v.reason} (reading: {reading.label})")
    return v, reading


def _better(v: Verdict, than: Verdict) -> bool:
    if v.accepted != than.accepted:
        return v.accepted
    return (v.title > 0, v.score) > (than.title > 0, than.score)


def same_book(a: Parsed, b: Parsed) -> bool:
    """Two indexed books that are editions of one book (so either satisfies a query)."""
    if work_kinds(a) != work_kinds(b):
        return False
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
