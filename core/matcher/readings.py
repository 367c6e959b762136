"""Readings: what a library album's title and artist fields may mean, before any matching.

Libraries without agent metadata name albums after folders and file tags:
"Jasper Fforde - The Eyre Affair", "Book 02 - Lost in a Good Book",
"The Eyre Affair [B0XXXXXXXX] (Disc 1) 64kbps", with "Unknown Artist" or a
publisher as the artist. Rather than widen the fuzzy thresholds, each album
is read into a few candidate (title, author, narrator, ASIN, part) readings,
in this order:

1. **as tagged**: the fields as they are (the only reading of a clean album);
2. **tags set aside**: bitrate/format tags, an ASIN, a disc or "part N of M"
   marker, a year segment, "{Narrator}" and "narrated by" credits removed;
   a leading "02 " or "Book 2 - " kept as the series position;
3. **author from the title**: "Author - Title", "Title - Author",
   "Title by Author", "Last, First - Title", when that part looks like a
   person's name and the artist names nobody (a placeholder, a publisher,
   only a narrator) or the same person;
4. **the other region's title** of any of these, from the small table of
   known retitlings (``core.matcher.retitlings``; added by the index, which
   has the parsed title words).

The matcher compares a query with every reading and keeps the best accepted
one (the earlier on a tie), with the same rules as for a clean album; a
reading of kind 3 or 4 counts only when the query's author agrees with it.
Pure string work, no I/O.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from core.asin import normalize_asin
from core.matcher.retitlings import other_titles
from core.normalize import fold, parse_people, person_similarity

log = logging.getLogger(__name__)

SAME_NAME = 90.0
TAGS_SET_ASIDE = "'Title' from the album title, tags set aside"
AUTHOR_TITLE = "'Author - Title' from the album title"
TITLE_AUTHOR = "'Title - Author' from the album title"
TITLE_BY_AUTHOR = "'Title by Author' from the album title"


@dataclass(frozen=True, slots=True)
class Reading:
    """One way to read an album: raw strings, parsed later by the matcher's rules.

    ``needs_author``: the author was cut out of the title, or the title comes
    from the table of retitlings, so the query's author must agree for this
    reading to count.
    """

    title: str
    author: str | None
    narrator: str | None = None
    asin: str | None = None
    part: str | None = None  # "1" for "(Disc 1)": one album of a book split in several
    label: str = ""  # "" for the album as tagged
    needs_author: bool = False


# --- tags and noise -------------------------------------------------------------------

_NOISE_WORDS = frozenset(
    {
        "unabridged", "abridged", "unabr", "audiobook", "audiobooks", "audio", "mp3", "m4b",
        "m4a", "aac", "flac", "ogg", "opus", "wma", "kbps", "kbit", "kb", "k", "khz", "vbr",
        "cbr", "mono", "stereo", "retail", "dramatized", "dramatised", "dramatization",
        "dramatisation", "full", "cast", "edition", "version", "eng", "english", "ebook",
        "narrated", "audible", "original", "hq", "lq", "s",
    }
)  # fmt: skip
_NOISE = re.compile(
    r"^[\s\W_]*(?:(?:"
    + "|".join(sorted(_NOISE_WORDS, key=len, reverse=True))
    + r"|\d+(?:\.\d+)?\s?(?:k|kbps|kbit|kb|khz)?)(?![^\W\d_])[\s\W_]*)+$",
    re.IGNORECASE,
)
_ASIN_IN_TITLE = re.compile(r"[\[\(]?\b(B0[A-Z0-9]{8})(?:_[A-Za-z]{2,3})?\b[\]\)]?", re.I)
_ISBN_IN_TITLE = re.compile(r"[\[\(]\s*(\d{9}[\dXx])\s*[\]\)]")
_BRACKETED = re.compile(r"[\(\[\{]([^\(\)\[\]\{\}]*)[\)\]\}]")
_NARRATED = re.compile(
    r"^(?P<rest>.*?)\s*[-,;(\[]*\s*\b(?:narrated|read|performed)\s+by\s+(?P<who>[^)\]]+?)"
    r"[)\]]?\s*$",
    re.I,
)
_DISC = re.compile(
    r"[\(\[]?\s*\b(?:dis[ck]|cd)\s*(?P<n>\d{1,2})(?:\s*(?:of|/)\s*\d{1,2})?\s*[\)\]]?"
    r"|[\(\[]?\s*\b(?:part|pt)\.?\s*(?P<p>\d{1,2})\s*(?:of|/)\s*\d{1,2}\s*[\)\]]?",
    re.I,
)
_FORMAT = re.compile(r"mp3|m4[ab]|aac|flac|ogg|opus|wma|\d\s?k|kbps|kbit|hz|vbr|cbr|retail", re.I)
_TRAILING_NOISE = re.compile(
    r"(?:[\s_,-]+(?:mp3|m4b|m4a|aac|flac|\d{2,3}\s?k(?:bps|bit)?|unabridged|audiobook))+\s*$",
    re.I,
)
_SEGMENT_SPLIT = re.compile(r"\s+[-\u2013\u2014]+\s+|\s*_-_\s*|\s+_\s+")
_YEAR = re.compile(r"^(?:1[6-9]|20)\d\d$")
_POSITION = re.compile(r"^(?:(?:book|bk|vol(?:ume)?|no|number)\.?\s*|#\s*)?(?P<n>\d{1,3})$", re.I)
_LEADING_POSITION = re.compile(r"^(?P<n>0\d{1,2}|\d{1,3}(?=\.\s))\.?\s+(?P<rest>\S.*)$")
_SERIES_POSITION = re.compile(
    r"^(?P<series>.*[^\W\d_].*?)(?:\s*,?\s+(?:book|bk|vol\.?|volume|no\.?)\s*|\s*#\s*|\s+)"
    r"(?P<n>\d{1,3})$",
    re.I,
)
_BY = re.compile(r"\s+by\s+", re.I)
_PARTICLES = frozenset(
    {"de", "van", "von", "le", "la", "du", "da", "di", "al", "bin", "ibn", "der"}
)
_NOT_IN_NAMES = frozenset(
    {
        "the", "a", "an", "of", "and", "in", "on", "to", "for", "with", "at", "from", "my",
        "book", "books", "vol", "volume", "part", "series", "novel", "story", "summary",
        "guide", "collection", "saga", "chronicles", "trilogy", "edition",
    }
)  # fmt: skip
_NAME_WORD = re.compile(r"^(?:[A-Z][\w'\u2019.-]*|(?:[A-Z]\.)+[A-Z]?|Mc[A-Z]\w*)$")


def _is_noise(text: str) -> bool:
    """Bitrate, format and edition tags only: "64kbps", "MP3", "Unabridged"."""
    return _NOISE.match(text) is not None and any(ch.isalpha() for ch in text)


def looks_like_name(text: str) -> bool:
    """A person's name as folder names write it: "Jasper Fforde", "Fforde, Jasper", "J.K. Rowling".

    Two to four capitalised words or initials, no digits, no title words;
    several names joined by "&" or "and" each pass.
    """
    text = text.strip()
    if not text or any(ch.isdigit() for ch in text):
        return False
    people = re.split(r"\s*(?:&|\band\b)\s*", text)
    if len(people) > 1:
        return all(looks_like_name(p) for p in people)
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 2 and all(parts):  # "Fforde, Jasper"
        words = parts[1].split() + parts[0].split()
    elif len(parts) == 1:
        words = text.split()
    else:
        return False
    words = [w for w in words if w.lower().strip(".") not in {"jr", "sr", "phd", "md"}]
    if not 2 <= len(words) <= 4:
        return False
    for word in words:
        if word.lower() in _PARTICLES:
            continue
        if word.lower().strip(".") in _NOT_IN_NAMES or not _NAME_WORD.match(word):
            return False
    return True


# --- the artist field -------------------------------------------------------------------


def split_artist(artist: str | None) -> tuple[str | None, str | None]:
    """(author, narrator) of an artist field: "X - narrated by Y", "Narrated by Y".

    A placeholder or a publisher is nobody (``parse_people`` says so).
    """
    if not artist or not artist.strip():
        return None, None
    author, narrator = artist.strip(), None
    if "by" in author.lower() and (m := _NARRATED.match(author)):
        author, narrator = m["rest"].strip(" -,;(["), m["who"].strip()
    return (author if parse_people(author) else None), narrator


# --- the title field --------------------------------------------------------------------


@dataclass(slots=True)
class _Cleaned:
    """A title with its tags taken off, and what they said."""

    segments: list[str]
    asin: str | None = None
    narrator: str | None = None
    part: str | None = None
    position: str | None = None
    changed: bool = False


def _take_asin(title: str, found: list[str]) -> str:
    def keep(m: re.Match[str]) -> str:
        if asin := normalize_asin(m.group(1)):
            found.append(asin)
        return " "

    title = _ASIN_IN_TITLE.sub(keep, title)
    title = _ISBN_IN_TITLE.sub(keep, title)
    if not found and (whole := normalize_asin(title.strip())):
        found.append(whole)  # an ISBN-10 alone as the title
        return ""
    return title


def _clean(title: str) -> _Cleaned:
    """Take tags off a title: ASIN, disc/part, bitrate, braces, narrator credit, year segment."""
    asins: list[str] = []
    s = _take_asin(title, asins)
    out = _Cleaned(segments=[], asin=asins[0] if asins else None)

    def bracket(m: re.Match[str]) -> str:
        content = m.group(1).strip()
        if m.group(0).startswith("{") and content:
            out.narrator = out.narrator or content
            return " "
        if n := _NARRATED.match(content):
            out.narrator = out.narrator or n["who"].strip()
            return " " if not n["rest"].strip() else m.group(0)
        if _is_noise(content):
            # The title parser sets edition tags aside itself; formats and bitrates it does not.
            out.changed = out.changed or bool(_FORMAT.search(content))
            return " "
        if _YEAR.match(content):
            return " "
        return m.group(0)

    def disc(m: re.Match[str]) -> str:
        out.part = out.part or str(int(m["n"] or m["p"]))
        return " "

    if "{" in s or "(" in s or "[" in s:
        s = _BRACKETED.sub(bracket, s)
    s = _DISC.sub(disc, s)
    trimmed = _TRAILING_NOISE.sub("", s)
    tail = s[len(trimmed) :]
    out.changed = out.changed or bool(_FORMAT.search(tail) or out.asin or out.narrator)
    if n := _NARRATED.match(trimmed):
        out.narrator = out.narrator or n["who"].strip()
        trimmed = n["rest"]
        out.changed = True
    segments = [seg.strip(" ,;:_-") for seg in _SEGMENT_SPLIT.split(trimmed)]
    segments = [seg for seg in segments if seg]
    kept = [seg for seg in segments if not _is_noise(seg)]
    out.changed = out.changed or any(_FORMAT.search(seg) for seg in segments if seg not in kept)
    if len(kept) > 1:
        dated = [seg for seg in kept if not _YEAR.match(seg)] or kept
        out.changed = out.changed or len(dated) != len(kept)
        kept = dated
    if len(kept) > 1 and (m := _POSITION.match(kept[0])):
        out.position = str(int(m["n"]))
        kept = kept[1:]
    if kept and (m := _LEADING_POSITION.match(kept[0])) and out.position is None:
        out.position = str(int(m["n"]))
        kept[0] = m["rest"]
    out.segments = kept
    return out


def _with_position(title: str, position: str | None, series: str | None = None) -> str:
    """The title with its series place as a decoration the title parser sets aside."""
    if position is None:
        return title
    if series:
        return f"{title} ({series}, Book {position})"
    return f"{title} (Book {position})"


def _title_of(segments: list[str], position: str | None) -> str:
    """Join title segments; a leading "Series 02" segment becomes the position."""
    series = None
    if len(segments) > 1 and position is None and (m := _SERIES_POSITION.match(segments[0])):
        series, position = m["series"].strip(" ,"), str(int(m["n"]))
        segments = segments[1:]
    return _with_position(" - ".join(segments), position, series)


def _named(c: _Cleaned) -> list[tuple[str, str, str]]:
    """(title, author, label) for each way the title names an author."""
    found: list[tuple[str, str, str]] = []
    segs = c.segments
    if len(segs) >= 2:
        if looks_like_name(segs[0]):
            found.append((_title_of(segs[1:], c.position), segs[0], AUTHOR_TITLE))
        if looks_like_name(segs[-1]):
            found.append((_title_of(segs[:-1], c.position), segs[-1], TITLE_AUTHOR))
    for i, seg in enumerate(segs):
        parts = _BY.split(seg)
        if len(parts) >= 2 and looks_like_name(parts[-1]):
            title_segs = [*segs[:i], " by ".join(parts[:-1]), *segs[i + 1 :]]
            found.append((_title_of(title_segs, c.position), parts[-1], TITLE_BY_AUTHOR))
    return found


def _same_person(a: str, b: str) -> bool:
    """The name in the title is the artist ("Jasper Fforde - The Eyre Affair" by Jasper Fforde)."""
    return any(
        person_similarity(x, y) >= SAME_NAME for x in parse_people(a) for y in parse_people(b)
    )


def _needs_reading(title: str) -> bool:
    """Cheap test: could this title carry an author, tags, a position or an ASIN?

    "(Unabridged)" or "(Series, Book 2)" alone need nothing: the title
    parser sets those aside in the as-tagged reading.
    """
    return _MAYBE.search(title.lower()) is not None


_MAYBE = re.compile(
    r"\s[-\u2013\u2014_]+\s|\sby\s|\{|b0[a-z0-9]{8}|\d{9}[\dx]|\b(?:dis[ck]|cd|pt|part)\.?\s*\d"
    r"|kbps|\d\s?k\b|mp3|m4[ab]|aac|flac|narrated|read by|^\s*\d|\b(?:1[6-9]|20)\d\d\b"
)


def readings(title: str, artist: str | None) -> tuple[Reading, ...]:
    """Every reading of an album, in the documented order; the first is the album as tagged."""
    title = title or ""
    tagged = Reading(title, artist)
    author, narrator = split_artist(artist) if artist else (None, None)
    found: list[Reading] = [tagged]
    if not _needs_reading(title) and author == artist:
        return (tagged,)  # most albums: one reading
    c = _clean(title)
    if c.changed or c.part or c.position or author != artist:
        cleaned = _title_of(c.segments, c.position)
        found.append(
            Reading(cleaned, author, c.narrator or narrator, c.asin, c.part, TAGS_SET_ASIDE)
        )
    for name_title, name, label in _named(c):
        if author and not _same_person(name, author):
            continue  # a real artist who is someone else: the name is likely a title
        found.append(
            Reading(
                name_title, name, author or narrator or c.narrator, c.asin, c.part, label,
                needs_author=True,
            )
        )  # fmt: skip
    return tuple(_unique(found))


def retitled(r: Reading, core: tuple[str, ...]) -> list[Reading]:
    """Readings under the other region's title (``core``: the reading's parsed title words).

    Offered when the table of retitlings knows the title and the author fits.
    """
    out = []
    for other, writer in other_titles(core, r.author):
        label = f"{other!r}, the other region's title of {r.title!r}"
        out.append(
            Reading(other, r.author or writer, r.narrator, r.asin, r.part, label,
                    needs_author=True)
        )  # fmt: skip
    return out


def _unique(found: list[Reading]) -> list[Reading]:
    """Drop a reading that says what an earlier one already said."""
    if len(found) == 1:
        return found
    seen: set[tuple[str, tuple[str, ...], str | None, str | None]] = set()
    out = []
    for r in found:
        key = (fold(r.title), tuple(p.key for p in parse_people(r.author)), r.asin, r.part)
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def query_title(title: str) -> tuple[str, str | None]:
    """A query's title with bitrate and format tags and an ASIN taken off (and that ASIN)."""
    if not _needs_reading(title):
        return title, None
    asins: list[str] = []
    s = _take_asin(title, asins)
    s = _BRACKETED.sub(lambda m: " " if _is_noise(m.group(1)) else m.group(0), s)
    s = " ".join(_TRAILING_NOISE.sub("", s).split())
    return (s or title), (asins[0] if asins else None)
