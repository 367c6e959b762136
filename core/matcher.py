"""The one matcher: is this book in the Plex library, and which item is it?

Every caller (full scan, recently-added poll, ``/request``, ``/library``,
``/recommend``, the CLI) asks a ``LibraryIndex``; none keeps its own rules,
because two matchers disagree (the seed's fixes #6 and #7).

A request is satisfied by any edition of the same book: unabridged, abridged,
dramatized, full cast, or another Audible region's edition. The rule, in order:

1. **Same ASIN** (the item's ``asin`` or one embedded in its guid, region
   suffix ignored): match, score 100.
2. **Structure must agree**, or the candidate is rejected whatever its score.
   Titles are normalised (``core.normalize.parse_title``): case, punctuation,
   ``&``, quotes, diacritics, leading articles, edition tags, descriptive
   subtitles and series decorations are set aside. Then:

   - numbers agree: two volumes / series positions differ -> reject ("2 vs 3");
     a number that belongs to the title ("Carl 2", "Vol. 2", "Part II") is
     missing on the other side -> reject; other numbers in the title
     ("Catch-22", "451") are equal;
   - every word agrees: a word on either side without a counterpart (exact,
     or a spelling variant of a word of 4+ letters at ``fuzz.ratio`` >= 80)
     -> reject ("Foundation" vs "Foundation and Empire", "It" vs "It Ends
     with Us"). A distinctive subtitle ("Star Wars: Thrawn") counts as title
     words; a descriptive one ("A Memoir", "Book One in the Dune Chronicles")
     does not, unless both sides have one and they disagree.
   - Title score ``t``: 100 for equal words, ``token_sort_ratio`` for spelling
     variants, 95 for "series name + number" naming a titled book
     ("Dungeon Crawler Carl 2" = "...: Dungeon Crawler Carl, Book 2"), 90 for
     a title that is the other side's subtitle ("Thrawn" = "Star Wars: Thrawn").
3. **Person score** ``p``: best pair of the query's authors, or its narrators,
   against the item's author field (Plex sometimes files books under the
   narrator), from ``person_similarity`` (name order, initials, Jr./PhD,
   transliterations; same family name with other initials is another person).
4. **Score** ``= 0.7 * t + 0.3 * p`` (the seed's weighting), used to rank
   candidates and reported. Accept when ``t >= 80`` and ``p >= 70``, which
   puts the score at 77 or more. The seed's ``score >= 70`` alone is not
   enough: "Beloved" by another author scores 0.7 * 100 + 0.3 * 41 = 82, so
   the author must agree on its own (it decides between two books of one
   title). When either side names nobody, ``p`` counts as 50 in the score
   and the title alone must be near exact: ``t >= 95``.
5. **A different ASIN is not proof of another book** (every region gives the
   same book its own ASIN), but then only a strong match counts: ``t >= 95``
   and ``p >= 90``, both people known.
6. **Ambiguity**: when the best accepted candidates are different books
   within 5 points of each other ("Beloved" with no author, two
   "Sapiens: ..." books), nothing matches; the caller lets the user pick.

Finding candidates: the index holds an ASIN map and a word -> items posting
list over normalised title, subtitle and series words, built once and kept
current with ``add``/``remove``; one query is compared with the items that
share its words, not with the whole library.
"""

from __future__ import annotations

import bisect
import heapq
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from core.asin import asin_from_guid, normalize_asin
from core.normalize import (
    Person,
    TitleParts,
    parse_people,
    parse_title,
    person_similarity,
    tokens,
)

__all__ = [
    "BookQuery",
    "LibraryIndex",
    "LibraryItem",
    "MatchResult",
    "match_one",
    "normalize_asin",
]

log = logging.getLogger(__name__)

TITLE_WEIGHT = 0.7
PERSON_WEIGHT = 0.3
MIN_TITLE = 80.0  # a floor: titles whose words all agree score 90+
MIN_PERSON = 70.0
UNKNOWN_PERSON = 50.0  # stands in for p in the score when a side names nobody
TITLE_ALONE = 95.0  # t needed when nobody can be compared
STRICT_TITLE = 95.0  # when ASINs differ
STRICT_PERSON = 90.0
SERIES_TITLE = 95.0
SUBTITLE_TITLE = 90.0
AMBIGUITY_MARGIN = 5.0
WORD_VARIANT = 80.0  # fuzz.ratio for two spellings of one word
MIN_VARIANT_LEN = 4

# Words that never decide whether two titles agree.
_FILLER = frozenset({"the", "a", "an", "and"})
# Words too common to find candidates by.
_LOOKUP_SKIP = _FILLER | frozenset({"of", "to", "in", "on", "for", "with", "at", "by", "from"})


@dataclass(frozen=True, slots=True)
class BookQuery:
    """What someone wants."""

    title: str
    author: str | None = None
    narrator: str | None = None
    asin: str | None = None


@dataclass(frozen=True, slots=True)
class LibraryItem:
    """One row of the plex_library mirror."""

    rating_key: str
    title: str
    author: str | None = None
    narrator: str | None = None
    asin: str | None = None  # already extracted, uppercase, no region suffix
    guid: str | None = None  # raw plex guid (may also embed an ASIN)


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The verdict: the item (None when nothing matched), 0..100, and why."""

    item: LibraryItem | None
    score: float
    reason: str

    @property
    def matched(self) -> bool:
        """True when a library item satisfies the query."""
        return self.item is not None


@dataclass(frozen=True, slots=True)
class _Entry:
    """One item with its normalised forms, computed once."""

    item: LibraryItem
    title: TitleParts
    people: tuple[Person, ...]
    # Tuples, not frozensets: a small frozenset costs four times the memory,
    # and these are only iterated (50,000 entries add up).
    asins: tuple[str, ...]
    words: tuple[str, ...]  # title, subtitle and series words: the match postings
    search_words: tuple[str, ...]  # plain title and author words: the search postings
    search_title: str
    search_text: str


@dataclass(frozen=True, slots=True)
class _Query:
    """A query with its normalised forms."""

    title: TitleParts
    authors: tuple[Person, ...]
    narrators: tuple[Person, ...]
    asin: str | None


@dataclass(frozen=True, slots=True)
class _Verdict:
    entry: _Entry
    accepted: bool
    score: float
    title: float
    reason: str


# --- comparing titles -------------------------------------------------------------------


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if len(a) < MIN_VARIANT_LEN or len(b) < MIN_VARIANT_LEN or a[0].isdigit() or b[0].isdigit():
        return False
    return fuzz.ratio(a, b) >= WORD_VARIANT


def _unmatched(a: Sequence[str], b: Sequence[str]) -> tuple[list[str], list[str]]:
    """Words of ``a`` without a counterpart in ``b``, and of ``b`` in ``a``."""
    rest = list(b)
    missing: list[str] = []
    for word in a:
        if word in rest:
            rest.remove(word)
            continue
        for i, other in enumerate(rest):
            if _same_word(word, other):
                del rest[i]
                break
        else:
            missing.append(word)
    return (
        [w for w in missing if w not in _FILLER],
        [w for w in rest if w not in _FILLER],
    )


def _same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    missing_a, missing_b = _unmatched(a, b)
    return bool(a) and bool(b) and not missing_a and not missing_b


def _word_list(words: list[str]) -> str:
    """The words worth showing in a reason ("children", not "children, of")."""
    shown = [w for w in words if w not in _LOOKUP_SKIP] or words
    return ", ".join(shown)


def _volume_text(parts: TitleParts) -> str:
    return parts.volume or "none"


def _compare_numbers(q: TitleParts, c: TitleParts) -> str | None:
    """Why the numbers say these are different books, or None."""
    if q.volume and c.volume and q.volume != c.volume:
        return f"number differs ({q.volume} vs {c.volume})"
    for a, b in ((q, c), (c, q)):
        if a.volume_attached and b.volume is None and a.volume != "1":
            return f"number differs ({_volume_text(q)} vs {_volume_text(c)})"
    if sorted(q.numbers) != sorted(c.numbers):
        left = " ".join(q.numbers) or "none"
        right = " ".join(c.numbers) or "none"
        return f"number differs ({left} vs {right})"
    return None


def _compared_words(q: TitleParts, c: TitleParts) -> tuple[list[str], list[str]] | str:
    """The words that must agree, or why the subtitles already disagree."""
    qa, ca = list(q.core), list(c.core)
    if q.subtitle and c.subtitle:
        missing_q, missing_c = _unmatched(q.subtitle, c.subtitle)
        if not missing_q and not missing_c:
            return qa + list(q.subtitle), ca + list(c.subtitle)
        one_inside = not missing_q or not missing_c
        if q.subtitle_descriptive and c.subtitle_descriptive and one_inside:
            return qa, ca
        return f"subtitle differs ({_word_list(missing_q + missing_c)})"
    if q.subtitle and not q.subtitle_descriptive:
        qa += q.subtitle
    if c.subtitle and not c.subtitle_descriptive:
        ca += c.subtitle
    return qa, ca


def _compare_titles(q: TitleParts, c: TitleParts) -> tuple[float, str | None]:
    """Title score 0..100 and, when the titles name different books, why."""
    for a, b in ((q, c), (c, q)):
        # "Dungeon Crawler Carl 2" names "...: Dungeon Crawler Carl, Book 2".
        if (
            a.volume_attached
            and b.series
            and not b.volume_attached
            and a.volume == b.volume
            and _same_words(a.core, b.series)
        ):
            return SERIES_TITLE, None
    if why := _compare_numbers(q, c):
        return 0.0, why
    compared = _compared_words(q, c)
    if isinstance(compared, str):
        return 0.0, compared
    qa, ca = compared
    missing_q, missing_c = _unmatched(qa, ca)
    if not missing_q and not missing_c:
        if [w for w in qa if w not in _FILLER] == [w for w in ca if w not in _FILLER]:
            return 100.0, None
        return float(fuzz.token_sort_ratio(" ".join(qa), " ".join(ca))), None
    if "".join(qa) == "".join(ca):  # "Spider-Man" / "Spiderman"
        return 100.0, None
    for a, b in ((q, c), (c, q)):
        # "Thrawn" is "Star Wars: Thrawn".
        if b.subtitle and not a.subtitle and _same_words(a.core, b.subtitle):
            return SUBTITLE_TITLE, None
    return 0.0, f"extra words ({_word_list(missing_q + missing_c)})"


# --- comparing people ---------------------------------------------------------------------


def _best_pair(a: tuple[Person, ...], b: tuple[Person, ...]) -> float | None:
    if not a or not b:
        return None
    return max(person_similarity(x, y) for x in a for y in b)


def _person_score(query: _Query, entry: _Entry) -> tuple[float | None, str]:
    """Best of author-vs-author and narrator-vs-author, and which one it was."""
    by_author = _best_pair(query.authors, entry.people)
    by_narrator = _best_pair(query.narrators, entry.people)
    if by_narrator is not None and (by_author is None or by_narrator > by_author):
        return by_narrator, "narrator"
    return by_author, "author"


# --- the index ------------------------------------------------------------------------------


def _entry(item: LibraryItem) -> _Entry:
    title = parse_title(item.title or "")
    asins = {a for a in (normalize_asin(item.asin), asin_from_guid(item.guid)) if a}
    plain_title = tokens(item.title or "")
    plain_author = tokens(item.author or "")
    search_title = " ".join(plain_title)
    return _Entry(
        item=item,
        title=title,
        people=parse_people(item.author),
        asins=tuple(sorted(asins)),
        words=tuple(dict.fromkeys((*title.core, *title.subtitle, *title.series))),
        search_words=tuple(dict.fromkeys((*plain_title, *plain_author))),
        search_title=search_title,
        search_text=f"{search_title} {' '.join(plain_author)}".strip(),
    )


@dataclass(slots=True)
class _Postings:
    """word -> rating keys, with a sorted vocabulary for prefixes and spelling variants."""

    lists: dict[str, set[str]] = field(default_factory=dict)
    _sorted: list[str] | None = None
    _initials: dict[str, list[str]] | None = None

    def add(self, key: str, words: Iterable[str]) -> None:
        for word in words:
            keys = self.lists.get(word)
            if keys is None:
                self.lists[word] = keys = set()
                self._sorted = None
            keys.add(key)

    def remove(self, key: str, words: Iterable[str]) -> None:
        for word in words:
            keys = self.lists.get(word)
            if keys is None:
                continue
            keys.discard(key)
            if not keys:
                del self.lists[word]
                self._sorted = None

    def get(self, word: str) -> set[str]:
        return self.lists.get(word, set())

    @property
    def vocabulary(self) -> list[str]:
        """Every known word, sorted (rebuilt after the vocabulary changed)."""
        if self._sorted is None:
            self._sorted = sorted(self.lists)
            self._initials = None
        return self._sorted

    @property
    def by_initial(self) -> dict[str, list[str]]:
        """The vocabulary grouped by first letter."""
        vocabulary = self.vocabulary
        if self._initials is None:
            groups: dict[str, list[str]] = {}
            for word in vocabulary:
                groups.setdefault(word[0], []).append(word)
            self._initials = groups
        return self._initials

    def variants(self, word: str, *, same_initial: bool = False, limit: int = 5) -> list[str]:
        """Known words spelled like ``word`` (typos, colour/color).

        ``same_initial`` looks only at words with the same first letter: what
        the matcher can afford for every query, and enough for variant
        spellings; search, typed by people, looks at the whole vocabulary.
        """
        if len(word) < MIN_VARIANT_LEN or word[0].isdigit():
            return []
        choices = self.by_initial.get(word[0], ()) if same_initial else self.vocabulary
        found = process.extract(
            word, choices, scorer=fuzz.ratio, score_cutoff=WORD_VARIANT, limit=limit
        )
        return [choice for choice, _score, _i in found if choice != word]

    def with_prefix(self, prefix: str) -> Iterator[str]:
        vocabulary = self.vocabulary
        i = bisect.bisect_left(vocabulary, prefix)
        while i < len(vocabulary) and vocabulary[i].startswith(prefix):
            yield vocabulary[i]
            i += 1


class LibraryIndex:
    """The whole library, indexed once for matching and searching.

    Built from every row at start-up (or after a full scan) and kept current
    by ``add``/``remove`` from the recently-added poll, so both paths decide
    with the same data and the same rules.
    """

    def __init__(self, items: Iterable[LibraryItem]) -> None:
        self._entries: dict[str, _Entry] = {}
        self._by_asin: dict[str, set[str]] = {}
        self._postings = _Postings()
        self._search = _Postings()
        for item in items:
            self.add(item)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, item: LibraryItem) -> None:
        """Index ``item``; an item with a known rating key replaces the old one."""
        key = item.rating_key
        if key in self._entries:
            self.remove(key)
        entry = _entry(item)
        self._entries[key] = entry
        for asin in entry.asins:
            self._by_asin.setdefault(asin, set()).add(key)
        self._postings.add(key, entry.words)
        self._search.add(key, entry.search_words)

    def remove(self, rating_key: str) -> None:
        """Forget an item; unknown keys are ignored."""
        entry = self._entries.pop(rating_key, None)
        if entry is None:
            return
        for asin in entry.asins:
            keys = self._by_asin.get(asin)
            if keys is not None:
                keys.discard(rating_key)
                if not keys:
                    del self._by_asin[asin]
        self._postings.remove(rating_key, entry.words)
        self._search.remove(rating_key, entry.search_words)

    # --- matching ---------------------------------------------------------------------------

    def match(self, query: BookQuery) -> MatchResult:
        """The library item that satisfies ``query``, or why none does."""
        result = self._match(query)
        log.debug(
            "match %r by %r: %s (%s)",
            query.title,
            query.author,
            result.item.rating_key if result.item else None,
            result.reason,
        )
        return result

    def _match(self, query: BookQuery) -> MatchResult:
        q = self._parse_query(query)
        if q.asin and (keys := self._by_asin.get(q.asin)):
            item = self._entries[min(keys)].item
            return MatchResult(item=item, score=100.0, reason=f"asin {q.asin}")

        verdicts = [self._judge(q, self._entries[k]) for k in self._candidates(q)]
        if not any(v.accepted for v in verdicts):
            seen = {v.entry.item.rating_key for v in verdicts}
            loose = self._candidates(q, loose=True) - seen
            verdicts += [self._judge(q, self._entries[k]) for k in loose]
        return self._decide(verdicts)

    def _parse_query(self, query: BookQuery) -> _Query:
        return _Query(
            title=parse_title(query.title or ""),
            authors=parse_people(query.author),
            narrators=parse_people(query.narrator),
            asin=normalize_asin(query.asin),
        )

    def _candidates(self, q: _Query, *, loose: bool = False) -> set[str]:
        """Rating keys worth comparing with ``q``.

        Strict: items holding every distinctive title word. Loose (when strict
        found nothing acceptable): each word may also be a spelling variant
        (the same test ``_same_word`` applies when comparing).
        """
        found: set[str] = set()
        for words in (q.title.core, q.title.subtitle, self._joined_or_split(q.title.core)):
            found |= self._lookup(words, loose=loose)
        return found

    def _joined_or_split(self, core: Sequence[str]) -> tuple[str, ...]:
        """The core written the other way: "spider man" <-> "spiderman"."""
        if len(core) > 1:
            return ("".join(core),)
        word = core[0] if core else ""
        lists = self._postings.lists
        for i in range(3, len(word) - 2):
            if word[:i] in lists and word[i:] in lists:
                return (word[:i], word[i:])
        return ()

    def _lookup(self, words: Sequence[str], *, loose: bool) -> set[str]:
        """Items holding every distinctive word (loose: or a spelling variant of it)."""
        wanted = list(dict.fromkeys(w for w in words if w not in _LOOKUP_SKIP)) or list(
            dict.fromkeys(words)
        )
        if not wanted:
            return set()
        postings = self._postings
        groups: list[set[str]] = []
        for word in wanted:
            keys = postings.get(word)
            if loose:
                for variant in postings.variants(word, same_initial=True):
                    keys = keys | postings.get(variant)
            if not keys:
                return set()
            groups.append(keys)
        groups.sort(key=len)
        result = set(groups[0])
        for keys in groups[1:]:
            result &= keys
            if not result:
                break
        return result

    def _judge(self, q: _Query, entry: _Entry) -> _Verdict:
        t, why = _compare_titles(q.title, entry.title)
        if why:
            return _Verdict(entry, False, round(TITLE_WEIGHT * t, 1), t, f"rejected: {why}")
        p, role = _person_score(q, entry)
        other_asin = bool(q.asin and entry.asins and q.asin not in entry.asins)
        if p is None:
            score = TITLE_WEIGHT * t + PERSON_WEIGHT * UNKNOWN_PERSON
            text = f"title {t:.0f} / author unknown"
            if other_asin:
                return _Verdict(entry, False, score, t, f"rejected: asin differs; {text}")
            ok = t >= TITLE_ALONE
            return _Verdict(entry, ok, score, t, text if ok else f"rejected: {text}")
        score = TITLE_WEIGHT * t + PERSON_WEIGHT * p
        text = f"title {t:.0f} / {role} {p:.0f}"
        if other_asin:
            ok = t >= STRICT_TITLE and p >= STRICT_PERSON
            text = f"asin differs; {text}"
        elif p < MIN_PERSON:
            return _Verdict(entry, False, score, t, f"rejected: {role} differs; {text}")
        else:
            ok = t >= MIN_TITLE
        return _Verdict(entry, ok, score, t, text if ok else f"rejected: {text}")

    def _decide(self, verdicts: list[_Verdict]) -> MatchResult:
        if not verdicts:
            return MatchResult(item=None, score=0.0, reason="no candidate")
        order = sorted(verdicts, key=lambda v: (-v.score, -v.title, v.entry.item.rating_key))
        accepted = [v for v in order if v.accepted]
        if not accepted:
            near = max(verdicts, key=lambda v: (v.title > 0, v.score, v.entry.item.rating_key))
            return MatchResult(
                item=None,
                score=round(near.score, 1),
                reason=f"{near.reason} for {near.entry.item.title!r}",
            )
        best = accepted[0]
        rivals = [
            v
            for v in accepted[1:]
            if best.score - v.score < AMBIGUITY_MARGIN and not _same_book(best.entry, v.entry)
        ]
        if rivals:
            names = ", ".join(repr(v.entry.item.title) for v in [best, *rivals])
            return MatchResult(
                item=None,
                score=round(best.score, 1),
                reason=f"ambiguous: {len(rivals) + 1} candidates ({names})",
            )
        return MatchResult(item=best.entry.item, score=round(best.score, 1), reason=best.reason)

    # --- searching --------------------------------------------------------------------------

    def search(self, text: str, *, limit: int = 25) -> list[tuple[LibraryItem, float]]:
        """Fuzzy title/author search for ``/library`` autocomplete, best first."""
        words = tokens(text)
        if not words or limit <= 0:
            return []
        keys = self._search_candidates(words)
        if not keys:
            return []
        wanted = " ".join(words)
        entries = [self._entries[k] for k in keys]
        if len(entries) > _SEARCH_PRESELECT:
            entries = _preselect(wanted, entries)
        scored = []
        for entry in entries:
            score = _search_score(wanted, entry)
            if score >= _SEARCH_CUTOFF:
                scored.append((score, entry))
        scored.sort(key=lambda se: (-se[0], len(se[1].search_title), se[1].item.rating_key))
        return [(entry.item, round(score, 1)) for score, entry in scored[:limit]]

    def _search_candidates(self, words: list[str]) -> set[str]:
        """Items holding every typed word; the last one may be half typed.

        Small words ("the", "of") only rank, they do not select: every title
        has them. The half-typed word is expanded over the vocabulary, unless
        it is so short that the other words narrow better.
        """
        search = self._search
        *complete, last = words
        groups: list[set[str]] = []
        for word in complete:
            if word in _LOOKUP_SKIP:
                continue
            keys = search.get(word) or self._search_variants(word)
            if not keys:
                return set()
            groups.append(keys)
        if last in _LOOKUP_SKIP and groups:
            return _intersect(groups)
        prefixed, capped = self._with_prefix(last)
        if capped and groups:
            return {k for k in _intersect(groups) if self._has_prefix(k, last)}
        if not prefixed:
            prefixed = self._search_variants(last)
        return _intersect([*groups, prefixed]) if prefixed else set()

    def _with_prefix(self, prefix: str) -> tuple[set[str], bool]:
        """Items with a word starting with ``prefix`` (up to a cap), and whether it was hit."""
        search = self._search
        found = set(search.get(prefix))
        for known in search.with_prefix(prefix):
            if len(found) >= _SEARCH_PREFIX_CAP:
                return found, True
            found |= search.get(known)
        return found, False

    def _has_prefix(self, key: str, prefix: str) -> bool:
        return any(w.startswith(prefix) for w in self._entries[key].search_words)

    def _search_variants(self, word: str) -> set[str]:
        keys: set[str] = set()
        for variant in self._search.variants(word):
            keys |= self._search.get(variant)
        return keys


_SEARCH_PRESELECT = 200
_SEARCH_PREFIX_CAP = 5_000  # a one- or two-letter prefix could name half the library
_SEARCH_CUTOFF = 50.0
_SEARCH_FUZZY_CAP = 94.9  # below any title that starts with what was typed


def _intersect(groups: list[set[str]]) -> set[str]:
    ordered = sorted(groups, key=len)
    result = set(ordered[0])
    for keys in ordered[1:]:
        result &= keys
    return result


def _preselect(wanted: str, entries: list[_Entry]) -> list[_Entry]:
    """Cut a big candidate set cheaply before the careful (WRatio) scoring.

    Titles that start with the text come first, shortest first (the order
    `_search_score` gives them). When there are enough of those, no fuzzy
    candidate could outrank them and the fuzzy pass is skipped: "the" alone
    would otherwise rank a third of the library. Else the rest are ranked by
    plain ``fuzz.ratio``, which costs a tenth of WRatio.
    """
    starting = [e for e in entries if e.search_title.startswith(wanted)]
    if len(starting) >= _SEARCH_PRESELECT:
        return heapq.nsmallest(
            _SEARCH_PRESELECT, starting, key=lambda e: (len(e.search_title), e.item.rating_key)
        )
    starting += [
        e for e in entries
        if not e.search_title.startswith(wanted) and _bare(e.search_title).startswith(wanted)
    ]
    starting.sort(key=lambda e: (_start_length(wanted, e.search_title), e.item.rating_key))
    chosen = {id(e): e for e in starting[:_SEARCH_PRESELECT]}
    found = process.extract(
        wanted, [e.search_text for e in entries], scorer=fuzz.ratio, limit=_SEARCH_PRESELECT
    )
    for _choice, _score, i in found:
        chosen.setdefault(id(entries[i]), entries[i])
    return list(chosen.values())


def _bare(title: str) -> str:
    """The title without a leading filler word ("the hobbit" -> "hobbit")."""
    head, _, rest = title.partition(" ")
    return rest if rest and head in _FILLER else title


def _start_length(wanted: str, title: str) -> int:
    """Length of the title form that starts with the typed text (the title if none does)."""
    bare = _bare(title)
    return len(bare) if not title.startswith(wanted) and bare.startswith(wanted) else len(title)


def _search_score(wanted: str, entry: _Entry) -> float:
    """Autocomplete order: the title typed so far, then fuzzy title/author likeness."""
    title = entry.search_title
    for candidate in (title, _bare(title)):
        if candidate == wanted:
            return 100.0
        if candidate.startswith(wanted):
            return 95.0 + 4.9 * len(wanted) / len(candidate)
    fuzzy = max(fuzz.WRatio(wanted, title), fuzz.WRatio(wanted, entry.search_text) * 0.98)
    return min(fuzzy, _SEARCH_FUZZY_CAP)


def _same_book(a: _Entry, b: _Entry) -> bool:
    """Two library items that are editions of one book (so either satisfies)."""
    t, why = _compare_titles(a.title, b.title)
    if why or t < STRICT_TITLE:
        return False
    p = _best_pair(a.people, b.people)
    return p is None or p >= MIN_PERSON


def match_one(query: BookQuery, items: Iterable[LibraryItem]) -> MatchResult:
    """Match one query against ``items`` (builds a throwaway index)."""
    return LibraryIndex(items).match(query)
