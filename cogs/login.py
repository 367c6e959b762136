"""`/login` and `/logout`: link a Discord member to their Plex account by PIN.

Thin over `core.login.LoginService`: `/login` shows an ephemeral embed with a
link button to the Plex auth page, the service polls the PIN in the
background, and the reply is edited with the outcome. The flow itself lives
in `cogs._login_flow`, so the "Link your Plex account" button of a refusal
runs the same code.
"""

from __future__ import annotations

import logging

from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.render import NO_PINGS
from cogs._login_flow import MAX_WAIT, start_login
from core.login import LoginService
from core.users import unlink

log = logging.getLogger(__name__)

LOGOUT_REASON = "This login was cancelled by `/logout`."


class LoginCog(commands.Cog, name="Login"):
    """Plex PIN login; one background poll per member (a new `/login` replaces it)."""

    poll_interval: float = 2.0  # seconds between PIN checks (tests set this small)
    max_wait: float = MAX_WAIT

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        # The runtime's service; the PIN polls end with the interaction's lifetime.
        self.service: LoginService = bot.runtime.login
        self.service.poll_interval = self.poll_interval
        self.service.max_wait = self.max_wait

    async def cog_unload(self) -> None:
        await self.service.aclose()

    @app_commands.command(name="login", description="Link your Plex account to Earmark")
    @app_commands.guild_only()
    async def login(self, interaction: Interaction) -> None:
        await start_login(interaction)

    @app_commands.command(name="logout", description="Make Earmark forget your Plex account")
    @app_commands.guild_only()
    async def logout(self, interaction: Interaction) -> None:
        user_id = interaction.user.id
        cancelled = self.service.cancel(user_id, LOGOUT_REASON)
        if await unlink(user_id):
            log.info("discord user %s unlinked their plex account", user_id)
            text = "Your Plex account is no longer linked; Earmark forgot its token."
        elif cancelled:
            text = "You were not linked to Plex. Your pending `/login` was cancelled."
        else:
            text = "You were not linked to Plex, so there was nothing to forget."
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(LoginCog(bot))
