"""Admin checks, enforced by the bot for every admin command, button and select.

Discord's default permissions only hide commands; a forged or stale
interaction still reaches the bot, so every admin entry point calls
`require_admin` (RoboDanny's hybrid check, STYLE.md habit 6).
"""

from __future__ import annotations

from collections.abc import Iterable

import discord
from discord import app_commands

from bot.runtime import Runtime


class NotAdmin(app_commands.CheckFailure):
    """The user is not an Earmark admin."""

    message = (
        "This is for Earmark admins only (the Manage Server permission or an admin role)."
    )


class WrongGuild(app_commands.CheckFailure):
    message = "Earmark is not set up for this server."


def is_admin(user: discord.abc.User | discord.Member, admin_role_ids: Iterable[int]) -> bool:
    """Manage Server in this guild, or one of the configured admin roles."""
    if not isinstance(user, discord.Member):
        return False
    if user.guild_permissions.manage_guild or user.guild_permissions.administrator:
        return True
    roles = set(admin_role_ids)
    return any(role.id in roles for role in user.roles)


def runtime_of(interaction: discord.Interaction) -> Runtime:
    """The runtime behind any interaction, typed.

    discord.py's UI callbacks are generic over the client, so views, modals and
    mixins receive a plain `discord.Interaction`; this is their typed way in.
    """
    runtime = getattr(interaction.client, "runtime", None)
    if not isinstance(runtime, Runtime):
        raise TypeError(f"{type(interaction.client).__name__} is not an Earmark bot")
    return runtime


def require_admin(interaction: discord.Interaction) -> None:
    """Raise NotAdmin unless the interaction's user is an admin."""
    settings = runtime_of(interaction).settings
    if not is_admin(interaction.user, settings.discord.admin_role_ids):
        raise NotAdmin(NotAdmin.message)


def in_home_guild(guild_id: int | None, guild_ids: Iterable[int]) -> bool:
    """The one guild rule: inside one of Earmark's own servers.

    No configured server means no server, never every server: the bot refuses
    to start without `[discord] guild_ids` (another server's admin could
    otherwise take it over).
    """
    return guild_id is not None and guild_id in set(guild_ids)


def require_home_guild(interaction: discord.Interaction) -> None:
    """Raise WrongGuild unless the interaction comes from one of Earmark's servers.

    The command tree applies it to every command, and buttons and modals
    (which skip the tree) apply it themselves.
    """
    if not in_home_guild(interaction.guild_id, runtime_of(interaction).settings.discord.guild_ids):
        raise WrongGuild(WrongGuild.message)


class AdminOnly:
    """Mixin for an admin command group (a GroupCog): the bot-side check for every subcommand.

    discord.py asks the cog's `interaction_check` before each of its app
    commands; Discord's default permissions only hide the group.
    """

    async def interaction_check(self, interaction: discord.Interaction, /) -> bool:
        require_admin(interaction)
        return True
