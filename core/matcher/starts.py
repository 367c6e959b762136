"""Title forms sorted by text (prefix ranges) and grouped by length (shortest first).

Autocomplete ranks a title that starts with what was typed above every fuzzy
candidate, shortest first. When a short prefix, a filler word or two
one-letter words ("the", "a t") start thousands of titles, the answer is the
shortest of those, which the length groups give without touching the rest of
the library; and when typed words select a large share of the library
anyway ("of the"), the shortest candidates are the pool worth ranking.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import logging
from collections.abc import Iterable

from core.matcher.titles import FILLER

log = logging.getLogger(__name__)

# (form, title, key): the title, or the title without a leading filler word.
Form = tuple[str, str, str]

#: A prefix range up to this many forms is ranked whole; above it, the forms are walked by length.
_RANGE_SORT = 2_000
#: Forms are sorted in groups sharing this many first characters (see ``Starts.sort``).
_PREFIX = 6


def _rank(form: Form) -> tuple[int, int, str]:
    """Autocomplete order among titles that start with the typed text."""
    return len(form[0]), len(form[1]), form[2]


def bare(title: str) -> str:
    """The title without a leading filler word ("the hobbit" -> "hobbit")."""
    head, _, rest = title.partition(" ")
    return rest if rest and head in FILLER else title


def forms(key: str, title: str) -> list[Form]:
    """The forms a title is found by as it is typed: itself, and without "the"/"a"."""
    out = [(title, title, key)] if title else []
    rest = bare(title)
    if rest is not title:
        out.append((rest, title, key))
    return out


class Starts:
    """Every title form, sorted as tuples and grouped by length; kept current by ``add``/``remove``.

    The forms are sorted by their own tuple order (form, then title and key),
    which needs no key function: a third of the time of sorting by a computed
    key. The length groups replace a second sorted order: the shortest forms
    that start with a prefix are found by walking the lengths up.
    """

    def __init__(self, pairs: Iterable[tuple[str, str]] = (), *, sort: bool = True) -> None:
        """The orders of ``pairs`` (key, title); ``sort=False``: more to come (``extend``)."""
        self._by_length: dict[int, list[Form]] = {}  # form length -> forms, in no order
        self._lengths: dict[int, set[str]] = {}  # title length -> keys
        self._groups: dict[str, list[Form]] | None = {}  # forms by prefix, until ``sort``
        self._by_text: list[Form] = []
        self.extend(pairs)
        if sort:
            self.sort()

    def extend(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Take in titles (a build hands them a chunk at a time, then calls ``sort``)."""
        groups, by_length, lengths = self._groups, self._by_length, self._lengths
        if groups is None:
            raise RuntimeError("the forms are sorted already: add them one by one")
        for key, title in pairs:
            lengths.setdefault(len(title), set()).add(key)
            for form in forms(key, title):
                groups.setdefault(form[0][:_PREFIX], []).append(form)
                by_length.setdefault(len(form[0]), []).append(form)

    def sort(self) -> Starts:
        """Put the forms in text order: a group of one prefix at a time.

        Strings whose first ``_PREFIX`` characters differ sort as those do, so
        sorting the groups and joining them in prefix order sorts the whole; no
        group is large enough to hold the interpreter (one sort of 300,000
        forms held it ~0.3 s), and no merge walks them all in Python.
        """
        groups, self._groups = self._groups or {}, None
        self._by_text = [f for prefix in sorted(groups) for f in sorted(groups.pop(prefix))]
        return self

    def add(self, key: str, title: str) -> None:
        self._lengths.setdefault(len(title), set()).add(key)
        for form in forms(key, title):
            bisect.insort(self._by_text, form)
            self._by_length.setdefault(len(form[0]), []).append(form)

    def remove(self, key: str, title: str) -> None:
        band = self._lengths.get(len(title))
        if band is not None:
            band.discard(key)
            if not band:
                del self._lengths[len(title)]
        for form in forms(key, title):
            ordered = self._by_text
            i = bisect.bisect_left(ordered, form)
            if i < len(ordered) and ordered[i] == form:
                del ordered[i]
            group = self._by_length.get(len(form[0]), [])
            with contextlib.suppress(ValueError):
                group.remove(form)

    def first(self, wanted: str, limit: int) -> list[str]:
        """Keys of the ``limit`` best titles starting with ``wanted``; all of them if fewer."""
        if not wanted or limit <= 0:
            return []
        by_text = self._by_text
        lo = bisect.bisect_left(by_text, (wanted,))
        hi = bisect.bisect_left(by_text, (_after(wanted),))
        if hi - lo <= _RANGE_SORT:
            hits = [f for f in by_text[lo:hi] if _counts(f, wanted)]
            best = heapq.nsmallest(limit, hits, key=_rank)
        else:  # thousands start so: the best are among the shortest forms
            best = []
            for length in sorted(self._by_length):
                if length < len(wanted):
                    continue
                group = self._by_length[length]
                hits = [f for f in group if f[0].startswith(wanted) and _counts(f, wanted)]
                best += heapq.nsmallest(limit - len(best), hits, key=_rank)
                if len(best) == limit:
                    break
        return [f[2] for f in best]

    def shortest(self, keys: set[str], count: int) -> list[str]:
        """The ``count`` shortest-titled of ``keys`` (ties by key): set work, not a walk."""
        found: list[str] = []
        lengths = self._lengths
        for length in sorted(lengths):
            hits = lengths[length] & keys
            need = count - len(found)
            found += sorted(hits)[:need] if len(hits) > need else hits
            if len(found) == count:
                break
        return found


def _counts(form: Form, wanted: str) -> bool:
    """A form ranks by itself unless its title starts with the text too (then the title ranks)."""
    return len(form[0]) == len(form[1]) or not form[1].startswith(wanted)


def _after(prefix: str) -> str:
    """The least string above every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
