"""The admin channel (`/setup channel`): finding it, and telling the admins something.

Every post to admins goes through here, so a missing, deleted or unreachable
channel is handled one way: logged, never raised into the caller's work.
"""

from __future__ import annotations

import logging

import discord

from bot.app import EarmarkBot
from bot.limits import fit_content
from bot.render import NO_PINGS
from core.config_store import ADMIN_CHANNEL

log = logging.getLogger(__name__)


async def admin_channel(bot: EarmarkBot) -> discord.abc.Messageable | None:
    """The configured admin channel, or None (not set, gone, or not a text channel)."""
    raw = await bot.runtime.store.get(ADMIN_CHANNEL)
    if not raw:
        return None
    try:
        channel_id = int(raw)
        channel = bot.get_channel(channel_id) or await bot.fetch_channel(channel_id)
    except (ValueError, discord.HTTPException) as err:
        log.warning("the admin channel %s can't be reached: %s", raw, err)
        return None
    if not isinstance(channel, discord.abc.Messageable):
        log.warning("the admin channel %s cannot take messages", raw)
        return None
    return channel


async def tell_admins(bot: EarmarkBot, text: str) -> bool:
    """Post `text` in the admin channel; without one (or on failure) it goes to the log."""
    channel = await admin_channel(bot)
    if channel is not None:
        try:
            await channel.send(fit_content(text), allowed_mentions=NO_PINGS)
            return True
        except discord.HTTPException as err:
            log.warning("could not post in the admin channel: %s", err)
    log.warning("for the admins (no admin channel): %s", text)
    return False
