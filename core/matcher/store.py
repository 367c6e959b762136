"""Where an index keeps its entries: in memory, or in a saved index file read on demand.

Most indexes are small and hold their entries as objects (``Entries``). The
library index of a big library would hold ~1 KB of objects per book that a
query never looks at: the record and its parsed readings are needed only for
the ~90 candidates a match judges and the 25 books a search shows. Loaded from
its saved file, it keeps those in the file, memory-mapped, and decodes them
on use (``FileEntries``); only the keys and search texts stay in memory.
A memory-mapped page the process never reads costs it no memory, and one it
read is the kernel's to drop again.
"""

from __future__ import annotations

import logging
import marshal
import mmap
from array import array
from collections.abc import Iterator
from typing import Generic, Protocol

from core.matcher.book import B, LibraryItem
from core.matcher.entry import Entry, Record

log = logging.getLogger(__name__)


class EntryStore(Protocol[B]):
    """What an index needs of the place its entries live."""

    def __len__(self) -> int: ...

    def __contains__(self, key: object) -> bool: ...

    def __getitem__(self, key: str) -> Entry[B]: ...

    def put(self, entry: Entry[B]) -> None:
        """Hold ``entry`` (its key is new)."""

    def pop(self, key: str) -> Entry[B] | None:
        """Forget the entry of ``key`` and return it (None when unknown)."""

    def values(self) -> Iterator[Entry[B]]:
        """Every entry, in the order put."""

    def titles(self) -> Iterator[tuple[str, str]]:
        """(key, search title) of every entry, without decoding any record."""


class Entries(dict[str, Entry[B]], Generic[B]):
    """Entries held as objects, by key."""

    def put(self, entry: Entry[B]) -> None:
        self[entry.key] = entry

    def pop(self, key: str, default: Entry[B] | None = None) -> Entry[B] | None:  # type: ignore[override]
        return super().pop(key, default)

    def values(self) -> Iterator[Entry[B]]:  # type: ignore[override]
        return iter(super().values())

    def titles(self) -> Iterator[tuple[str, str]]:
        return ((e.key, e.search_title) for e in super().values())


def record_bytes(entry: Entry[LibraryItem]) -> bytes:
    """One entry's record as stored in the file: marshal of plain tuples and strings."""
    item = entry.item
    fields = (item.rating_key, item.title, item.author, item.narrator, item.asin, item.guid)
    return marshal.dumps((fields, entry.packed, entry.asins))


def decode_record(data: bytes) -> Record[LibraryItem]:
    """The inverse of ``record_bytes``."""
    fields, packed, asins = marshal.loads(data)
    return LibraryItem(*fields), packed, asins


class FileEntries:
    """Library entries whose records stay in a memory-mapped index file.

    Record ``i`` is ``view[starts[i]:starts[i + 1]]``; ``where`` maps a key to
    its ``i``. Entries put after the load (a poll added a book) are held as
    objects until the next save writes them to a file.
    """

    def __init__(
        self, view: mmap.mmap, starts: array[int], keys: list[str], titles: list[str],
        texts: list[str],
    ) -> None:  # fmt: skip
        self._view = view
        self._starts = starts  # one more than there are records: the last one's end
        self._titles = titles
        self._texts = texts
        self._where = {key: i for i, key in enumerate(keys)}  # in file order, as a save writes
        self._fresh: Entries[LibraryItem] = Entries()

    def __len__(self) -> int:
        return len(self._where) + len(self._fresh)

    def __contains__(self, key: object) -> bool:
        return key in self._where or key in self._fresh

    def __getitem__(self, key: str) -> Entry[LibraryItem]:
        i = self._where.get(key)
        if i is None:
            return self._fresh[key]
        return Entry.stored(key, self._titles[i], self._texts[i], lambda: self.record(i))

    def record(self, i: int) -> Record[LibraryItem]:
        """Record ``i`` decoded from the file."""
        return decode_record(self.raw(i))

    def searchable(self, i: int) -> tuple[str, str]:
        """Record ``i``'s search title and text (held in memory)."""
        return self._titles[i], self._texts[i]

    def raw(self, i: int) -> bytes:
        """Record ``i`` as stored (a save copies it as it is)."""
        return self._view[self._starts[i] : self._starts[i + 1]]

    def put(self, entry: Entry[LibraryItem]) -> None:
        self._fresh.put(entry)

    def pop(self, key: str) -> Entry[LibraryItem] | None:
        if key in self._fresh:
            return self._fresh.pop(key)
        i = self._where.get(key)
        if i is None:
            return None
        entry = self[key]  # its record is still read from the file when asked for
        del self._where[key]
        self._titles[i] = self._texts[i] = ""  # the strings are freed; the record stays unread
        return entry

    def stored(self) -> Iterator[tuple[int, str]]:
        """(record number, key) of every entry still read from the file, in file order."""
        return ((i, key) for key, i in self._where.items())

    def fresh(self) -> Iterator[Entry[LibraryItem]]:
        """The entries put since the load."""
        return self._fresh.values()

    def values(self) -> Iterator[Entry[LibraryItem]]:
        for _i, key in self.stored():
            yield self[key]
        yield from self._fresh.values()

    def titles(self) -> Iterator[tuple[str, str]]:
        titles = self._titles
        for i, key in self.stored():
            yield key, titles[i]
        yield from self._fresh.titles()
