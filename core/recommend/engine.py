"""The recommendation rules: no Discord, no I/O, the same answer for the same input.

Inputs are the user's rated books (their own Plex listing, see ``ratings``)
and candidate books from the catalog; the caller decides which candidates are
excluded (in the library, requested, dismissed). Plex ``userRating`` runs
from 0 to 10, two points per star (8 = 4★).

Rules
-----
* **Weight** of one rating: ``(rating - 5) / 5``, from -1 (0★) to +1 (5★).
  3★ and up count for, 2★ and below against, 2.5★ is neutral.
* **Seeds**: the books rated 8+ (4★ and up); when there are none, those rated
  6+ (3★ and up). Catalog searches start from the seeds' authors (then
  narrators) and, once their series are known, the seeds' series.
* **Affinity** of an author, a narrator or a series: the mean weight of the
  user's rated books by, read by or in it, times ``n / (n + 1)`` (one book
  says less than several), so between -1 and 1. Two credits name the same
  person when ``core.normalize.person_similarity`` gives 90 or more. A rated
  book's series are learnt from the catalog candidate that the matcher says
  is that book.
* **Series continuation**: a series is *followed* when its highest-numbered
  rated book (the anchor) is a seed. Its continuation is the candidate left
  with the lowest sequence number above the anchor's.
* **Dropped**: excluded candidates; candidates the matcher says are one of the
  user's rated books; candidates whose best author or best series affinity is
  negative (the user disliked them); candidates with no positive signal.
* **Score**, in tiers that never overlap (affinities are within -1..1):

  - series continuation: ``6 + series + 0.3 * author + 0.3 * narrator``
  - author: ``3 + author + 0.3 * narrator``
  - narrator: ``narrator``

  minus 0.2 in the author and narrator tiers for a book that does not start
  its series (sequence above 1): a stranger's book 5 is a poor first pick.
* **Ties**: score (rounded to 6 places), then the earlier series position, the
  newer release, the title, the ASIN. Candidates are sorted by ASIN first, so
  the result never depends on their order.
* **Editions**: candidates the matcher calls the same book count once (the
  better ranked one).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from core.catalog.models import CatalogBook
from core.matcher import BookIndex, BookQuery
from core.normalize import Person, fold, parse_people, person_similarity

__all__ = [
    "HIGH_RATING",
    "LOW_RATING",
    "NoSeeds",
    "RatedBook",
    "Recommendation",
    "TasteProfile",
    "build_profile",
    "recommend",
    "series_search_terms",
    "stars",
]

log = logging.getLogger(__name__)

HIGH_RATING = 8.0  # 4★: a seed
LOW_RATING = 6.0  # 3★: a seed when nothing is rated 4★ or more
SAME_PERSON = 90.0
SERIES_TIER = 6.0
AUTHOR_TIER = 3.0
NARRATOR_TIER = 0.0
SIDE_WEIGHT = 0.3  # the other signals' share of a score
LATE_IN_SERIES = 0.2  # penalty for a book that does not start its series
DEFAULT_LIMIT = 10

Kind = Literal["series", "author", "narrator"]

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True, slots=True)
class RatedBook:
    """One book of the user's Plex listing with the user's own rating (0-10)."""

    rating_key: str
    title: str
    author: str | None
    narrator: str | None
    asin: str | None
    guid: str | None
    rating: float

    @property
    def weight(self) -> float:
        return (self.rating - 5.0) / 5.0


@dataclass(frozen=True, slots=True)
class Recommendation:
    """A book to suggest, why (plain text: render it safely), and its score."""

    book: CatalogBook
    kind: Kind
    reason: str
    score: float


class NoSeeds(ValueError):
    """Books are rated, but none 3★ or more: nothing to start from."""


def stars(rating: float) -> str:
    """A 0-10 rating as stars rounded to the half: 9 -> "4.5", 8.4 -> "4"."""
    halves = math.floor(rating + 0.5)
    return f"{halves // 2}" if halves % 2 == 0 else f"{halves / 2:.1f}"


def _affinity(weights: Sequence[float]) -> float:
    n = len(weights)
    return (sum(weights) / n) * (n / (n + 1)) if n else 0.0


def _best_rated(books: Iterable[RatedBook]) -> RatedBook:
    return min(books, key=lambda b: (-b.rating, fold(b.title), b.rating_key))


@dataclass(frozen=True, slots=True)
class Taste:
    """What the user's ratings say about one author, narrator or series."""

    name: str
    books: tuple[RatedBook, ...]

    @property
    def affinity(self) -> float:
        return _affinity([b.weight for b in self.books])

    @property
    def mean_rating(self) -> float:
        return sum(b.rating for b in self.books) / len(self.books)

    @property
    def top(self) -> RatedBook:
        return _best_rated(self.books)


class _People:
    """Tastes per person, found again under another spelling of the name.

    Only names that share a word, or the first two letters of the family
    name, are compared (``person_similarity`` caps the others far below 90):
    that keeps a profile of thousands of authors fast.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self._books: dict[str, dict[str, RatedBook]] = {}
        self._people: dict[str, Person] = {}
        self._near: dict[str, set[str]] = {}  # a word or "family prefix" -> keys
        self._tastes: dict[str, Taste] | None = None
        self._lookups: dict[str, Taste | None] = {}

    @staticmethod
    def _hooks(person: Person) -> list[str]:
        return [f"{person.last[:2]}*", *person.key.split()]

    def add(self, credit: str | None, book: RatedBook) -> None:
        people = parse_people(credit)
        for person in people:
            key = self._find_key(person)
            if key is None:
                key = person.key
                self._people[key] = person
                for hook in self._hooks(person):
                    self._near.setdefault(hook, set()).add(key)
            self._books.setdefault(key, {})[book.rating_key] = book
            # The credit as written reads best, when it names this one person.
            name = credit.strip() if credit and len(people) == 1 else key.title()
            self._names.setdefault(key, name)
        self._tastes = None
        self._lookups.clear()

    def _find_key(self, person: Person) -> str | None:
        if person.key in self._people:
            return person.key
        near: set[str] = set()
        for hook in self._hooks(person):
            near |= self._near.get(hook, set())
        best: tuple[float, str] | None = None
        for key in sorted(near):
            score = person_similarity(person, self._people[key])
            if score >= SAME_PERSON and (best is None or score > best[0]):
                best = (score, key)
        return best[1] if best else None

    @property
    def tastes(self) -> dict[str, Taste]:
        if self._tastes is None:
            self._tastes = {
                key: Taste(self._names[key], tuple(sorted(books.values(),
                                                          key=lambda b: b.rating_key)))
                for key, books in sorted(self._books.items())
            }
        return self._tastes

    def lookup(self, credit: str) -> Taste | None:
        """The best liked of the tastes for the people a credit names (memoised)."""
        if credit not in self._lookups:
            tastes = self.tastes
            found = [
                tastes[key]
                for person in parse_people(credit)
                if (key := self._find_key(person)) is not None
            ]
            self._lookups[credit] = max(
                found, key=lambda t: (t.affinity, fold(t.name)), default=None
            )
        return self._lookups[credit]


class TasteProfile:
    """The user's ratings digested: the seeds and a taste per author and narrator."""

    def __init__(self, rated: Iterable[RatedBook]) -> None:
        self.rated = tuple(sorted(rated, key=lambda b: b.rating_key))
        self.seed_rating = HIGH_RATING
        self.seeds = tuple(b for b in self.rated if b.rating >= HIGH_RATING)
        if not self.seeds:
            self.seed_rating = LOW_RATING
            self.seeds = tuple(b for b in self.rated if b.rating >= LOW_RATING)
        self._authors, self._narrators = _People(), _People()
        for book in self.rated:
            self._authors.add(book.author, book)
            self._narrators.add(book.narrator, book)
        self._index: BookIndex[RatedBook] | None = None

    @property
    def authors(self) -> dict[str, Taste]:
        return self._authors.tastes

    @property
    def narrators(self) -> dict[str, Taste]:
        return self._narrators.tastes

    def author(self, credit: str) -> Taste | None:
        return self._authors.lookup(credit)

    def narrator(self, credit: str) -> Taste | None:
        return self._narrators.lookup(credit)

    def rated_match(self, book: CatalogBook) -> RatedBook | None:
        """The rated book the matcher says this candidate is (any edition), if any."""
        if self._index is None:
            self._index = BookIndex(self.rated, key=_rating_key)
        return self._index.match(BookQuery.of(book)).item

    def search_people(self, limit: int) -> list[str]:
        """Names to search the catalog for: the seeds' authors, then their narrators."""
        seed_keys = {b.rating_key for b in self.seeds}
        names: list[str] = []
        for tastes in (self.authors, self.narrators):
            liked = [
                t for t in tastes.values()
                if t.affinity > 0 and any(b.rating_key in seed_keys for b in t.books)
            ]
            liked.sort(key=lambda t: (-t.affinity, -len(t.books), fold(t.name)))
            for taste in liked:
                if all(fold(taste.name) != fold(n) for n in names):
                    names.append(taste.name)
        return names[:limit]


def _rating_key(book: RatedBook) -> str:
    return book.rating_key


def _asin(book: CatalogBook) -> str:
    return book.asin


def build_profile(ratings: Iterable[RatedBook]) -> TasteProfile:
    """Seeds and tastes from the user's ratings; NoSeeds when nothing is rated 3★ or more.

    No ratings at all is the caller's case to explain (how to rate in Plex).
    """
    profile = TasteProfile(ratings)
    if not profile.seeds:
        raise NoSeeds("no book is rated 3 stars or more")
    return profile


def _sequence(text: str | None) -> float | None:
    match = _NUMBER.search(text or "")
    return float(match.group()) if match else None


def _series_key(title: str) -> str:
    return " ".join(fold(title).split())


@dataclass(slots=True)
class _Series:
    """One series as the user rated it: (sequence, book) of each rated entry."""

    name: str
    entries: dict[str, tuple[float | None, RatedBook]] = field(default_factory=dict)

    @property
    def affinity(self) -> float:
        return _affinity([book.weight for _, book in self.entries.values()])

    def anchor(self, seed_rating: float) -> tuple[float, RatedBook] | None:
        """The highest-numbered rated entry, when it is a seed (the series is followed)."""
        numbered = [(seq, book) for seq, book in self.entries.values() if seq is not None]
        if not numbered:
            return None
        seq, book = max(numbered, key=lambda e: (e[0], e[1].rating, e[1].rating_key))
        return (seq, book) if book.rating >= seed_rating else None


def _unique(candidates: Iterable[CatalogBook]) -> list[CatalogBook]:
    by_asin: dict[str, CatalogBook] = {}
    for book in candidates:
        by_asin.setdefault(book.asin, book)
    return [by_asin[asin] for asin in sorted(by_asin)]


def _learn_series(
    profile: TasteProfile, books: Sequence[CatalogBook]
) -> tuple[dict[str, _Series], dict[str, RatedBook]]:
    """Series of the rated books (from the candidates that are those books)."""
    series: dict[str, _Series] = {}
    rated_asins: dict[str, RatedBook] = {}
    for book in books:
        rated = profile.rated_match(book)
        if rated is None:
            continue
        rated_asins[book.asin] = rated
        for title, seq_text in book.series:
            entry = series.setdefault(_series_key(title), _Series(title))
            seq = _sequence(seq_text)
            old = entry.entries.get(rated.rating_key)
            if old is None or (seq is not None and (old[0] is None or seq > old[0])):
                entry.entries[rated.rating_key] = (seq, rated)
    return series, rated_asins


def series_search_terms(
    profile: TasteProfile, candidates: Iterable[CatalogBook], limit: int
) -> list[str]:
    """Titles of the followed series, best anchor first: where continuations are found."""
    if limit <= 0:
        return []
    series, _ = _learn_series(profile, _unique(candidates))
    followed = [
        (anchor[1].rating, s.name)
        for s in series.values()
        if (anchor := s.anchor(profile.seed_rating)) is not None
    ]
    followed.sort(key=lambda f: (-f[0], fold(f[1])))
    return [name for _, name in followed[:limit]]


@dataclass(frozen=True, slots=True)
class _Scored:
    rec: Recommendation
    position: float
    year: int

    def key(self) -> tuple[float, float, int, str, str]:
        return (-round(self.rec.score, 6), self.position, -self.year,
                fold(self.rec.book.title), self.rec.book.asin)


def _first_position(book: CatalogBook) -> float:
    positions = [s for _, text in book.series if (s := _sequence(text)) is not None]
    return min(positions) if positions else 0.0


def _best(tastes: Iterable[tuple[str, Taste | None]]) -> tuple[str, Taste] | None:
    known = [(name, t) for name, t in tastes if t is not None]
    return max(known, key=lambda nt: (nt[1].affinity, fold(nt[0])), default=None)


def _continuations(
    profile: TasteProfile, series: dict[str, _Series], pool: Sequence[CatalogBook]
) -> dict[str, tuple[_Series, float, RatedBook, float]]:
    """ASIN -> (series, anchor position, anchor book, own position) of each continuation."""
    found: dict[str, tuple[_Series, float, RatedBook, float]] = {}
    for key in sorted(series):
        entry = series[key]
        anchor = entry.anchor(profile.seed_rating)
        if anchor is None:
            continue
        after = [
            (seq, book.asin, book)
            for book in pool
            for title, text in book.series
            if _series_key(title) == key
            and (seq := _sequence(text)) is not None
            and seq > anchor[0]
        ]
        if not after:
            continue
        seq, asin, _ = min(after, key=lambda a: (a[0], a[1]))
        old = found.get(asin)
        if old is None or entry.affinity > old[0].affinity:
            found[asin] = (entry, anchor[0], anchor[1], seq)
    return found


def _score(
    profile: TasteProfile,
    book: CatalogBook,
    series: dict[str, _Series],
    continuation: tuple[_Series, float, RatedBook, float] | None,
) -> Recommendation | None:
    author = _best((name, profile.author(name)) for name in book.authors)
    narrator = _best((name, profile.narrator(name)) for name in book.narrators)
    known_series = [series[k] for t, _ in book.series if (k := _series_key(t)) in series]
    a = author[1].affinity if author else 0.0
    n = narrator[1].affinity if narrator else 0.0
    if a < 0:
        return None
    if known_series and max(s.affinity for s in known_series) < 0:
        return None
    late = LATE_IN_SERIES if _first_position(book) > 1 else 0.0
    if continuation is not None:
        entry, anchor_seq, anchor, seq = continuation
        score = SERIES_TIER + entry.affinity + SIDE_WEIGHT * a + SIDE_WEIGHT * n
        if seq == math.floor(anchor_seq) + 1:
            reason = (
                f"Next in {entry.name} after {anchor.title}, "
                f"which you rated {stars(anchor.rating)}★"
            )
        else:
            reason = (
                f"Book {_number(seq)} of {entry.name}, which continues {anchor.title} "
                f"(you rated it {stars(anchor.rating)}★)"
            )
        return Recommendation(book, "series", reason, score)
    if author is not None and a > 0:
        name, taste = author
        score = AUTHOR_TIER + a + SIDE_WEIGHT * n - late
        if len(taste.books) == 1:
            reason = f"More by {name}: you rated {taste.top.title} {stars(taste.top.rating)}★"
        else:
            reason = f"More by {name}, whom you rated {stars(taste.mean_rating)}★ on average"
        return Recommendation(book, "author", reason, score)
    if narrator is not None and n > 0:
        name, taste = narrator
        score = NARRATOR_TIER + n - late
        if len(taste.books) == 1:
            reason = (
                f"Read by {name}, who also read {taste.top.title} "
                f"(you rated it {stars(taste.top.rating)}★)"
            )
        else:
            reason = f"Read by {name}, whose books you rated {stars(taste.mean_rating)}★ on average"
        return Recommendation(book, "narrator", reason, score)
    return None


def _number(seq: float) -> str:
    return f"{seq:g}"


def recommend(
    profile: TasteProfile,
    candidates: Iterable[CatalogBook],
    *,
    excluded: Collection[str] = frozenset(),
    limit: int = DEFAULT_LIMIT,
) -> list[Recommendation]:
    """The best ``limit`` candidates for this profile, each with its reason."""
    books = _unique(candidates)
    series, rated_asins = _learn_series(profile, books)
    pool = [b for b in books if b.asin not in excluded and b.asin not in rated_asins]
    continuations = _continuations(profile, series, pool)
    scored: list[_Scored] = []
    for book in pool:
        rec = _score(profile, book, series, continuations.get(book.asin))
        if rec is not None:
            scored.append(_Scored(rec, _first_position(book), book.release_year or 0))
    scored.sort(key=_Scored.key)
    picks: list[Recommendation] = []
    seen: BookIndex[CatalogBook] = BookIndex([], key=_asin)
    for item in scored:
        book = item.rec.book
        if seen.match(BookQuery.of(book)).matched:
            continue  # another edition of a book already picked
        picks.append(item.rec)
        seen.add(book)
        if len(picks) >= limit:
            break
    log.debug("recommend: %d candidates, %d scored, %d picked", len(books), len(scored), len(picks))
    return picks
