"""`/library query:` — what the Plex library already holds, from the local mirror.

Thin: autocomplete asks the matcher's in-memory index (through
`core.library.query`), the command renders rows. Nothing here talks to Plex,
so it answers fast and never needs (or shows) the server token or its URLs.
Replies are ephemeral to keep the channel quiet.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.limits import CHOICE_NAME, fit_embeds
from bot.render import NO_PINGS, choices, plain, safe
from cogs._embeds import COLOUR, library_embed
from core.library import query as lib
from core.matcher import LibraryIndex, LibraryItem
from core.models import PlexItem

log = logging.getLogger(__name__)

#: How long autocomplete waits for the index (built once, seconds on a big library)
#: before answering from a plain SQL search instead: Discord gives up at 3 s.
INDEX_WAIT = 1.5
RECENT_COUNT = 10
MAX_HITS = 5


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


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
            f"{_plural(totals.books, 'book')} · {_plural(totals.authors, 'author')} · "
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
    @app_commands.describe(query="Title or author; leave empty for the newest books")
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
        embeds = [library_embed(rows[0])]
        if len(rows) > 1:
            embeds.append(others_embed(rows[1:]))
        await _reply(interaction, embeds=embeds)

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
) -> None:
    await interaction.response.send_message(
        content=content, embeds=fit_embeds(embeds or []), ephemeral=True,
        allowed_mentions=NO_PINGS,
    )


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(Library(bot))
