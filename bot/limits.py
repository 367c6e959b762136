"""Discord's size limits, in one place, and the functions that keep every message inside them.

Discord refuses a whole message (400 Invalid Form Body) when one part is a
character too long, and drops a whole autocomplete list for one bad choice.
So every embed goes through `fit_embed` / `fit_embeds` after it is built
(and every choice, select option and modal title through `bot.render`,
which cuts with the same `cut`): a builder may forget a limit, these
cannot. Lengths count code points, as Discord does.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from typing import Any

import discord

log = logging.getLogger(__name__)

TITLE = 256
DESCRIPTION = 4096
FIELD_NAME = 256
FIELD_VALUE = 1024
FIELDS = 25
FOOTER = 2048
AUTHOR_NAME = 256
EMBEDS = 10
EMBED_TOTAL = 6000  # title, description, field names and values, footer, author: all embeds
CONTENT = 2000
CHOICE_NAME = 100
CHOICE_VALUE = 100
CHOICES = 25
OPTION_LABEL = 100
OPTION_VALUE = 100
OPTION_DESCRIPTION = 100
OPTIONS = 25
MODAL_TITLE = 45

ELLIPSIS = "…"
ZWSP = "\u200b"  # follows '@' and '<' in escaped text: the pair must not be split
EMPTY_FIELD = ZWSP  # Discord requires a visible-or-not, non-blank field name and value
MIN_SHRUNK = 40  # a text shrunk for the 6000 budget keeps at least this much when it can


def cut(text: str, limit: int) -> str:
    """`text` within `limit` characters, ending in an ellipsis when shortened.

    Cuts never split an escape: no dangling backslash (which would escape the
    ellipsis or the markup that follows) and no `@`/`<` without the zero-width
    space that defuses it. A multi-line text loses whole lines when it can.
    """
    if len(text) <= limit:
        return text
    if limit < 1:
        return ""
    keep = text[: limit - 1]
    if text[limit - 1] == ZWSP:  # '@' or '<' kept, its defusing space cut off
        keep = keep[:-1]
    newline = keep.rfind("\n")
    if newline >= len(keep) // 2:
        return _no_dangling(keep[:newline]) + "\n" + ELLIPSIS
    return _no_dangling(keep) + ELLIPSIS


def _no_dangling(text: str) -> str:
    """Drop trailing spaces and a lone trailing backslash (an escape whose character was cut)."""
    while True:
        text = text.rstrip()
        backslashes = len(text) - len(text.rstrip("\\"))
        if backslashes % 2 == 0:
            return text
        text = text[:-1]


# ----- embeds ----------------------------------------------------------------------------


def fit_embed(embed: discord.Embed) -> discord.Embed:
    """`embed` within every per-embed limit and the 6000 total; call it last."""
    return fit_embeds([embed])[0]


def fit_embeds(embeds: Iterable[discord.Embed]) -> list[discord.Embed]:
    """The embeds of one message: at most 10, each within its limits, 6000 in total."""
    dicts: list[dict[str, Any]] = [copy.deepcopy(dict(e.to_dict())) for e in embeds][:EMBEDS]
    for data in dicts:
        _fit_parts(data)
    _fit_total(dicts)
    return [discord.Embed.from_dict(data) for data in dicts]


def _fit_parts(data: dict[str, Any]) -> None:
    if "title" in data:
        data["title"] = cut(str(data["title"]), TITLE)
    if "description" in data:
        data["description"] = cut(str(data["description"]), DESCRIPTION)
    for key, name, limit in (("footer", "text", FOOTER), ("author", "name", AUTHOR_NAME)):
        part = data.get(key)
        if isinstance(part, dict) and part.get(name):
            part[name] = cut(str(part[name]), limit)
    fields = data.get("fields") or []
    if len(fields) > FIELDS:
        log.debug("embed had %d fields; keeping %d", len(fields), FIELDS)
    for fld in fields[:FIELDS]:
        fld["name"] = cut(str(fld.get("name") or ""), FIELD_NAME).strip() or EMPTY_FIELD
        fld["value"] = cut(str(fld.get("value") or ""), FIELD_VALUE).strip() or EMPTY_FIELD
    if fields:
        data["fields"] = fields[:FIELDS]


def _slots(dicts: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str]]:
    """Every counted text as (container, key): what Discord adds up to the 6000."""
    slots: list[tuple[dict[str, Any], str]] = []
    for data in dicts:
        if data.get("title"):
            slots.append((data, "title"))
        if data.get("description"):
            slots.append((data, "description"))
        for fld in data.get("fields") or []:
            slots.extend([(fld, "name"), (fld, "value")])
        if isinstance(data.get("footer"), dict) and data["footer"].get("text"):
            slots.append((data["footer"], "text"))
        if isinstance(data.get("author"), dict) and data["author"].get("name"):
            slots.append((data["author"], "name"))
    return slots


def embed_total(dicts: list[dict[str, Any]]) -> int:
    return sum(len(str(box[key])) for box, key in _slots(dicts))


def _fit_total(dicts: list[dict[str, Any]]) -> None:
    """Shrink the longest texts first until the message is within 6000; then drop fields."""
    while (over := embed_total(dicts) - EMBED_TOTAL) > 0:
        box, key = max(_slots(dicts), key=lambda slot: len(str(slot[0][slot[1]])))
        text = str(box[key])
        if len(text) <= MIN_SHRUNK:
            break
        box[key] = cut(text, max(MIN_SHRUNK, len(text) - over)) or EMPTY_FIELD
    for data in reversed(dicts):  # many small fields: drop them from the end
        fields = data.get("fields") or []
        while fields and embed_total(dicts) > EMBED_TOTAL:
            fields.pop()
    if embed_total(dicts) > EMBED_TOTAL:  # tiny texts in quantity: only shortening is left
        for box, key in _slots(dicts):
            box[key] = cut(str(box[key]), 1) or ELLIPSIS


def fit_content(text: str) -> str:
    """Message content within 2000 characters."""
    return cut(text, CONTENT)
