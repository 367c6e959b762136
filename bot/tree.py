"""The command tree: guild filter for every interaction and one error handler.

`on_error` answers every failure ephemerally, by first response or follow-up
(whichever is still possible): a sentence for known errors, a logged traceback
and a generic apology for the rest (Red-DiscordBot's tree, STYLE.md habit 5).
"""

from __future__ import annotations

import logging

import aiohttp
import discord
from discord import app_commands

from bot.checks import NotAdmin, WrongGuild, require_home_guild
from bot.render import NO_PINGS
from core.catalog.errors import CatalogError
from core.errors import PlexNotConfigured, UserError
from core.plex import (
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexUnauthorized,
    PlexUnavailable,
)

log = logging.getLogger(__name__)

GENERIC = "Something went wrong on Earmark's side. The admins can find the details in the log."


def plex_problem(error: PlexError) -> str:
    """What failed and what it means, in one clause, from the error's type and status only.

    A Plex error's own text names the request (method, internal URL, query
    string): that belongs in the log, never in Discord, so it is not used here.
    """
    status = f" (HTTP {error.status})" if error.status else ""
    if isinstance(error, PlexUnauthorized):
        return (f"the Plex server refused Earmark's token{status}; it was changed or "
                "revoked, so an admin needs to run `/setup plex` again")
    if isinstance(error, PlexNotFound):
        return (f"the Plex server has no such library or item{status}; the audiobook "
                "library may have been removed, so check `/setup library`")
    if isinstance(error, PlexBadResponse):
        return ("the Plex server sent an answer Earmark can't read; check that the "
                "address is a Plex Media Server")
    if isinstance(error, PlexUnavailable):
        if error.status == 429:
            return "the Plex server asked Earmark to slow down (HTTP 429)"
        if error.status:
            return (f"the Plex server had an internal error{status}; Plex's own log "
                    "says why")
        if isinstance(error.__cause__, TimeoutError):
            return "the Plex server did not answer in time; it may be busy or asleep"
        if isinstance(error.__cause__, aiohttp.ClientError):
            return ("Earmark can't reach the Plex server; check that it is running and "
                    "that its address is right")
        return "the Plex server can't be reached right now"
    return f"the Plex server refused the request{status}"


def user_message(error: BaseException) -> str | None:
    """The sentence to show for a known error; None for an unexpected one."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, NotAdmin | WrongGuild):
        return error.message
    if isinstance(error, UserError):
        return error.message
    if isinstance(error, PlexNotConfigured):
        return str(error)  # a whole sentence that names what is missing and the fix
    if isinstance(error, PlexUnauthorized):
        return "The Plex server refused Earmark's token. An admin should run `/setup plex` again."
    if isinstance(error, PlexError):
        problem = plex_problem(error)
        return f"{problem[0].upper()}{problem[1:]}. Nothing was changed; please try again later."
    if isinstance(error, CatalogError):
        return "The Audible catalog can't be reached right now. Please try again later."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.CheckFailure):
        return str(error) or "You can't use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"That value doesn't fit: {error.value!r}."
    return None


async def reply_ephemeral(interaction: discord.Interaction, content: str) -> None:
    """Answer with the first response when still possible, else a follow-up."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=NO_PINGS)
        else:
            await interaction.response.send_message(
                content, ephemeral=True, allowed_mentions=NO_PINGS
            )
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction expired?)")


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Shared by the tree and every view: tell the user, log what they can't see."""
    message = user_message(error)
    if interaction.type is discord.InteractionType.autocomplete:
        if message is None:
            log.error("autocomplete failed", exc_info=getattr(error, "original", error))
        return  # an autocomplete cannot carry a message; Discord shows no choices
    if message is None:
        original = getattr(error, "original", error)
        name = interaction.command.qualified_name if interaction.command else "component"
        log.error("unhandled error in %s", name, exc_info=original)
        message = GENERIC
    await reply_ephemeral(interaction, message)


class EarmarkTree(app_commands.CommandTree):
    """Accepts interactions only from the configured guilds; answers errors ephemerally."""

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        require_home_guild(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        await report_error(interaction, error)
