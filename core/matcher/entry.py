"""One indexed book with its normalised forms, computed once when it is added.

An entry is kept small and made of plain tuples and strings: 50,000 of them
live in every bot process, and the garbage collector walks what it tracks.
The parsed readings are kept packed and unpacked only for the few candidates a
query compares; the saved library index (``core.matcher.packed``) keeps them
in its file and decodes them only then.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Generic

from core.asin import normalize_asin
from core.matcher.book import B
from core.matcher.readings import Reading, readings, retitled
from core.matcher.rules import Parsed
from core.normalize import Person, TitleParts, parse_people, parse_title, tokens

log = logging.getLogger(__name__)

# TitleParts, Person and Parsed as tuples of their fields, in declaration order.
PackedTitle = tuple[
    tuple[str, ...], tuple[str, ...], bool, tuple[str, ...], str | None, bool, tuple[str, ...],
    bool,
]
PackedPerson = tuple[str, str, tuple[str, ...]]
PackedReading = tuple[
    PackedTitle, tuple[PackedPerson, ...], tuple[PackedPerson, ...], tuple[str, ...], str, str,
    str | None, bool,
]


# What an entry holds beyond its key and search texts: the record, its readings, its ASINs.
Record = tuple[B, tuple[PackedReading, ...], tuple[str, ...]]


class Entry(Generic[B]):
    """A record, its key and what matching and searching compare.

    The search texts are always held. The rest (the record, its packed
    readings and ASINs) is held too, or, for an entry of a saved library
    index, read from the file on first use (``stored``): only the few
    candidates a query judges are ever decoded.
    """

    __slots__ = ("_load", "_record", "key", "search_text", "search_title")

    def __init__(
        self,
        key: str,
        item: B,
        packed: tuple[PackedReading, ...],
        asins: tuple[str, ...],
        search_title: str,
        search_text: str,
    ) -> None:
        self.key = key
        self.search_title = search_title
        self.search_text = search_text  # the plain title and author words, in order
        self._record: Record[B] | None = (item, packed, asins)
        self._load: Callable[[], Record[B]] | None = None

    @classmethod
    def stored(
        cls, key: str, search_title: str, search_text: str, load: Callable[[], Record[B]]
    ) -> Entry[B]:
        """An entry whose record ``load`` reads when it is first asked for."""
        entry = cls.__new__(cls)
        entry.key, entry.search_title, entry.search_text = key, search_title, search_text
        entry._record, entry._load = None, load
        return entry

    def _held(self) -> Record[B]:
        record = self._record
        if record is None:
            assert self._load is not None
            record = self._record = self._load()
        return record

    @property
    def item(self) -> B:
        return self._held()[0]

    @property
    def packed(self) -> tuple[PackedReading, ...]:
        """Every reading, packed, in the documented order."""
        return self._held()[1]

    @property
    def asins(self) -> tuple[str, ...]:
        """From the record, its guid and its readings."""
        return self._held()[2]

    # The words an entry is posted under are derived, not held: they are read only
    # when it is posted or removed, and holding them was 7 MB at 50,000 books.
    @property
    def words(self) -> tuple[str, ...]:
        """Title, subtitle and series words of every reading: the match postings."""
        return _words_of(self.packed)

    @property
    def search_words(self) -> tuple[str, ...]:
        """The plain title and author words, each once: the search postings."""
        return tuple(dict.fromkeys(self.search_text.split()))

    @property
    def readings(self) -> tuple[Parsed, ...]:
        """Every reading, parsed (unpacked on each call: only candidates ask)."""
        return tuple(unpack_reading(r) for r in self.packed)

    @property
    def parsed(self) -> Parsed:
        """The album as tagged: the first reading."""
        return unpack_reading(self.packed[0])

    def __repr__(self) -> str:
        return f"Entry({self.key!r}, {self.search_title!r})"


def make_entry(key: str, item: B, asins: tuple[str, ...]) -> Entry[B]:
    """Read and parse ``item`` once for both posting lists."""
    key = sys.intern(key)  # shared by the entry and every posting, also in a loaded index
    base = readings(item.title or "", item.author)
    if len(base) > 1:
        # An ASIN in the title is a fact about the album, whichever reading is compared.
        found = (a for r in base if (a := normalize_asin(r.asin)))
        asins = tuple(dict.fromkeys((*asins, *found)))
    packed = [packed_reading(r, asins) for r in base]
    for raw, done in zip(base, list(packed), strict=True):
        packed.extend(packed_reading(r, asins) for r in retitled(raw, done[0][0]))
    search_title = " ".join(tokens(item.title or ""))
    return Entry(
        key,
        item,
        tuple(packed),
        asins,
        search_title,
        f"{search_title} {author_words(item.author or '')}".strip(),
    )


def packed_reading(reading: Reading, asins: tuple[str, ...]) -> PackedReading:
    """One reading of an indexed book, parsed and packed (its author field may name the narrator).

    Made straight from the parsers' packed forms: building each ``Parsed`` only
    to take it apart again was a tenth of a library build.
    """
    extra = normalize_asin(reading.asin)
    return (
        packed_title(reading.title),
        packed_people(reading.author),
        packed_people(reading.narrator) if reading.label else (),
        asins if extra is None or extra in asins else (*asins, extra),
        reading.title,
        reading.label,
        reading.part,
        reading.needs_author,
    )


@lru_cache(maxsize=100_000)
def packed_title(title: str) -> PackedTitle:
    """``parse_title`` as a tuple of its fields (its own cache is left to queries)."""
    t = parse_title.__wrapped__(title)
    return (
        t.core, t.subtitle, t.subtitle_descriptive, t.series, t.volume, t.volume_attached,
        t.numbers, t.subtitle_given,
    )  # fmt: skip


@lru_cache(maxsize=20_000)
def packed_people(text: str | None) -> tuple[PackedPerson, ...]:
    """``parse_people`` as tuples of their fields: the same names recur across a library."""
    return tuple((p.key, p.last, p.initials) for p in parse_people(text))


@lru_cache(maxsize=20_000)
def author_words(author: str) -> str:
    """An author field's search words: cached, as an author's books recur across a library."""
    return " ".join(tokens(author))


def _words_of(packed: tuple[PackedReading, ...]) -> tuple[str, ...]:
    """Core, subtitle and series words of the packed readings, each once, in order."""
    words: dict[str, None] = {}
    for reading in packed:
        core, subtitle, _, series, *_ = reading[0]
        words.update(dict.fromkeys((*core, *subtitle, *series)))
    return tuple(words)


def unpack_reading(packed: PackedReading) -> Parsed:
    """A packed reading (``packed_reading``) as the matcher's ``Parsed``."""
    title, authors, narrators, asins, raw, label, part, needs_author = packed
    return Parsed(
        TitleParts(*title), _unpack_people(authors), _unpack_people(narrators), asins, raw,
        label, part, needs_author,
    )  # fmt: skip


def _unpack_people(people: tuple[PackedPerson, ...]) -> tuple[Person, ...]:
    return tuple(Person(*p) for p in people)
