"""What kind of work a title names, when it is not the book itself.

A summary, a study guide, a graphic-novel adaptation, an omnibus or box set
and a companion ("The World of ...", "The Art of ...") share the book's
words, often its subtitle slot, and sometimes its author: the title rules
alone would take "Coraline: The Graphic Novel" for "Coraline". The matcher
asks here and rejects a pair whose kinds differ, in either direction (the
omnibus is not its first volume, the volume is not the omnibus).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

log = logging.getLogger(__name__)

_KINDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("summary", re.compile(
        r"\b(?:summary|summaries|summarized|key takeaways|cliffs ?notes|spark ?notes|"
        r"book notes|analysis|analyses|discussion guide|reader'?s guide|study guide|"
        r"teaching guide|quicklet|workbook)\b")),
    ("graphic novel", re.compile(
        r"\b(?:graphic novel|graphic adaptation|comic adaptation|manga)\b")),
    ("omnibus", re.compile(
        r"\b(?:omnibus|box(?:ed)? set|boxset|complete series|complete trilogy|"
        r"trilogy box|books? \d+\s*(?:-|to|and|&|thru|through)\s*\d+|"
        r"vol(?:ume)?s?\.? \d+\s*(?:-|to)\s*\d+|\d+[- ]book (?:set|bundle|series))\b")),
    ("companion", re.compile(
        r"\b(?:companion|the world of|the art of|the making of|the science of|"
        r"the unofficial|unofficial guide|encyclopedia|behind the scenes|"
        r"illustrated guide|cookbook)\b")),
)  # fmt: skip


_ANY = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in _KINDS))
# Words that series names use too ("The Hollows Collection, Book 2"): they
# count only in the title itself, never in a series decoration.
_TITLE_ONLY = re.compile(r"\b(?:collection|collected|anthology|the complete)\b")


@lru_cache(maxsize=100_000)
def kinds(title: str, words: tuple[str, ...] = ()) -> frozenset[str]:
    """The kinds of derivative work ``title`` names ("summary", "omnibus", ...); empty for a book.

    ``words`` are the title's own words (core and subtitle, decorations aside).
    """
    text = title.lower().replace("\u2019", "'")
    found = set()
    if _ANY.search(text):
        found = {name for name, pattern in _KINDS if pattern.search(text)}
    if _TITLE_ONLY.search(" ".join(words)):
        found.add("omnibus")
    return frozenset(found)
