"""The one matcher: is this book in the Plex library, and which item is it?

Every caller (full scan, recently-added poll, ``/request``, ``/library``,
``/recommend``, the CLI) asks a ``BookIndex`` (``LibraryIndex`` for the Plex
library); none keeps its own rules, because two matchers disagree (the
seed's fixes #6 and #7).

A request is satisfied by any edition of the same book: unabridged, abridged,
dramatized, full cast, or another Audible region's edition. The rule, in order:

1. **Same ASIN** (the item's ``asin`` or one embedded in its guid, region
   suffix ignored): match, score 100.
2. **Structure must agree**, or the candidate is rejected whatever its score.
   Titles are normalised (``core.normalize.parse_title``): case, punctuation,
   ``&``, quotes, diacritics, leading articles, edition tags, descriptive
   subtitles and series decorations are set aside. Then:

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
3. **Person score** ``p``: best pair of the query's authors, or its narrators,
   against the item's author field (Plex sometimes files books under the
   narrator), from ``person_similarity`` (name order, initials, Jr./PhD,
   transliterations; same family name with other initials is another person).
4. **Score** ``= 0.7 * t + 0.3 * p`` (the seed's weighting), used to rank
   candidates and reported. Accept when ``t >= 80`` and ``p >= 70``, which
   puts the score at 77 or more. The seed's ``score >= 70`` alone is not
   enough: "Beloved" by another author scores 0.7 * 100 + 0.3 * 41 = 82, so
   the author must agree on its own (it decides between two books of one
   title). When either side names nobody, ``p`` counts as 50 in the score
   and the title alone must be near exact: ``t >= 95``.
5. **A different ASIN is not proof of another book** (every region gives the
   same book its own ASIN), but then only a strong match counts: ``t >= 95``
   and ``p >= 90``, both people known.
6. **Ambiguity**: when the best accepted candidates are different books
   within 5 points of each other ("Beloved" with no author, two
   "Sapiens: ..." books), nothing matches; the caller lets the user pick.

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
90 (rule 2: "Thrawn" = "Star Wars: Thrawn").

**Same work** (``same_work``, for "is this already requested"): the same
ASIN, or the exact normalised title (t = 100) and the same author
(``person_similarity`` >= 95). A fuzzy score never merges two requests:
"The Stone Heart" and "Stone Hearts" stay two.

Finding candidates: the index holds an ASIN map and a word -> items posting
list over normalised title, subtitle and series words, built once and kept
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
