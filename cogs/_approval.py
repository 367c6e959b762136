"""The admin-channel post of a new request and its persistent Approve / Deny buttons.

The buttons are `DynamicItem`s: their custom_id carries the action and the
request id, so a click is understood after a restart without any stored view.
Every click is checked on the bot side (guild, then admin): a forged or stale
interaction from a non-admin is refused ephemerally and changes nothing. The
decision itself is `RequestService.decide`, which also queues the DMs.

A private module, not an extension: `cogs.requests` calls `register` from
its `setup`, and the submit flow and `/admin` post and refresh through it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal

import discord

from bot.app import EarmarkBot, bot_of
from bot.checks import require_admin, require_home_guild
from bot.limits import fit_embed
from bot.render import NO_PINGS, modal_title
from bot.tree import report_error
from cogs._admin_channel import admin_channel
from cogs._embeds import request_embed, status_label
from cogs._views import AnswersErrors
from core.errors import UserError
from core.models import BookRequest, RequestStatus
from core.requests.audience import audience
from core.requests.lifecycle import REASON_MAX

log = logging.getLogger(__name__)

Action = Literal["approve", "deny"]
TEMPLATE = r"earmark:req:(?P<action>approve|deny):(?P<id>[0-9]+)"
DENY_MODAL_ID = "earmark:req:deny-reason:{id}"


def custom_id(action: Action, request_id: int) -> str:
    return f"earmark:req:{action}:{request_id}"


#: One colour per state, so an admin reads the channel at a glance.
AMBER = discord.Colour(0xF0A020)
BLUE = discord.Colour(0x3B82F6)
PURPLE = discord.Colour(0x8B5CF6)
GREEN = discord.Colour(0x22A559)
RED = discord.Colour(0xE0403A)
GREY = discord.Colour(0x8A8F98)
STATE_COLOUR: dict[RequestStatus, discord.Colour] = {
    RequestStatus.PENDING: AMBER,
    RequestStatus.APPROVED: BLUE,
    RequestStatus.SEARCHING: PURPLE,
    RequestStatus.DOWNLOADING: PURPLE,
    RequestStatus.PROCESSING: PURPLE,
    RequestStatus.DOWNLOADED: PURPLE,
    RequestStatus.AVAILABLE: GREEN,
    RequestStatus.DENIED: RED,
    RequestStatus.FAILED: RED,
    RequestStatus.CANCELLED: GREY,
}
#: What a person did, for "<verb> by @someone": decisions by name, the rest as "Marked x".
DECIDED = {
    RequestStatus.APPROVED: "Approved",
    RequestStatus.DENIED: "Denied",
    RequestStatus.CANCELLED: "Cancelled",
}
WANTED_SHOWN = 10  # mentions listed before "and N more"
POSTS_SYNCED_AT = "discord.admin_posts_synced_at"  # config table key of catch_up_posts' mark
_BY_LINE = re.compile(r"^(?:Approved|Denied|Cancelled|Marked [a-z]+) by <@[0-9]+>$")


def state_colour(status: str) -> discord.Colour:
    return STATE_COLOUR.get(RequestStatus(status), AMBER)


def moved_by(status: str, mention: str) -> str:
    """E.g. "Marked downloading by @admin": the admin marked it, they don't download it."""
    verb = DECIDED.get(RequestStatus(status)) or f"Marked {RequestStatus(status).value}"
    return f"{verb} by {mention}"


def wanted_line(people: list[int]) -> str:
    """Who is waiting for the book, requester first; mentions render but never ping."""
    if len(people) <= 1:
        return f"Requested by <@{people[0]}>" if people else ""
    shown = ", ".join(f"<@{p}>" for p in people[:WANTED_SHOWN])
    more = f" and {len(people) - WANTED_SHOWN} more" if len(people) > WANTED_SHOWN else ""
    return f"Wanted by {shown}{more} ({len(people)})"


def post_heading(
    req: BookRequest,
    people: list[int],
    decided_by: discord.abc.User | None = None,
    *,
    new: bool = False,
    kept: str | None = None,
) -> str:
    """Who wants it, and who made the last move when that is known.

    Only a new post can say "Auto-approved": a post refreshed after someone else
    decided knows the state, not who made it (`kept` is the earlier post's
    "by" line, shown again while the state it names still holds).
    """
    lines = [wanted_line(people)]
    if decided_by is not None:
        lines.append(moved_by(req.status, decided_by.mention))
    elif new and req.status == RequestStatus.APPROVED:
        lines.append("Auto-approved.")
    elif kept is not None and kept.startswith(moved_by(req.status, "<@")):
        lines.append(kept)
    return "\n".join(line for line in lines if line)


def post_embed(req: BookRequest, heading: str) -> discord.Embed:
    """The request card, coloured by state, with exactly one Status field."""
    embed = request_embed(req, heading=heading)
    embed.colour = state_colour(req.status)
    index = next((i for i, f in enumerate(embed.fields) if f.name == "Status"), None)
    if index is None:
        embed.add_field(name="Status", value=status_label(req.status), inline=False)
    else:
        embed.set_field_at(index, name="Status", value=status_label(req.status), inline=False)
    return fit_embed(embed)


async def current_embed(
    req: BookRequest, decided_by: discord.abc.User | None = None, *,
    new: bool = False, kept: str | None = None,
) -> discord.Embed:
    """The admin post's embed as the request stands now (who wants it read from the DB)."""
    people = await audience(req)
    return post_embed(req, post_heading(req, people, decided_by, new=new, kept=kept))


def decision_view(request_id: int) -> discord.ui.View:
    """Approve / Deny for one pending request; persistent (no timeout, dynamic custom ids)."""
    view = discord.ui.View(timeout=None)
    view.add_item(DecisionButton("approve", request_id))
    view.add_item(DecisionButton("deny", request_id))
    return view


async def post_request(bot: EarmarkBot, req: BookRequest) -> discord.Message | None:
    """Post a new request to the admin channel; buttons only while it awaits a decision.

    Never fails the user's request: a missing or unreachable channel is logged.
    """
    channel = await admin_channel(bot)
    if channel is None:
        log.info("no usable admin channel (/setup channel); request %s not posted", req.id)
        return None
    try:
        view = decision_view(req.id) if req.status == RequestStatus.PENDING else None
        kwargs: dict[str, Any] = {"view": view} if view is not None else {}
        message = await channel.send(
            embed=await current_embed(req, new=True),
            allowed_mentions=NO_PINGS,
            **kwargs,
        )
    except discord.HTTPException as err:
        log.warning("could not post request %s to the admin channel: %s", req.id, err)
        return None
    req.admin_channel_id, req.admin_message_id = message.channel.id, message.id
    await req.save(update_fields=["admin_channel_id", "admin_message_id"])
    return message


async def refresh_post(
    bot: EarmarkBot, req: BookRequest, decided_by: discord.abc.User | None = None
) -> None:
    """Show the request as it stands on its admin post: state, colour, who wants it.

    Called after every move (`/admin`, the buttons, scans, a member joining).
    Without `decided_by` the post keeps its "by @someone" line while the
    state it names still holds. Never fails the caller: a deleted post or
    lost access is logged.
    """
    if not req.admin_channel_id or not req.admin_message_id:
        return
    channel = bot.get_partial_messageable(req.admin_channel_id)
    message = channel.get_partial_message(req.admin_message_id)
    view = decision_view(req.id) if req.status == RequestStatus.PENDING else None
    try:
        kept = None if decided_by is not None else _by_line(await message.fetch())
        await message.edit(
            embed=await current_embed(req, decided_by, kept=kept),
            view=view,
            allowed_mentions=NO_PINGS,
        )
    except discord.HTTPException as err:  # deleted post, lost access: the move stands
        log.info("could not update the admin post of request %s: %s", req.id, err)


async def refresh_posts(bot: EarmarkBot, request_ids: Iterable[int]) -> int:
    """Refresh the admin posts of these requests (e.g. made available by a scan)."""
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        return 0
    rows = await BookRequest.filter(id__in=ids, admin_message_id__isnull=False).order_by("id")
    return await _refresh_all(bot, rows)


async def _refresh_all(bot: EarmarkBot, rows: list[BookRequest]) -> int:
    for req in rows:
        await refresh_post(bot, req)
    if rows:
        log.info("refreshed %d admin post(s)", len(rows))
    return len(rows)


async def catch_up_posts(bot: EarmarkBot, *, skip: Iterable[int] = ()) -> int:
    """Refresh the posts of requests made available since the last catch-up.

    For scans this process did not run (`python -m bot scan` has no Discord):
    the bot calls this when it starts and after each scheduled scan. The
    mark is stored, so a restart catches up on what happened while it was down.
    """
    store = bot.runtime.store
    now = datetime.now(UTC)
    stored = await store.get(POSTS_SYNCED_AT)
    # Never cancelled mid-write: the scheduler runs this as its own task and a
    # stopping bot waits for it (a cancelled transaction could leave SQLite locked).
    await store.set(POSTS_SYNCED_AT, now.isoformat())
    if stored is None:
        return 0  # the first start: nothing to catch up on that a post could show
    since = datetime.fromisoformat(stored)
    skipped = set(skip)
    rows = await BookRequest.filter(
        available_at__gt=since, available_at__lte=now, admin_message_id__isnull=False
    ).order_by("id")
    return await _refresh_all(bot, [req for req in rows if req.id not in skipped])


def _by_line(message: discord.Message) -> str | None:
    """The "Approved by @boss" line of an earlier version of the post, if it has one."""
    description = message.embeds[0].description if message.embeds else None
    lines = (description or "").splitlines()
    return next((line for line in lines if _BY_LINE.match(line)), None)


async def _show_current(interaction: discord.Interaction, req: BookRequest) -> None:
    """Refresh a stale post (decided elsewhere, e.g. `/admin approve`): no buttons."""
    kept = _by_line(interaction.message) if interaction.message is not None else None
    await interaction.response.edit_message(
        embed=await current_embed(req, kept=kept), view=None, allowed_mentions=NO_PINGS,
    )


async def _decide(
    interaction: discord.Interaction, request_id: int, *, approve: bool, reason: str | None
) -> None:
    """Decide, then edit the admin post to show the decision and who made it."""
    service = bot_of(interaction).runtime.requests
    try:
        req = await service.decide(request_id, approve=approve, reason=reason)
    except UserError as err:
        current = await BookRequest.get_or_none(id=request_id)
        if current is None or interaction.message is None:
            raise
        await _show_current(interaction, current)
        await interaction.followup.send(err.message, ephemeral=True, allowed_mentions=NO_PINGS)
        return
    log.info("request %s %s by %s", req.id, req.status, interaction.user.id)
    bot_of(interaction).kick_outbox()
    await interaction.response.edit_message(
        embed=await current_embed(req, interaction.user), view=None, allowed_mentions=NO_PINGS,
    )


class DenyModal(discord.ui.Modal, title="Deny request"):
    """Asks for an optional reason; the requester sees it in their DM."""

    reason: discord.ui.TextInput[DenyModal] = discord.ui.TextInput(
        label="Reason (optional, shown to the requester)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=REASON_MAX,
        custom_id="earmark:req:deny-reason:text",
    )

    def __init__(self, request_id: int) -> None:
        super().__init__(timeout=600, custom_id=DENY_MODAL_ID.format(id=request_id))
        self.request_id = request_id

    async def on_submit(self, interaction: discord.Interaction, /) -> None:
        # The admin check again: roles can change while the modal is open.
        require_home_guild(interaction)
        require_admin(interaction)
        reason = " ".join(self.reason.value.split()) or None
        await _decide(interaction, self.request_id, approve=False, reason=reason)

    async def on_error(
        self,
        interaction: discord.Interaction,
        error: Exception,
        item: discord.ui.Item[Any] | None = None,  # Modal passes none; View's signature has one
        /,
    ) -> None:
        await report_error(interaction, error)


class DecisionButton(
    AnswersErrors, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]], template=TEMPLATE
):
    """Approve or Deny one request; understood after restarts through its custom_id."""

    def __init__(self, action: Action, request_id: int) -> None:
        approve = action == "approve"
        super().__init__(
            discord.ui.Button(
                label="Approve" if approve else "Deny",
                style=discord.ButtonStyle.success if approve else discord.ButtonStyle.danger,
                custom_id=custom_id(action, request_id),
            )
        )
        self.action: Action = action
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DecisionButton:
        action: Action = "approve" if match["action"] == "approve" else "deny"
        return cls(action, int(match["id"]))

    async def _handle(self, interaction: discord.Interaction) -> None:
        require_home_guild(interaction)
        require_admin(interaction)
        if self.action == "approve":
            await _decide(interaction, self.request_id, approve=True, reason=None)
            return
        req = await bot_of(interaction).runtime.requests.get(self.request_id)
        if req.status != RequestStatus.PENDING:
            await _show_current(interaction, req)
            await interaction.followup.send(
                f"Request #{req.id} is already {req.status}; nothing changed.",
                ephemeral=True, allowed_mentions=NO_PINGS,
            )
            return
        modal = DenyModal(self.request_id)
        modal.title = modal_title("Deny: ", req.title)
        await interaction.response.send_modal(modal)


def register(bot: EarmarkBot) -> None:
    """Make the buttons of every earlier post work in this process."""
    bot.add_dynamic_items(DecisionButton)


def unregister(bot: EarmarkBot) -> None:
    bot.remove_dynamic_items(DecisionButton)
