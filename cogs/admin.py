"""`/admin scan|pending|approve|deny|status`: the admin's day-to-day commands.

Thin over core: `/admin scan` calls the one scan service (the same one the
scheduled jobs use) and only renders its progress and summary; decisions and
status moves go through the request service, which queues the requester's DM
in the outbox. A scan outlives its interaction (15 minutes): past that the
summary goes to the channel instead of the expired reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.checks import AdminOnly, is_admin
from bot.limits import fit_content, fit_embed
from bot.render import NO_PINGS, choices, safe
from cogs._approval import post_embed, post_heading, refresh_post, refresh_posts
from cogs._embeds import COLOUR
from cogs._scan_text import MODE_NAME, MODES, failure_text, progress_text, summary_text
from core import notify
from core.errors import PlexNotConfigured, UserError
from core.library import ScanMode, ScanProgress
from core.models import BookRequest, RequestStatus
from core.plex import PlexError
from core.requests.lifecycle import REASON_MAX

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1.5  # seconds between progress edits (Discord rate-limits webhook edits)
INTERACTION_BUDGET = 14 * 60.0  # an interaction token lives 15 min; keep a margin
PENDING_SHOWN = 25  # an embed holds at most 25 fields
EMBED_BUDGET = 5500  # Discord refuses embeds over 6000 characters in total

def pending_embed(requests: list[BookRequest], *, more: bool) -> discord.Embed:
    """Oldest first; each field names the book, the requester and the request id."""
    embed = discord.Embed(title=f"Requests awaiting approval ({len(requests)}"
                                f"{'+' if more else ''})", colour=COLOUR)
    used = len(embed.title or "")
    left_out = 0
    for req in requests:
        name = f"#{req.id} · {safe(req.title, 150)}"
        parts = []
        if req.author:
            parts.append(f"by {safe(req.author, 100)}")
        if req.narrator:
            parts.append(f"read by {safe(req.narrator, 80)}")
        parts.append(f"asked by <@{req.requester_id}>")
        if req.created_at:
            parts.append(discord.utils.format_dt(req.created_at, "R"))
        parts.append(f"ASIN {safe(req.asin, 16)}")
        value = " · ".join(parts)
        if used + len(name) + len(value) > EMBED_BUDGET:
            left_out += 1
            continue
        used += len(name) + len(value)
        embed.add_field(name=name, value=value, inline=False)
    footer = "Decide with /admin approve or /admin deny (request_id = the #number)."
    if more or left_out:
        footer = "Showing the oldest ones; decide these to see the rest. " + footer
    embed.set_footer(text=footer)
    return fit_embed(embed)


class ScanReporter:
    """Edits the deferred reply with the scan's progress, never slowing the scan down.

    The scan calls this object (a cheap, synchronous callback); a separate task
    edits the message at most every `every` seconds. Past `budget` seconds the
    interaction is about to expire: the reply says the summary will be posted
    in the channel, and `expired` tells the command to do so.
    """

    def __init__(
        self, interaction: Interaction, mode: ScanMode, *, every: float, budget: float
    ) -> None:
        self._interaction = interaction
        self._mode = mode
        self._every = every
        self._budget = budget
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.latest: ScanProgress | None = None
        self.expired = False

    @property
    def elapsed(self) -> float:
        return self._loop.time() - self._started

    def __call__(self, progress: ScanProgress) -> None:
        self.latest = progress
        self._changed.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="earmark-scan-progress")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.elapsed > self._budget:
            self.expired = True

    async def show(self, content: str) -> bool:
        """Edit the reply; False when Discord refused (the token expired, say)."""
        try:
            await self._interaction.edit_original_response(
                content=fit_content(content), allowed_mentions=NO_PINGS
            )
        except discord.HTTPException as err:
            log.info("scan progress: could not edit the reply (%s)", err.status)
            return False
        return True

    async def _run(self) -> None:
        while True:
            remaining = self._budget - self.elapsed
            if remaining <= 0:
                break
            try:
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
            except TimeoutError:
                break
            self._changed.clear()
            if not await self.show(progress_text(self._mode, self.latest, self.elapsed)):
                self.expired = True
                return
            await asyncio.sleep(self._every)
        self.expired = True
        await self.show(
            f"🔄 {MODE_NAME[self._mode]} still running after {self.elapsed / 60:.0f} min; "
            "the summary will be posted in this channel when it ends."
        )


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class AdminCog(
    AdminOnly, commands.GroupCog, group_name="admin", group_description="Earmark admin tasks"
):
    """Admin-only commands; every subcommand passes `interaction_check` first."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.progress_every = PROGRESS_EVERY
        self.interaction_budget = INTERACTION_BUDGET
        super().__init__()

    # ----- /admin scan ------------------------------------------------------------------

    @app_commands.command(name="scan", description="Scan the Plex library now")
    @app_commands.describe(mode="full: the whole library · recent: only recently added books")
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="full (the whole library)", value="full"),
            app_commands.Choice(name="recent (recently added books)", value="recent"),
        ]
    )
    async def scan(self, interaction: Interaction, mode: str) -> None:
        chosen = MODES.get(mode)
        if chosen is None:  # Discord enforces the choices; a forged value still gets an answer
            raise UserError(f"There is no scan mode {safe(mode, 20)}: use full or recent.")
        await self._scan(interaction, chosen)

    async def _scan(self, interaction: Interaction, mode: ScanMode) -> None:
        scans = self.runtime.scans
        running, covering = scans.running, scans.covering(mode)
        joined = covering is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        reporter = ScanReporter(
            interaction, mode, every=self.progress_every, budget=self.interaction_budget
        )
        if covering is not None:
            await reporter.show(
                f"🔄 A {MODE_NAME[covering].lower()} is already running: joined it."
            )
        elif running is not None:
            await reporter.show(
                f"⏳ Waiting for the running {MODE_NAME[running].lower()} to finish, "
                f"then starting the {MODE_NAME[mode].lower()}…"
            )
        reporter.start()
        log.info("/admin scan %s by %s (joined=%s)", mode, interaction.user.id, joined)
        matched: list[int] = []
        try:
            summary = await scans.run(mode, reporter)
            self.bot.kick_outbox()  # matched requests have DMs waiting
            matched = summary.matched_request_ids
            text = summary_text(summary, joined=joined)
        except (PlexNotConfigured, PlexError) as err:
            log.warning("/admin scan %s failed: %s", mode, err)
            text = failure_text(mode, err)
        except Exception as err:
            log.exception("/admin scan %s failed", mode)
            text = failure_text(mode, err)
        finally:
            await reporter.stop()
        if reporter.expired or not await reporter.show(text):
            await self._post_in_channel(interaction, text)
        await refresh_posts(self.bot, matched)  # after the summary: one edit per post

    async def _post_in_channel(self, interaction: Interaction, text: str) -> None:
        """The interaction has expired: the summary goes to the channel it was asked in."""
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            log.warning("scan finished after its interaction expired; no channel to report in")
            return
        try:
            await channel.send(
                fit_content(f"Scan asked for by <@{interaction.user.id}>:\n{text}"),
                allowed_mentions=NO_PINGS,
            )
        except discord.HTTPException:
            log.warning("could not post the scan summary in channel %s", channel.id)

    # ----- /admin pending ---------------------------------------------------------------

    @app_commands.command(name="pending", description="Requests awaiting approval")
    async def pending(self, interaction: Interaction) -> None:
        requests = await self.runtime.requests.pending(limit=PENDING_SHOWN + 1)
        if not requests:
            await interaction.response.send_message(
                "No requests are waiting for approval.", ephemeral=True
            )
            return
        embed = pending_embed(requests[:PENDING_SHOWN], more=len(requests) > PENDING_SHOWN)
        await interaction.response.send_message(
            embed=embed, ephemeral=True, allowed_mentions=NO_PINGS
        )

    # ----- /admin approve, deny, status -------------------------------------------------

    @app_commands.command(name="approve", description="Approve a pending request")
    @app_commands.describe(request_id="The request's number (see /admin pending)")
    async def approve(
        self, interaction: Interaction, request_id: app_commands.Range[int, 1]
    ) -> None:
        req = await self.runtime.requests.decide(request_id, approve=True)
        await self._decided(interaction, req)

    @app_commands.command(name="deny", description="Deny a pending request")
    @app_commands.describe(
        request_id="The request's number (see /admin pending)",
        reason="Told to the requester in their DM",
    )
    async def deny(
        self,
        interaction: Interaction,
        request_id: app_commands.Range[int, 1],
        reason: app_commands.Range[str, 1, REASON_MAX] | None = None,
    ) -> None:
        req = await self.runtime.requests.decide(
            request_id, approve=False, reason=reason.strip() if reason else None
        )
        await self._decided(interaction, req)

    @app_commands.command(name="status", description="Move a request to a lifecycle state")
    @app_commands.describe(
        request_id="The request's number",
        status="The new state",
        reason="Why (shown to the requester for denied or failed)",
    )
    @app_commands.choices(
        status=[app_commands.Choice(name=s.value, value=s.value) for s in RequestStatus]
    )
    async def status(
        self,
        interaction: Interaction,
        request_id: app_commands.Range[int, 1],
        status: str,
        reason: app_commands.Range[str, 1, REASON_MAX] | None = None,
    ) -> None:
        req = await self.runtime.requests.set_status(
            request_id, RequestStatus(status), reason.strip() if reason else None
        )
        await self._decided(interaction, req)

    async def _decided(self, interaction: Interaction, req: BookRequest) -> None:
        """Refresh the admin post, then tell the admin what changed and who will hear of it."""
        self.bot.kick_outbox()  # the decision queued DMs
        await refresh_post(self.bot, req, interaction.user)
        audience = await self.runtime.requests.audience(req)
        heading = post_heading(req, audience, interaction.user)
        if notify.kind_for(req.status) is not None:
            others = len(audience) - 1
            told = "The requester" + (f" and {others} subscriber(s)" if others > 0 else "")
            heading += f"\n{told} will be told by DM."
        log.info("request %s -> %s by %s", req.id, req.status, interaction.user.id)
        await interaction.response.send_message(
            embed=post_embed(req, heading), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @approve.autocomplete("request_id")
    @deny.autocomplete("request_id")
    async def pending_autocomplete(
        self, interaction: Interaction, current: str | int
    ) -> list[app_commands.Choice[int]]:
        """Pending requests matching what was typed (number or title); admins only."""
        if not is_admin(interaction.user, self.runtime.settings.discord.admin_role_ids):
            return []
        needle = str(current or "").strip().casefold().lstrip("#")
        return choices(
            (f"#{req.id} {req.title}" + (f" — {req.author}" if req.author else ""), req.id)
            for req in await self.runtime.requests.pending(limit=100)
            if not needle or str(req.id).startswith(needle) or needle in req.title.casefold()
        )


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(AdminCog(bot))
