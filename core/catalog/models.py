"""Typed catalog results, parsed defensively from Audible product JSON.

Audible's product objects vary by title, age and region (missing keys, nulls,
stubs for unknown ASINs, podcasts mixed into search results), so parsing here
never trusts a shape: anything unusable becomes ``None`` or an empty value,
and only a product without an ASIN or title is rejected as a whole.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

log = logging.getLogger(__name__)

ELLIPSIS = "…"
# Discord rejects application-command choice names longer than this.
DISCORD_CHOICE_NAME_MAX = 100

# content_delivery_type values that are not books one can request.
_NOT_BOOK_DELIVERY = frozenset({"PodcastParent", "PodcastEpisode", "PodcastSeason", "Periodical"})
_NOT_BOOK_CONTENT = frozenset({"Podcast"})

_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "li", "ul", "ol", "tr", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_SPACES = re.compile(r"\s+")
_YEAR = re.compile(r"^\s*(\d{4})")
_DATE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})")
_ASIN_LIKE = re.compile(r"^[A-Za-z0-9]{10}$")


@dataclass(frozen=True, slots=True)
class CatalogBook:
    """One requestable audiobook as the catalog describes it."""

    asin: str
    title: str
    subtitle: str | None
    authors: tuple[str, ...]
    narrators: tuple[str, ...]
    series: tuple[tuple[str, str | None], ...]  # (series title, sequence such as "1" or "1-2")
    release_year: int | None
    runtime_minutes: int | None
    language: str | None
    cover_url: str | None
    summary: str | None
    is_adult: bool = False
    release_date: str | None = None  # ISO "2026-03-01" when the catalog gives one
    author_ids: tuple[tuple[str, str], ...] = ()  # (name, catalog author ASIN) where known
    series_ids: tuple[tuple[str, str], ...] = ()  # (series title, catalog series ASIN) where known

    @property
    def author(self) -> str | None:
        """All authors as one string, as the matcher and embeds want it."""
        return ", ".join(self.authors) or None

    @property
    def narrator(self) -> str | None:
        """All narrators as one string."""
        return ", ".join(self.narrators) or None

    def display_name(self, max_len: int = DISCORD_CHOICE_NAME_MAX) -> str:
        """``Title — Author (year)`` cut to ``max_len`` for a Discord choice name.

        The year suffix survives truncation when there is room, because it is
        what tells two editions of the same title apart in a short list.
        """
        if max_len < 1:
            raise ValueError("max_len must be positive")
        head = self.title if not self.author else f"{self.title} — {self.author}"
        suffix = f" ({self.release_year})" if self.release_year else ""
        full = head + suffix
        if len(full) <= max_len:
            return full
        budget = max_len - len(suffix) - len(ELLIPSIS)
        if suffix and budget >= 1:
            return _cut(head, budget) + ELLIPSIS + suffix
        return _cut(full, max_len - len(ELLIPSIS)) + ELLIPSIS


def _cut(text: str, length: int) -> str:
    """First ``length`` chars without dangling separators (keeps at least one char)."""
    cut = text[: max(length, 0)].rstrip(" ,;:—-")
    return cut or text[: max(length, 0)]


class _TextExtractor(HTMLParser):
    """Collects text, turning block tags into line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def strip_html(html: str | None) -> str | None:
    """Plain text of an Audible HTML blurb: one line per paragraph, spaces collapsed."""
    if not html or not isinstance(html, str):
        return None
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(parser.parts).split("\n"))
    text = "\n".join(line for line in lines if line)
    return text or None


def _text(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return _SPACES.sub(" ", value).strip() or None


def _names(people: Any) -> tuple[str, ...]:
    """Names from ``[{"name": ...}, ...]``, deduplicated in order."""
    if not isinstance(people, Iterable) or isinstance(people, str | bytes | Mapping):
        return ()
    seen: dict[str, None] = {}
    for person in people:
        if isinstance(person, Mapping) and (name := _text(person.get("name"))):
            seen.setdefault(name, None)
    return tuple(seen)


def _series(entries: Any) -> tuple[tuple[str, str | None], ...]:
    if not isinstance(entries, list):
        return ()
    out: list[tuple[str, str | None]] = []
    for entry in entries:
        if isinstance(entry, Mapping) and (title := _text(entry.get("title"))):
            sequence = entry.get("sequence")
            out.append((title, _text(sequence) if isinstance(sequence, str) else None))
    return tuple(out)


def _ids(entries: Any, name_key: str) -> tuple[tuple[str, str], ...]:
    """``(name, ASIN)`` pairs of the contributors or series that carry an ASIN."""
    if not isinstance(entries, list):
        return ()
    out: dict[tuple[str, str], None] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        name, asin = _text(entry.get(name_key)), _text(entry.get("asin"))
        if name and asin and _ASIN_LIKE.match(asin):
            out.setdefault((name, asin.upper()), None)
    return tuple(out)


def _release_date(product: Mapping[str, Any]) -> str | None:
    """The ISO day the book comes out (or came out), from the first field that has one."""
    for key in ("release_date", "issue_date", "publication_datetime"):
        value = product.get(key)
        if isinstance(value, str) and (m := _DATE.match(value)):
            return m.group(1)
    return None


def _year(product: Mapping[str, Any]) -> int | None:
    for key in ("release_date", "issue_date", "publication_datetime"):
        value = product.get(key)
        if isinstance(value, str) and (m := _YEAR.match(value)):
            return int(m.group(1))
    return None


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _largest_image(images: Any) -> str | None:
    """URL of the biggest numeric-size entry of ``product_images``."""
    if not isinstance(images, Mapping):
        return None
    sized = [
        (int(size), url)
        for size, url in images.items()
        if isinstance(size, str) and size.isdigit() and isinstance(url, str) and url
    ]
    return max(sized)[1] if sized else None


def is_book(product: Mapping[str, Any]) -> bool:
    """False for podcasts and periodicals, which Earmark does not request."""
    return (
        product.get("content_delivery_type") not in _NOT_BOOK_DELIVERY
        and product.get("content_type") not in _NOT_BOOK_CONTENT
    )


def parse_product(product: Mapping[str, Any]) -> CatalogBook | None:
    """A ``CatalogBook`` from one Audible product object, or None when it is not one.

    None covers the stub Audible returns for an unknown ASIN (no title), items
    without an ASIN, and podcasts.
    """
    if not isinstance(product, Mapping):
        return None
    asin = _text(product.get("asin"))
    title = _text(product.get("title"))
    if not asin or not title:
        log.debug("skipping catalog product without asin/title: %r", asin)
        return None
    if not is_book(product):
        log.debug("skipping non-book catalog product %s (%s)", asin, title)
        return None
    language = _text(product.get("language"))
    return CatalogBook(
        asin=asin.upper(),
        title=title,
        subtitle=_text(product.get("subtitle")),
        authors=_names(product.get("authors")),
        narrators=_names(product.get("narrators")),
        series=_series(product.get("series")),
        release_year=_year(product),
        runtime_minutes=_positive_int(product.get("runtime_length_min")),
        language=language.lower() if language else None,
        cover_url=_largest_image(product.get("product_images")),
        summary=strip_html(product.get("publisher_summary"))
        or strip_html(product.get("merchandising_summary")),
        is_adult=product.get("is_adult_product") is True,
        release_date=_release_date(product),
        author_ids=_ids(product.get("authors"), "name"),
        series_ids=_ids(product.get("series"), "title"),
    )
