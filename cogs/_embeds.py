"""Book cards shared by the cogs: one layout for catalog books, requests and library items.

Every metadata string goes through `safe` (markdown places) or `plain`
(footers), and every embed through `fit_embed` last. Members never see an
ASIN (it means nothing to them; the title links to the book's page
instead); the admin post keeps it, the admins need it to get the book.

Covers come from the catalog's image URLs only: a Plex thumb URL would need
the server token, which must never reach Discord.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import discord

from bot.limits import FIELD_VALUE, FOOTER, TITLE, fit_embed
from bot.render import plain, safe
from core.catalog.models import CatalogBook
from core.models import BookRequest, PlexItem, RequestStatus
from core.notify import request_payload

STATUS_LABEL: dict[str, str] = {
    RequestStatus.PENDING: "⏳ Pending approval",
    RequestStatus.APPROVED: "👍 Approved",
    RequestStatus.SEARCHING: "🔎 Searching",
    RequestStatus.DOWNLOADING: "⬇️ Downloading",
    RequestStatus.PROCESSING: "⚙️ Processing",
    RequestStatus.DOWNLOADED: "📦 Downloaded, waiting for Plex",
    RequestStatus.AVAILABLE: "✅ Available in Plex",
    RequestStatus.DENIED: "⛔ Denied",
    RequestStatus.FAILED: "❌ Failed",
    RequestStatus.CANCELLED: "🚫 Cancelled",
}
COLOUR = discord.Colour.from_rgb(229, 160, 13)  # Plex orange
SUMMARY = 240  # "a line or two" of the blurb; the title links to the whole of it


def status_label(status: str) -> str:
    return STATUS_LABEL.get(status, str(status))


def plural(n: int, word: str, words: str | None = None) -> str:
    """`1 request`, `2 requests`, `1,204 books`."""
    return f"{n:,} {word if n == 1 else (words or word + 's')}"


def length_text(minutes: int | None, *, short: bool = False) -> str | None:
    """`16 h 10 min` on a card; `16 h` in a choice label (`short`), `45 min` under an hour."""
    if not minutes or minutes < 1:
        return None
    if minutes < 60:
        return f"{minutes} min"
    hours, rest = divmod(minutes, 60)
    if short:
        return f"{round(minutes / 60)} h"
    return f"{hours} h {rest:02d} min"


def series_text(series: tuple[tuple[str, str | None], ...]) -> str | None:
    """`The Expanse #1`, several joined by commas."""
    return ", ".join(f"{t} #{n}" if n else t for t, n in series) or None


@dataclass(frozen=True, slots=True)
class Card:
    """What a book card shows, whatever it came from (catalog, request, library)."""

    title: str | None
    author: str | None = None
    narrator: str | None = None
    minutes: int | None = None
    series: str | None = None
    year: int | None = None
    summary: str | None = None
    cover_url: str | None = None


def card_of_book(book: CatalogBook) -> Card:
    return Card(
        title=book.title, author=book.author, narrator=book.narrator,
        minutes=book.runtime_minutes, series=series_text(book.series),
        year=book.release_year, summary=book.summary, cover_url=book.cover_url,
    )


def card_of_request(data: Mapping[str, Any], book: CatalogBook | None) -> Card:
    """What the request stored, with the catalog's details for the same ASIN when known."""
    return Card(
        title=data.get("title"), author=data.get("author"), narrator=data.get("narrator"),
        minutes=book.runtime_minutes if book else None,
        series=series_text(book.series) if book else None,
        year=book.release_year if book else None,
        summary=book.summary if book else None,
        cover_url=data.get("cover_url") or (book.cover_url if book else None),
    )


def card_of_item(item: PlexItem, book: CatalogBook | None) -> Card:
    """A library item as Plex describes it; cover and series from the catalog only."""
    minutes = item.duration_ms // 60000 if item.duration_ms else None
    return Card(
        title=item.title, author=item.author, narrator=item.narrator,
        minutes=minutes or (book.runtime_minutes if book else None),
        series=series_text(book.series) if book else None,
        year=item.year or (book.release_year if book else None),
        summary=item.summary or (book.summary if book else None),
        cover_url=book.cover_url if book else None,
    )


def card_embed(
    card: Card,
    *,
    heading: str = "",
    url: str | None = None,
    footer: str = "",
    fields: tuple[tuple[str, str], ...] = (),
) -> discord.Embed:
    """The one card layout: linked title, the heading, a line of summary, the facts."""
    summary = safe(card.summary, SUMMARY) if card.summary else ""
    description = "\n\n".join(part for part in (heading, summary) if part)
    embed = discord.Embed(
        title=safe(card.title, TITLE) or "?", description=description or None, colour=COLOUR,
        url=url if url and url.startswith("https://") else None,
    )
    for name, value in (("Author", card.author), ("Narrator", card.narrator)):
        if value:
            embed.add_field(name=name, value=safe(value, FIELD_VALUE))
    if length := length_text(card.minutes):
        embed.add_field(name="Length", value=length)
    if card.series:
        embed.add_field(name="Series", value=safe(card.series, FIELD_VALUE))
    if card.year:
        embed.add_field(name="Released", value=str(card.year))
    for name, value in fields:
        embed.add_field(name=name, value=value, inline=False)
    if footer:
        embed.set_footer(text=plain(footer, FOOTER))
    if card.cover_url and card.cover_url.startswith("https://"):
        embed.set_thumbnail(url=card.cover_url)
    return fit_embed(embed)


def book_embed(
    book: CatalogBook, *, heading: str = "", url: str | None = None, footer: str = ""
) -> discord.Embed:
    """A catalog book, as members see it (no ASIN)."""
    return card_embed(card_of_book(book), heading=heading, url=url, footer=footer)


def request_embed(
    req: BookRequest | Mapping[str, Any],
    *,
    heading: str = "",
    book: CatalogBook | None = None,
    url: str | None = None,
    member: bool = False,
    show_status: bool = True,
) -> discord.Embed:
    """A request (a model row or a notification payload); `member` leaves the ASIN out."""
    data: Mapping[str, Any] = request_payload(req) if isinstance(req, BookRequest) else req
    fields: list[tuple[str, str]] = []
    if show_status and data.get("status"):
        fields.append(("Status", status_label(data["status"])))
    if data.get("reason"):
        fields.append(("Reason", safe(data["reason"], FIELD_VALUE)))
    footer = f"Request #{data['request_id']}" if data.get("request_id") else ""
    if data.get("asin") and not member:
        footer = f"{footer} · ASIN {data['asin']}" if footer else f"ASIN {data['asin']}"
    return card_embed(
        card_of_request(data, book), heading=heading, url=url, footer=footer,
        fields=tuple(fields),
    )


def library_embed(
    item: PlexItem, *, heading: str = "", book: CatalogBook | None = None, url: str | None = None
) -> discord.Embed:
    """A book of the Plex library mirror (a cover only from the catalog: Plex thumbs carry
    the token)."""
    return card_embed(card_of_item(item, book), heading=heading, url=url)
