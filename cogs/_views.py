"""Views shared by the cogs (a private module: no extension loads it)."""

from __future__ import annotations

import contextlib
from typing import Any

import discord

from bot.tree import report_error
from core.errors import UserError

VIEW_TIMEOUT = 600.0  # ephemeral replies can be edited for 15 minutes


class OwnedView(discord.ui.View):
    """A view only the user who ran the command may use; errors answered ephemerally."""

    def __init__(
        self, owner_id: int, origin: discord.Interaction, *, timeout: float = VIEW_TIMEOUT
    ) -> None:
        super().__init__(timeout=timeout)
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


class AnswersErrors:
    """For persistent `DynamicItem` buttons: their errors are answered to the user.

    discord.py swallows exceptions raised in a dynamic item's callback, so
    the item does its work in `_handle` and any failure reaches `report_error`.
    Put it first among the bases: `class B(AnswersErrors, DynamicItem[...], template=...)`.
    """

    async def callback(self, interaction: discord.Interaction) -> None:
        try:
            await self._handle(interaction)
        except Exception as err:
            await report_error(interaction, err)

    async def _handle(self, interaction: discord.Interaction) -> None:
        raise NotImplementedError
