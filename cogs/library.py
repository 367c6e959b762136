"""`/library query:` — what the Plex library already holds, from the local mirror.

Thin: autocomplete asks the matcher's in-memory index (through
`core.library.query`), the command renders rows. Nothing here talks to Plex,
so it answers fast and never needs (or shows) the server token or its URLs.
Replies are ephemeral to keep the channel quiet.

A title (or a chosen book) shows the book's card with a "Listen in Plex"
button; a series or an author shows the list of its books, a page at a
time (a series in reading order), each title linking to its page in Plex.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.limits import CHOICE_NAME, TITLE, fit_embed, fit_embeds
from bot.render import NO_PINGS, choices, plain, safe
from cogs._cards import Cards
from cogs._embeds import COLOUR, length_text, plural
from cogs._views import OwnedView
from core.library import query as lib
from core.library.by_author import author_of_query, books_by, books_in, series_of_query
from core.matcher import LibraryIndex, LibraryItem
from core.models import PlexItem

log = logging.getLogger(__name__)

#: How long autocomplete waits for the index (built once, seconds on a big library)
#: before answering from a plain SQL search instead: Discord gives up at 3 s.
INDEX_WAIT = 1.5
RECENT_COUNT = 10
MAX_HITS = 5
AUTHOR_PAGE = 10  # books per page of an author's or a series' list


def choice_label(item: LibraryItem | PlexItem) -> str:
    """"Title — Author": plain text, Discord does not render markdown in choices."""
    return plain(f"{item.title} — {item.author}" if item.author else item.title, CHOICE_NAME)


def choices_for(items: list[LibraryItem] | list[PlexItem]) -> list[app_commands.Choice[str]]:
    return choices((choice_label(item), lib.choice_value(item)) for item in items)


def _line(row: PlexItem) -> str:
    line = f"**{safe(row.title, 120)}**"
    if row.author:
        line += f" — {safe(row.author, 80)}"
    if row.added_at:
        line += f" · <t:{int(row.added_at)}:R>"
    return line


def overview_embed(rows: list[PlexItem], totals: lib.LibraryTotals) -> discord.Embed:
    embed = discord.Embed(
        title="Recently added",
        description="\n".join(_line(r) for r in rows) or None,
        colour=COLOUR,
    )
    embed.add_field(
        name="In the library",
        value=(
            f"{plural(totals.books, 'book')} · {plural(totals.authors, 'author')} · "
            f"{totals.hours:,.1f} hours of listening"
        ),
        inline=False,
    )
    embed.set_footer(text="Search with /library query:")
    return embed


def others_embed(rows: list[PlexItem]) -> discord.Embed:
    return discord.Embed(
        title="Also in the library", description="\n".join(_line(r) for r in rows), colour=COLOUR
    )


#: One page of a list and the list's length, for an offset and a page size.
Fetch = Callable[[int, int], Awaitable[tuple[list[PlexItem], int]]]


class BookList(OwnedView):
    """An author's or a series' books in the library, a page at a time; the buttons are
    the caller's."""

    def __init__(
        self, cog: Library, origin: discord.Interaction, title: str, fetch: Fetch,
        *, numbered: bool = False,
    ) -> None:
        super().__init__(origin.user.id, origin)
        self.cards = Cards(cog.bot)
        self.title = title
        self.fetch = fetch
        self.numbered = numbered  # a series shows each book's position
        self.page = 0
        self.total = 0

    @classmethod
    def by_author(cls, cog: Library, origin: discord.Interaction, author: str) -> BookList:
        async def fetch(offset: int, limit: int) -> tuple[list[PlexItem], int]:
            return await books_by(author, offset=offset, limit=limit)

        return cls(cog, origin, f"Books by {safe(author, TITLE - 10)}", fetch)

    @classmethod
    def in_series(cls, cog: Library, origin: discord.Interaction, series: str) -> BookList:
        async def fetch(offset: int, limit: int) -> tuple[list[PlexItem], int]:
            return await books_in(series, offset=offset, limit=limit)

        return cls(cog, origin, safe(series, TITLE), fetch, numbered=True)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // AUTHOR_PAGE))

    async def render(self) -> discord.Embed:
        rows, self.total = await self.fetch(self.page * AUTHOR_PAGE, AUTHOR_PAGE)
        links = await self.cards.listen_links([row.rating_key for row in rows])
        lines = [
            _book_line(row, link, numbered=self.numbered)
            for row, link in zip(rows, links, strict=True)
        ]
        embed = discord.Embed(
            title=self.title, description="\n".join(lines) or "Nothing here any more.",
            colour=COLOUR,
        )
        where = f"Page {self.page + 1} of {self.pages} · " if self.pages > 1 else ""
        embed.set_footer(text=f"{where}{plural(self.total, 'book')} in the library")
        self.previous.disabled = self.page == 0
        self.next.disabled = self.page >= self.pages - 1
        return fit_embed(embed)

    async def _turn(self, interaction: discord.Interaction, step: int) -> None:
        self.page = min(max(0, self.page + step), self.pages - 1)
        embed = await self.render()
        await interaction.response.edit_message(embed=embed, view=self, allowed_mentions=NO_PINGS)

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction, button: discord.ui.Button[BookList]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(
        self, interaction: discord.Interaction, button: discord.ui.Button[BookList]
    ) -> None:
        await self._turn(interaction, 1)


def _book_line(row: PlexItem, link: str | None, *, numbered: bool = False) -> str:
    """`#2 **Title**` (linked to Plex when it can be) · length · year."""
    title = safe(row.title, 150)
    line = f"**[{title}]({link})**" if link else f"**{title}**"
    if numbered and row.series_index:
        line = f"#{plain(row.series_index, 8)} {line}"
    minutes = row.duration_ms // 60000 if row.duration_ms else None
    facts = [fact for fact in (length_text(minutes), str(row.year) if row.year else "") if fact]
    return " · ".join([line, *facts])


class Library(commands.Cog):
    """The `/library` command."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime

    async def cog_load(self) -> None:
        """Start building the index now, so the first autocomplete finds it ready."""
        await self.runtime.scans.library_index(wait=0)

    async def _index(self, wait: float | None) -> LibraryIndex | None:
        """The matcher's index; None when it is still being built after `wait` seconds."""
        if wait is None:
            return await self.runtime.scans.library_index()
        index = await self.runtime.scans.library_index(wait=wait)
        if index is None:
            log.info("library index not ready after %.1fs; answering from SQL", wait)
        return index

    async def _not_set_up(self) -> str | None:
        """Why the library is empty, as a sentence for the user."""
        conn = await self.runtime.plex.connection()
        if not conn.configured:
            return "Plex is not set up yet: an admin needs to run `/setup plex` first."
        if not conn.library_id:
            return "No audiobook library is chosen yet: an admin needs to run `/setup library`."
        return None

    async def _empty_message(self) -> str:
        return await self._not_set_up() or (
            "The library is empty so far. New books show up after the next scan "
            "(an admin can run `/admin scan` now)."
        )

    @app_commands.command(name="library", description="Search the Plex audiobook library")
    @app_commands.describe(query="Title, author or series; leave empty for the newest books")
    async def library(self, interaction: Interaction, query: str | None = None) -> None:
        text = (query or "").strip()
        totals = await lib.totals()
        if totals.empty:
            await _reply(interaction, content=await self._empty_message())
            return
        if not text:
            rows = await lib.recently_added(RECENT_COUNT)
            await _reply(interaction, embeds=[overview_embed(rows, totals)])
            return
        index = await self._index(wait=None)
        assert index is not None
        rows = await lib.find(index, text, limit=MAX_HITS)
        if not rows:
            chosen = lib.key_from_value(text) is not None
            await _reply(
                interaction,
                content=(
                    "Nothing in the library matches that book any more: it left Plex."
                    if chosen
                    else f"Nothing in the library matches “{safe(text, 100)}”. "
                    "Try fewer words, or `/request` it."
                ),
            )
            return
        chosen = lib.key_from_value(text) is not None
        books = None if chosen else await self._book_list(interaction, text, rows[0])
        if books is not None:
            embed = await books.render()
            await _reply(interaction, embeds=[embed], view=books if books.pages > 1 else None)
            return
        cards = Cards(self.bot)
        embeds = [await cards.item(rows[0])]
        if len(rows) > 1 and not chosen:
            embeds.append(others_embed(rows[1:]))
        await _reply(interaction, embeds=embeds, view=await cards.listen_view(rows[0].rating_key))

    async def _book_list(
        self, interaction: Interaction, text: str, best: PlexItem
    ) -> BookList | None:
        """The list a query for a series or an author shows; None for a title."""
        if (series := await series_of_query(text)) is not None:
            return BookList.in_series(self, interaction, series)
        if (author := author_of_query(text, best)) is not None:
            return BookList.by_author(self, interaction, author)
        return None

    @library.autocomplete("query")
    async def library_autocomplete(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if not current.strip():
            return choices_for(await lib.recently_added(RECENT_COUNT))
        index = await self._index(wait=INDEX_WAIT)
        if index is None:
            return choices_for(await lib.suggest_fallback(current))
        return choices_for(lib.suggest(index, current, limit=25))


async def _reply(
    interaction: Interaction,
    *,
    content: str | None = None,
    embeds: list[discord.Embed] | None = None,
    view: discord.ui.View | None = None,
) -> None:
    await interaction.response.send_message(
        content=content, embeds=fit_embeds(embeds or []), ephemeral=True,
        allowed_mentions=NO_PINGS, view=view or discord.utils.MISSING,
    )


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(Library(bot))
