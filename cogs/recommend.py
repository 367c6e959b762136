"""`/recommend`: personal recommendations from the user's own Plex ratings.

Thin over `core.recommend.RecommendService` (ratings read with the user's own
Plex access, catalog searches, exclusions, ranking). The reply is ephemeral
and shows one book at a time with Request (the same submit flow as
`/request`), Not interested (remembered, never shown again), Next, and
one-click "Follow this series" / "Follow this author"; only the user who ran
the command can press them.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.render import NO_PINGS, safe
from cogs._cards import Cards
from cogs._embeds import book_embed
from cogs._follow import FollowButton, follow_buttons
from cogs._login_flow import refused_unlinked
from cogs._submit import submit
from cogs._views import OwnedView
from core.recommend import Recommendation, RecommendService

log = logging.getLogger(__name__)

NOTHING_NEW = (
    "No new recommendations right now: everything Earmark found for your taste is "
    "already in Plex, requested, or marked not interested. Rate more books in Plex for "
    "fresh ideas."
)
ALL_SEEN = "That's all for now. Run `/recommend` again later for more."
REASON_MAX = 300


def recommendation_embed(
    rec: Recommendation, position: int, total: int, url: str | None = None
) -> discord.Embed:
    """The book (cover from the catalog only), why it is suggested, and where we are.

    `position` and `total` count the original list: a book answered (requested,
    not interested) keeps its number, so "3 of 8" never turns into "3 of 6".
    """
    return book_embed(
        rec.book, heading=safe(rec.reason, REASON_MAX), url=url,
        footer=f"Recommendation {position} of {total}",
    )


class RecommendView(OwnedView):
    """One recommendation at a time; Request and Not interested act on the one shown."""

    def __init__(
        self, cog: RecommendCog, origin: discord.Interaction, recs: list[Recommendation]
    ) -> None:
        super().__init__(origin.user.id, origin)
        self.cog = cog
        self.cards = Cards(cog.bot)
        #: (the book's number in the original list, the book): numbers stay as books go
        self.recs = list(enumerate(recs, start=1))
        self.total = len(recs)
        self.index = 0
        self.showing_outcome = False  # a request's outcome replaces the book until Next

    @property
    def current(self) -> Recommendation:
        return self.recs[self.index][1]

    def render(self) -> discord.Embed:
        self.showing_outcome = False
        self.request.disabled = False
        self.not_interested.disabled = False
        self.next.disabled = len(self.recs) <= 1
        number, rec = self.recs[self.index]
        for item in [i for i in self.children if isinstance(i, FollowButton)]:
            self.remove_item(item)
        for button in follow_buttons(self.owner_id, rec.book):  # the shown book's own
            self.add_item(button)
        return recommendation_embed(rec, number, self.total, self.cards.link(rec.book.asin))

    def _drop_current(self) -> None:
        """The shown book is settled: the next one slides into its place."""
        del self.recs[self.index]
        if self.index >= len(self.recs):
            self.index = 0

    async def _show(self, interaction: discord.Interaction, note: str | None = None) -> None:
        """The current book; `note` (a line above it) acknowledges what was just pressed."""
        if not self.recs:
            self.stop()
            content = f"{note}\n{ALL_SEEN}" if note else ALL_SEEN
            await interaction.response.edit_message(
                content=content, embed=None, view=None, allowed_mentions=NO_PINGS
            )
            return
        await interaction.response.edit_message(
            content=note, embed=self.render(), view=self, allowed_mentions=NO_PINGS
        )

    @discord.ui.button(label="Request", style=discord.ButtonStyle.primary)
    async def request(
        self, interaction: discord.Interaction, button: discord.ui.Button[RecommendView]
    ) -> None:
        rec = self.current

        async def show(embed: discord.Embed, _view: discord.ui.View | None) -> None:
            self._drop_current()
            self.showing_outcome = True
            self.request.disabled = True
            self.not_interested.disabled = True
            self.next.disabled = not self.recs
            if not self.recs:
                self.stop()
            await interaction.response.edit_message(
                content=None, embed=embed, view=self if self.recs else None,
                allowed_mentions=NO_PINGS,
            )

        await submit(self.cog.bot, interaction.user.id, rec.book, show)

    @discord.ui.button(label="Not interested", style=discord.ButtonStyle.secondary)
    async def not_interested(
        self, interaction: discord.Interaction, button: discord.ui.Button[RecommendView]
    ) -> None:
        book = self.current.book
        await self.cog.service.dismiss(interaction.user.id, book.asin)
        self._drop_current()
        await self._show(interaction, f"👌 Won't suggest “{safe(book.title, 150)}” again.")

    @discord.ui.button(label="Next", style=discord.ButtonStyle.secondary)
    async def next(
        self, interaction: discord.Interaction, button: discord.ui.Button[RecommendView]
    ) -> None:
        if not self.showing_outcome:  # after a request the next one is already in place
            self.index = (self.index + 1) % len(self.recs)
        await self._show(interaction)


class RecommendCog(commands.Cog, name="Recommend"):
    """Suggestions from the user's Plex ratings, requestable in one click."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.service: RecommendService = bot.runtime.recommend

    @app_commands.command(
        name="recommend", description="Audiobooks picked for you from your Plex ratings"
    )
    @app_commands.guild_only()
    async def recommend(self, interaction: Interaction) -> None:
        # Refuse unlinked users at once, before any Plex or catalog call.
        if await refused_unlinked(interaction, "recommend"):
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        recs = await self.service.recommend(interaction.user.id)
        if not recs:
            await interaction.edit_original_response(content=NOTHING_NEW)
            return
        view = RecommendView(self, interaction, recs)
        await interaction.edit_original_response(
            embed=view.render(), view=view, allowed_mentions=NO_PINGS
        )


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(RecommendCog(bot))
