"""`/request` and `/requests`: ask for an audiobook, and see your requests.

Thin over `RequestService` (the rules) and `CachedCatalog` (the catalog with
a cache and a deadline, so autocomplete answers inside Discord's 3 s even
when Audible hangs). New requests are posted to the admin channel by
`cogs.approval`, whose persistent buttons this module registers.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.limits import CHOICE_NAME, fit_embed
from bot.render import NO_PINGS, choices, option, plain, safe
from cogs._approval import register, unregister
from cogs._embeds import COLOUR, status_label
from cogs._submit import edit_reply, submit
from cogs._views import OwnedView
from core.asin import normalize_asin
from core.catalog.models import CatalogBook
from core.errors import UserError
from core.models import BookRequest
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

def book_label(book: CatalogBook, in_library: bool, limit: int = CHOICE_NAME) -> str:
    """`Title — Author (year)`, marked when Plex already has it; plain text, <= limit."""
    mark = IN_LIBRARY_MARK if in_library else ""
    return plain(mark + book.display_name(limit - len(mark)), limit)


def picker_options(
    books: list[CatalogBook], owned: set[str]
) -> dict[str, discord.SelectOption]:
    """One option per book whose ASIN fits a select value, at most 25, by ASIN."""
    options: dict[str, discord.SelectOption] = {}
    for book in books:
        narrated = f"Narrated by {book.narrator}" if book.narrator else None
        made = option(book_label(book, book.asin in owned), book.asin, narrated)
        if made is not None and book.asin not in options:
            options[book.asin] = made
    return dict(list(options.items())[:PICKER_RESULTS])


class _BookSelect(discord.ui.Select["BookPicker"]):
    """The picker's menu: hands the chosen ASIN to its view."""

    async def callback(self, interaction: discord.Interaction) -> None:
        if self.view is not None:
            await self.view.picked(interaction, self.values[0])


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
        options = picker_options(books, owned)
        self.books = {book.asin: book for book in books if book.asin in options}
        self.select = _BookSelect(
            placeholder="Pick the book to request", options=list(options.values())
        )
        self.add_item(self.select)

    async def picked(self, interaction: discord.Interaction, asin: str) -> None:
        book = self.books[asin]

        async def show(embed: discord.Embed) -> None:
            self.stop()
            await interaction.response.edit_message(
                content=None, embed=embed, view=None, allowed_mentions=NO_PINGS
            )

        await submit(self.cog.bot, interaction.user.id, book, show)


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
        return fit_embed(embed)

    def _line(self, req: BookRequest) -> str:
        by = f" — {safe(req.author, 80)}" if req.author else ""
        whose = "" if req.requester_id == self.owner_id else " · subscribed"
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

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime

    async def _in_library(self, books: list[CatalogBook], *, wait: float) -> set[str]:
        """ASINs the matcher finds in the library; never fails the caller (only a mark)."""
        try:
            return await self.runtime.requests.owned(books, wait=wait)
        except Exception:
            log.warning("library check for choices failed", exc_info=True)
            return set()

    @app_commands.command(name="request", description="Request an audiobook for the Plex library")
    @app_commands.describe(title="Title, author or ASIN: pick a book from the list")
    @app_commands.guild_only()
    async def request(
        self, interaction: Interaction, title: app_commands.Range[str, 1, 200]
    ) -> None:
        # Refuse unlinked users before touching the catalog; submit checks again.
        await require_linked(interaction.user.id)
        await interaction.response.defer(ephemeral=True, thinking=True)
        asin = normalize_asin(title) if len(title.split()) == 1 else None
        book = await self.runtime.catalog_cache.product(asin) if asin else None
        if book is not None:
            await submit(self.bot, interaction.user.id, book, edit_reply(interaction))
            return
        books = list(
            {b.asin: b for b in await self.runtime.catalog_cache.search(
                title, limit=PICKER_RESULTS
            )}.values()
        )
        owned = await self._in_library(books, wait=PICKER_INDEX_WAIT) if books else set()
        if not picker_options(books, owned):  # nothing, or no ASIN Discord can carry
            raise UserError(
                f"The catalog has nothing for “{safe(title, 100)}”. Try other words."
            )
        picker = BookPicker(self, interaction, books, owned)
        await interaction.edit_original_response(
            content=f"Which book did you mean by “{safe(title, 100)}”?",
            view=picker,
            allowed_mentions=NO_PINGS,
        )

    @request.autocomplete("title")
    async def request_title(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        text = current.strip()
        if len(text) < MIN_QUERY:
            return []
        books = await self.runtime.catalog_cache.search_quick(text, limit=AUTOCOMPLETE_RESULTS)
        books = list({b.asin: b for b in books}.values())[:25]
        owned = await self._in_library(books, wait=AUTOCOMPLETE_INDEX_WAIT)
        return choices((book_label(book, book.asin in owned), book.asin) for book in books)

    @app_commands.command(name="requests", description="Your requests and their states")
    @app_commands.guild_only()
    async def requests(self, interaction: Interaction) -> None:
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


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(RequestsCog(bot))
    register(bot)


async def teardown(bot: EarmarkBot) -> None:
    unregister(bot)
