"""The submit flow shared by `/request`, its picker and `/recommend`'s Request button.

One path: the request service decides (create, subscribe, refuse), the user
sees the outcome in the reply, and only then does a new request go to the
admin channel, so a slow or missing channel never delays the answer.

A pick submits at once, so the reply of `/request` says what happened and
offers "Not this one? Cancel" for a few minutes (`UndoView`): it cancels the
request this pick created, or leaves the request this pick joined.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord

from bot.app import EarmarkBot
from bot.limits import FIELD_VALUE, TITLE, fit_embed
from bot.render import NO_PINGS, safe
from cogs._approval import post_request, refresh_post
from cogs._cards import Cards
from cogs._embeds import COLOUR, request_embed
from cogs._views import OwnedView
from core.catalog.models import CatalogBook
from core.matcher import LibraryItem
from core.models import BookRequest, PlexItem, RequestStatus
from core.requests.service import SubmitResult

log = logging.getLogger(__name__)

HEADINGS: dict[str, str] = {
    "created": "Requested. An admin will look at it; you'll get a DM with the decision "
    "and again when the book is in Plex.",
    "created_approved": "Requested and approved. You'll get a DM when the book is in Plex.",
    "subscribed": "Someone already requested this book, so you're now subscribed to that "
    "request: you'll get a DM when it arrives.",
    "already_subscribed": "You're already subscribed to this request.",
    "already_yours": "You already requested this book.",
}
IN_LIBRARY = "Already in the Plex library: nothing to request."
UNDO_LABEL = "Not this one? Cancel"
UNDO_SECONDS = 300.0  # "a few minutes": long enough to notice the wrong edition
CANCELLED = "🚫 Cancelled: nothing is requested for you."
HANDED_OVER = (
    "🚫 Cancelled for you. Others asked for this book too, so the request stays open "
    "for them."
)
LEFT = "👋 You left this request: you won't get a DM about this book."

#: Shows the outcome to the user: edits the reply, or the message of a pressed button.
ShowOutcome = Callable[[discord.Embed, discord.ui.View | None], Awaitable[None]]


def heading_for(result: SubmitResult) -> str:
    req = result.request
    if result.outcome == "created" and req is not None and req.status == RequestStatus.APPROVED:
        return HEADINGS["created_approved"]
    return HEADINGS[result.outcome]


async def library_item_outcome(
    cards: Cards, item: LibraryItem | None
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The refusal for a book Plex already has: the library's copy and a Listen button."""
    row = await PlexItem.get_or_none(plex_guid=item.guid) if item and item.guid else None
    if row is not None:
        return await cards.item(row, heading=IN_LIBRARY), await cards.listen_view(row.rating_key)
    embed = discord.Embed(
        title=safe(item.title, TITLE) if item else "?", description=IN_LIBRARY, colour=COLOUR
    )
    if item and item.author:
        embed.add_field(name="Author", value=safe(item.author, FIELD_VALUE))
    view = await cards.listen_view(item.rating_key) if item else None
    return fit_embed(embed), view


async def outcome(
    bot: EarmarkBot, result: SubmitResult, book: CatalogBook
) -> tuple[discord.Embed, discord.ui.View | None]:
    """The reply's card: the request (with `book`'s details when it is that edition)."""
    cards = Cards(bot)
    if result.outcome == "in_library" or result.request is None:
        return await library_item_outcome(cards, result.library_item)
    req = result.request
    details = book if book.asin == req.asin else await cards.catalog_book(req.asin)
    embed = request_embed(
        req, heading=heading_for(result), book=details, url=cards.link(req.asin), member=True,
        show_status=False,  # the heading says the state
    )
    return embed, None


async def submit(
    bot: EarmarkBot,
    user_id: int,
    book: CatalogBook,
    show: ShowOutcome,
    *,
    undo: discord.Interaction | None = None,
) -> SubmitResult:
    """Submit `book` for `user_id`, show the outcome, then post a new request to admins.

    With `undo` (the interaction whose reply shows the outcome), a request
    this call created or joined comes with the "Not this one? Cancel" button.
    """
    result = await bot.runtime.requests.submit(user_id, book)
    embed, view = await outcome(bot, result, book)
    if undo is not None and result.request is not None and result.outcome in (
        "created", "subscribed"
    ):
        view = UndoView(bot, undo, result.request, joined=result.outcome == "subscribed")
    await show(embed, view)
    if result.outcome == "created" and result.request is not None:
        await post_request(bot, result.request)
    elif result.outcome == "subscribed" and result.request is not None:
        await refresh_post(bot, result.request)  # the post shows who wants the book
    return result


def edit_reply(interaction: discord.Interaction[EarmarkBot]) -> ShowOutcome:
    """Show the outcome by editing the deferred reply of a slash command."""

    async def show(embed: discord.Embed, view: discord.ui.View | None) -> None:
        await interaction.edit_original_response(
            content=None, embed=embed, view=view, allowed_mentions=NO_PINGS
        )

    return show


class UndoView(OwnedView):
    """"Not this one? Cancel" under a fresh pick, for `UNDO_SECONDS`, for the picker only."""

    def __init__(
        self, bot: EarmarkBot, origin: discord.Interaction, req: BookRequest, *, joined: bool
    ) -> None:
        super().__init__(origin.user.id, origin, timeout=UNDO_SECONDS)
        self.bot = bot
        self.req = req
        self.joined = joined

    @discord.ui.button(label=UNDO_LABEL, style=discord.ButtonStyle.secondary)
    async def undo(
        self, interaction: discord.Interaction, button: discord.ui.Button[UndoView]
    ) -> None:
        service = self.bot.runtime.requests
        if self.joined:
            req = await service.leave(self.req.id, interaction.user.id)
            heading = LEFT
        else:
            done = await service.cancel(self.req.id, interaction.user.id)
            req, heading = done.request, HANDED_OVER if done.handed_to else CANCELLED
        self.stop()
        log.info("request %s undone by %s right after the pick", req.id, interaction.user.id)
        cards = Cards(self.bot)
        embed = await cards.request(req, heading=heading, show_status=not self.joined)
        await interaction.response.edit_message(embed=embed, view=None, allowed_mentions=NO_PINGS)
        await refresh_post(self.bot, req)
