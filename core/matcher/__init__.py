"""The one matcher: is this book in the Plex library, and which item is it?

Every caller (full scan, recently-added poll, ``/request``, ``/library``,
``/recommend``, the CLI) asks a ``BookIndex`` (``LibraryIndex`` for the Plex
library); none keeps its own rules, because two matchers disagree (the
seed's fixes #6 and #7).

A request is satisfied by any edition of the same book: unabridged, abridged,
dramatized, full cast, or another Audible region's edition.

**Readings** (``core.matcher.readings``). Albums without agent metadata carry
folder names and file tags: "Jasper Fforde - The Eyre Affair" by "Unknown
Artist", "Book 02 - Lost in a Good Book", "The Eyre Affair [B0...] (Disc 1)
64kbps". Each album is read, once when indexed, into candidate (title,
author, narrator, ASIN, part) readings, in this order:

1. *as tagged*: the fields as they are (a clean album has only this one);
2. *tags set aside*: format and bitrate tags, an ASIN, "{Narrator}" and
   "narrated by" credits, a disc or "part N of M" marker and a year segment
   removed; a leading "02 ", "Book 2 - " or "Vol 2 - " kept as the series
   position; a publisher or placeholder artist ("Tantor Audio", "Unknown
   Artist") names nobody;
3. *author from the title*: "Author - Title", "Title - Author", "Title by
   Author", "Last, First - Title", when that part looks like a person's name
   and the artist names nobody or the same person;
4. *the other region's title* of a reading, from the small table of known
   retitlings (``core.matcher.retitlings``: "Northern Lights" is "The Golden
   Compass").

The query is compared with every reading under the same rules below; the
best accepted reading wins (the earlier on a tie) and the reason names it:
"title 100 / author 100 (reading: 'Author - Title' from the album title)".
A reading of kind 3 or 4 counts only when the query's author agrees with it
(a title cut in two, or a table row, is not proof on its own). An ASIN found
in the title belongs to the album, whichever reading is compared. Readings
widen what is *read*, never a threshold.

The rule, in order:

1. **Same ASIN** (the item's ``asin``, one embedded in its guid, or one in
   its title; region suffix ignored): match, score 100.
2. **The same kind of work** (``core.matcher.kinds``): a summary or study
   guide, a graphic-novel adaptation, an omnibus or box set, a companion
   ("The World of ...", "The Art of ...") is never the book, nor the reverse,
   whatever the words share ("Coraline: The Graphic Novel" is not "Coraline").
   Words that series names also use ("Trilogy", "Collection") count only in
   the title itself, not in a series decoration.
3. **Structure must agree**, or the candidate is rejected whatever its score.
   Titles are normalised (``core.normalize.parse_title``): case, punctuation,
   ``&``, quotes, diacritics, leading articles, edition tags, descriptive
   subtitles and series decorations are set aside; number forms are one
   ("20,000" = "Twenty Thousand", "Richard the Third" = "Richard III") and so
   are British/American spellings ("Grey"/"Gray"). Then:

   - numbers agree: two volumes / series positions differ -> reject ("2 vs 3");
     a number that belongs to the title ("Carl 2", "Vol. 2", "Part II") is
     missing on the other side -> reject; other numbers in the title
     ("Catch-22", "451") are equal;
   - every word agrees: a word on either side without a counterpart (exact,
     or a spelling variant of a word of 4+ letters at ``fuzz.ratio`` >= 80)
     -> reject ("Foundation" vs "Foundation and Empire", "It" vs "It Ends
     with Us"). A distinctive subtitle ("Star Wars: Thrawn") counts as title
     words; a descriptive one ("A Memoir", "Book One in the Dune Chronicles")
     does not, unless both sides have one and they disagree.
   - Title score ``t``: 100 for equal words, ``token_sort_ratio`` for spelling
     variants, 95 for "series name + number" naming a titled book
     ("Dungeon Crawler Carl 2" = "...: Dungeon Crawler Carl, Book 2"), 90 for
     a title that is the other side's subtitle ("Thrawn" = "Star Wars: Thrawn").
4. **Person score** ``p``: best pair of the query's authors, or its narrators,
   against the item's author field (Plex sometimes files books under the
   narrator), from ``person_similarity`` (name order, initials, Jr./PhD,
   transliterations; same family name with other initials is another person).
5. **Score** ``= 0.7 * t + 0.3 * p`` (the seed's weighting), used to rank
   candidates and reported. Accept when ``t >= 80`` and ``p >= 70``, which
   puts the score at 77 or more. The seed's ``score >= 70`` alone is not
   enough: "Beloved" by another author scores 0.7 * 100 + 0.3 * 41 = 82, so
   the author must agree on its own (it decides between two books of one
   title). When either side names nobody, ``p`` counts as 50 in the score
   and the title alone must be near exact: ``t >= 95``.
6. **A different ASIN is not proof of another book** (every region gives the
   same book its own ASIN), but then only a strong match counts: ``t >= 95``
   and ``p >= 90``, both people known.
7. **Ambiguity**: when the best accepted candidates are different books
   within 5 points of each other ("Beloved" with no author, two
   "Sapiens: ..." books), nothing matches; the caller lets the user pick.
   A match on the title alone (nobody to compare) also stands only when no
   other album has that title by someone else. Albums that are parts of one
   book ("Disc 1", "CD 2", "Part 1 of 2") are one book, not rivals: one is
   linked and the reason says so ("part 1 of a book split in 2 albums held").

**Subtitles and colons.** A colon is ambiguous: "Grit: The Power of Passion
and Perseverance" is the book "Grit", but "Halo: Ghosts of Onyx" is not a
book called "Halo" and "Artemis Fowl: The Arctic Incident" is not the first
Artemis Fowl. Precision first, so a one-sided subtitle is set aside only
on a signal:

- it describes (``core.normalize``: starts with "A"/"An"/"How"/"Why", holds
  a word such as "memoir" or "history", or has five content words): "Bad
  Blood" = "Bad Blood: Secrets and Lies in a Silicon Valley Startup";
- or it is the catalog's ``subtitle`` field for the requested book
  (``BookQuery.subtitle``): then a listing with the title alone, or with
  that subtitle, is the book (t = 100), and two such listings are one book,
  not a tie. A library title equal to that subtitle is not the book; and
  when the library holds a book whose whole title is that subtitle, by the
  query's author, the query is refused as ambiguous (ask, don't guess);
- a part before the colon that names one of the catalog's ``series`` for
  the book is the series, and the title is what follows ("Halo: The Fall of
  Reach" with series "Halo" is "The Fall of Reach", and never "Halo");
- a series position before the colon ("Mistborn 2: The Well of Ascension",
  numbers up to 99) is a decoration: the title is what follows.

Without a signal, the short non-descriptive subtitle counts as title words
("Essentialism" is not matched to "Essentialism: The Disciplined Pursuit of
Less" on words alone), and a title that is the other side's subtitle scores
90 (rule 3: "Thrawn" = "Star Wars: Thrawn").

**Same work** (``same_work``, for "is this already requested"): the same
ASIN, or the exact normalised title (t = 100) and the same author
(``person_similarity`` >= 95). A fuzzy score never merges two requests:
"The Stone Heart" and "Stone Hearts" stay two.

Finding candidates: the index holds an ASIN map and a word -> items posting
list over the normalised title, subtitle and series words of every reading, built once and kept
current with ``add``/``remove``; one query is compared with the items that
share its words, not with the whole library.
"""

from __future__ import annotations

import logging

from core.asin import normalize_asin
from core.matcher.book import Book, BookQuery, LibraryItem, MatchResult
from core.matcher.index import BookIndex, LibraryIndex, match_one

__all__ = [
    "Book",
    "BookIndex",
    "BookQuery",
    "LibraryIndex",
    "LibraryItem",
    "MatchResult",
    "match_one",
    "normalize_asin",
]

log = logging.getLogger(__name__)
