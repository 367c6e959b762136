"""`/login` and `/logout`: link a Discord member to their Plex account by PIN.

Thin over `core.login.LoginService`: `/login` shows an ephemeral embed with a
link button to the Plex auth page, the service polls the PIN in the
background, and the reply is edited with the outcome. Nothing here sees a
token; usernames from plex.tv are untrusted text and go through `safe`.
"""

from __future__ import annotations

import logging
import math

import discord
from discord import app_commands
from discord.ext import commands

from bot.app import EarmarkBot, Interaction
from bot.limits import fit_embed
from bot.render import NO_PINGS, safe
from core.login import LoginAttempt, LoginOutcome, LoginResult, LoginService
from core.models import User
from core.users import unlink

log = logging.getLogger(__name__)

PLEX_ORANGE = discord.Colour.from_rgb(229, 160, 13)
LOGOUT_REASON = "This login was cancelled by `/logout`."


def _minutes_left(attempt: LoginAttempt, max_wait: float) -> int:
    """How long the link stays useful: the PIN's life, capped by the interaction's."""
    seconds = max_wait
    if attempt.expires_at is not None:
        left = (attempt.expires_at - discord.utils.utcnow()).total_seconds()
        seconds = min(seconds, left)
    return max(1, math.floor(seconds / 60))


def prompt_embed(attempt: LoginAttempt, minutes: int, linked_as: str | None) -> discord.Embed:
    """The first reply: what to do on the Plex page, and that the message updates itself."""
    lines = [
        "1. Press **Sign in with Plex** and sign in to your Plex account.",
        "2. Approve **Earmark** on that page.",
        "",
        f"This message updates by itself once you're done. The link works for about "
        f"{minutes} minute{'s' if minutes != 1 else ''}.",
    ]
    if linked_as:
        lines.append(f"You are linked as **{safe(linked_as, 64)}**; a new login replaces that.")
    return fit_embed(discord.Embed(
        title="Link your Plex account", description="\n".join(lines), colour=PLEX_ORANGE
    ))


def outcome_embed(result: LoginResult) -> discord.Embed:
    """The edited reply for each way a login ends."""
    name = safe(result.username, 64) if result.username else ""
    outcome = result.outcome
    if outcome is LoginOutcome.LINKED:
        return discord.Embed(
            title="Plex account linked",
            description=f"✅ Linked as **{name}**. You can now use `/request`.",
            colour=discord.Colour.green(),
        )
    if outcome is LoginOutcome.NO_ACCESS:
        return discord.Embed(
            title="Not linked",
            description=(
                f"⛔ The Plex account **{name}** has no access to this Plex server, so it "
                "was not linked. Ask the server owner to share the library with you, then "
                "run `/login` again."
            ),
            colour=discord.Colour.red(),
        )
    if outcome is LoginOutcome.EXPIRED:
        return discord.Embed(
            title="Login expired",
            description="⌛ The Plex login link expired before it was approved. "
            "Run `/login` again.",
            colour=discord.Colour.dark_grey(),
        )
    if outcome is LoginOutcome.CANCELLED:
        return discord.Embed(
            title="Login cancelled",
            description=result.message or "This login was cancelled.",
            colour=discord.Colour.dark_grey(),
        )
    return discord.Embed(  # NOT_CONFIGURED, ERROR: the service wrote the sentence
        title="Not linked",
        description=result.message or "Linking your Plex account failed. Try `/login` again.",
        colour=discord.Colour.red(),
    )


class SignInView(discord.ui.View):
    """Just the link button; link buttons need no callback and never expire."""

    def __init__(self, url: str) -> None:
        super().__init__(timeout=None)
        self.add_item(
            discord.ui.Button(style=discord.ButtonStyle.link, label="Sign in with Plex", url=url)
        )


class LoginCog(commands.Cog, name="Login"):
    """Plex PIN login; one background poll per member (a new `/login` replaces it)."""

    poll_interval: float = 2.0  # seconds between PIN checks (tests set this small)
    # An interaction token lives 15 minutes; stop a little before so the edit still lands.
    max_wait: float = 14 * 60

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
        user_id = interaction.user.id
        # plex.tv may take a while to hand out a PIN; Discord wants an answer in 3 s
        await interaction.response.defer(ephemeral=True, thinking=True)
        attempt = await self.service.begin(user_id)  # UserError when Plex isn't set up
        current = await User.get_or_none(discord_id=user_id)
        linked_as = current.plex_username if current and current.is_linked else None
        minutes = _minutes_left(attempt, self.max_wait)
        await interaction.edit_original_response(
            embed=prompt_embed(attempt, minutes, linked_as),
            view=SignInView(attempt.auth_url),
            allowed_mentions=NO_PINGS,
        )

        async def report(result: LoginResult) -> None:
            try:
                await interaction.edit_original_response(
                    embed=fit_embed(outcome_embed(result)), view=None,
                    allowed_mentions=NO_PINGS,
                )
            except discord.HTTPException as err:
                log.warning(
                    "could not show the login outcome (%s) to %s: %s",
                    result.outcome.value,
                    user_id,
                    err.status,
                )

        self.service.watch(attempt, report)

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
