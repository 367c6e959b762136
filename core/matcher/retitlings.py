"""Known retitlings: one work published under another title in another region.

"Northern Lights" is "The Golden Compass", "Philosopher's Stone" is
"Sorcerer's Stone". Audible lists each region's edition under its own title
and ASIN, so a library holding the UK title satisfies a request for the US
one. A small, explicit table is honest where a fuzzy rule is not: each row
names the writer, and a reading is only offered when the album's author
agrees with that writer (or the album names nobody).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from core.normalize import parse_people, parse_title, person_similarity

log = logging.getLogger(__name__)

# (writer, title, the same work's other title)
RETITLINGS: tuple[tuple[str, str, str], ...] = (
    ("J. K. Rowling", "Harry Potter and the Philosopher's Stone",
     "Harry Potter and the Sorcerer's Stone"),
    ("J. K. Rowling", "Philosopher's Stone", "Sorcerer's Stone"),
    ("Philip Pullman", "Northern Lights", "The Golden Compass"),
    ("Diana Gabaldon", "Cross Stitch", "Outlander"),
    ("Stieg Larsson", "Men Who Hate Women", "The Girl with the Dragon Tattoo"),
    ("Peter Hoeg", "Miss Smilla's Feeling for Snow", "Smilla's Sense of Snow"),
    ("Nevil Shute", "A Town Like Alice", "The Legacy"),
    ("Agatha Christie", "Murder on the Orient Express", "Murder in the Calais Coach"),
    ("Agatha Christie", "Why Didn't They Ask Evans?", "The Boomerang Clue"),
    ("Agatha Christie", "Lord Edgware Dies", "Thirteen at Dinner"),
    ("Agatha Christie", "Dumb Witness", "Poirot Loses a Client"),
    ("Agatha Christie", "Death in the Clouds", "Death in the Air"),
    ("Agatha Christie", "Hercule Poirot's Christmas", "Murder for Christmas"),
    ("Agatha Christie", "One, Two, Buckle My Shoe", "The Patriotic Murders"),
    ("Agatha Christie", "Five Little Pigs", "Murder in Retrospect"),
    ("Agatha Christie", "Taken at the Flood", "There Is a Tide"),
    ("Agatha Christie", "After the Funeral", "Funerals Are Fatal"),
    ("Agatha Christie", "Hickory Dickory Dock", "Hickory Dickory Death"),
    ("Agatha Christie", "Mrs McGinty's Dead", "Blood Will Tell"),
    ("Agatha Christie", "4.50 from Paddington", "What Mrs. McGillicuddy Saw!"),
    ("Agatha Christie", "They Do It with Mirrors", "Murder with Mirrors"),
    ("Agatha Christie", "The Hollow", "Murder After Hours"),
    ("Ariana Franklin", "The Death Maze", "The Serpent's Tale"),
)  # fmt: skip
_SAME_WRITER = 90.0


@lru_cache(maxsize=1)
def _table() -> dict[tuple[str, ...], list[tuple[str, str]]]:
    """Core title words -> (other title, writer), in both directions."""
    table: dict[tuple[str, ...], list[tuple[str, str]]] = {}
    for writer, a, b in RETITLINGS:
        ka, kb = parse_title(a).core, parse_title(b).core
        table.setdefault(ka, []).append((b, writer))
        table.setdefault(kb, []).append((a, writer))
    return table


def other_titles(core: tuple[str, ...], author: str | None) -> list[tuple[str, str]]:
    """(other title, writer) for title words the table knows.

    Only when ``author`` is that writer, or names nobody.
    """
    rows = _table().get(core)
    if not rows:
        return []
    people = parse_people(author)
    out = []
    for other, writer in rows:
        if people and not any(
            person_similarity(p, w) >= _SAME_WRITER for p in people for w in parse_people(writer)
        ):
            continue
        out.append((other, writer))
    return out
