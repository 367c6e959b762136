"""The recommendation rules (core.recommend.engine): seeds, affinities, series, order."""

from __future__ import annotations

import random
import time

import pytest

from core.catalog.models import CatalogBook
from core.recommend.engine import (
    NoSeeds,
    RatedBook,
    Recommendation,
    TasteProfile,
    build_profile,
    recommend,
    series_search_terms,
    stars,
)

EXPANSE = "The Expanse"


def rated(
    key: str,
    title: str,
    author: str,
    rating: float,
    *,
    narrator: str | None = None,
    asin: str | None = None,
) -> RatedBook:
    return RatedBook(
        rating_key=key, title=title, author=author, narrator=narrator, asin=asin,
        guid=f"plex://album/{key}", rating=rating,
    )


def book(
    asin: str,
    title: str,
    authors: tuple[str, ...] = (),
    *,
    narrators: tuple[str, ...] = (),
    series: tuple[tuple[str, str | None], ...] = (),
    year: int | None = 2020,
) -> CatalogBook:
    return CatalogBook(
        asin=asin, title=title, subtitle=None, authors=authors, narrators=narrators,
        series=series, release_year=year, runtime_minutes=600, language="english",
        cover_url=f"https://m.media-amazon.com/images/I/{asin}.jpg", summary=None,
    )


def asins(recs: list[Recommendation]) -> list[str]:
    return [r.book.asin for r in recs]


# The Expanse, as the catalog describes it.
LEVIATHAN = book("B0EXP00001", "Leviathan Wakes", ("James S. A. Corey",),
                 narrators=("Jefferson Mays",), series=((EXPANSE, "1"),), year=2011)
CALIBAN = book("B0EXP00002", "Caliban's War", ("James S. A. Corey",),
               narrators=("Jefferson Mays",), series=((EXPANSE, "2"),), year=2012)
ABADDON = book("B0EXP00003", "Abaddon's Gate", ("James S. A. Corey",),
               narrators=("Jefferson Mays",), series=((EXPANSE, "3"),), year=2013)
CIBOLA = book("B0EXP00004", "Cibola Burn", ("James S. A. Corey",),
              narrators=("Jefferson Mays",), series=((EXPANSE, "4"),), year=2014)
MARTIAN = book("B0WEIR0001", "The Martian", ("Andy Weir",), narrators=("R. C. Bray",), year=2013)
ARTEMIS = book("B0WEIR0002", "Artemis", ("Andy Weir",), narrators=("Rosario Dawson",), year=2017)
HAIL_MARY = book("B0WEIR0003", "Project Hail Mary", ("Andy Weir",), narrators=("Ray Porter",),
                 year=2021)
BOBIVERSE = book("B0BOB00001", "We Are Legion", ("Dennis E. Taylor",), narrators=("Ray Porter",),
                 series=(("Bobiverse", "1"),), year=2016)
STRANGER = book("B0NOPE0001", "Unrelated Novel", ("Nobody Known",), narrators=("Someone Else",))


# -- stars and seeds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "text"), [(10, "5"), (9, "4.5"), (8, "4"), (8.4, "4"), (8.6, "4.5"), (1, "0.5")]
)
def test_stars_are_halves_of_the_ten_point_rating(rating: float, text: str) -> None:
    assert stars(rating) == text


def test_seeds_are_books_rated_four_stars_or_more() -> None:
    profile = build_profile([
        rated("1", "Loved", "A Writer", 10), rated("2", "Liked", "B Writer", 8),
        rated("3", "Fine", "C Writer", 7), rated("4", "Meh", "D Writer", 4),
    ])

    assert [b.title for b in profile.seeds] == ["Loved", "Liked"]


def test_seeds_fall_back_to_three_stars_when_nothing_is_rated_higher() -> None:
    profile = build_profile([rated("1", "Fine", "A Writer", 6), rated("2", "Meh", "B Writer", 5)])

    assert [b.title for b in profile.seeds] == ["Fine"]


def test_no_book_rated_three_stars_or_more_is_no_seeds() -> None:
    with pytest.raises(NoSeeds):
        build_profile([rated("1", "Meh", "A Writer", 5), rated("2", "Bad", "B Writer", 2)])


# -- affinities ------------------------------------------------------------------------------


def test_author_affinity_is_the_mean_weight_damped_by_count() -> None:
    profile = build_profile([
        rated("1", "The Martian", "Andy Weir", 10),
        rated("2", "Artemis", "Andy Weir", 6),
        rated("3", "Leviathan Wakes", "James S. A. Corey", 10),
    ])

    weir = profile.author("Andy Weir")
    corey = profile.author("James S.A. Corey")  # another spelling, the same person
    assert weir is not None and corey is not None
    assert weir.affinity == pytest.approx(((1.0 + 0.2) / 2) * (2 / 3))
    assert corey.affinity == pytest.approx(1.0 * (1 / 2))
    assert profile.author("Andy Weird Person") is None


def test_one_person_under_several_spellings_is_one_taste() -> None:
    profile = build_profile([
        rated("1", "The Three-Body Problem", "Cixin Liu", 10),
        rated("2", "The Dark Forest", "Liu Cixin", 6),
        rated("3", "Mistborn", "Brandon Sanderson", 10),
        rated("4", "Elantris", "Brandon Sandersen", 10),
    ])

    assert len(profile.authors) == 2
    liu = profile.author("Cixin Liu")
    assert liu is not None and len(liu.books) == 2
    assert profile.author("Brandon Sanderson") == profile.author("Brandon Sandersen")


def test_a_profile_of_thousands_of_authors_builds_quickly() -> None:
    rng = random.Random(1)

    def name() -> str:
        return " ".join(
            "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 8))).title()
            for _ in range(2)
        )

    ratings = [rated(str(i), f"Book {i}", name(), rng.choice([2, 6, 10]), narrator=name())
               for i in range(3000)]
    started = time.perf_counter()
    profile = build_profile(ratings)

    assert time.perf_counter() - started < 1.5  # the cog awaits this on the event loop
    assert len(profile.authors) > 2500


def test_a_disliked_author_is_not_recommended() -> None:
    profile = build_profile([
        rated("1", "Leviathan Wakes", "James S. A. Corey", 10),
        rated("2", "The Martian", "Andy Weir", 2),
    ])

    recs = recommend(profile, [LEVIATHAN, CALIBAN, ARTEMIS, HAIL_MARY])

    assert asins(recs) == [CALIBAN.asin]


def test_low_ratings_count_against_an_author() -> None:
    liked = build_profile([rated("1", "The Martian", "Andy Weir", 10)])
    mixed = build_profile([
        rated("1", "The Martian", "Andy Weir", 10), rated("2", "Artemis", "Andy Weir", 2),
        rated("9", "Seed", "Zed Seed", 10),
    ])
    soured = build_profile([
        rated("1", "The Martian", "Andy Weir", 10), rated("2", "Artemis", "Andy Weir", 0),
        rated("3", "Other", "Andy Weir", 2), rated("9", "Seed", "Zed Seed", 10),
    ])

    (liked_rec,) = recommend(liked, [HAIL_MARY])
    (mixed_rec,) = recommend(mixed, [HAIL_MARY])
    assert mixed_rec.score < liked_rec.score
    assert mixed_rec.reason == "More by Andy Weir, whom you rated 3★ on average"
    assert recommend(soured, [HAIL_MARY]) == []  # the mean weight is below zero


def test_narrator_affinity_finds_books_by_other_authors() -> None:
    profile = build_profile([rated("1", "Project Hail Mary", "Andy Weir", 10,
                                   narrator="Ray Porter")])

    (rec,) = recommend(profile, [BOBIVERSE, STRANGER])

    assert rec.book == BOBIVERSE and rec.kind == "narrator"
    assert rec.reason == "Read by Ray Porter, who also read Project Hail Mary (you rated it 5★)"


# -- series ----------------------------------------------------------------------------------


def expanse_fan(rating: float = 10) -> TasteProfile:
    return build_profile([
        rated("1", "Leviathan Wakes", "James S. A. Corey", rating, narrator="Jefferson Mays"),
        rated("2", "The Martian", "Andy Weir", 9),
    ])


def test_the_next_book_of_a_rated_series_comes_first_with_its_reason() -> None:
    recs = recommend(expanse_fan(), [MARTIAN, ARTEMIS, LEVIATHAN, ABADDON, CALIBAN, STRANGER])

    assert asins(recs)[0] == CALIBAN.asin
    assert recs[0].kind == "series"
    assert recs[0].reason == "Next in The Expanse after Leviathan Wakes, which you rated 5★"
    # the rest: the same author's later book and Weir's book, never the rated or unrelated ones
    assert set(asins(recs[1:])) == {ABADDON.asin, ARTEMIS.asin}
    assert LEVIATHAN.asin not in asins(recs) and MARTIAN.asin not in asins(recs)


def test_series_outranks_author_outranks_narrator() -> None:
    profile = build_profile([
        rated("1", "Leviathan Wakes", "James S. A. Corey", 8, narrator="Jefferson Mays"),
        rated("2", "The Martian", "Andy Weir", 10, narrator="Ray Porter"),
        rated("3", "Old Favourite", "Other Writer", 10, narrator="Ray Porter"),
    ])

    recs = recommend(profile, [BOBIVERSE, ARTEMIS, CALIBAN, LEVIATHAN])

    assert [r.kind for r in recs] == ["series", "author", "narrator"]
    assert asins(recs) == [CALIBAN.asin, ARTEMIS.asin, BOBIVERSE.asin]


def test_a_continuation_skips_books_already_had_and_says_which_book_it_is() -> None:
    recs = recommend(expanse_fan(), [LEVIATHAN, CALIBAN, ABADDON, CIBOLA],
                     excluded={CALIBAN.asin})

    assert recs[0].book == ABADDON and recs[0].kind == "series"
    assert recs[0].reason == (
        "Book 3 of The Expanse, which continues Leviathan Wakes (you rated it 5★)"
    )
    assert CALIBAN.asin not in asins(recs)


def test_the_anchor_is_the_latest_rated_book_of_the_series() -> None:
    profile = build_profile([
        rated("1", "Leviathan Wakes", "James S. A. Corey", 10),
        rated("2", "Caliban's War", "James S. A. Corey", 9),
    ])

    recs = recommend(profile, [LEVIATHAN, CALIBAN, ABADDON, CIBOLA])

    assert recs[0].book == ABADDON
    assert recs[0].reason == "Next in The Expanse after Caliban's War, which you rated 4.5★"


def test_a_series_whose_latest_rated_book_disappointed_is_not_continued() -> None:
    profile = build_profile([
        rated("1", "Leviathan Wakes", "James S. A. Corey", 10),
        rated("2", "Caliban's War", "James S. A. Corey", 4),
        rated("3", "The Martian", "Andy Weir", 9),
    ])

    recs = recommend(profile, [LEVIATHAN, CALIBAN, ABADDON, ARTEMIS])

    assert "series" not in [r.kind for r in recs]
    assert recs[0].book == ARTEMIS


def test_a_disliked_series_is_dropped_even_when_its_author_is_liked() -> None:
    profile = build_profile([
        rated("1", "Leviathan Wakes", "James S. A. Corey", 2),
        rated("2", "Honor Among Thieves", "James S. A. Corey", 10),
    ])
    standalone = book("B0COREY001", "A Corey Standalone", ("James S. A. Corey",))

    recs = recommend(profile, [LEVIATHAN, CALIBAN, ABADDON, standalone])

    assert profile.author("James S. A. Corey").affinity > 0  # type: ignore[union-attr]
    assert asins(recs) == [standalone.asin]


def test_a_disliked_author_is_dropped_even_when_the_narrator_is_liked() -> None:
    profile = build_profile([
        rated("1", "The Martian", "Andy Weir", 1, narrator="Ray Porter"),
        rated("2", "We Are Legion", "Dennis E. Taylor", 10, narrator="Ray Porter"),
    ])

    recs = recommend(profile, [HAIL_MARY])

    assert profile.narrator("Ray Porter").affinity > 0  # type: ignore[union-attr]
    assert recs == []


def test_series_search_terms_name_the_followed_series() -> None:
    profile = expanse_fan()

    assert series_search_terms(profile, [LEVIATHAN, CALIBAN, MARTIAN, BOBIVERSE], 3) == [EXPANSE]
    assert series_search_terms(profile, [LEVIATHAN], 0) == []
    assert series_search_terms(expanse_fan(4), [LEVIATHAN], 3) == []  # not a seed


def test_search_people_are_seed_authors_by_affinity_then_narrators() -> None:
    profile = build_profile([
        rated("1", "The Martian", "Andy Weir", 10, narrator="R. C. Bray"),
        rated("2", "Artemis", "Andy Weir", 10, narrator="Rosario Dawson"),
        rated("3", "Leviathan Wakes", "James S. A. Corey", 8, narrator="Jefferson Mays"),
        rated("4", "Meh", "Mid Writer", 6),
    ])

    assert profile.search_people(3) == ["Andy Weir", "James S. A. Corey", "R. C. Bray"]


# -- exclusions --------------------------------------------------------------------------


def test_excluded_rated_and_unrelated_books_are_never_recommended() -> None:
    profile = expanse_fan()
    other_edition = book("B0OTHERED1", "Leviathan Wakes (Unabridged)", ("James S.A. Corey",),
                         series=((EXPANSE, "1"),))

    recs = recommend(profile, [other_edition, CALIBAN, ARTEMIS, STRANGER],
                     excluded={ARTEMIS.asin})

    assert asins(recs) == [CALIBAN.asin]


def test_two_editions_of_one_book_count_once() -> None:
    profile = expanse_fan()
    abridged = book("B0ABRIDGE1", "Artemis (Abridged)", ("Andy Weir",), year=2017)

    recs = recommend(profile, [ARTEMIS, abridged])

    assert len(recs) == 1 and recs[0].book.title.startswith("Artemis")


def test_author_reasons_quote_one_book_or_the_average() -> None:
    one = recommend(build_profile([rated("1", "The Martian", "Andy Weir", 9)]), [ARTEMIS])
    two = recommend(build_profile([
        rated("1", "The Martian", "Andy Weir", 9), rated("2", "Project Hail Mary", "Andy Weir", 10),
    ]), [ARTEMIS])

    assert one[0].reason == "More by Andy Weir: you rated The Martian 4.5★"
    assert two[0].reason == "More by Andy Weir, whom you rated 5★ on average"


# -- order -----------------------------------------------------------------------------------


def test_at_most_ten_and_the_same_order_whatever_the_input_order() -> None:
    profile = build_profile([rated("1", "The Martian", "Andy Weir", 10)])
    many = [book(f"B0MANY{i:04d}", f"Weir Book {chr(65 + i)}", ("Andy Weir",), year=2000 + i % 3)
            for i in range(15)]

    first = recommend(profile, many)
    shuffled = list(many)
    random.Random(4).shuffle(shuffled)

    assert len(first) == 10
    assert asins(recommend(profile, shuffled)) == asins(first)
    years = [r.book.release_year for r in first]
    assert years == sorted(years, reverse=True)  # equal scores: newest first


def test_equal_scores_and_years_break_ties_by_title_then_asin() -> None:
    profile = build_profile([rated("1", "The Martian", "Andy Weir", 10)])
    b = book("B0TIE00002", "Beta", ("Andy Weir",))
    a2 = book("B0TIE00003", "Alpha", ("Andy Weir",), narrators=("Other Reader",))
    a1 = book("B0TIE00001", "Alpha", ("Andy Weir",), narrators=("Else Reader",))

    recs = recommend(profile, [b, a2, a1], limit=10)

    # "Alpha" twice is one book to the matcher: the lower ASIN wins the tie
    assert asins(recs) == [a1.asin, b.asin]


def test_a_late_book_of_an_unknown_series_is_marked_down() -> None:
    profile = build_profile([rated("1", "The Martian", "Andy Weir", 10, narrator="R. C. Bray")])
    # the liked narrator lifts the sequel by 0.15; not starting its series costs it 0.2
    late = book("B0LATE0001", "Some Sequel", ("Andy Weir",), narrators=("R. C. Bray",),
                series=(("Weirverse", "4"),), year=2024)
    start = book("B0START001", "Some Opener", ("Andy Weir",), narrators=("Other Reader",),
                 series=(("Weirverse", "1"),), year=2010)

    recs = recommend(profile, [late, start])

    assert asins(recs) == [start.asin, late.asin]
    assert recs[0].score - recs[1].score == pytest.approx(0.2 - 0.3 * 0.5)
