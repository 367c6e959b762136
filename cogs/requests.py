"""`/request` and `/requests`: ask for an audiobook, and see your requests.

Thin over `RequestService` (the rules) and `CachedCatalog` (the catalog with
a cache and a deadline, so autocomplete answers inside Discord's 3 s even
when Audible hangs). New requests are posted to the admin channel by
`cogs.approval`, whose persistent buttons this module registers.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.render import NO_PINGS, choice_name, safe
from bot.tree import report_error
from cogs import approval
from cogs.embeds import COLOUR, library_embed, request_embed, status_label
from core.asin import normalize_asin
from core.catalog.models import CatalogBook
from core.errors import UserError
from core.matcher import LibraryItem
from core.models import BookRequest, PlexItem, RequestStatus
from core.requests.service import SubmitResult
from core.users import require_linked

log = logging.getLogger(__name__)

IN_LIBRARY_MARK = "✅ In library · "
AUTOCOMPLETE_RESULTS = 10
MIN_QUERY = 2
PICKER_RESULTS = 25  # a select menu holds at most 25 options
# Seconds to wait for a cold library index before marking choices: the catalog may
# already have used 2.5 s of autocomplete's 3; the deferred picker can wait longer.
AUTOCOMPLETE_INDEX_WAIT = 0.3
PICKER_INDEX_WAIT = 10.0
PAGE_SIZE = 5
VIEW_TIMEOUT = 600.0  # ephemeral replies can be edited for 15 minutes

HEADINGS: dict[str, str] = {
    "created": "Requested. An admin will look at it; you'll get a DM with the decision "
    "and again when the book is in Plex.",
    "created_approved": "Requested and approved. You'll get a DM when the book is in Plex.",
    "subscribed": "Someone already requested this book, so you're now subscribed to that "
    "request: you'll get a DM when it arrives.",
    "already_subscribed": "You're already subscribed to this request.",
    "already_yours": "You already requested this book.",
}


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
        title=safe(item.title, 200) if item else "?", description=heading, colour=COLOUR
    )
    if item and item.author:
        embed.add_field(name="Author", value=safe(item.author, 1000))
    return embed


async def outcome_embed(result: SubmitResult) -> discord.Embed:
    if result.outcome == "in_library" or result.request is None:
        return await library_item_embed(result.library_item)
    return request_embed(result.request, heading=heading_for(result))


def book_label(book: CatalogBook, in_library: bool, limit: int = 100) -> str:
    """`Title — Author (year)`, marked when Plex already has it; plain text, <= limit."""
    mark = IN_LIBRARY_MARK if in_library else ""
    return choice_name(mark + book.display_name(limit - len(mark)), limit)


class OwnedView(discord.ui.View):
    """A view only the user who ran the command may use; errors answered ephemerally."""

    def __init__(self, owner_id: int, origin: discord.Interaction) -> None:
        super().__init__(timeout=VIEW_TIMEOUT)
        self.owner_id = owner_id
        self._origin = origin

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        if interaction.user.id != self.owner_id:
            raise UserError("This menu belongs to someone else; run the command yourself.")
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)

    async def on_timeout(self) -> None:
        with contextlib.suppress(discord.HTTPException):
            await self._origin.edit_original_response(view=None)


class BookPicker(OwnedView):
    """Catalog results for free text; picking one submits it like a chosen ASIN."""

    def __init__(
        self,
        cog: RequestsCog,
        origin: discord.Interaction,
        books: list[CatalogBook],
        owned: set[str],
    ) -> None:
        super().__init__(origin.user.id, origin)
        self.cog = cog
        self.books = {book.asin: book for book in books}
        select: discord.ui.Select[BookPicker] = discord.ui.Select(
            placeholder="Pick the book to request",
            options=[
                discord.SelectOption(
                    label=book_label(book, book.asin in owned),
                    value=book.asin,
                    description=choice_name(f"Narrated by {book.narrator}")
                    if book.narrator else None,
                )
                for book in self.books.values()
            ],
        )
        select.callback = self.picked  # type: ignore[method-assign]
        self.select = select
        self.add_item(select)

    async def picked(self, interaction: discord.Interaction) -> None:
        book = self.books[self.select.values[0]]
        result = await self.cog.runtime.requests.submit(interaction.user.id, book)
        self.stop()
        await interaction.response.edit_message(
            content=None, embed=await outcome_embed(result), view=None,
            allowed_mentions=NO_PINGS,
        )
        await self.cog.after_submit(result)


class RequestsPager(OwnedView):
    """The caller's requests, newest first, one page at a time."""

    def __init__(self, cog: RequestsCog, origin: discord.Interaction) -> None:
        super().__init__(origin.user.id, origin)
        self.cog = cog
        self.page = 0
        self.total = 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))

    async def render(self) -> discord.Embed:
        """Fetch the current page fresh (states move) and update the buttons."""
        rows, self.total = await self.cog.runtime.requests.for_user(
            self.owner_id, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE
        )
        if self.page >= self.pages:  # requests vanished under us: show the last page
            self.page = self.pages - 1
            rows, self.total = await self.cog.runtime.requests.for_user(
                self.owner_id, offset=self.page * PAGE_SIZE, limit=PAGE_SIZE
            )
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        embed = discord.Embed(
            title="Your requests",
            description="\n\n".join(self._line(req) for req in rows) or "Nothing here.",
            colour=COLOUR,
        )
        embed.set_footer(text=f"Page {self.page + 1}/{self.pages} · {self.total} requests")
        return embed

    def _line(self, req: BookRequest) -> str:
        by = f" — {safe(req.author, 80)}" if req.author else ""
        whose = "" if req.requester_id == self.owner_id else " · subscribed"  # type: ignore[attr-defined]
        when = f"<t:{int(req.created_at.timestamp())}:R>"
        return (
            f"**#{req.id}** {safe(req.title, 120)}{by}\n"
            f"{status_label(req.status)}{whose} · requested {when}"
        )

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = max(0, self.page + step)
        embed = await self.render()
        await interaction.response.edit_message(embed=embed, view=self, allowed_mentions=NO_PINGS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction, button: discord.ui.Button[RequestsPager]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(
        self, interaction: discord.Interaction, button: discord.ui.Button[RequestsPager]
    ) -> None:
        await self._turn(interaction, 1)


class RequestsCog(commands.Cog):
    """Members ask for books; the admin channel hears about new requests."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @property
    def runtime(self) -> Any:
        return self.bot.runtime  # type: ignore[attr-defined]

    async def _in_library(self, books: list[CatalogBook], *, wait: float) -> set[str]:
        """ASINs the matcher finds in the library; never fails the caller (only a mark)."""
        try:
            return await self.runtime.requests.owned(books, wait=wait)
        except Exception:
            log.warning("library check for choices failed", exc_info=True)
            return set()

    async def after_submit(self, result: SubmitResult) -> None:
        """A new request goes to the admin channel (after the user got their answer)."""
        if result.outcome == "created" and result.request is not None:
            await approval.post_request(self.bot, result.request)

    @app_commands.command(name="request", description="Request an audiobook for the Plex library")
    @app_commands.describe(title="Title, author or ASIN: pick a book from the list")
    @app_commands.guild_only()
    async def request(
        self, interaction: discord.Interaction, title: app_commands.Range[str, 1, 200]
    ) -> None:
        # Refuse unlinked users before touching the catalog; submit checks again.
        await require_linked(interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        asin = normalize_asin(title) if len(title.split()) == 1 else None
        book = await self.runtime.catalog_cache.product(asin) if asin else None
        if book is not None:
            result = await self.runtime.requests.submit(interaction.user.id, book)
            await interaction.edit_original_response(
                embed=await outcome_embed(result), allowed_mentions=NO_PINGS
            )
            await self.after_submit(result)
            return
        books = list(
            {b.asin: b for b in await self.runtime.catalog_cache.search(
                title, limit=PICKER_RESULTS
            )}.values()
        )
        if not books:
            raise UserError(
                f"The catalog has nothing for “{safe(title, 100)}”. Try other words."
            )
        owned = await self._in_library(books, wait=PICKER_INDEX_WAIT)
        picker = BookPicker(self, interaction, books, owned)
        await interaction.edit_original_response(
            content=f"Which book did you mean by “{safe(title, 100)}”?",
            view=picker,
            allowed_mentions=NO_PINGS,
        )

    @request.autocomplete("title")
    async def request_title(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        text = current.strip()
        if len(text) < MIN_QUERY:
            return []
        books = await self.runtime.catalog_cache.search_quick(text, limit=AUTOCOMPLETE_RESULTS)
        books = list({b.asin: b for b in books}.values())[:25]
        owned = await self._in_library(books, wait=AUTOCOMPLETE_INDEX_WAIT)
        return [
            app_commands.Choice(name=book_label(book, book.asin in owned), value=book.asin)
            for book in books
        ]

    @app_commands.command(name="requests", description="Your requests and their states")
    @app_commands.guild_only()
    async def requests(self, interaction: discord.Interaction) -> None:
        pager = RequestsPager(self, interaction)
        embed = await pager.render()
        if pager.total == 0:
            await interaction.response.send_message(
                "You have no requests yet. Ask for a book with `/request`.", ephemeral=True
            )
            return
        kwargs: dict[str, Any] = {"view": pager} if pager.pages > 1 else {}
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_PINGS, **kwargs
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(RequestsCog(bot))
    approval.register(bot)


async def teardown(bot: commands.Bot) -> None:
    approval.unregister(bot)
