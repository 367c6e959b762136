"""Title forms in two sorted orders: by text (prefix ranges) and by length (shortest first).

Autocomplete ranks a title that starts with what was typed above every fuzzy
candidate, shortest first. When a short prefix, a filler word or two
one-letter words ("the", "a t") start thousands of titles, the answer is the
shortest of those, which these two orders give without touching the rest of
the library; and when typed words select a large share of the library
anyway ("of the"), the shortest candidates are the pool worth ranking.
"""

from __future__ import annotations

import bisect
import heapq
import logging
from collections.abc import Callable, Collection, Iterator
from operator import itemgetter
from typing import Any

from core.matcher.titles import FILLER

log = logging.getLogger(__name__)

# (form, title, key): the title, or the title without a leading filler word.
Form = tuple[str, str, str]

#: A prefix range up to this many forms is ranked whole; above it, the length order is walked.
_RANGE_SORT = 2_000
#: Sorted a piece at a time: one C-level sort of a 200k list holds the interpreter ~0.2 s.
_SORT_STEP = 10_000

_text: Callable[[Form], Any] = itemgetter(0, 2)


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
    """Every title form, by text and by rank; kept current by ``add``/``remove``."""

    def __init__(self, pairs: Collection[tuple[str, str]]) -> None:
        made = [f for key, title in pairs for f in forms(key, title)]
        self._by_text = _sorted_in_steps(made, _text)
        self._by_rank = _sorted_in_steps(made, _rank)
        self._lengths: dict[int, set[str]] = {}  # title length -> keys
        for key, title in pairs:
            self._lengths.setdefault(len(title), set()).add(key)

    def add(self, key: str, title: str) -> None:
        self._lengths.setdefault(len(title), set()).add(key)
        for form in forms(key, title):
            bisect.insort(self._by_text, form, key=_text)
            bisect.insort(self._by_rank, form, key=_rank)

    def remove(self, key: str, title: str) -> None:
        band = self._lengths.get(len(title))
        if band is not None:
            band.discard(key)
            if not band:
                del self._lengths[len(title)]
        for form in forms(key, title):
            for ordered, order in ((self._by_text, _text), (self._by_rank, _rank)):
                i = bisect.bisect_left(ordered, order(form), key=order)
                if i < len(ordered) and ordered[i] == form:
                    del ordered[i]

    def first(self, wanted: str, limit: int) -> list[str]:
        """Keys of the ``limit`` best titles starting with ``wanted``; all of them if fewer."""
        if not wanted or limit <= 0:
            return []
        by_text = self._by_text
        lo = bisect.bisect_left(by_text, (wanted, ""), key=_text)
        hi = bisect.bisect_left(by_text, (_after(wanted), ""), key=_text)
        if hi - lo <= _RANGE_SORT:
            hits = [f for f in by_text[lo:hi] if _counts(f, wanted)]
            best = heapq.nsmallest(limit, hits, key=_rank)
        else:  # thousands start so: the shortest are near the start of the length order
            best = []
            for form in self._by_rank:
                if form[0].startswith(wanted) and _counts(form, wanted):
                    best.append(form)
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


def _sorted_in_steps(items: list[Form], order: Callable[[Form], Any]) -> list[Form]:
    """``sorted(items, key=order)``, in steps that let other threads run between them."""
    runs = [sorted(items[i : i + _SORT_STEP], key=order) for i in range(0, len(items), _SORT_STEP)]
    merged: Iterator[Form] = heapq.merge(*runs, key=order)
    return list(merged)
