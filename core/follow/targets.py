"""What one can follow: an author or a series, known by catalog ASIN or by normalised name.

The catalog names people and series loosely (two authors share a name, one
series is spelt two ways), so a target is keyed by the catalog's ASIN when a
book gave one, and by its normalised name otherwise. Autocomplete values
carry the key, so a pick needs no second catalog call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.catalog.models import CatalogBook
from core.models import FollowKind
from core.normalize import tokens

CHOICE_MAX = 100  # Discord's limit for a choice's name and value
SAMPLE_TITLES = 2  # books shown next to a name so two authors of one name can be told apart


def normalise_name(name: str) -> str:
    """Words of a name, folded: "Brandon  Sanderson" and "brandon sanderson" are one."""
    return " ".join(tokens(name))[:255]


@dataclass(frozen=True, slots=True)
class Target:
    """One author or series as the follow tables store it."""

    kind: FollowKind
    display_name: str
    asin: str | None = None

    @property
    def name(self) -> str:
        return normalise_name(self.display_name)

    @property
    def key(self) -> str:
        return f"asin:{self.asin}" if self.asin else f"name:{self.name}"

    def choice_value(self) -> str:
        """The autocomplete value: the ASIN (or `=`) and the name, within Discord's 100."""
        return f"{self.asin or '='}:{self.display_name}"[:CHOICE_MAX]

    @classmethod
    def from_choice(cls, kind: FollowKind, value: str) -> Target:
        """A picked choice, or free text (then known by name only)."""
        head, sep, rest = value.partition(":")
        if sep and rest.strip() and (head == "=" or (len(head) == 10 and head.isalnum())):
            return cls(kind, " ".join(rest.split()), None if head == "=" else head.upper())
        return cls(kind, " ".join(value.split()))

    def owns(self, book: CatalogBook) -> bool:
        """Whether `book` is by this author or in this series (ASIN first, then the name)."""
        pairs = book.author_ids if self.kind == FollowKind.AUTHOR else book.series_ids
        if self.asin:
            return any(asin == self.asin for _, asin in pairs)
        names = book.authors if self.kind == FollowKind.AUTHOR else [s for s, _ in book.series]
        return any(normalise_name(n) == self.name for n in names)


@dataclass(slots=True)
class Candidate:
    """A target found in search results, with a few of its titles for the choice label."""

    target: Target
    titles: list[str] = field(default_factory=list)

    def label(self) -> str:
        shown = ", ".join(self.titles[:SAMPLE_TITLES])
        text = f"{self.target.display_name} ({shown})" if shown else self.target.display_name
        return text if len(text) <= CHOICE_MAX else text[: CHOICE_MAX - 1] + "…"


def candidates(kind: FollowKind, books: Iterable[CatalogBook], typed: str) -> list[Candidate]:
    """Authors or series in `books` whose name contains what was typed, best known first."""
    wanted = normalise_name(typed)
    found: dict[str, Candidate] = {}
    for book in books:
        for target in targets_of(kind, book):
            if wanted and wanted not in target.name:
                continue
            entry = found.setdefault(target.key, Candidate(target))
            if book.title not in entry.titles:
                entry.titles.append(book.title)
    return sorted(found.values(), key=lambda c: -len(c.titles))


def targets_of(kind: FollowKind, book: CatalogBook) -> list[Target]:
    """The book's authors or series as targets, with ASINs where the catalog gave them."""
    if kind == FollowKind.AUTHOR:
        names, ids = list(book.authors), dict(book.author_ids)
    else:
        names, ids = [s for s, _ in book.series], dict(book.series_ids)
    return [Target(kind, name, ids.get(name)) for name in names]
