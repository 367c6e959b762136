"""Text normalisation for matching audiobooks: titles and people (ASINs: ``core.asin``).

Plex titles and catalog titles describe the same book in different clothes:
edition tags in any bracket style, series decorations before or after the
title, leading articles moved to the end, curly quotes, diacritics, and
authors written "Last, First" or with initials run together. This module
takes the clothes off and keeps what identifies a book: the title words, its
numbers and, separately, the series position, so the matcher can compare
like with like. Pure functions, no I/O; results are cached because the same
titles and names are parsed again on every scan.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

from rapidfuzz import fuzz

log = logging.getLogger(__name__)

# --- folding ----------------------------------------------------------------------

# Letters NFKD does not decompose, and typographic punctuation with a plain twin.
_TRANSLATE = str.maketrans(
    {
        "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss",
        "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D", "þ": "th", "Þ": "Th",
        "ı": "i",
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "`": "'", "´": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-",
    }
)  # fmt: skip
_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def fold(text: str) -> str:
    """Lowercase, diacritic-free, straight-quoted text; punctuation is kept for parsing."""
    if text.isascii():  # most titles: nothing to decompose
        s = text.translate(_TRANSLATE).lower()  # "`" is ASCII too
    else:
        s = unicodedata.normalize("NFKD", text.translate(_TRANSLATE))
        s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    s = s.replace("&", " and ")
    if "," in s:
        s = _THOUSANDS.sub("", s)  # "20,000" is one number
    return " ".join(s.split())


def tokens(text: str) -> list[str]:
    """Words and numbers of ``text``; apostrophes vanish so "Carl's" is one word."""
    return [sys.intern(w) for w in _TOKEN.findall(fold(text).replace("'", ""))]


# --- numbers ----------------------------------------------------------------------

_WORD_NUMBERS = [
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
]  # fmt: skip
_NUMBER_WORDS = {word: str(i) for i, word in enumerate(_WORD_NUMBERS, start=1)}
_NUMBER_WORDS.update(
    {w: str(10 * i) for i, w in enumerate(
        ["thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], start=3)}
)  # fmt: skip
# "Twenty Thousand Leagues" is "20,000 Leagues".
_MULTIPLIERS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000}
# British and American spellings of one word, too short or too far apart for
# the fuzzy word test ("grey"/"gray" is 75); both sides are folded to one.
_SPELLINGS = {
    "grey": "gray", "greys": "grays", "colour": "color", "colours": "colors",
    "honour": "honor", "favour": "favor", "harbour": "harbor", "neighbour": "neighbor",
    "labour": "labor", "armour": "armor", "rumour": "rumor", "rumours": "rumors",
    "theatre": "theater", "centre": "center", "metre": "meter", "sceptre": "scepter",
    "fibre": "fiber", "defence": "defense", "offence": "offense", "licence": "license",
    "catalogue": "catalog", "jewellery": "jewelry", "mould": "mold", "plough": "plow",
    "pyjamas": "pajamas", "travelling": "traveling", "traveller": "traveler",
    "travellers": "travelers", "skilful": "skillful", "sombre": "somber", "spectre": "specter",
    "manoeuvre": "maneuver", "whisky": "whiskey", "programme": "program", "tyre": "tire",
}  # fmt: skip


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv")):
        while n >= value:
            out += letters
            n -= value
    return out + "i" * n


_ROMANS = {_roman(n): str(n) for n in range(1, 51)}
# "Richard the Third" is "Richard III": an ordinal after "the" ending a title.
_ORDINALS = {
    w: str(i) if len(_roman(i)) > 1 else _roman(i)  # "Henry V" keeps its "v"
    for i, w in enumerate(
        ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
         "tenth", "eleventh", "twelfth"], start=1)
}  # fmt: skip
# Markers whose number makes a different work ("Part II", "Vol. 2"), and those
# whose number is only a place in a series ("Book 2" of a titled book).
_ATTACHED_MARKERS = frozenset({"volume", "vol", "part", "pt", "episode", "ep"})
_POSITION_MARKERS = frozenset({"book", "bk", "books", "no", "number"})
_MARKERS = _ATTACHED_MARKERS | _POSITION_MARKERS
_N = r"(?:\d+(?:\.\d+)?|[ivxl]+|" + "|".join(_WORD_NUMBERS) + r")"
_MARK = r"(?:\b(?P<mark>book|bk|volume|vol|part|pt|episode|ep|no|number)\.?|(?P<hash>#))"


def _number(token: str) -> str | None:
    """Digits, number words and roman numerals as a canonical digit string."""
    if token[0].isdigit():
        if "." in token:
            return token.rstrip("0").rstrip(".") if token.count(".") == 1 else None
        return str(int(token))
    return _NUMBER_WORDS.get(token) or _ROMANS.get(token)


def _is_number(token: str) -> bool:
    return token[0].isdigit()


# --- titles -----------------------------------------------------------------------

_ARTICLES = frozenset({"the", "a", "an"})
_ABBREVIATIONS = {"mister": "mr", "doctor": "dr", "saint": "st", "versus": "vs"}
_EDITION_CORE = frozenset(
    {
        "unabridged", "abridged", "unabr", "dramatized", "dramatised", "dramatization",
        "dramatisation", "dramatizations", "dramatisations", "audiobook", "audiobooks",
        "multicast", "graphicaudio", "uncut", "edition", "version",
    }
)  # fmt: skip
_EDITION_PAIRS = frozenset(
    {
        ("full", "cast"), ("audible", "original"), ("audio", "drama"), ("radio", "drama"),
        ("original", "recording"), ("radio", "play"), ("bbc", "radio"), ("audio", "play"),
    }
)  # fmt: skip
_EDITION_WORDS = _EDITION_CORE | frozenset(
    {
        "full", "cast", "audible", "original", "audio", "drama", "radio", "bbc", "production",
        "recording", "adaptation", "a", "an", "the", "with", "performance", "play", "retail",
        "complete", "and", "dramatic", "reading", "presents", "studios", "sound", "effects",
        "music", "deluxe", "special", "anniversary", "expanded", "classic", "serial", "th",
        "st", "nd", "rd", "cd", "mp3", "m4b", "english", "american", "british", "us", "uk",
    }
)  # fmt: skip
_DESCRIPTIVE_WORDS = frozenset(
    {
        "novel", "novella", "novels", "memoir", "memoirs", "story", "stories", "history",
        "histories", "guide", "handbook", "biography", "autobiography", "thriller",
        "mystery", "romance", "introduction", "essays", "poems", "collection", "edition",
    }
)  # fmt: skip
# "How Not to Die", "Why We Sleep" after a colon explain; they do not name.
_DESCRIPTIVE_STARTS = frozenset({"a", "an", "how", "why"})
_DESCRIPTIVE_MIN_WORDS = 5  # content words; "Fellowship of the Ring" has two
_SMALL_WORDS = _ARTICLES | frozenset({"and", "of", "to", "in", "on", "for", "with", "at", "by"})

_BRACKET = re.compile(r"\s*[\(\[\{]([^\(\)\[\]\{\}]*)[\)\]\}]")
_STRAY_BRACKETS = re.compile(r"[\(\)\[\]\{\}]")
_YEAR = re.compile(r"^(?:1[5-9]|20)\d\d$")
# A strong separator splits title from subtitle or decoration; a comma only
# does so in front of a decoration. A hyphen needs a space before it, so
# "Catch-22" and "Full-Cast" stay whole.
_STRONG_SEP = re.compile(r"\s*:\s*|\s+-+\s*|\s*;\s*")
_ANY_SEP = re.compile(r"\s*:\s*|\s+-+\s*|\s*;\s*|\s*,\s*")
_TRAILING_EDITION = re.compile(
    r"\s+(?:unabridged|abridged|dramati[sz]ed(?:\s+adaptation)?|(?:an\s+)?audible\s+original)$"
)
# Series names must hold a letter: checked in code, since a letter class
# between two lazy groups makes these patterns quadratic.
_DEC_NAMED = re.compile(rf"^(?P<series>.+?)\s*[,:]?\s*{_MARK}\s*(?P<n>{_N})$")
_DEC_NUMBER = re.compile(rf"^{_MARK}\s*(?P<n>{_N})$")
_DEC_OF_SERIES = re.compile(
    rf"^(?P<mark>book|volume|vol|part)\s+(?P<n>{_N})\s+(?:in|of)\s+(?P<series>.+)$"
)
_DEC_SERIES_NOVEL = re.compile(r"^an?\s+(?P<series>.+?)\s+(?:novel|novella|thriller|mystery)$")
_DEC_BARE = re.compile(r"^(?P<series>.+?)\s*,?\s*(?P<n>\d+(?:\.\d+)?)$")
_PREFIX_NUMBER = re.compile(
    rf"^(?P<mark>book|bk|volume|vol|part|pt)\.?\s*(?P<n>{_N})\s*(?::|\.|\s-+)\s*(?P<rest>.+)$"
)
_PREFIX_NAMED = re.compile(
    rf"^(?P<series>[^:]+?)\s*,?\s*{_MARK}\s*(?P<n>{_N})\s*(?::|\s-+)\s*(?P<rest>.+)$"
)
_PREFIX_BARE = re.compile(r"^(?P<series>[^:]+?)\s+(?P<n>\d+(?:\.\d+)?)\s+-+\s+(?P<rest>.+)$")
# "Mistborn 2: The Well of Ascension": a small series position before a colon
# ("Fahrenheit 451: ..." keeps its number).
_PREFIX_COLON = re.compile(r"^(?P<series>[^:]+?)\s+(?P<n>\d{1,2}(?:\.\d+)?)\s*:\s*(?P<rest>.+)$")
_TRAILING_ARTICLE = re.compile(r"\s*,\s*(?:the|a|an)$")
# What any step that takes decorations off a title could act on (a superset): brackets,
# separators, "#", a trailing edition word, a trailing "Book 2" / "Vol. II", a leading
# "Book 1." Most titles have none, and skip those steps (a third of a library build).
_DECORATED = re.compile(
    r"[()\[\]{}:;,#-]|(?:abridged|dramati[sz]ed|adaptation|original)$"
    rf"|{_MARK}\s*{_N}$|^(?:book|bk|volume|vol|part|pt)\.?\s*{_N}\s*\."
)


@dataclass(frozen=True, slots=True)
class TitleParts:
    """What identifies a book in its title, with decorations set aside.

    ``volume`` is a series position or volume number. It is ``attached`` when
    it belongs to the title itself ("Dungeon Crawler Carl 2", "Vol. 2",
    "Part II"): such a title names a different work than the same words
    without the number. A detached number ("Book 2", "(Mistborn, Book 2)")
    only says where a titled book sits in its series.
    """

    core: tuple[str, ...]
    subtitle: tuple[str, ...] = ()
    subtitle_descriptive: bool = False
    series: tuple[str, ...] = ()
    volume: str | None = None
    volume_attached: bool = False
    numbers: tuple[str, ...] = ()
    # The subtitle is the catalog's own subtitle field: a listing of the same
    # words without it is this book ("Grit" is "Grit: The Power of ...").
    subtitle_given: bool = False

    @property
    def key(self) -> str:
        """The core words as one string."""
        return " ".join(self.core)


def _word_tokens(text: str) -> list[str]:
    # Interned: the same few thousand words recur in every title of a library.
    return [sys.intern(w) for w in _TOKEN.findall(text.replace("'", "").replace('"', " "))]


def _drop_article(words: list[str]) -> list[str]:
    if len(words) > 1 and words[0] in _ARTICLES:
        return words[1:]
    return words


def _is_edition(text: str) -> bool:
    words = _word_tokens(text)
    if not words or any(w in _MARKERS for w in words):
        return False
    if not all(w in _EDITION_WORDS or _is_number(w) for w in words):
        return False
    if any(w in _EDITION_CORE for w in words):
        return True
    return any(pair in _EDITION_PAIRS for pair in pairwise(words))


def _is_descriptive(words: list[str]) -> bool:
    """A subtitle that describes the book rather than names it ("A Memoir")."""
    if not words:
        return True
    if words[0] in _DESCRIPTIVE_STARTS:
        return True
    if any(w in _DESCRIPTIVE_WORDS for w in words):
        return True
    return sum(w not in _SMALL_WORDS for w in words) >= _DESCRIPTIVE_MIN_WORDS


def _series_words(text: str) -> tuple[str, ...]:
    words = [w for w in _word_tokens(text) if w != "series"]
    return tuple(_drop_article(words))


@dataclass(slots=True)
class _Decor:
    """Series facts collected while a title is taken apart."""

    series: tuple[str, ...] = ()
    volume: str | None = None
    attached: bool | None = None  # None: decide by comparing series and core

    def set(self, series: tuple[str, ...], n: str | None, attached: bool | None) -> None:
        if series and not self.series:
            self.series = series
        if n is not None and self.volume is None:
            self.volume = _number(n)
            self.attached = attached


def _marker_attached(match: re.Match[str]) -> bool:
    mark = match.groupdict().get("mark")
    return mark in _ATTACHED_MARKERS


def _decoration(text: str, decor: _Decor, *, bracketed: bool) -> bool:
    """Record ``text`` if it is a series decoration; True when it was one."""
    if m := _DEC_OF_SERIES.match(text):
        decor.set(_series_words(m["series"]), m["n"], None)
        return True
    if m := _DEC_NUMBER.match(text):
        decor.set((), m["n"], False if bracketed else _marker_attached(m))
        return True
    if (m := _DEC_NAMED.match(text)) and _has_letter(m["series"]):
        decor.set(_series_words(m["series"]), m["n"], None)
        return True
    if m := _DEC_SERIES_NOVEL.match(text):
        decor.set(_series_words(m["series"]), None, None)
        return True
    if bracketed and (m := _DEC_BARE.match(text)) and _has_letter(m["series"]):
        decor.set(_series_words(m["series"]), m["n"], None)
        return True
    return False


def _strip_brackets(s: str, decor: _Decor) -> str:
    def replace(m: re.Match[str]) -> str:
        content = m.group(1).strip(" ,:;-")
        if not content or _is_edition(content) or _YEAR.match(content):
            return ""
        if not _decoration(content, decor, bracketed=True):
            words = _word_tokens(content)
            if not _is_descriptive(words) and not decor.series:
                decor.series = tuple(_drop_article(words))
        return ""

    while True:
        stripped = _BRACKET.sub(replace, s)
        if stripped == s:
            break
        s = stripped
    return " ".join(_STRAY_BRACKETS.sub(" ", s).split())


def _last_split(s: str, sep: re.Pattern[str]) -> tuple[str, str] | None:
    last = None
    for last in sep.finditer(s):  # noqa: B007 - we want the last one
        pass
    if last is None or last.start() == 0 or last.end() == len(s):
        return None
    return s[: last.start()], s[last.end() :]


def _strip_trailing_editions(s: str) -> str:
    while True:
        split = _last_split(s, _ANY_SEP)
        if split and _is_edition(split[1]):
            s = split[0]
            continue
        stripped = _TRAILING_EDITION.sub("", s)
        if stripped != s and stripped.strip():
            s = stripped
            continue
        return s.strip(" ,:;-")


def _strip_tail_decoration(s: str, decor: _Decor) -> str:
    split = _last_split(s, _STRONG_SEP)
    if split and _decoration(split[1], decor, bracketed=False):
        return split[0]
    # No separator: "Title, Book 2", "Solo Leveling Vol. 2", "Mistborn #2".
    if (m := _DEC_NAMED.match(s)) and _has_letter(m["series"]) and decor.volume is None:
        decor.set((), m["n"], _marker_attached(m))
        return m["series"]
    return s


def _has_letter(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _only_description(text: str) -> bool:
    """ "A Novel", "A Memoir of ...": what follows "Fahrenheit 451 - " is no title."""
    words = [w for w in _word_tokens(text) if w not in _SMALL_WORDS]
    return not words or words[0] in _DESCRIPTIVE_WORDS


def _strip_prefix_decoration(s: str, decor: _Decor) -> str:
    if m := _PREFIX_NUMBER.match(s):
        decor.set((), m["n"], False)
        return m["rest"]
    if (m := _PREFIX_NAMED.match(s)) and _has_letter(m["series"]):
        decor.set(_series_words(m["series"]), m["n"], False)
        return m["rest"]
    m = _PREFIX_BARE.match(s) or _PREFIX_COLON.match(s)
    if m and _has_letter(m["series"]) and not _only_description(m["rest"]):
        decor.set(_series_words(m["series"]), m["n"], False)
        return m["rest"]
    return s


def _numbers_in(words: list[str]) -> list[str]:
    """Number words everywhere, roman numerals after a marker or at the end.

    Also one spelling for British/American pairs, "twenty thousand" as
    "20000", and a closing "the third" as "3" ("Richard the Third").
    """
    out = [_canonical_word(words, i) for i in range(len(words))]
    if len(out) >= 3 and out[-2] == "the" and out[-1] in _ORDINALS:
        out[-2:] = [_ORDINALS[out[-1]]]
    i = 1
    while i < len(out):
        factor = _MULTIPLIERS.get(out[i])
        if factor and out[i - 1].isdigit():
            out[i - 1 : i + 1] = [str(int(out[i - 1]) * factor)]
            continue
        i += 1
    return out


def _canonical_word(words: list[str], i: int) -> str:
    word = words[i]
    if word in _ABBREVIATIONS:
        return _ABBREVIATIONS[word]
    if word in _SPELLINGS:
        return _SPELLINGS[word]
    if _is_number(word):
        return _number(word) or word
    if word in _NUMBER_WORDS:
        return _NUMBER_WORDS[word]
    if word in _ROMANS:
        after_marker = i > 0 and words[i - 1] in _MARKERS
        trailing = i == len(words) - 1 and i > 0 and len(word) >= 2
        if after_marker or trailing:
            return _ROMANS[word]
    return word


def _take_volume(words: list[str], decor: _Decor) -> list[str]:
    """A trailing "vol 2" / "part ii" / bare number belongs to the title."""
    if len(words) >= 3 and words[-2] in _MARKERS and _is_number(words[-1]):
        decor.set((), words[-1], words[-2] in _ATTACHED_MARKERS)
        return words[:-2]
    bare = len(words) >= 2 and _is_number(words[-1]) and not _is_number(words[-2])
    if bare and decor.volume is None:
        decor.set((), words[-1], True)
        return words[:-1]
    return words


def _undecorated(s: str, decor: _Decor) -> tuple[str, str]:
    """The folded title's main part and subtitle, its decorations recorded in ``decor``."""
    s = _strip_brackets(s, decor)
    s = _strip_trailing_editions(s)
    s = _strip_tail_decoration(s, decor)
    s = _strip_trailing_editions(s)
    s = _strip_prefix_decoration(s, decor)
    main, subtitle = s, ""
    if (first := _STRONG_SEP.search(s)) and first.start() > 0 and first.end() < len(s):
        main, subtitle = s[: first.start()], s[first.end() :]
    return _TRAILING_ARTICLE.sub("", main), subtitle


@lru_cache(maxsize=100_000)
def parse_title(title: str) -> TitleParts:
    """Take a book title apart into core words, subtitle and series facts."""
    decor = _Decor()
    s = fold(title)
    main, subtitle = _undecorated(s, decor) if _DECORATED.search(s) else (s, "")

    core = _take_volume(_numbers_in(_drop_article(_word_tokens(main))), decor)
    sub = _numbers_in(_drop_article(_word_tokens(subtitle)))
    if not core and sub:
        core, sub = sub, []
    if not core and decor.series:
        core = list(decor.series)
        decor.attached = True if decor.volume else None
    if not core and decor.volume is None:
        core = _word_tokens(s)

    attached = decor.attached
    if attached is None:
        attached = bool(decor.volume) and tuple(core) == decor.series
    return TitleParts(
        core=tuple(core),
        subtitle=tuple(sub),
        subtitle_descriptive=_is_descriptive(_word_tokens(subtitle)) if sub else False,
        series=decor.series,
        volume=decor.volume,
        volume_attached=bool(decor.volume) and attached,
        numbers=tuple(w for w in core if _is_number(w)),
    )


# --- people -----------------------------------------------------------------------

_PERSON_SPLIT = re.compile(r"\s*(?:;|/|\||&|\band\b|\bwith\b|\n)\s*")
_PERSON_DROP = frozenset(
    {
        "jr", "sr", "phd", "md", "dr", "prof", "professor", "mr", "mrs", "ms", "sir", "dame",
        "esq", "ii", "iii", "iv", "editor", "editors", "ed", "eds", "translator", "translated",
        "trans", "edited", "by", "foreword", "introduction", "afterword", "contributor",
        "contributors", "narrator", "narrated", "illustrator", "adapted", "adaptation",
    }
)  # fmt: skip
_PLACEHOLDERS = frozenset(
    {
        "", "unknown", "unknown author", "unknown artist", "various", "various authors",
        "various artists", "n a", "na", "none", "anonymous author", "audiobook", "audiobooks",
        "audio book", "audio books", "unknown narrator", "various narrators", "narrator",
        "author", "artist", "no artist", "unknown album artist", "va",
    }
)  # fmt: skip
# A credit with one of these words is a publisher or a label, never an author
# ("Tantor Audio", "Blackstone Audio", "Audible Studios", "Naxos AudioBooks").
_PUBLISHER_WORDS = frozenset(
    {
        "audio", "audiobooks", "audiobook", "studios", "studio", "publishing", "publishers",
        "publisher", "media", "press", "records", "recordings", "productions", "entertainment",
        "inc", "llc", "ltd", "audible", "librivox", "tantor", "blackstone", "brilliance",
        "podium", "dreamscape", "highbridge", "graphicaudio", "books",
    }
)  # fmt: skip
# One writer under several transliterations that no fuzzy test joins.
_NAME_ALIASES = {
    "lao tzu": "laozi", "lao tse": "laozi", "lao zi": "laozi", "sun tzu": "sunzi",
    "sun zi": "sunzi", "kong zi": "confucius", "kongzi": "confucius", "chuang tzu": "zhuangzi",
    "zhuang zi": "zhuangzi", "mencius": "mengzi", "meng tzu": "mengzi",
}  # fmt: skip
_VOWELS = frozenset("aeiouy")
# Family names this close are one name spelled two ways ("Dostoevsky"/"Dostoyevsky").
_SAME_FAMILY_NAME = 90
# Family names this far apart are two families, whatever the given names share.
_OTHER_FAMILY_NAME = 75
_OTHER_PERSON = 60.0


@dataclass(frozen=True, slots=True)
class Person:
    """One name, in "given ... family" order with initials run together."""

    key: str
    last: str
    initials: tuple[str, ...]  # first letters of the given names, in order


def _person(words: list[str]) -> Person | None:
    words = [w for w in words if w not in _PERSON_DROP and not _is_number(w)]
    if not words:
        return None
    alias = _NAME_ALIASES.get(" ".join(words))
    if alias:
        words = [alias]
    given, last = words[:-1], words[-1]
    initials: list[str] = []
    for word in given:
        if len(word) <= 3 and not (set(word) & _VOWELS):
            initials.extend(word)  # "j", or "jrr" run together
        else:
            initials.append(word[0])
    key = " ".join([*_join_initials(given), last])
    return Person(key=key, last=last, initials=tuple(initials))


def _join_initials(given: list[str]) -> list[str]:
    out: list[str] = []
    run = ""
    for word in given:
        if len(word) == 1:
            run += word
            continue
        if run:
            out.append(run)
            run = ""
        out.append(word)
    if run:
        out.append(run)
    return out


def _chunk_people(chunk: str) -> list[list[str]]:
    """One "&"-free piece: a name, "Last, First", or a comma list of names."""
    parts = [_word_tokens(p) for p in chunk.split(",")]
    parts = [p for p in parts if p and not all(w in _PERSON_DROP for w in p)]
    if len(parts) <= 1:
        return parts
    readings = list(parts)
    if len(parts) == 2 and len(parts[0]) <= 3 and len(parts[1]) <= 3:
        readings.append(parts[1] + parts[0])  # "Tolkien, J.R.R."
    elif len(parts) % 2 == 0 and all(len(p) == 1 for p in parts):
        for i in range(0, len(parts), 2):  # "King, Stephen, Straub, Peter"
            readings.append(parts[i + 1] + parts[i])
    return readings


@lru_cache(maxsize=50_000)
def parse_people(text: str | None) -> tuple[Person, ...]:
    """Every person a credit line may name; () for none or a placeholder.

    An ambiguous comma ("Homer, Emily Wilson") yields every reading, because
    the matcher takes the best pair and an extra reading costs nothing.
    """
    if not text:
        return ()
    folded = _BRACKET.sub(" ", fold(text))
    words = _word_tokens(folded)
    if " ".join(words) in _PLACEHOLDERS or any(
        w in _PUBLISHER_WORDS or w.endswith("audio") for w in words
    ):
        return ()
    people: dict[str, Person] = {}
    for chunk in _PERSON_SPLIT.split(folded):
        for words in _chunk_people(chunk):
            person = _person(words)
            if person and person.key not in people:
                people[person.key] = person
    return tuple(people.values())


def _initials_agree(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _shares_family(a: Person, b: Person) -> bool:
    """One's family name among the other's words: "Liu Cixin" / "Cixin Liu"."""
    return a.last in b.key.split() or b.last in a.key.split()


def person_similarity(a: Person, b: Person) -> float:
    """0..100: how surely two names are the same person.

    Fuzzy on the whole name (transliterations), then family name plus
    initials: a bare family name ("Preston") is a strong hint; the same
    family name with other initials ("Owen King"), or a shared given name
    with another family name, is another person.
    """
    if a.key == b.key:
        return 100.0
    score = fuzz.token_sort_ratio(a.key, b.key)
    family = fuzz.ratio(a.last, b.last)
    if family >= _SAME_FAMILY_NAME:
        if not a.initials or not b.initials:
            score = max(score, 90.0)
        elif _initials_agree(a.initials, b.initials):
            score = max(score, 95.0)
        else:
            score = min(score, _OTHER_PERSON)
    elif family < _OTHER_FAMILY_NAME and not _shares_family(a, b):
        score = min(score, _OTHER_PERSON)  # "Christina Watkins" is not "Christina Perkins"
    return float(score)
