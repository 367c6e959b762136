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
from typing import Any, Literal

import discord

from bot.app import EarmarkBot, bot_of
from bot.checks import require_admin, require_home_guild
from bot.render import NO_PINGS, modal_title
from bot.tree import report_error
from cogs._admin_channel import admin_channel
from cogs._embeds import request_embed, status_label
from cogs._views import AnswersErrors
from core.errors import UserError
from core.models import BookRequest, RequestStatus

log = logging.getLogger(__name__)

Action = Literal["approve", "deny"]
TEMPLATE = r"earmark:req:(?P<action>approve|deny):(?P<id>[0-9]+)"
DENY_MODAL_ID = "earmark:req:deny-reason:{id}"
REASON_MAX = 500


def custom_id(action: Action, request_id: int) -> str:
    return f"earmark:req:{action}:{request_id}"


def post_heading(
    req: BookRequest, decided_by: discord.abc.User | None = None, *, new: bool = False
) -> str:
    """Who asked, and (once decided) who decided: mentions render in embeds but never ping.

    Only a new post can say "Auto-approved": a post refreshed after someone else
    decided knows the state, not who made it.
    """
    heading = f"Request from <@{req.requester_id}>"
    if decided_by is not None:
        heading += f"\n{status_label(req.status)} by {decided_by.mention}"
    elif new and req.status == RequestStatus.APPROVED:
        heading += "\nAuto-approved."
    elif req.status != RequestStatus.PENDING:
        heading += f"\n{status_label(req.status)}"
    return heading


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
            embed=request_embed(req, heading=post_heading(req, new=True)),
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
    """Show a decision made elsewhere (e.g. `/admin approve`) on the request's admin post."""
    if not req.admin_channel_id or not req.admin_message_id:
        return
    channel = bot.get_partial_messageable(req.admin_channel_id)
    message = channel.get_partial_message(req.admin_message_id)
    view = decision_view(req.id) if req.status == RequestStatus.PENDING else None
    try:
        await message.edit(
            embed=request_embed(req, heading=post_heading(req, decided_by)),
            view=view,
            allowed_mentions=NO_PINGS,
        )
    except discord.HTTPException as err:  # deleted post, lost access: the decision stands
        log.info("could not update the admin post of request %s: %s", req.id, err)


async def _show_current(interaction: discord.Interaction, req: BookRequest) -> None:
    """Refresh a stale post (decided elsewhere, e.g. `/admin approve`): no buttons."""
    await interaction.response.edit_message(
        embed=request_embed(req, heading=post_heading(req)), view=None,
        allowed_mentions=NO_PINGS,
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
        embed=request_embed(req, heading=post_heading(req, interaction.user)),
        view=None,
        allowed_mentions=NO_PINGS,
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
