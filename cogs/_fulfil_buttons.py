"""Buttons of fulfilment messages: Retry / Deny under a failure, and the DM opt-out.

All are `DynamicItem`s (like `cogs._approval.DecisionButton`): the custom_id
carries what to do and to whom, so a press is understood after a restart.

- A failed hand-off or download is posted in the admin channel with **Retry**
  (re-open as approved, which hands it to the backend again) and **Deny**
  (close it; the requester is told). Admin-checked on the bot side; a press
  on a request that is no longer failed changes nothing and says what it is.
- The "download started" DM carries "Don't tell me when downloads start",
  which only the DM's recipient may press.

A private module, not an extension: `cogs.fulfil` and `cogs.notify` register
the buttons from their `setup`.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Literal

import discord

from bot.app import EarmarkBot, bot_of
from bot.checks import require_admin, require_home_guild
from bot.limits import fit_content
from bot.render import NO_PINGS, safe
from cogs._admin_channel import admin_channel, tell_admins
from cogs._approval import refresh_post
from cogs._views import AnswersErrors
from core.errors import UserError
from core.models import RequestStatus

log = logging.getLogger(__name__)

FailedAction = Literal["retry", "deny"]
FAILED_TEMPLATE = r"earmark:ful:(?P<action>retry|deny):(?P<id>[0-9]+)"
OPT_OUT_TEMPLATE = r"earmark:dlq:(?P<owner>[0-9]+)"
OPT_OUT_LABEL = "Don't tell me when downloads start"
REASON_SHOWN = 500


def failed_custom_id(action: FailedAction, request_id: int) -> str:
    return f"earmark:ful:{action}:{request_id}"


def failure_text(request_id: int, reason: str) -> str:
    """The admins' line about a failed request (the reason is the backend's: untrusted)."""
    reason = safe(reason, REASON_SHOWN) or "no reason given"
    return (f"❌ Request #{request_id} failed: {reason}. **Retry** sends it to the download "
            "service again; **Deny** closes it and tells the requester.")


def failure_view(request_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(FailedButton("retry", request_id))
    view.add_item(FailedButton("deny", request_id))
    return view


async def post_failure(bot: EarmarkBot, request_id: int, reason: str) -> bool:
    """The failure in the admin channel with Retry / Deny; the log when there is no channel."""
    text = failure_text(request_id, reason)
    channel = await admin_channel(bot)
    if channel is None:
        return await tell_admins(bot, text)  # logs it
    try:
        await channel.send(fit_content(text), view=failure_view(request_id),
                           allowed_mentions=NO_PINGS)
    except discord.HTTPException as err:
        log.warning("could not post the failure of request %s: %s", request_id, err)
        return False
    return True


def _poke_fulfil(bot: EarmarkBot) -> None:
    """Deliver the new hand-off now rather than at the next tick (the cog may be absent)."""
    poke = getattr(bot.get_cog("Fulfil"), "poke", None)
    if callable(poke):
        poke()


class FailedButton(
    AnswersErrors, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=FAILED_TEMPLATE,
):
    """Retry or Deny one failed request; understood after restarts through its custom_id."""

    def __init__(self, action: FailedAction, request_id: int) -> None:
        retry = action == "retry"
        super().__init__(
            discord.ui.Button(
                label="Retry" if retry else "Deny",
                style=discord.ButtonStyle.primary if retry else discord.ButtonStyle.danger,
                custom_id=failed_custom_id(action, request_id),
            )
        )
        self.action: FailedAction = action
        self.request_id = request_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> FailedButton:
        action: FailedAction = "retry" if match["action"] == "retry" else "deny"
        return cls(action, int(match["id"]))

    async def _handle(self, interaction: discord.Interaction) -> None:
        require_home_guild(interaction)
        require_admin(interaction)
        bot = bot_of(interaction)
        runtime = bot.runtime
        try:
            req = await runtime.requests.get(self.request_id)
            if req.status != RequestStatus.FAILED:  # a stale press: someone acted already
                raise UserError(f"Request #{req.id} is already {req.status}; nothing changed.")
            if self.action == "retry":
                req = await runtime.fulfil.retry(self.request_id)
            else:
                req = await runtime.requests.deny_failed(self.request_id)
        except UserError as err:
            await self._close(interaction, None)
            await interaction.followup.send(err.message, ephemeral=True,
                                            allowed_mentions=NO_PINGS)
            return
        log.info("failed request %s: %s by %s", req.id, self.action, interaction.user.id)
        verb = "Retried" if self.action == "retry" else "Denied"
        await self._close(interaction, f"{verb} by {interaction.user.mention}")
        bot.kick_outbox()
        if self.action == "retry":
            _poke_fulfil(bot)
        await refresh_post(bot, req, interaction.user)

    @staticmethod
    async def _close(interaction: discord.Interaction, by: str | None) -> None:
        """Take the buttons off the failure post, saying who acted (when this press did)."""
        text = interaction.message.content if interaction.message is not None else ""
        if by is not None:
            text = fit_content(f"{text}\n{by}")
        await interaction.response.edit_message(content=text, view=None,
                                                allowed_mentions=NO_PINGS)


class OptOutButton(
    AnswersErrors, discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=OPT_OUT_TEMPLATE,
):
    """Turns the "download started" DM off for the DM's recipient (and only for them)."""

    def __init__(self, owner_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=OPT_OUT_LABEL, style=discord.ButtonStyle.secondary,
                custom_id=f"earmark:dlq:{owner_id}", emoji="🔕",
            )
        )
        self.owner_id = owner_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any],
        match: re.Match[str], /,
    ) -> OptOutButton:
        return cls(int(match["owner"]))

    async def _handle(self, interaction: discord.Interaction) -> None:
        if interaction.user.id != self.owner_id:
            raise UserError("This button belongs to someone else.")
        await bot_of(interaction).runtime.fulfil.download_dms(self.owner_id, on=False)
        await interaction.response.send_message(
            "🔕 Done: no more messages when a download starts. You'll still hear when a "
            "book is in Plex, or when it fails.", ephemeral=True, allowed_mentions=NO_PINGS,
        )


def opt_out_view(owner_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(OptOutButton(owner_id))
    return view


def register_failed(bot: EarmarkBot) -> None:
    bot.add_dynamic_items(FailedButton)


def unregister_failed(bot: EarmarkBot) -> None:
    bot.remove_dynamic_items(FailedButton)


def register_opt_out(bot: EarmarkBot) -> None:
    bot.add_dynamic_items(OptOutButton)


def unregister_opt_out(bot: EarmarkBot) -> None:
    bot.remove_dynamic_items(OptOutButton)

