"""The Discord side of following that other cogs share: release DMs and persistent buttons.

- `release_message`: the DM for a `release` outbox row (one book, or a digest),
  rendered by the delivery worker (`cogs.notify`).
- `ReleaseButton`: Request / Not interested under a release DM. Its custom_id
  carries the action and the ASIN, so it works after restarts; only a user
  who was told about that book may press it (`announced_releases`).
- `post_arrivals`: books new in Plex to the `/setup announce` channel.
- `FollowButton`: "Follow this series" / "Follow this author" under
  `/recommend`, the "it's in Plex" DM and the new-arrivals channel. Its
  custom_id carries the owner (0: anyone) and the target.

A private module: `cogs.follow` registers the dynamic items in its `setup`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal

import discord

from bot.app import EarmarkBot, bot_of
from bot.limits import TITLE, fit_embed
from bot.render import NO_PINGS, safe
from cogs._cards import Cards
from cogs._embeds import COLOUR, series_text
from cogs._submit import submit
from cogs._views import AnswersErrors
from core.catalog.models import CatalogBook
from core.errors import UserError
from core.follow import Target, arrivals, days
from core.models import AnnouncedRelease, Dismissal, FollowKind, PlexItem

log = logging.getLogger(__name__)

RELEASE_TEMPLATE = r"earmark:rel:(?P<action>req|no):(?P<asin>[A-Z0-9]{10})"
FOLLOW_TEMPLATE = r"earmark:fol:(?P<owner>[0-9]+):(?P<kind>a|s):(?P<value>.+)"
CUSTOM_ID_MAX = 100
BUTTON_LABEL_MAX = 80
DIGEST_LINE = 160
PLAIN_RELEASE = "🆕 New books from authors or series you follow. `/following` lists them."
STATE_NOTE = {"in_library": "already in Plex", "requested": "you already asked for it"}

ReleaseAction = Literal["req", "no"]


def when(release_date: object, today: date | None = None) -> str:
    """"out now", or the day it comes out as a Discord date (shown in the reader's locale)."""
    if not isinstance(release_date, str):
        return "out now"
    try:
        day = date.fromisoformat(release_date)
    except ValueError:
        return "out now"
    if day <= (today or datetime.now(UTC).date()):
        return "out now"
    epoch = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())
    return f"comes out <t:{epoch}:D>"


def _series(book: Mapping[str, Any]) -> str | None:
    raw = book.get("series")
    pairs = tuple(
        (str(p[0]), str(p[1]) if p[1] is not None else None)
        for p in raw if isinstance(p, list | tuple) and len(p) == 2 and p[0]
    ) if isinstance(raw, list) else ()
    return series_text(pairs)


def _line(book: Mapping[str, Any]) -> str:
    line = f"**{safe(book.get('title'), 100) or '?'}**"
    if book.get("author"):
        line += f" — {safe(book.get('author'), 60)}"
    if series := _series(book):
        line += f" ({safe(series, 60)})"
    line += f" · {when(book.get('release_date'))}"
    if note := STATE_NOTE.get(str(book.get("state"))):
        line += f" · {note}"
    return line[:DIGEST_LINE * 2]


def release_books(payload: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    books = payload.get("books")
    return [b for b in books if isinstance(b, Mapping)] if isinstance(books, list) else []


def release_line(books: Sequence[Mapping[str, Any]]) -> str:
    if len(books) == 1:
        return "🆕 New from an author or series you follow:"
    return f"🆕 {len(books)} new books from authors and series you follow:"


def release_embed(cards: Cards, books: Sequence[Mapping[str, Any]]) -> discord.Embed:
    """One book as a card; several as one line each, with the first one's cover."""
    first = books[0] if books else {}
    asin = first.get("asin")
    if len(books) == 1:
        embed = discord.Embed(
            title=safe(first.get("title"), TITLE) or "?", colour=COLOUR,
            url=cards.link(asin) if isinstance(asin, str) else None,
            description=_line(first),
        )
    else:
        embed = discord.Embed(
            title="New releases", colour=COLOUR, description="\n".join(_line(b) for b in books)
        )
    cover = first.get("cover_url")
    if isinstance(cover, str) and cover.startswith("https://"):
        embed.set_thumbnail(url=cover)
    return fit_embed(embed)


def release_view(books: Sequence[Mapping[str, Any]]) -> discord.ui.View | None:
    """Request and Not interested for each book one can still request (persistent)."""
    view = discord.ui.View(timeout=None)
    for book in books:
        asin = book.get("asin")
        if book.get("state") != "new" or not isinstance(asin, str) or len(view.children) >= 24:
            continue
        title = str(book.get("title") or "")
        suffix = f": {title}" if len(books) > 1 else ""
        view.add_item(ReleaseButton("req", asin, label=f"Request{suffix}"))
        view.add_item(ReleaseButton("no", asin, label=f"Not interested{suffix}"))
    return view if view.children else None


class ReleaseButton(
    AnswersErrors, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=RELEASE_TEMPLATE,
):
    """Request or Not interested for one announced book; understood after restarts."""

    def __init__(self, action: ReleaseAction, asin: str, *, label: str | None = None) -> None:
        request = action == "req"
        default = "Request" if request else "Not interested"
        super().__init__(
            discord.ui.Button(
                label=(label or default)[:BUTTON_LABEL_MAX],
                style=discord.ButtonStyle.primary if request else discord.ButtonStyle.secondary,
                custom_id=f"earmark:rel:{action}:{asin}",
            )
        )
        self.action: ReleaseAction = action
        self.asin = asin

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> ReleaseButton:
        action: ReleaseAction = "req" if match["action"] == "req" else "no"
        return cls(action, match["asin"])

    async def _handle(self, interaction: discord.Interaction) -> None:
        user_id = interaction.user.id
        told = await AnnouncedRelease.get_or_none(user_id=user_id, asin=self.asin)
        if told is None:
            raise UserError("This button belongs to someone else's message.")
        bot = bot_of(interaction)
        if self.action == "no":
            await Dismissal.get_or_create(user_id=user_id, asin=self.asin)
            await interaction.response.send_message(
                f"👌 Noted: not interested in “{safe(told.title, 150)}”.",
                allowed_mentions=NO_PINGS, ephemeral=True,
            )
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        book = await bot.runtime.catalog_cache.product(self.asin)
        if book is None:
            raise UserError("The catalog no longer has this book, so it cannot be requested.")
        await days.remember([book])  # a pre-order: `/requests` says "not released yet"

        async def show(embed: discord.Embed, view: discord.ui.View | None) -> None:
            extra: dict[str, Any] = {"view": view} if view is not None else {}
            await interaction.followup.send(
                embed=embed, ephemeral=True, allowed_mentions=NO_PINGS, **extra
            )

        await submit(bot, user_id, book, show)


def follow_custom_id(owner_id: int, target: Target) -> str:
    kind = "a" if target.kind == FollowKind.AUTHOR else "s"
    return f"earmark:fol:{owner_id}:{kind}:{target.choice_value()}"[:CUSTOM_ID_MAX]


def follow_label(target: Target) -> str:
    what = "author" if target.kind == FollowKind.AUTHOR else "series"
    return f"Follow this {what}: {target.display_name}"[:BUTTON_LABEL_MAX]


class FollowButton(
    AnswersErrors, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=FOLLOW_TEMPLATE,
):
    """One click to follow an author or series; only its owner (0 = anyone) may press it."""

    def __init__(self, owner_id: int, target: Target) -> None:
        super().__init__(
            discord.ui.Button(
                label=follow_label(target), style=discord.ButtonStyle.secondary,
                custom_id=follow_custom_id(owner_id, target), emoji="🔔",
            )
        )
        self.owner_id = owner_id
        self.target = target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> FollowButton:
        kind = FollowKind.AUTHOR if match["kind"] == "a" else FollowKind.SERIES
        return cls(int(match["owner"]), Target.from_choice(kind, match["value"]))

    async def _handle(self, interaction: discord.Interaction) -> None:
        if self.owner_id and interaction.user.id != self.owner_id:
            raise UserError("This button belongs to someone else; use `/follow` yourself.")
        _, created = await bot_of(interaction).runtime.follow.follow(
            interaction.user.id, self.target
        )
        name = safe(self.target.display_name, 100)
        text = (f"🔔 You now follow **{name}**: you'll get a DM when a new book comes out."
                if created else f"You already follow **{name}**.")
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


def follow_buttons(owner_id: int, book: CatalogBook) -> list[FollowButton]:
    """"Follow this series" (the first series) and "Follow this author" (the first author)."""
    out: list[FollowButton] = []
    ids = dict(book.series_ids)
    if book.series:
        name = book.series[0][0]
        out.append(FollowButton(owner_id, Target(FollowKind.SERIES, name, ids.get(name))))
    if book.authors:
        name, authors = book.authors[0], dict(book.author_ids)
        out.append(FollowButton(owner_id, Target(FollowKind.AUTHOR, name, authors.get(name))))
    return out


def register(bot: EarmarkBot) -> None:
    """Make the buttons of every earlier message work in this process."""
    bot.add_dynamic_items(ReleaseButton, FollowButton)


def unregister(bot: EarmarkBot) -> None:
    bot.remove_dynamic_items(ReleaseButton, FollowButton)


async def post_arrivals(bot: EarmarkBot) -> int:
    """New books in Plex to the announce channel: a post each, or one digest for many."""
    store = bot.runtime.store
    news = await arrivals.pending(store)
    channel_id = await arrivals.channel(store)
    if news is None or channel_id is None:
        return 0
    channel = bot.get_partial_messageable(channel_id)
    cards = Cards(bot)
    try:
        if news.digest:
            await channel.send(embed=arrivals_digest(news), allowed_mentions=NO_PINGS)
            posts = 1
        else:
            for item in news.items:
                await channel.send(**await arrival_post(cards, item), allowed_mentions=NO_PINGS)
            posts = len(news.items)
    except discord.HTTPException as err:  # the watermark stays: posted again next time
        log.warning("could not post new arrivals to channel %s: %s", channel_id, err)
        return 0
    await arrivals.posted(store, news)
    log.info("posted %d new arrival(s) to channel %s", news.total, channel_id)
    return posts


async def arrival_post(cards: Cards, item: PlexItem) -> dict[str, Any]:
    """One new book: its card (cover from the catalog) and "Follow the series" for anyone."""
    book = await cards.catalog_book(item.asin)
    embed = await cards.item(item, heading="📚 New in Plex")
    view = discord.ui.View(timeout=None)
    for button in follow_buttons(0, book)[:1] if book else []:
        view.add_item(button)
    if listen := await cards.listen_button(item.rating_key):
        view.add_item(listen)
    return {"embed": embed, "view": view} if view.children else {"embed": embed}


def arrivals_digest(news: arrivals.Arrivals) -> discord.Embed:
    lines = [f"**{safe(i.title, 100)}**" + (f" — {safe(i.author, 60)}" if i.author else "")
             for i in news.items]
    if news.total > len(news.items):
        lines.append(f"…and {news.total - len(news.items)} more. `/library` has them all.")
    embed = discord.Embed(
        title=f"📚 {news.total} new books in Plex", description="\n".join(lines), colour=COLOUR
    )
    return fit_embed(embed)
