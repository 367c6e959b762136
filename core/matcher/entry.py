"""One indexed book with its normalised forms, computed once when it is added."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic

from core.asin import normalize_asin
from core.matcher.book import B
from core.matcher.readings import readings, retitled
from core.matcher.rules import Parsed, parse_reading
from core.normalize import tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry(Generic[B]):
    """A record, its key and what matching and searching compare."""

    key: str
    item: B
    parsed: Parsed  # the album as tagged: readings[0]
    readings: tuple[Parsed, ...]  # every reading, in the documented order
    asins: tuple[str, ...]  # from the record, its guid and its readings
    # Tuples, not frozensets: a small frozenset costs four times the memory,
    # and these are only iterated (50,000 entries add up).
    words: tuple[str, ...]  # title, subtitle and series words: the match postings
    search_words: tuple[str, ...]  # plain title and author words: the search postings
    search_title: str
    search_text: str


def make_entry(key: str, item: B, asins: tuple[str, ...]) -> Entry[B]:
    """Read and parse ``item`` once for both posting lists."""
    base = readings(item.title or "", item.author)
    if len(base) > 1:
        # An ASIN in the title is a fact about the album, whichever reading is compared.
        found = (a for r in base if (a := normalize_asin(r.asin)))
        asins = tuple(dict.fromkeys((*asins, *found)))
    parsed = [parse_reading(r, asins) for r in base]
    for raw, done in zip(base, list(parsed), strict=True):
        parsed.extend(parse_reading(r, asins) for r in retitled(raw, done.title.core))
    if len(parsed) == 1:
        title = parsed[0].title
        words = dict.fromkeys((*title.core, *title.subtitle, *title.series))
    else:
        words = {}
        for one in parsed:
            title = one.title
            words.update(dict.fromkeys((*title.core, *title.subtitle, *title.series)))
    plain_title = tokens(item.title or "")
    plain_author = tokens(item.author or "")
    search_title = " ".join(plain_title)
    return Entry(
        key=key,
        item=item,
        parsed=parsed[0],
        readings=tuple(parsed),
        asins=asins,
        words=tuple(words),
        search_words=tuple(dict.fromkeys((*plain_title, *plain_author))),
        search_title=search_title,
        search_text=f"{search_title} {' '.join(plain_author)}".strip(),
    )
