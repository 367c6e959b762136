"""The book index: an ASIN map and word postings over any books, for matching and search.

One class serves the Plex library (``LibraryIndex``, keyed by rating key),
open requests, rated books and picks being deduplicated: each caller hands
in its own records and a key, and gets its own records back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Generic

from core.asin import asin_from_guid, normalize_asin
from core.matcher.book import B, Book, BookQuery, LibraryItem, MatchResult
from core.matcher.entry import Entry, make_entry
from core.matcher.postings import Postings, intersect
from core.matcher.rules import (
    AMBIGUITY_MARGIN,
    MIN_PERSON,
    TITLE_ALONE,
    Parsed,
    Verdict,
    best_pair,
    judge_readings,
    parse_query,
    same_book,
    same_work,
)
from core.matcher.search import search
from core.matcher.starts import Starts
from core.matcher.store import Entries, EntryStore, FileEntries
from core.matcher.titles import LOOKUP_SKIP, fits_given, same_words

log = logging.getLogger(__name__)

# A candidate judged: the verdict, the record, and the reading the verdict is about.
_Judged = tuple[Verdict, Entry[B], Parsed]


class BookIndex(Generic[B]):
    """Books indexed once for matching and searching, kept current by ``add``/``remove``.

    ``key`` names a record (a rating key, a request id, an ASIN); a record
    added under a known key replaces the old one.
    """

    def __init__(self, items: Iterable[B], key: Callable[[B], str]) -> None:
        self._key = key
        self._entries: EntryStore[B] = Entries()
        # One key (a str) for nearly every ASIN, a tuple for the few shared: a set each
        # was a fifth of the index's memory at 50,000 books.
        self._by_asin: dict[str, str | tuple[str, ...]] = {}
        self._postings = Postings()
        self._search = Postings()
        self._starts: Starts | None = None  # made by the first search (or ``prepare_search``)
        self.changes = 0  # bumped by every install and remove: a saved copy tells it is current
        for item in items:
            self.add(item)

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def asins(item: Book) -> tuple[str, ...]:
        """The record's ASIN, and the one a Plex guid embeds (rows scanned under older rules)."""
        guid = getattr(item, "guid", None)
        found = {a for a in (normalize_asin(item.asin), asin_from_guid(guid)) if a}
        # The record's own string where it is the same ASIN: one copy per book, not two.
        return tuple(sorted(item.asin if a == item.asin else a for a in found))

    def add(self, item: B) -> None:
        """Index ``item``; an item with a known key replaces the old one."""
        key = self._key(item)
        if key in self._entries:
            self.remove(key)
        self.install(make_entry(key, item, self.asins(item)))

    def install(self, entry: Entry[B]) -> None:
        """Index an entry made before (by ``add``); its key must be new."""
        key = entry.key
        self.changes += 1
        self._entries.put(entry)
        self._hold_asins(key, entry.asins)
        self._postings.add(key, entry.words)
        self._search.add(key, entry.search_words)
        if self._starts is not None:
            self._starts.add(key, entry.search_title)

    def _hold_asins(self, key: str, asins: Iterable[str]) -> None:
        by_asin = self._by_asin
        for asin in asins:
            held = by_asin.get(asin)
            if held is None:
                by_asin[asin] = key
            elif isinstance(held, str):  # the key is new (see ``install``): not held already
                by_asin[asin] = (held, key)
            else:
                by_asin[asin] = (*held, key)

    @property
    def store(self) -> EntryStore[B]:
        """Where the entries are held (a saved index copies a file's records as they are)."""
        return self._entries

    @property
    def postings(self) -> tuple[Postings, Postings]:
        """The match postings (title words) and the search postings (title and author words)."""
        return self._postings, self._search

    def entries(self) -> Iterator[Entry[B]]:
        """Every entry, in the order added (what a saved index holds)."""
        return self._entries.values()

    def remove(self, key: str) -> None:
        """Forget a record; unknown keys are ignored."""
        entry = self._entries.pop(key)
        if entry is None:
            return
        self.changes += 1
        by_asin = self._by_asin
        for asin in entry.asins:
            held = by_asin.get(asin)
            if held == key:
                del by_asin[asin]
            elif isinstance(held, tuple) and key in held:
                rest = tuple(k for k in held if k != key)
                by_asin[asin] = rest[0] if len(rest) == 1 else rest
        self._postings.remove(key, entry.words)
        self._search.remove(key, entry.search_words)
        if self._starts is not None:
            self._starts.remove(key, entry.search_title)

    # --- matching ---------------------------------------------------------------------------

    def match(self, query: BookQuery) -> MatchResult[B]:
        """The record that satisfies ``query``, or why none does."""
        result = self._match(parse_query(query))
        log.debug(
            "match %r by %r: %s (%s)",
            query.title,
            query.author,
            self._key(result.item) if result.item is not None else None,
            result.reason,
        )
        return result

    def same_work(self, query: BookQuery) -> B | None:
        """The record that is the same work as ``query`` under the strict rule, if any.

        For "is this already requested": the same ASIN, or another edition of
        the same work (exact normalised title and author); never a fuzzy score.
        """
        q = parse_query(query)
        keys = set(self._asin_keys(q.asins[0])) if q.asins else set()
        keys |= {k for k in self._candidates(q) if same_work(q, self._entries[k].parsed)}
        return self._entries[min(keys)].item if keys else None

    def _match(self, q: Parsed) -> MatchResult[B]:
        if q.asins and (keys := self._asin_keys(q.asins[0])):
            entry = self._entries[min(keys)]
            reason = f"asin {q.asins[0]}"
            if q.asins[0] not in self.asins(entry.item):
                reason += " (reading: the ASIN in the album title)"
            return MatchResult(item=entry.item, score=100.0, reason=reason)
        if q.title.subtitle_given and self._holds_title(q.title.subtitle, q):
            # The catalog calls it a subtitle, the library holds it as a book of
            # its own ("Artemis Fowl" + "The Arctic Incident"): ask, don't guess.
            reason = f"ambiguous: {' '.join(q.title.subtitle)!r} is a subtitle and a title"
            return MatchResult(item=None, score=0.0, reason=reason)

        judged = self._judge(q, self._candidates(q))
        if not any(v.accepted for v, _, _ in judged):
            seen = {e.key for _, e, _ in judged}
            judged += self._judge(q, self._candidates(q, loose=True) - seen)
        return _decide(judged, q)

    def _asin_keys(self, asin: str) -> tuple[str, ...]:
        """The keys of the records holding ``asin``."""
        held = self._by_asin.get(asin, ())
        return (held,) if isinstance(held, str) else held

    def _holds_title(self, words: Sequence[str], q: Parsed) -> bool:
        """A record whose whole title is ``words``, by one of the query's people."""
        for key in self._lookup(words, loose=False):
            book = self._entries[key].parsed
            title = book.title
            if title.subtitle or not same_words(title.core, words):
                continue
            p = best_pair(q.authors + q.narrators, book.authors)
            if p is not None and p >= MIN_PERSON:
                return True
        return False

    def _judge(self, q: Parsed, keys: Iterable[str]) -> list[_Judged[B]]:
        judged: list[_Judged[B]] = []
        for key in keys:
            entry = self._entries[key]
            verdict, reading = judge_readings(q, entry.readings)
            judged.append((verdict, entry, reading))
        return judged

    def _candidates(self, q: Parsed, *, loose: bool = False) -> set[str]:
        """Keys worth comparing with ``q``.

        Strict: records holding every distinctive title word. Loose (when strict
        found nothing acceptable): each word may also be a spelling variant
        (the same test ``same_word`` applies when comparing).
        """
        found: set[str] = set()
        title = q.title
        for words in (title.core, title.subtitle, self._joined_or_split(title.core)):
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
        """Records holding every distinctive word (loose: or a spelling variant of it)."""
        wanted = list(dict.fromkeys(w for w in words if w not in LOOKUP_SKIP)) or list(
            dict.fromkeys(words)
        )
        if not wanted:
            return set()
        postings = self._postings
        groups: list[Collection[str]] = []
        for word in wanted:
            keys: Collection[str] = postings.get(word)
            if loose:
                keys = set(keys)
                for variant in postings.variants(word, same_initial=True):
                    keys.update(postings.get(variant))
            if not keys:
                return set()
            groups.append(keys)
        return intersect(groups)

    # --- searching --------------------------------------------------------------------------

    def search(self, text: str, *, limit: int = 25) -> list[tuple[B, float]]:
        """Fuzzy title/author search for autocomplete, best first."""
        return search(self._entries, self._search, self.prepare_search(), text, limit)

    def prepare_search(self) -> Starts:
        """The title orders search needs: made once (by a builder off the event loop)."""
        if self._starts is None:
            self._starts = Starts(list(self._entries.titles()))
        return self._starts


def _decide(judged: list[_Judged[B]], q: Parsed) -> MatchResult[B]:
    """Rule 6: the best accepted candidate, unless another book is as good."""
    if not judged:
        return MatchResult(item=None, score=0.0, reason="no candidate")
    order = sorted(judged, key=lambda j: (-j[0].score, -j[0].title, j[1].key))
    accepted = [j for j in order if j[0].accepted]
    if not accepted:
        v, e, _ = max(judged, key=lambda j: (j[0].title > 0, j[0].score, j[1].key))
        reason = f"{v.reason} for {e.item.title!r}"
        return MatchResult(item=None, score=round(v.score, 1), reason=reason)
    best, best_entry, best_reading = accepted[0]
    same = [j for j in accepted[1:] if _one_book(best_entry, j[1], best_reading, j[2], q)]
    rivals = [
        e
        for v, e, r in accepted[1:]
        if best.score - v.score < AMBIGUITY_MARGIN and (v, e, r) not in same
    ]
    if best.person is None and not rivals:
        rivals = _titled_by_others(order)
    if rivals:
        names = ", ".join(repr(e.item.title) for e in [best_entry, *rivals])
        return MatchResult(
            item=None,
            score=round(best.score, 1),
            reason=f"ambiguous: {len(rivals) + 1} candidates ({names})",
        )
    reason = best.reason
    if (part := _part(best_entry)) is not None:
        parts = 1 + sum(1 for _, e, _ in same if _part(e) is not None)
        reason += f"; part {part} of a book split in {parts} albums held, linked"
    return MatchResult(item=best_entry.item, score=round(best.score, 1), reason=reason)


def _titled_by_others(order: list[_Judged[B]]) -> list[Entry[B]]:
    """Albums of the same title by someone else, when the match rests on the title alone.

    A title with nobody to compare is only the book when no other album has
    that title: "Beloved" by "Unknown Artist" beside "Beloved" by another
    writer could be either.
    """
    return [
        e for v, e, _ in order if not v.accepted and v.person is not None and v.title >= TITLE_ALONE
    ]


def _part(entry: Entry[B]) -> str | None:
    """The disc or part number when the record is one album of a book split in several."""
    return next((r.part for r in entry.readings if r.part is not None), None)


def _one_book(a: Entry[B], b: Entry[B], ra: Parsed, rb: Parsed, q: Parsed) -> bool:
    """Two records that are one book: editions, parts of one book, or what a given subtitle names.

    ``ra`` and ``rb`` are the readings that matched; a split album is also
    compared by its reading without the disc marker ("Disc 1" is no volume).
    """
    left = [ra, *(r for r in a.readings if r.part is not None)]
    right = [rb, *(r for r in b.readings if r.part is not None)]
    if any(same_book(x, y) for x in left for y in right):
        return True
    return fits_given(ra.title, q.title) and fits_given(rb.title, q.title)


class LibraryIndex(BookIndex[LibraryItem]):
    """The whole Plex library, keyed by rating key.

    Built from every row at start-up (or after a full scan) and kept current
    by ``add``/``remove`` from the recently-added poll, so both paths decide
    with the same data and the same rules.
    """

    def __init__(self, items: Iterable[LibraryItem]) -> None:
        super().__init__(items, key=_rating_key)

    @classmethod
    def of_file(
        cls, entries: FileEntries, asins: Iterable[tuple[str, tuple[str, ...]]],
        postings: tuple[Postings, Postings], starts: Starts | None = None,
    ) -> LibraryIndex:  # fmt: skip
        """The index of a saved file: its entries, each key's ASINs, its posting lists.

        ``starts``: the search orders, when made with the rest (else the first search does).
        """
        index = cls(())
        index._entries = entries
        for key, held in asins:
            index._hold_asins(key, held)
        index._postings, index._search = postings
        index._starts = starts
        index.changes = len(entries)
        return index


def _rating_key(item: LibraryItem) -> str:
    return item.rating_key


def match_one(query: BookQuery, items: Iterable[LibraryItem]) -> MatchResult[LibraryItem]:
    """Match one query against ``items`` (builds a throwaway index)."""
    return LibraryIndex(items).match(query)
