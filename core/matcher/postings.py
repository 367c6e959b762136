"""Posting lists: word -> keys, with a sorted vocabulary for prefixes and spelling variants.

The index keeps two: title words for matching, title and author words for
search. Finding candidates by shared words is what keeps one match at a
handful of comparisons on a 50,000-book library.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from core.matcher.titles import MIN_VARIANT_LEN, WORD_VARIANT

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Postings:
    """word -> record keys, with a sorted vocabulary for prefixes and spelling variants.

    Each word's keys are a plain list, not a set: a set costs ~40 bytes a key
    against a list's 8, and the postings were 23 MB of a 50,000-book index as
    sets. Finding candidates intersects a few lists, starting from the
    shortest as a set, which costs little more; removing a key (a book gone
    or changed) scans its words' lists.
    """

    lists: dict[str, list[str]] = field(default_factory=dict)
    _sorted: list[str] | None = None
    _initials: dict[str, list[str]] | None = None

    def add(self, key: str, words: Iterable[str]) -> None:
        """Post ``key`` under ``words`` (each once; a key is posted once per word)."""
        for word in words:
            keys = self.lists.get(word)
            if keys is None:
                self.lists[word] = [key]
                self._sorted = None
            else:
                keys.append(key)

    def merge(self, lists: dict[str, list[str]]) -> None:
        """Take over lists read back from a saved index, a piece at a time (a word may recur)."""
        known = self.lists
        for word, keys in lists.items():
            have = known.get(word)
            if have is None:
                known[word] = keys
            else:
                have += keys
        self._sorted = None

    def remove(self, key: str, words: Iterable[str]) -> None:
        for word in words:
            keys = self.lists.get(word)
            if keys is None:
                continue
            with contextlib.suppress(ValueError):
                keys.remove(key)
            if not keys:
                del self.lists[word]
                self._sorted = None

    def get(self, word: str) -> Sequence[str]:
        """The keys posted under ``word`` (not to be changed by the caller)."""
        return self.lists.get(word, ())

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


def intersect(groups: Iterable[Collection[str]]) -> set[str]:
    """The keys in every group: the shortest as a set, narrowed by each longer one in turn."""
    ordered = sorted(groups, key=len)
    if not ordered:
        return set()
    result = set(ordered[0])
    for keys in ordered[1:]:
        if not result:
            break
        result.intersection_update(keys)  # one pass over a list; a set: over the smaller
    return result
