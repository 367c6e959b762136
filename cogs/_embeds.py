"""Embeds shared by the cogs. Every metadata string goes through `safe` (markdown
places) or `plain` (footers), and every embed through `fit_embed` last.

Covers come from the catalog's image URLs only: a Plex thumb URL would need
the server token, which must never reach Discord.
"""

from __future__ import annotations

from collections.abc import Mapping
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


def status_label(status: str) -> str:
    return STATUS_LABEL.get(status, str(status))


def _cover(embed: discord.Embed, url: str | None) -> None:
    if url and url.startswith("https://"):
        embed.set_thumbnail(url=url)


def _people_and_year(
    embed: discord.Embed, author: str | None, narrator: str | None, year: int | None = None
) -> None:
    """The fields every book card shows first, in one order."""
    if author:
        embed.add_field(name="Author", value=safe(author, FIELD_VALUE))
    if narrator:
        embed.add_field(name="Narrator", value=safe(narrator, FIELD_VALUE))
    if year:
        embed.add_field(name="Year", value=str(year))


def book_embed(book: CatalogBook, *, title_prefix: str = "") -> discord.Embed:
    """A catalog book: title, author, narrator, year, series."""
    embed = discord.Embed(title=title_prefix + safe(book.title, TITLE), colour=COLOUR)
    _people_and_year(embed, book.author, book.narrator, book.release_year)
    if book.series:
        series = ", ".join(f"{t} #{n}" if n else t for t, n in book.series)
        embed.add_field(name="Series", value=safe(series, FIELD_VALUE), inline=False)
    embed.set_footer(text=plain(f"ASIN {book.asin}", FOOTER))
    _cover(embed, book.cover_url)
    return fit_embed(embed)


def request_embed(req: BookRequest | Mapping[str, Any], *, heading: str = "") -> discord.Embed:
    """A request (a model row or a notification payload)."""
    data: Mapping[str, Any] = request_payload(req) if isinstance(req, BookRequest) else req
    embed = discord.Embed(
        title=safe(data.get("title"), TITLE) or "?",
        description=heading or None,
        colour=COLOUR,
    )
    _people_and_year(embed, data.get("author"), data.get("narrator"))
    if data.get("status"):
        embed.add_field(name="Status", value=status_label(data["status"]), inline=False)
    if data.get("reason"):
        embed.add_field(name="Reason", value=safe(data["reason"], FIELD_VALUE), inline=False)
    footer = f"Request #{data['request_id']}" if data.get("request_id") else ""
    if data.get("asin"):
        footer = f"{footer} · ASIN {data['asin']}" if footer else f"ASIN {data['asin']}"
    if footer:
        embed.set_footer(text=plain(footer, FOOTER))
    _cover(embed, data.get("cover_url"))
    return fit_embed(embed)


def library_embed(item: PlexItem, *, heading: str = "") -> discord.Embed:
    """A book of the Plex library mirror (no cover: Plex thumbs carry the token)."""
    embed = discord.Embed(
        title=safe(item.title, TITLE), description=heading or None, colour=COLOUR
    )
    _people_and_year(embed, item.author, item.narrator, item.year)
    if item.duration_ms:
        hours, minutes = divmod(item.duration_ms // 60000, 60)
        embed.add_field(name="Length", value=f"{hours} h {minutes:02d} min")
    if item.summary:
        embed.add_field(name="Summary", value=safe(item.summary, 500), inline=False)
    return fit_embed(embed)
