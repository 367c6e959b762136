"""The `/login` flow, shared by the command and the "Link your Plex account" buttons.

A private module (no extension loads it): `cogs.login` runs `start_login`
for `/login`, and a member refused for want of a link (e.g. `/request`)
gets `LinkButtonView`, whose button runs the very same code, so there is
one login flow whichever way it starts. Nothing here sees a token;
usernames from plex.tv are untrusted text and go through `safe`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import discord

from bot.app import bot_of
from bot.limits import fit_embed
from bot.render import NO_PINGS, safe
from bot.tree import report_error
from core.errors import NotLinked
from core.login import LoginAttempt, LoginOutcome, LoginResult
from core.models import User
from core.users import require_linked

log = logging.getLogger(__name__)

#: An interaction token lives 15 minutes; stop a little before so the edit still lands.
MAX_WAIT = 14 * 60
LINK_LABEL = "Link your Plex account"
LINK_VIEW_TIMEOUT = 600.0
NOT_LINKED = (
    "🔒 Link your Plex account first: press the button (or run `/login`), sign in to Plex, "
    "then run `/{command}` again."
)


PLEX_ORANGE = discord.Colour.from_rgb(229, 160, 13)
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


async def start_login(interaction: discord.Interaction) -> None:
    """Begin a Plex PIN login for the user of `interaction` and watch it to its end.

    Works for a slash command and for a button alike: the deferred reply is a
    new ephemeral message either way, edited with the sign-in link and then
    with the outcome.
    """
    service = bot_of(interaction).runtime.login
    max_wait = service.max_wait or MAX_WAIT
    user_id = interaction.user.id
    # plex.tv may take a while to hand out a PIN; Discord wants an answer in 3 s
    await interaction.response.defer(ephemeral=True, thinking=True)
    attempt = await service.begin(user_id)  # UserError when Plex isn't set up
    current = await User.get_or_none(discord_id=user_id)
    linked_as = current.plex_username if current and current.is_linked else None
    minutes = _minutes_left(attempt, max_wait)
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

    service.watch(attempt, report)


class _LinkButton(discord.ui.Button["LinkButtonView"]):
    async def callback(self, interaction: discord.Interaction) -> None:
        await start_login(interaction)


class LinkButtonView(discord.ui.View):
    """One button that starts `/login`'s flow, for a refusal that needs a linked account."""

    def __init__(self) -> None:
        super().__init__(timeout=LINK_VIEW_TIMEOUT)
        self.add_item(_LinkButton(label=LINK_LABEL, style=discord.ButtonStyle.primary, emoji="🔗"))

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any], /
    ) -> None:
        await report_error(interaction, error)


async def refused_unlinked(interaction: discord.Interaction, command: str) -> bool:
    """Answer an unlinked user with the link button and return True; False when linked.

    Commands call it first, before any Plex or catalog call; the services
    check again, so this only decides what the refusal looks like.
    """
    try:
        await require_linked(interaction.user.id)
    except NotLinked:
        await interaction.response.send_message(
            NOT_LINKED.format(command=command), view=LinkButtonView(), ephemeral=True,
            allowed_mentions=NO_PINGS,
        )
        return True
    return False
