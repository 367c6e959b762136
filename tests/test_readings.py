"""Readings of agentless albums, derivative kinds, retitlings, and the normaliser's new forms.

The labelled behaviour is in ``tests/fixtures/matcher_agentless_cases.jsonl``;
these pin the parts it rests on, each able to fail on its own.
"""

from __future__ import annotations

import pytest

from core.matcher import BookQuery, LibraryItem, match_one
from core.matcher.kinds import kinds
from core.matcher.readings import (
    AUTHOR_TITLE,
    TAGS_SET_ASIDE,
    TITLE_AUTHOR,
    TITLE_BY_AUTHOR,
    looks_like_name,
    readings,
    split_artist,
)
from core.matcher.retitlings import other_titles
from core.normalize import parse_people, parse_title, person_similarity


def _labels(title: str, artist: str | None) -> list[str]:
    return [r.label for r in readings(title, artist)]


def test_a_clean_album_has_one_reading() -> None:
    assert readings("The Hobbit", "J. R. R. Tolkien") == readings("The Hobbit", "J. R. R. Tolkien")
    assert _labels("The Hobbit", "J. R. R. Tolkien") == [""]
    assert _labels("The Way of Kings (Stormlight Archive, Book 1)", "Brandon Sanderson") == [""]


def test_readings_come_in_the_documented_order() -> None:
    found = readings("Jasper Fforde - The Eyre Affair 64kbps", "Unknown Artist")
    assert [r.label for r in found] == ["", TAGS_SET_ASIDE, AUTHOR_TITLE]
    assert (found[2].title, found[2].author, found[2].needs_author) == (
        "The Eyre Affair",
        "Jasper Fforde",
        True,
    )


@pytest.mark.parametrize(
    ("title", "label", "want_title", "want_author"),
    [
        ("The Eyre Affair - Jasper Fforde", TITLE_AUTHOR, "The Eyre Affair", "Jasper Fforde"),
        ("The Eyre Affair by Jasper Fforde", TITLE_BY_AUTHOR, "The Eyre Affair", "Jasper Fforde"),
        (
            "Fforde, Jasper - The Eyre Affair (2001)",
            AUTHOR_TITLE,
            "The Eyre Affair",
            "Fforde, Jasper",
        ),
    ],
)
def test_author_from_the_title(title: str, label: str, want_title: str, want_author: str) -> None:
    found = {r.label: r for r in readings(title, "Tantor Audio")}
    assert (found[label].title, found[label].author) == (want_title, want_author)


def test_no_author_from_the_title_when_the_artist_is_someone_else() -> None:
    assert _labels("Red Rising - Golden Son", "Pierce Brown") == [""]
    assert AUTHOR_TITLE in _labels("Jasper Fforde - The Eyre Affair", "Jasper Fforde")


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("Book 02 - Lost in a Good Book", "Lost in a Good Book (Book 2)"),
        ("02 Lost in a Good Book", "Lost in a Good Book (Book 2)"),
        ("Vol 2 - 2002 - Lost in a Good Book", "Lost in a Good Book (Book 2)"),
        ("The Eyre Affair [B002V0QK4C] (MP3)", "The Eyre Affair"),
        ("The Eyre Affair (Disc 2)", "The Eyre Affair"),
    ],
)
def test_tags_set_aside(title: str, want: str) -> None:
    cleaned = {r.label: r for r in readings(title, None)}[TAGS_SET_ASIDE]
    assert cleaned.title == want


def test_tags_carry_asin_part_and_narrator() -> None:
    cleaned = {
        r.label: r for r in readings("The Eyre Affair [B002V0QK4C] {Emily Gray} (Disc 2)", "")
    }
    r = cleaned[TAGS_SET_ASIDE]
    assert (r.asin, r.narrator, r.part) == ("B002V0QK4C", "Emily Gray", "2")


def test_a_leading_number_that_belongs_to_the_title_stays() -> None:
    assert _labels("12 Rules for Life", "Jordan B. Peterson") == [""]
    assert _labels("1984", "George Orwell") == [""]


@pytest.mark.parametrize(
    ("artist", "want"),
    [
        ("Jasper Fforde - narrated by Emily Gray", ("Jasper Fforde", "Emily Gray")),
        ("Narrated by Emily Gray", (None, "Emily Gray")),
        ("Tantor Audio", (None, None)),
        ("[Unknown Artist]", (None, None)),
        ("Jasper Fforde", ("Jasper Fforde", None)),
        (None, (None, None)),
    ],
)
def test_split_artist(artist: str | None, want: tuple[str | None, str | None]) -> None:
    assert split_artist(artist) == want


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Jasper Fforde", True),
        ("Fforde, Jasper", True),
        ("J.R.R. Tolkien", True),
        ("Ursula K. Le Guin", True),
        ("Douglas Preston & Lincoln Child", True),
        ("The Eyre Affair", False),
        ("Ghosts of Onyx", False),
        ("Book 2", False),
        ("Dune", False),
        ("A Novel", False),
    ],
)
def test_looks_like_name(text: str, want: bool) -> None:
    assert looks_like_name(text) is want


@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("Coraline: The Graphic Novel", {"graphic novel"}),
        ("Summary of Atomic Habits", {"summary"}),
        ("Study Guide: Beloved", {"summary"}),
        ("The Expanse Books 1-3", {"omnibus"}),
        ("The Hunger Games Box Set", {"omnibus"}),
        ("The World of Ice and Fire", {"companion"}),
        ("The Hobbit", set()),
        ("The Final Empire (Mistborn Trilogy, Book 1)", set()),
    ],
)
def test_kinds(title: str, want: set[str]) -> None:
    parts = parse_title(title)
    assert kinds(title, parts.core + parts.subtitle) == want


def test_collection_counts_in_the_title_not_in_a_series_name() -> None:
    title = "The Complete Stories Collection"
    assert kinds(title, parse_title(title).core) == {"omnibus"}
    decorated = "The Hollow (The Poirot Collection, Book 24)"
    assert kinds(decorated, parse_title(decorated).core) == frozenset()


def test_retitlings_both_ways_and_only_for_the_writer() -> None:
    core = parse_title("Northern Lights").core
    assert other_titles(core, "Philip Pullman") == [("The Golden Compass", "Philip Pullman")]
    assert other_titles(core, None) == [("The Golden Compass", "Philip Pullman")]
    assert other_titles(core, "Nora Roberts") == []
    back = parse_title("The Golden Compass").core
    assert other_titles(back, "Philip Pullman") == [("Northern Lights", "Philip Pullman")]


def test_reason_names_the_reading() -> None:
    result = match_one(
        BookQuery("The Eyre Affair", "Jasper Fforde"),
        [LibraryItem("1", "Jasper Fforde - The Eyre Affair", "Unknown Artist")],
    )
    assert result.reason == (
        "title 100 / author 100 (reading: 'Author - Title' from the album title)"
    )


# --- the normaliser's new forms ------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("20,000 Leagues Under the Sea", "Twenty Thousand Leagues Under the Sea"),
        ("Richard III", "Richard the Third"),
        ("Henry V", "Henry the Fifth"),
        ("The Picture of Dorian Grey", "The Picture of Dorian Gray"),
        ("Journey to the Centre of the Earth", "Journey to the Center of the Earth"),
    ],
)
def test_number_forms_and_spellings_parse_alike(a: str, b: str) -> None:
    assert parse_title(a).core == parse_title(b).core


@pytest.mark.parametrize(
    "credit", ["Tantor Audio", "Blackstone Audio", "HarperAudio", "Audible Studios", "Audiobooks"]
)
def test_publishers_are_no_people(credit: str) -> None:
    assert parse_people(credit) == ()


def test_transliterated_names_are_one_person() -> None:
    (laozi,) = parse_people("Laozi")
    (lao_tzu,) = parse_people("Lao Tzu")
    assert person_similarity(laozi, lao_tzu) == 100.0
