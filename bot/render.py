"""Safe text for Discord: book metadata and user-typed text are untrusted.

Two kinds of text, each cleaned of invisible and direction-changing
characters and collapsed to one line:

- `safe`: where Discord renders markdown and mentions (titles, descriptions,
  field values, content). Escaped *first*, then cut to the limit, so escaping
  can never push a text over Discord's limits (`**` doubles in length).
- `plain`: where Discord shows text as is (choice names, select labels,
  footers, modal titles). Only cut.

Choices and select options are made here too (`choice`, `option`): a value
that cannot fit is dropped, never shortened, because it names one book.
Messages are sent with `NO_PINGS` so nothing pings even if a mention slipped
through. Embeds get their final fit in `bot.limits`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable
from typing import TypeVar

import discord
from discord import app_commands

from bot.limits import (
    CHOICE_NAME,
    CHOICE_VALUE,
    CHOICES,
    MODAL_TITLE,
    OPTION_DESCRIPTION,
    OPTION_LABEL,
    OPTION_VALUE,
    ZWSP,
    cut,
)

log = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
ChoiceValue = TypeVar("ChoiceValue", str, int, float)

#: Invisible characters that hide text or flip its direction (RTL overrides, isolates,
#: zero-width spaces, BOM). ZWJ/ZWNJ stay: scripts and emoji need them.
INVISIBLE = frozenset(
    [
        0x061C, 0x180E, 0x200B, 0x200E, 0x200F, 0xFEFF,
        *range(0x202A, 0x202F), *range(0x2060, 0x2065), *range(0x2066, 0x206A),
    ]
)
#: Escaped wherever they stand: emphasis, code, strike, spoiler, masked links, escapes.
MARKDOWN = frozenset("\\*_~`|[]")
#: Markup only at the start of a line: headings, subtext, quotes, lists.
LINE_START = frozenset("#->+")
NUMBERED = re.compile(r"\d+\.(?=\s)")


def clean(text: str | None) -> str:
    """One line of visible text: whitespace collapsed, invisible and control characters gone."""
    if not text:
        return ""
    line = " ".join(str(text).split())  # newlines and tabs become spaces first
    kept = "".join(
        ch for ch in line if ord(ch) not in INVISIBLE and unicodedata.category(ch) != "Cc"
    )
    return " ".join(kept.split())


def escape(text: str) -> str:
    """Markdown and mentions escaped character by character, so `cut` can cut anywhere."""
    numbered = NUMBERED.match(text)
    list_dot = numbered.end() - 1 if numbered else -1  # "1. " starts a numbered list
    out = []
    for i, ch in enumerate(text):
        if ch in MARKDOWN or (i == 0 and ch in LINE_START) or i == list_dot:
            out.append("\\" + ch)
        elif ch in "@<":  # no @everyone, <@id>, <#id>, <t:..>, custom emoji or <url>
            out.append(ch + ZWSP)
        else:
            out.append(ch)
    return "".join(out)


def safe(text: str | None, limit: int = 256) -> str:
    """Untrusted text for markdown places: cleaned, escaped, then cut to `limit`."""
    return cut(escape(clean(text)), limit)


def plain(text: str | None, limit: int) -> str:
    """Untrusted text for plain places (choices, labels, footers): cleaned, cut to `limit`."""
    return cut(clean(text), limit)


def choice(name: str, value: ChoiceValue) -> app_commands.Choice[ChoiceValue] | None:
    """An autocomplete choice, or None when its value cannot fit."""
    if isinstance(value, str) and not 1 <= len(value) <= CHOICE_VALUE:
        log.info("dropping a choice whose value has %d characters", len(value))
        return None
    return app_commands.Choice(name=plain(name, CHOICE_NAME) or "?", value=value)


def choices(pairs: Iterable[tuple[str, ChoiceValue]]) -> list[app_commands.Choice[ChoiceValue]]:
    """At most 25 choices Discord accepts: one bad pair never drops the whole list."""
    out: list[app_commands.Choice[ChoiceValue]] = []
    for name, value in pairs:
        made = choice(name, value)
        if made is not None:
            out.append(made)
        if len(out) == CHOICES:
            break
    return out


def option(
    label: str, value: str, description: str | None = None
) -> discord.SelectOption | None:
    """A select option, or None when its value cannot fit."""
    if not 1 <= len(value) <= OPTION_VALUE:
        log.info("dropping a select option whose value has %d characters", len(value))
        return None
    return discord.SelectOption(
        label=plain(label, OPTION_LABEL) or "?",
        value=value,
        description=plain(description, OPTION_DESCRIPTION) or None,
    )


def modal_title(prefix: str, text: str | None) -> str:
    """`prefix` and as much of `text` as a modal title holds."""
    return plain(prefix + clean(text), MODAL_TITLE)
