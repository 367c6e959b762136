"""`/follow`, `/following`, `/unfollow` and the scheduled new-release check.

Thin over `core.follow`: the service stores follows, the checker asks the
catalog and queues the DMs (the delivery worker sends them). The check runs
as a `tasks.loop` every `[follow] check_hours`; its body logs and survives
whatever one run does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands, tasks

from bot.app import EarmarkBot, Interaction
from bot.render import NO_PINGS, choices, safe
from cogs._follow import post_arrivals, register, unregister
from cogs._views import OwnedView
from core.errors import UserError
from core.follow import CheckReport, Target
from core.models import Follow, FollowKind
from core.users import require_linked

log = logging.getLogger(__name__)

MIN_QUERY = 2
PAGE_SIZE = 5  # follows per page of /following, each with its Unfollow button
FIRST_CHECK_DELAY = 60.0  # seconds after ready: let the gateway and the first scan settle
NOTHING = "You don't follow anyone yet. Try `/follow author:` or `/follow series:`."
KIND_WORD = {FollowKind.AUTHOR: "author", FollowKind.SERIES: "series"}


def describe(row: Follow) -> str:
    return f"{safe(row.display_name, 100)} ({KIND_WORD[FollowKind(row.kind)]})"


class FollowingPager(OwnedView):
    """`/following`, a page at a time, each follow with its own Unfollow button."""

    def __init__(self, cog: FollowCog, origin: discord.Interaction, rows: list[Follow]) -> None:
        super().__init__(origin.user.id, origin)
        self.cog = cog
        self.rows = rows
        self.page = 0
        self.render_buttons()

    def render(self) -> str:
        if not self.rows:
            return NOTHING
        start = self.page * PAGE_SIZE
        lines = [f"• {describe(r)}" for r in self.rows[start : start + PAGE_SIZE]]
        pages = (len(self.rows) - 1) // PAGE_SIZE + 1
        head = f"You follow {len(self.rows)} (page {self.page + 1} of {pages}):"
        return "\n".join([head, *lines])

    def render_buttons(self) -> None:
        self.clear_items()
        start = self.page * PAGE_SIZE
        for row in self.rows[start : start + PAGE_SIZE]:
            button: discord.ui.Button[FollowingPager] = discord.ui.Button(
                label=f"Unfollow {row.display_name}"[:80], style=discord.ButtonStyle.secondary
            )
            button.callback = self._unfollow(row)  # type: ignore[method-assign]
            self.add_item(button)
        if len(self.rows) > PAGE_SIZE:
            for label, step in (("◀", -1), ("▶", 1)):
                nav: discord.ui.Button[FollowingPager] = discord.ui.Button(label=label, row=4)
                nav.callback = self._turn(step)  # type: ignore[method-assign]
                self.add_item(nav)

    def _turn(self, step: int) -> Any:
        async def turn(interaction: discord.Interaction) -> None:
            pages = (len(self.rows) - 1) // PAGE_SIZE + 1
            self.page = (self.page + step) % pages
            await self._show(interaction)

        return turn

    def _unfollow(self, row: Follow) -> Any:
        async def unfollow(interaction: discord.Interaction) -> None:
            await self.cog.service.unfollow(interaction.user.id, row.id)
            self.rows = [r for r in self.rows if r.id != row.id]
            self.page = min(self.page, max(0, (len(self.rows) - 1) // PAGE_SIZE))
            await self._show(interaction, f"🔕 Unfollowed {describe(row)}.")

        return unfollow

    async def _show(self, interaction: discord.Interaction, note: str | None = None) -> None:
        self.render_buttons()
        text = self.render() if note is None else f"{note}\n{self.render()}"
        await interaction.response.edit_message(
            content=text, view=self if self.rows else None, allowed_mentions=NO_PINGS
        )


class FollowCog(commands.Cog, name="Follow"):
    """Follow authors and series; the new-release check."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.service = bot.runtime.follow
        self.first_delay = FIRST_CHECK_DELAY
        self.last_report: CheckReport | None = None
        self.release_check.change_interval(hours=self.runtime.settings.follow.check_hours)
        # New books reach the mirror with the recently-added poll: look as often as it runs.
        self.arrivals.change_interval(minutes=self.runtime.settings.scan.recently_added_minutes)

    async def cog_load(self) -> None:
        self.release_check.start()
        self.arrivals.start()

    async def cog_unload(self) -> None:
        self.release_check.cancel()
        self.arrivals.cancel()

    # ----- new in the library (`/setup announce`) -------------------------------------------

    @tasks.loop(minutes=5)
    async def arrivals(self) -> None:
        await self.post_arrivals()

    @arrivals.before_loop
    async def _before_arrivals(self) -> None:
        await self.bot.wait_until_ready()

    async def post_arrivals(self) -> int:
        """Post what is new in Plex to the announce channel; never raises. Returns posts made."""
        try:
            return await post_arrivals(self.bot)
        except Exception:
            log.exception("posting new arrivals failed; trying again later")
            return 0

    # ----- the check ----------------------------------------------------------------------

    @tasks.loop(hours=24)
    async def release_check(self) -> None:
        await self.run_check()

    @release_check.before_loop
    async def _before_check(self) -> None:
        await self.bot.wait_until_ready()
        await asyncio.sleep(self.first_delay)

    async def run_check(self) -> CheckReport | None:
        """One check; never raises (a failing run is logged, the loop goes on)."""
        try:
            report = await self.runtime.releases.run()
        except Exception:
            log.exception("the new-release check failed; it runs again at the next interval")
            return None
        self.last_report = report
        if report.messages:
            self.bot.kick_outbox()
        return report

    # ----- commands -----------------------------------------------------------------------

    @app_commands.command(name="follow", description="Hear about new books of an author or series")
    @app_commands.describe(author="An author to follow", series="A series to follow")
    @app_commands.guild_only()
    async def follow(
        self,
        interaction: Interaction,
        author: app_commands.Range[str, 1, 200] | None = None,
        series: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        if (author is None) == (series is None):
            raise UserError("Give exactly one: `author:` or `series:`.")
        kind = FollowKind.AUTHOR if author is not None else FollowKind.SERIES
        target = Target.from_choice(kind, author or series or "")
        _, created = await self.service.follow(interaction.user.id, target)
        name = safe(target.display_name, 100)
        text = (
            f"🔔 You now follow **{name}** ({KIND_WORD[kind]}). You'll get a DM when a new "
            "book comes out." if created else f"You already follow **{name}**."
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    @follow.autocomplete("author")
    async def follow_author(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._suggest(FollowKind.AUTHOR, current)

    @follow.autocomplete("series")
    async def follow_series(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._suggest(FollowKind.SERIES, current)

    async def _suggest(self, kind: FollowKind, current: str) -> list[app_commands.Choice[str]]:
        if len(current.strip()) < MIN_QUERY:
            return []
        found = await self.service.suggest(kind, current)
        return choices((c.label(), c.target.choice_value()) for c in found)

    @app_commands.command(name="following", description="Authors and series you follow")
    @app_commands.guild_only()
    async def following(self, interaction: Interaction) -> None:
        await require_linked(interaction.user.id)
        rows = await self.service.following(interaction.user.id)
        if not rows:
            await interaction.response.send_message(NOTHING, ephemeral=True)
            return
        pager = FollowingPager(self, interaction, rows)
        await interaction.response.send_message(
            pager.render(), view=pager, ephemeral=True, allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="unfollow", description="Stop following an author or series")
    @app_commands.describe(name="One of the authors or series you follow")
    @app_commands.guild_only()
    async def unfollow(self, interaction: Interaction, name: str) -> None:
        follow_id = int(name) if name.isdigit() else None
        if follow_id is None:
            rows = await self.service.search_own(interaction.user.id, name)
            if len(rows) != 1:
                raise UserError("Pick one of your follows from the list (`/following` shows them).")
            follow_id = rows[0].id
        row = await self.service.unfollow(interaction.user.id, follow_id)
        await interaction.response.send_message(
            f"🔕 Unfollowed {describe(row)}.", ephemeral=True, allowed_mentions=NO_PINGS
        )

    @unfollow.autocomplete("name")
    async def unfollow_name(
        self, interaction: Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        rows = await self.service.search_own(interaction.user.id, current)
        return choices((describe(r), str(r.id)) for r in rows)


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(FollowCog(bot))
    register(bot)


async def teardown(bot: EarmarkBot) -> None:
    unregister(bot)
