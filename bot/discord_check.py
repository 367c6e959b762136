"""What `python -m bot check` can tell about the Discord side without connecting the bot.

A REST login with the bot token (no gateway) reads the application: whether
the token works, and whether "Public Bot" is on, which lets anyone add the bot
to their own server (Earmark leaves such servers, but the admin should close
the door). An empty `guild_ids` is reported too: the bot refuses to start.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

import aiohttp
import discord

from bot.config import Settings

log = logging.getLogger(__name__)

Level = Literal["ok", "warn", "fail"]


@dataclass(frozen=True, slots=True)
class CheckLine:
    level: Level
    what: str
    detail: str


async def discord_lines(settings: Settings) -> list[CheckLine]:
    """The Discord part of `check`: servers configured, token accepted, bot not public."""
    lines: list[CheckLine] = []
    guild_ids = settings.discord.guild_ids
    if guild_ids:
        lines.append(CheckLine("ok", "discord servers", ", ".join(map(str, guild_ids))))
    else:
        lines.append(CheckLine(
            "fail", "discord servers",
            "[discord] guild_ids is empty: the bot will not start (set your server's id)",
        ))
    if not settings.discord.token:
        lines.append(CheckLine("warn", "discord", "no bot token ([discord] token): not checked"))
        return lines
    http = discord.http.HTTPClient(asyncio.get_running_loop(), max_ratelimit_timeout=10.0)
    try:
        await http.static_login(settings.discord.token)
        app = await http.application_info()
    except discord.LoginFailure:
        refused = "Discord refused the bot token ([discord] token)"
        lines.append(CheckLine("fail", "discord", refused))
        return lines
    except (discord.HTTPException, aiohttp.ClientError, OSError) as err:
        lines.append(CheckLine("fail", "discord", f"cannot reach Discord ({type(err).__name__})"))
        return lines
    finally:
        await http.close()
    name = app.get("name", "?")
    lines.append(CheckLine("ok", "discord", f"token accepted (application {name})"))
    if app.get("bot_public"):
        lines.append(CheckLine(
            "warn", "discord public bot",
            "on: anyone can add the bot to their server; turn off 'Public Bot' in the "
            "Developer Portal (Bot page)",
        ))
    return lines
