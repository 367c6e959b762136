"""`match_many`: a batch spread over forked workers answers exactly as one process does."""

from __future__ import annotations

import pytest

from core.matcher import BookQuery, LibraryIndex, LibraryItem
from core.matcher.batch import PARALLEL_FROM, match_many, workers_for

BOOKS = [
    LibraryItem(str(100 + i), title, author)
    for i, (title, author) in enumerate(
        [
            ("Project Hail Mary", "Andy Weir"),
            ("The Martian", "Andy Weir"),
            ("Foundation", "Isaac Asimov"),
            ("Foundation and Empire", "Isaac Asimov"),
            ("Dune (Unabridged)", "Frank Herbert"),
            ("Dune Messiah", "Frank Herbert"),
            ("Mistborn: The Final Empire", "Brandon Sanderson"),
            ("The Well of Ascension (Mistborn, Book 2)", "Brandon Sanderson"),
        ]
    )
]
ASKED = [
    BookQuery("Project Hail Mary", "Andy Weir"),
    BookQuery("Foundation", "Isaac Asimov"),  # not "Foundation and Empire"
    BookQuery("Dune", "Frank Herbert"),
    BookQuery("The Well of Ascension", "Brandon Sanderson"),
    BookQuery("Children of Dune", "Frank Herbert"),  # absent
    BookQuery("The Martian", "Someone Else"),  # another author's book
]


def test_a_pool_gives_the_same_results_in_the_same_order() -> None:
    index = LibraryIndex(BOOKS)
    queries = ASKED * 50
    alone = [index.match(q) for q in queries]
    assert [r.matched for r in alone[:6]] == [True, True, True, True, False, False]
    assert match_many(index, queries, workers=2) == alone


def test_small_batches_stay_in_this_process() -> None:
    assert workers_for(1) == 1
    assert workers_for(PARALLEL_FROM - 1) == 1


@pytest.mark.parametrize("count", [PARALLEL_FROM, 10 * PARALLEL_FROM])
def test_big_batches_use_the_cores_there_are(count: int) -> None:
    workers = workers_for(count)
    assert 1 <= workers <= 8
    assert workers <= count // (PARALLEL_FROM // 2)
