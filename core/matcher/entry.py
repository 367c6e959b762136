"""One indexed book with its normalised forms, computed once when it is added."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Generic

from core.matcher.book import B
from core.matcher.rules import Parsed, parse_book
from core.normalize import tokens

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Entry(Generic[B]):
    """A record, its key and what matching and searching compare."""

    key: str
    item: B
    parsed: Parsed
    # Tuples, not frozensets: a small frozenset costs four times the memory,
    # and these are only iterated (50,000 entries add up).
    words: tuple[str, ...]  # title, subtitle and series words: the match postings
    search_words: tuple[str, ...]  # plain title and author words: the search postings
    search_title: str
    search_text: str


def make_entry(key: str, item: B, asins: tuple[str, ...]) -> Entry[B]:
    """Parse ``item`` once for both posting lists."""
    parsed = parse_book(item, asins)
    title = parsed.title
    plain_title = tokens(item.title or "")
    plain_author = tokens(item.author or "")
    search_title = " ".join(plain_title)
    return Entry(
        key=key,
        item=item,
        parsed=parsed,
        words=tuple(dict.fromkeys((*title.core, *title.subtitle, *title.series))),
        search_words=tuple(dict.fromkeys((*plain_title, *plain_author))),
        search_title=search_title,
        search_text=f"{search_title} {' '.join(plain_author)}".strip(),
    )
