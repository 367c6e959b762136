"""The submit flow shared by `/request`, its picker and `/recommend`'s Request button.

One path: the request service decides (create, subscribe, refuse), the user
sees the outcome in the reply, and only then does a new request go to the
admin channel, so a slow or missing channel never delays the answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from bot.app import EarmarkBot
from bot.limits import FIELD_VALUE, TITLE, fit_embed
from bot.render import NO_PINGS, safe
from cogs._approval import post_request, refresh_post
from cogs._embeds import COLOUR, library_embed, request_embed
from core.catalog.models import CatalogBook
from core.matcher import LibraryItem
from core.models import PlexItem, RequestStatus
from core.requests.service import SubmitResult

HEADINGS: dict[str, str] = {
    "created": "Requested. An admin will look at it; you'll get a DM with the decision "
    "and again when the book is in Plex.",
    "created_approved": "Requested and approved. You'll get a DM when the book is in Plex.",
    "subscribed": "Someone already requested this book, so you're now subscribed to that "
    "request: you'll get a DM when it arrives.",
    "already_subscribed": "You're already subscribed to this request.",
    "already_yours": "You already requested this book.",
}

#: Shows the outcome to the user: edits the reply, or the message of a pressed button.
ShowOutcome = Callable[[discord.Embed], Awaitable[None]]


def heading_for(result: SubmitResult) -> str:
    req = result.request
    if result.outcome == "created" and req is not None and req.status == RequestStatus.APPROVED:
        return HEADINGS["created_approved"]
    return HEADINGS[result.outcome]


async def library_item_embed(item: LibraryItem | None) -> discord.Embed:
    """The refusal for a book Plex already has, showing the library's copy."""
    heading = "Already in the Plex library: nothing to request."
    row = await PlexItem.get_or_none(plex_guid=item.guid) if item and item.guid else None
    if row is not None:
        return library_embed(row, heading=heading)
    embed = discord.Embed(
        title=safe(item.title, TITLE) if item else "?", description=heading, colour=COLOUR
    )
    if item and item.author:
        embed.add_field(name="Author", value=safe(item.author, FIELD_VALUE))
    return fit_embed(embed)


async def outcome_embed(result: SubmitResult) -> discord.Embed:
    if result.outcome == "in_library" or result.request is None:
        return await library_item_embed(result.library_item)
    return request_embed(result.request, heading=heading_for(result))


async def submit(
    bot: EarmarkBot, user_id: int, book: CatalogBook, show: ShowOutcome
) -> SubmitResult:
    """Submit `book` for `user_id`, show the outcome, then post a new request to admins."""
    result = await bot.runtime.requests.submit(user_id, book)
    await show(await outcome_embed(result))
    if result.outcome == "created" and result.request is not None:
        await post_request(bot, result.request)
    elif result.outcome == "subscribed" and result.request is not None:
        await refresh_post(bot, result.request)  # the admins see who else wants it
    return result


def edit_reply(interaction: discord.Interaction[EarmarkBot]) -> ShowOutcome:
    """Show the outcome by editing the deferred reply of a slash command."""

    async def show(embed: discord.Embed) -> None:
        await interaction.edit_original_response(
            content=None, embed=embed, view=None, allowed_mentions=NO_PINGS
        )

    return show
