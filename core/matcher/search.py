"""Autocomplete search over an index (``/library``): typed words, the last one half typed.

Separate from matching: search ranks what a person is typing (prefixes,
typos, title or author words), matching decides whether a book is held.
Both read the same entries, so an added or removed book shows in both.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Collection
from typing import Any

from rapidfuzz import fuzz, process

from core.matcher.book import B
from core.matcher.entry import Entry
from core.matcher.postings import Postings, intersect
from core.matcher.starts import Starts, bare
from core.matcher.store import EntryStore
from core.matcher.titles import LOOKUP_SKIP
from core.normalize import tokens

log = logging.getLogger(__name__)


def search(
    entries: EntryStore[B], postings: Postings, starts: Starts, text: str, limit: int
) -> list[tuple[B, float]]:
    """Fuzzy title/author search, best first.

    Titles that start with the typed text outrank every fuzzy candidate: when
    at least ``limit`` do, they are the answer, whatever share of the library
    the words select ("the", "a t"). Else, when the words select a large
    share ("of the"), only the shortest-titled candidates are ranked.
    """
    words = tokens(text)
    if not words or limit <= 0:
        return []
    wanted = " ".join(words)
    top = starts.first(wanted, limit)
    if len(top) == limit:
        keys: Collection[str] = top
    else:
        keys = _Finder(entries, postings).candidates(words)
        if len(keys) > _SEARCH_POOL:
            keys = {*starts.shortest(keys, _SEARCH_POOL), *top}
    if not keys:
        return []
    found = [entries[k] for k in keys]
    if len(found) > _SEARCH_PRESELECT:
        found = _preselect(wanted, found)
    scored = []
    for entry in found:
        score = _search_score(wanted, entry)
        if score >= _SEARCH_CUTOFF:
            scored.append((score, entry))
    scored.sort(key=lambda se: (-se[0], len(se[1].search_title), se[1].key))
    return [(entry.item, round(score, 1)) for score, entry in scored[:limit]]


class _Finder:
    """Candidate keys for typed words over the search postings."""

    def __init__(self, entries: EntryStore[Any], postings: Postings) -> None:
        self._entries = entries
        self._search = postings

    def candidates(self, words: list[str]) -> set[str]:
        """Items holding every typed word; the last one may be half typed.

        Small words ("the", "of") only rank, they do not select: every title
        has them. The half-typed word is expanded over the vocabulary, unless
        it is so short that the other words narrow better.
        """
        search = self._search
        *complete, last = words
        groups: list[Collection[str]] = []
        for word in complete:
            if word in LOOKUP_SKIP:
                continue
            keys: Collection[str] = search.get(word) or self._variants(word)
            if not keys:
                return set()
            groups.append(keys)
        if last in LOOKUP_SKIP and groups:
            return intersect(groups)
        prefixed, capped = self._with_prefix(last)
        if capped and groups:
            return {k for k in intersect(groups) if self._has_prefix(k, last)}
        if not prefixed:
            prefixed = self._variants(last)
        return intersect([*groups, prefixed]) if prefixed else set()

    def _with_prefix(self, prefix: str) -> tuple[set[str], bool]:
        """Items with a word starting with ``prefix`` (up to a cap), and whether it was hit."""
        search = self._search
        found = set(search.get(prefix))
        for known in search.with_prefix(prefix):
            if len(found) >= _SEARCH_PREFIX_CAP:
                return found, True
            found.update(search.get(known))
        return found, False

    def _has_prefix(self, key: str, prefix: str) -> bool:
        """A title or author word starts with ``prefix`` (one word: no space in it)."""
        text = self._entries[key].search_text
        return text.startswith(prefix) or f" {prefix}" in text

    def _variants(self, word: str) -> set[str]:
        keys: set[str] = set()
        for variant in self._search.variants(word):
            keys.update(self._search.get(variant))
        return keys


_SEARCH_PRESELECT = 200
_SEARCH_POOL = 1_000  # candidates ranked at most, when the words select a large share
_SEARCH_PREFIX_CAP = 5_000  # a one- or two-letter prefix could name half the library
_SEARCH_CUTOFF = 50.0
_SEARCH_FUZZY_CAP = 94.9  # below any title that starts with what was typed


def _preselect(wanted: str, entries: list[Entry[Any]]) -> list[Entry[Any]]:
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
            _SEARCH_PRESELECT, starting, key=lambda e: (len(e.search_title), e.key)
        )
    starting += [
        e for e in entries
        if not e.search_title.startswith(wanted) and bare(e.search_title).startswith(wanted)
    ]
    starting.sort(key=lambda e: (_start_length(wanted, e.search_title), e.key))
    chosen = {id(e): e for e in starting[:_SEARCH_PRESELECT]}
    found = process.extract(
        wanted, [e.search_text for e in entries], scorer=fuzz.ratio, limit=_SEARCH_PRESELECT
    )
    for _choice, _score, i in found:
        chosen.setdefault(id(entries[i]), entries[i])
    return list(chosen.values())


def _start_length(wanted: str, title: str) -> int:
    """Length of the title form that starts with the typed text (the title if none does)."""
    rest = bare(title)
    return len(rest) if not title.startswith(wanted) and rest.startswith(wanted) else len(title)


def _search_score(wanted: str, entry: Entry[Any]) -> float:
    """Autocomplete order: the title typed so far, then fuzzy title/author likeness."""
    title = entry.search_title
    for candidate in (title, bare(title)):
        if candidate == wanted:
            return 100.0
        if candidate.startswith(wanted):
            return 95.0 + 4.9 * len(wanted) / len(candidate)
    fuzzy = max(fuzz.WRatio(wanted, title), fuzz.WRatio(wanted, entry.search_text) * 0.98)
    return min(fuzzy, _SEARCH_FUZZY_CAP)
