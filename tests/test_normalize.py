"""Text normalisation the matcher relies on: titles and people (ASINs: tests/test_asin.py)."""

from __future__ import annotations

import pytest

from core.normalize import (
    fold,
    parse_people,
    parse_title,
    person_similarity,
    tokens,
)

# --- fold / tokens ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("The Hobbit", "the hobbit"),
        ("Les Misérables", "les miserables"),
        ("Ender’s Game", "ender's game"),
        ("Ender`s Game", "ender's game"),
        ("“Quoted”", '"quoted"'),
        ("Crime & Punishment", "crime and punishment"),
        ("Part One – Two", "part one - two"),
        ("Søren Kierkegaard", "soren kierkegaard"),
        ("Straße", "strasse"),
        ("  spaced\tout  ", "spaced out"),
        ("ＦＵＬＬ width", "full width"),
    ],
)
def test_fold(raw: str, expected: str) -> None:
    assert fold(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Carl’s Doomsday Scenario", ["carls", "doomsday", "scenario"]),
        ("Catch-22", ["catch", "22"]),
        ("J.R.R. Tolkien", ["j", "r", "r", "tolkien"]),
        ("Book 2.5", ["book", "2.5"]),
        ("Crime & Punishment!", ["crime", "and", "punishment"]),
        ("", []),
    ],
)
def test_tokens(raw: str, expected: list[str]) -> None:
    assert tokens(raw) == expected


# --- titles -----------------------------------------------------------------------


def _core(title: str) -> str:
    return parse_title(title).key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The Tenant", "The Tenant (Unabridged)"),
        ("The Hobbit", "Hobbit, The"),
        ("The Hobbit", "The Hobbit [Unabridged]"),
        ("The Hobbit", "The Hobbit - Unabridged"),
        ("The Hobbit", "The Hobbit (Dramatized Adaptation)"),
        ("The Hobbit", "The Hobbit (Full Cast)"),
        ("The Hobbit", "The Hobbit: An Audible Original"),
        ("The Hobbit", "The Hobbit (BBC Radio Full-Cast Dramatisation)"),
        ("A Wrinkle in Time", "Wrinkle in Time, A"),
        ("An Echo of Things to Come", "Echo of Things to Come"),
        ("Ender's Game", "Ender’s Game"),
        ("Crime & Punishment", "Crime and Punishment"),
        ("Les Misérables", "Les Miserables"),
        ("The Well of Ascension", "Mistborn 2 - The Well of Ascension"),
        ("The Well of Ascension", "The Well of Ascension (Mistborn, Book 2)"),
        ("Caliban's War", "Caliban's War (The Expanse, Book 2)"),
        ("Caliban's War", "Caliban's War: The Expanse, Book 2"),
        ("The Well of Ascension", "Book 2: The Well of Ascension"),
        ("The Well of Ascension", "Mistborn #2: The Well of Ascension"),
        ("Dune", "Dune: Book One in the Dune Chronicles"),
        ("Hobbit", "The Hobbit (1937)"),
        ("The Hobbit", "The Hobbit Unabridged"),
        ("Mr. Mercedes", "Mister Mercedes"),
        ("The Two Towers", "The 2 Towers"),
    ],
)
def test_title_variants_share_core(a: str, b: str) -> None:
    assert _core(a) == _core(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Foundation", "Foundation and Empire"),
        ("Dune", "Dune Messiah"),
        ("Us", "Us Against You"),
        ("It", "It Ends with Us"),
    ],
)
def test_different_titles_keep_different_cores(a: str, b: str) -> None:
    assert _core(a) != _core(b)


def test_series_decoration_is_parsed() -> None:
    parts = parse_title("The Well of Ascension (Mistborn, Book 2)")
    assert parts.core == ("well", "of", "ascension")
    assert parts.series == ("mistborn",)
    assert parts.volume == "2"
    assert parts.volume_attached is False


def test_series_prefix_is_parsed() -> None:
    parts = parse_title("Mistborn 2 - The Well of Ascension")
    assert parts.series == ("mistborn",)
    assert parts.volume == "2"
    assert parts.core == ("well", "of", "ascension")


def test_descriptive_series_subtitle_gives_series_and_volume() -> None:
    parts = parse_title("Dune: Book One in the Dune Chronicles")
    assert parts.core == ("dune",)
    assert parts.series == ("dune", "chronicles")
    assert parts.volume == "1"
    assert parts.subtitle == ()


@pytest.mark.parametrize(
    ("title", "volume"),
    [
        ("Dungeon Crawler Carl 2", "2"),
        ("Solo Leveling, Vol. 2", "2"),
        ("Solo Leveling Volume Two", "2"),
        ("The Godfather Part II", "2"),
        ("Dune: Part Two", "2"),
        ("Rocky III", "3"),
        ("Henry VIII", "8"),
        ("Ready Player One", "1"),
    ],
)
def test_trailing_number_is_an_attached_volume(title: str, volume: str) -> None:
    """A bare number, volume or part belongs to the title: "Carl 2" is not "Carl"."""
    parts = parse_title(title)
    assert parts.volume == volume
    assert parts.volume_attached is True


@pytest.mark.parametrize(
    ("title", "core", "volume"),
    [
        (
            "Harry Potter and the Chamber of Secrets, Book 2",
            "harry potter and the chamber of secrets",
            "2",
        ),
        ("Dungeon Crawler Carl: Book Three", "dungeon crawler carl", "3"),
        ("The Well of Ascension (Book 2)", "well of ascension", "2"),
        ("Mistborn #2", "mistborn", "2"),
    ],
)
def test_book_number_is_a_series_position(title: str, core: str, volume: str) -> None:
    """Audible writes "Title, Book 2": the book has its own title, the number is its place."""
    parts = parse_title(title)
    assert parts.key == core
    assert parts.volume == volume
    assert parts.volume_attached is False


def test_series_named_same_as_core_is_attached() -> None:
    parts = parse_title("Dungeon Crawler Carl (Dungeon Crawler Carl, Book 1)")
    assert parts.volume == "1"
    assert parts.volume_attached is True


def test_numbers_inside_the_title_are_kept() -> None:
    assert parse_title("11/22/63").numbers == ("11", "22", "63")
    assert parse_title("1984").core == ("1984",)
    # "Catch-22" and "Catch 22" read the same.
    assert parse_title("Catch-22") == parse_title("Catch 22")


def test_malcolm_x_is_not_a_volume() -> None:
    parts = parse_title("The Autobiography of Malcolm X")
    assert parts.volume is None
    assert parts.core[-1] == "x"


@pytest.mark.parametrize(
    ("title", "descriptive"),
    [
        ("Sapiens: A Brief History of Humankind", True),
        ("Educated: A Memoir", True),
        ("Outliers: The Story of Success", True),
        ("Quiet: The Power of Introverts in a World That Can't Stop Talking", True),
        ("Star Wars: Thrawn", False),
        ("Star Wars: Heir to the Empire", False),
        ("Mistborn: The Final Empire", False),
        ("The Lord of the Rings: The Fellowship of the Ring", False),
    ],
)
def test_subtitle_descriptiveness(title: str, descriptive: bool) -> None:
    parts = parse_title(title)
    assert parts.subtitle
    assert parts.subtitle_descriptive is descriptive


def test_series_prefix_before_a_title_starting_with_a() -> None:
    parts = parse_title("Twisted Palaces Series 8 - A Sparrow of Drowned Crowns")
    assert parts.core == ("sparrow", "of", "drowned", "crowns")
    assert parts.series == ("twisted", "palaces")
    assert parts.volume == "8"


def test_series_prefix_before_a_one_word_title() -> None:
    parts = parse_title("Roneraar's Dream Chronicles 8 - Aranny")
    assert parts.core == ("aranny",)
    assert parts.volume == "8"
    assert parts.volume_attached is False


def test_fahrenheit_451_a_novel_is_not_a_series_prefix() -> None:
    parts = parse_title("Fahrenheit 451 - A Novel")
    assert parts.series == ()
    assert parts.core == ("fahrenheit",)
    assert parts.volume == "451"


def test_parse_title_never_returns_an_empty_core_for_text() -> None:
    for title in ["(Unabridged)", "The", "Book 2", "A", "Dune (Unabridged)"]:
        parts = parse_title(title)
        assert parts.core or parts.series or parts.volume, title


# --- people -----------------------------------------------------------------------


def _keys(text: str | None) -> set[str]:
    return {p.key for p in parse_people(text)}


@pytest.mark.parametrize(
    "form",
    ["J.R.R. Tolkien", "J. R. R. Tolkien", "JRR Tolkien", "Tolkien, J.R.R.", "Tolkien, J. R. R."],
)
def test_tolkien_forms(form: str) -> None:
    assert "jrr tolkien" in _keys(form)


def test_suffixes_and_degrees_are_dropped() -> None:
    assert _keys("Martin Luther King Jr.") == {"martin luther king"}
    assert "martin luther king" in _keys("King, Martin Luther, Jr.")
    assert _keys("Brené Brown PhD") == {"brene brown"}
    assert _keys("Dr. Seuss") == {"seuss"}


def test_several_authors_split() -> None:
    keys = _keys("Douglas Preston, Lincoln Child")
    assert {"douglas preston", "lincoln child"} <= keys
    assert _keys("Preston & Child") == {"preston", "child"}
    assert _keys("Stephen King and Peter Straub") == {"stephen king", "peter straub"}
    assert _keys("Neil Gaiman; Terry Pratchett") == {"neil gaiman", "terry pratchett"}


def test_roles_are_dropped() -> None:
    assert "emily wilson" in _keys("Emily Wilson (Translator)")


@pytest.mark.parametrize("placeholder", [None, "", "Unknown", "Various Authors", "Unknown Author"])
def test_placeholders_are_no_people(placeholder: str | None) -> None:
    assert parse_people(placeholder) == ()


def _sim(a: str, b: str) -> float:
    return max(person_similarity(x, y) for x in parse_people(a) for y in parse_people(b))


@pytest.mark.parametrize(
    ("a", "b", "low"),
    [
        ("J.R.R. Tolkien", "Tolkien, J. R. R.", 100),
        ("J.R.R. Tolkien", "John Ronald Reuel Tolkien", 90),
        ("Fyodor Dostoevsky", "Fyodor Dostoyevsky", 90),
        ("Fiodor Dostoïevski", "Fyodor Dostoevsky", 75),
        ("Preston", "Douglas Preston", 90),
        ("J. K. Rowling", "Joanne Rowling", 90),
        ("Liu Cixin", "Cixin Liu", 100),
    ],
)
def test_same_person_scores_high(a: str, b: str, low: float) -> None:
    assert _sim(a, b) >= low


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Toni Morrison", "Jane Smith"),
        ("Stephen King", "Owen King"),
        ("Christopher Tolkien", "J.R.R. Tolkien"),
        ("Frank Herbert", "Brian Herbert"),
        ("Christina Watkins", "Christina Perkins"),
        ("Stephen King", "Stephen Kingsley"),
    ],
)
def test_different_people_score_low(a: str, b: str) -> None:
    assert _sim(a, b) < 70
