"""Safe text for Discord: book metadata is untrusted.

Everything built from catalog or Plex metadata goes through `safe`: markdown
escaped, mentions neutralised, length bounded. Messages are sent with
`NO_PINGS` so nothing can ping even if a mention slipped through.
"""

from __future__ import annotations

import discord

NO_PINGS = discord.AllowedMentions.none()
ZWSP = "\u200b"


def safe(text: str | None, limit: int = 256) -> str:
    """Escape markdown and mentions; cut to `limit` characters with an ellipsis."""
    if not text:
        return ""
    cleaned = " ".join(text.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    escaped = discord.utils.escape_markdown(discord.utils.escape_mentions(cleaned))
    return escaped.replace("<", f"<{ZWSP}")  # no <@id>, <#id>, <t:..> or custom emoji tags


def choice_name(text: str, limit: int = 100) -> str:
    """Autocomplete choice names are plain text (no markdown), 1-100 characters."""
    cleaned = " ".join(text.split()) or "?"
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
