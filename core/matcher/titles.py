"""Comparing two parsed titles: numbers, words, subtitles and series decorations.

``core.normalize.parse_title`` takes each title apart; this module decides
whether two such parts name the same book and how alike they are (0..100),
or says why not. The rules are listed in ``core.matcher``'s docstring.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from rapidfuzz import fuzz

from core.normalize import TitleParts, parse_title, tokens

log = logging.getLogger(__name__)

SERIES_TITLE = 95.0  # "Dungeon Crawler Carl 2" names "...: Dungeon Crawler Carl, Book 2"
SUBTITLE_TITLE = 90.0  # "Thrawn" is "Star Wars: Thrawn"
WORD_VARIANT = 80.0  # fuzz.ratio for two spellings of one word
MIN_VARIANT_LEN = 4

# Words that never decide whether two titles agree.
FILLER = frozenset({"the", "a", "an", "and"})
# Words too common to find candidates by.
LOOKUP_SKIP = FILLER | frozenset({"of", "to", "in", "on", "for", "with", "at", "by", "from"})


def same_word(a: str, b: str) -> bool:
    """One word, or two spellings of it ("colour"/"color"); numbers must be equal."""
    if a == b:
        return True
    if len(a) < MIN_VARIANT_LEN or len(b) < MIN_VARIANT_LEN or a[0].isdigit() or b[0].isdigit():
        return False
    return fuzz.ratio(a, b) >= WORD_VARIANT


def unmatched(a: Sequence[str], b: Sequence[str]) -> tuple[list[str], list[str]]:
    """Words of ``a`` without a counterpart in ``b``, and of ``b`` in ``a``."""
    rest = list(b)
    missing: list[str] = []
    for word in a:
        if word in rest:
            rest.remove(word)
            continue
        for i, other in enumerate(rest):
            if same_word(word, other):
                del rest[i]
                break
        else:
            missing.append(word)
    return (
        [w for w in missing if w not in FILLER],
        [w for w in rest if w not in FILLER],
    )


def same_words(a: Sequence[str], b: Sequence[str]) -> bool:
    """Every word of each side has a counterpart on the other."""
    missing_a, missing_b = unmatched(a, b)
    return bool(a) and bool(b) and not missing_a and not missing_b


def _word_list(words: list[str]) -> str:
    """The words worth showing in a reason ("children", not "children, of")."""
    shown = [w for w in words if w not in LOOKUP_SKIP] or words
    return ", ".join(shown)


def _volume_text(parts: TitleParts) -> str:
    return parts.volume or "none"


def _compare_numbers(q: TitleParts, c: TitleParts) -> str | None:
    """Why the numbers say these are different books, or None."""
    if q.volume and c.volume and q.volume != c.volume:
        return f"number differs ({q.volume} vs {c.volume})"
    for a, b in ((q, c), (c, q)):
        if a.volume_attached and b.volume is None and a.volume != "1":
            return f"number differs ({_volume_text(q)} vs {_volume_text(c)})"
    if sorted(q.numbers) != sorted(c.numbers):
        left = " ".join(q.numbers) or "none"
        right = " ".join(c.numbers) or "none"
        return f"number differs ({left} vs {right})"
    return None


def _compared_words(q: TitleParts, c: TitleParts) -> tuple[list[str], list[str]] | str:
    """The words that must agree, or why the subtitles already disagree."""
    qa, ca = list(q.core), list(c.core)
    if q.subtitle and c.subtitle:
        missing_q, missing_c = unmatched(q.subtitle, c.subtitle)
        if not missing_q and not missing_c:
            return qa + list(q.subtitle), ca + list(c.subtitle)
        one_inside = not missing_q or not missing_c
        if q.subtitle_descriptive and c.subtitle_descriptive and one_inside:
            return qa, ca
        return f"subtitle differs ({_word_list(missing_q + missing_c)})"
    if q.subtitle and not q.subtitle_descriptive and not (q.subtitle_given and not c.subtitle):
        qa += q.subtitle  # a given subtitle may be left out: "Grit" is "Grit: The Power of ..."
    if c.subtitle and not c.subtitle_descriptive:
        ca += c.subtitle
    return qa, ca


def compare_titles(q: TitleParts, c: TitleParts) -> tuple[float, str | None]:
    """Title score 0..100 and, when the titles name different books, why."""
    for a, b in ((q, c), (c, q)):
        # "Dungeon Crawler Carl 2" names "...: Dungeon Crawler Carl, Book 2".
        if (
            a.volume_attached
            and b.series
            and not b.volume_attached
            and a.volume == b.volume
            and same_words(a.core, b.series)
        ):
            return SERIES_TITLE, None
    if why := _compare_numbers(q, c):
        return 0.0, why
    compared = _compared_words(q, c)
    if isinstance(compared, str):
        return 0.0, compared
    qa, ca = compared
    missing_q, missing_c = unmatched(qa, ca)
    if not missing_q and not missing_c:
        if [w for w in qa if w not in FILLER] == [w for w in ca if w not in FILLER]:
            return 100.0, None
        return float(fuzz.token_sort_ratio(" ".join(qa), " ".join(ca))), None
    if "".join(qa) == "".join(ca):  # "Spider-Man" / "Spiderman"
        return 100.0, None
    for a, b in ((q, c), (c, q)):
        # "Thrawn" is "Star Wars: Thrawn"; a subtitle the catalog gave is no title.
        usable = b.subtitle and not a.subtitle and not b.subtitle_given
        if usable and same_words(a.core, b.subtitle):
            return SUBTITLE_TITLE, None
    return 0.0, f"extra words ({_word_list(missing_q + missing_c)})"


def query_title(
    title: str, subtitle: str | None = None, series: tuple[str, ...] = ()
) -> TitleParts:
    """A query's title parts, told by the catalog's subtitle and series what its colon means.

    The subtitle field is a subtitle (unless it is a series decoration such as
    "Mistborn, Book 2", which parsing sets aside); a part before the colon
    that names one of the book's series is the series, not the title
    ("Halo: The Fall of Reach" is "The Fall of Reach").
    """
    parts = parse_title(title)
    if subtitle and not parts.subtitle:
        combined = parse_title(f"{title}: {subtitle}")
        if combined.core == parts.core:
            parts = replace(combined, subtitle_given=bool(combined.subtitle))
    elif subtitle and same_words(parts.subtitle, tokens(subtitle)):
        parts = replace(parts, subtitle_given=True)
    for name in series:
        if parts.subtitle and not parts.volume_attached and same_words(parts.core, _words(name)):
            return subtitle_as_title(parts, series=parts.core)
    return parts


def subtitle_as_title(parts: TitleParts, series: tuple[str, ...] = ()) -> TitleParts:
    """The part after the colon is the title; the part before it a series name."""
    core = parts.subtitle
    return replace(
        parts,
        core=core,
        subtitle=(),
        subtitle_descriptive=False,
        subtitle_given=False,
        series=parts.series or series,
        numbers=tuple(w for w in core if w[0].isdigit()),
    )


def _words(name: str) -> tuple[str, ...]:
    """A series name's words as titles hold them ("The Expanse" -> "expanse")."""
    return parse_title(name).core


def fits_given(parts: TitleParts, given: TitleParts) -> bool:
    """``parts`` is the book ``given`` names: its words, with or without the given subtitle."""
    if not given.subtitle_given or not same_words(parts.core, given.core):
        return False
    return not parts.subtitle or same_words(parts.subtitle, given.subtitle)
