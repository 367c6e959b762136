"""Matcher benchmark: a synthetic 50,000-book library, 1,000 matches, 1,000 searches.

The library looks like a real audiobook shelf: series with numbered books
written in every decoration style ("Title (Series, Book 3)", "Series 3 -
Title", "Title: Series, Book 3"), light-novel volumes, subtitles, edition
tags, books with two authors, and a few titles shared by different authors.
The queries are what a catalog would ask: present books in other clothes
(edition tags, decorations, author written "Last, First", the narrator in the
author field, another region's ASIN), absent books, and traps (the next
volume, a sequel whose title extends the first, the same title by someone
else). Every query knows its right answer, so the run also counts mistakes.

``--agentless 0.2`` rewrites that share of the albums the way libraries
without agent metadata name them ("Author - Title" by "Unknown Artist",
"Book 02 - Title", "Title (Disc 1)", "Title [ASIN]", "Title 64kbps"), after
the probes are drawn, so the same probes measure the matcher's readings.
The default (0) keeps the run comparable with earlier ones.

Usage: python -m bench.match_bench [--items 50000] [--queries 1000] [--seed 7] [--agentless 0]
Writes the table to bench/results/match.md as well as stdout.
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import statistics
import string
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from core.matcher import BookQuery, LibraryIndex, LibraryItem

log = logging.getLogger(__name__)

RESULTS = Path(__file__).parent / "results"


def _words(text: str) -> list[str]:
    return text.split()


ADJECTIVES = _words("""
silent broken hidden golden crimson shattered burning frozen hollow endless wicked
silver iron lost forgotten bitter savage quiet distant ancient secret scarlet dark
bright wild cold last first final fallen rising sleeping wandering drowned sunken
painted empty glass stone paper midnight winter summer autumn spring northern
southern eastern western hungry lonely restless shining fading twisted cruel gentle
brave hollowed veiled sacred cursed blessed stolen borrowed eternal mortal pale
black white red blue green grey amber ivory obsidian velvet copper brass wooden
""")
NOUNS = _words("""
shadow empire crown blood storm night river glass throne winter dragon garden star
queen fire city ghost house sea secret war king forest light road tower bridge mirror
song sword blade heart witch wolf raven orchard island harbor lantern map key door
clock engine machine station ship voyage letter daughter son mother father sister
brother widow orphan stranger prophet thief assassin soldier healer scholar keeper
hunter painter singer gardener lighthouse library archive vault kingdom republic
covenant oath promise debt bargain lie truth memory dream echo silence whisper
thunder ember ash dust salt bone feather thorn rose lily ivy moth sparrow hawk fox
bear stag serpent spider orchid valley mountain desert canyon glacier marsh meadow
hollow harvest feast festival masquerade carnival circus theater chapel cathedral
monastery fortress citadel prison asylum manor cottage palace village market
""")
FIRST = _words("""
james mary john patricia robert jennifer michael linda william elizabeth david barbara
richard susan joseph jessica thomas sarah charles karen christopher nancy daniel lisa
matthew betty anthony margaret mark sandra donald ashley steven kimberly paul emily
andrew donna joshua michelle kenneth carol kevin amanda brian melissa george deborah
timothy stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan kathleen
jacob amy gary angela nicholas shirley eric anna jonathan brenda stephen pamela larry
emma justin nicole scott helen brandon samantha benjamin katherine samuel christine
gregory debra alexander rachel frank carolyn patrick janet raymond catherine jack maria
dennis heather jerry diane tyler ruth aaron julie jose olivia adam joyce nathan virginia
henry victoria douglas kelly zachary lauren peter christina kyle joan ethan evelyn
walter judith noah megan jeremy andrea christian cheryl keith hannah roger jacqueline
terry martha gerald gloria harold teresa sean ann austin sara carl madison arthur
frances lawrence kathryn dylan janice jesse jean jordan abigail bryan alice billy julia
""")
LAST = _words("""
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez
lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson
white harris sanchez clark ramirez lewis robinson walker young allen king wright scott
torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter
roberts gomez phillips evans turner diaz parker cruz edwards collins reyes stewart
morris morales murphy cook rogers gutierrez ortiz morgan cooper peterson bailey reed
kelly howard ramos kim cox ward richardson watson brooks chavez wood james bennett gray
mendoza ruiz hughes price alvarez castillo sanders patel myers long ross foster jimenez
powell jenkins perry russell sullivan bell coleman butler henderson barnes gonzales
fisher vasquez simmons romero jordan patterson alexander hamilton graham reynolds
griffin wallace moreno west cole hayes bryant herrera gibson ellis tran medina aguilar
stevens murray ford castro marshall owens harrison fernandez mcdonald woods washington
kennedy wells vargas henry chen freeman webb tucker guzman burns crawford olson simpson
porter hunter gordon mendez silva shaw snyder mason dixon munoz hunt hicks holmes palmer
wagner black robertson boyd rose stone salazar fox warren mills meyer rice schmidt
garza daniels ferguson nichols stephens soto weaver ryan gardner payne grant dunn
kelley spencer hawkins arnold pierce vazquez hansen peters santos hart bradley knight
elliott cunningham duncan armstrong hudson carroll lane riley andrews alvarado ray
delgado berry perkins hoffman johnston matthews pena richards contreras willis carpenter
lawrence sandoval guerrero george chapman rios estrada ortega watkins greene nunez
""")
SYLLABLES = _words("""
ka ri an dor el ma thi vas quen or sel lu ba ne tor ys gal mi ra fen dra ko sa vel
im ar zo ul ith mor ca den ly sha bri wen ta os ny hal ro ve gri mun phe ex tal
""")
COLLECTIVES = ["Chronicles", "Saga", "Cycle", "Trilogy", "Series", "Sequence", "Quartet"]
EDITIONS = ["(Unabridged)", "[Unabridged]", "- Unabridged", "(Abridged)",
            "(Dramatized Adaptation)", "(Full Cast)", ": An Audible Original"]  # fmt: skip
SUBTITLES = [": A Novel", ": A Memoir", ": A Thriller", ": The Story of a {n}",
             ": A History of the {a} {n}", ": How One {n} Changed Everything"]  # fmt: skip
SEQUEL_WORDS = ["Returns", "Reborn", "Rising", "Messiah", "Unbound", "Ascendant", "Redux"]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII"]


@dataclass(frozen=True, slots=True)
class Book:
    """A book as the generator knows it: what it is, not how Plex spells it."""

    base: str
    author: str
    narrator: str
    series: str | None
    number: int | None
    volume_style: bool  # "Series, Vol. N": the number is the title


@dataclass(frozen=True, slots=True)
class Probe:
    """One benchmark query and the rating keys that would be right (empty: none)."""

    kind: str
    query: BookQuery
    expect: frozenset[str]


def _title_case(words: str) -> str:
    return string.capwords(words)


class Generator:
    """Deterministic synthetic library and probes."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()
        self.asin_counter = 0
        # Invented names give the vocabulary a real library's size (tens of
        # thousands of words), which is what makes postings short and
        # spelling-variant lookups expensive.
        self.names = self.invented(12_000)
        self.surnames = LAST + self.invented(6_000)

    def invented(self, n: int) -> list[str]:
        words: set[str] = set()
        while len(words) < n:
            parts = self.rng.choices(SYLLABLES, k=self.rng.randint(2, 4))
            words.add("".join(parts))
        return sorted(words)

    def person(self) -> str:
        return f"{self.rng.choice(FIRST).title()} {self.rng.choice(self.surnames).title()}"

    def asin(self) -> str:
        self.asin_counter += 1
        return f"B0{self.asin_counter:08d}"

    def base_title(self) -> str:
        rng = self.rng
        for _ in range(50):
            a, n, m = rng.choice(ADJECTIVES), rng.choice(NOUNS), rng.choice(NOUNS)
            name = rng.choice(self.names)
            pattern = rng.random()
            if pattern < 0.12:
                title = f"the {n} of {name}"
            elif pattern < 0.20:
                title = f"{name}'s {n}"
            elif pattern < 0.25:
                title = f"{name}"
            elif pattern < 0.32:
                title = f"the {a} {name}"
            elif pattern < 0.40:
                title = f"{name} {n}"
            elif pattern < 0.55:
                title = f"the {a} {n}"
            elif pattern < 0.65:
                title = f"{n} of {m}"
            elif pattern < 0.72:
                title = f"the {n} of the {a} {m}"
            elif pattern < 0.79:
                title = f"{a} {n}s"
            elif pattern < 0.84:
                title = f"the {rng.choice(FIRST)}'s {n}"
            elif pattern < 0.90:
                title = f"a {n} of {a} {m}s"
            elif pattern < 0.95:
                title = f"{n} and {m}"
            else:
                title = f"{a} {n} {m}"
            title = _title_case(title)
            if title.lower() not in self.used:
                self.used.add(title.lower())
                return title
        raise RuntimeError("vocabulary exhausted")

    def books(self, n: int) -> list[Book]:
        rng = self.rng
        books: list[Book] = []
        while len(books) < n:
            author = self.person()
            if rng.random() < 0.1:
                author = f"{author}, {self.person()}"
            narrator = self.person()
            roll = rng.random()
            if roll < 0.45:  # a series of titled books
                name = f"{self.base_title()} {rng.choice(COLLECTIVES)}"
                for number in range(1, rng.randint(2, 9) + 1):
                    books.append(Book(self.base_title(), author, narrator, name, number, False))
            elif roll < 0.52:  # light-novel volumes: the number is the title
                name = self.base_title()
                for number in range(1, rng.randint(2, 12) + 1):
                    books.append(Book(name, author, narrator, name, number, True))
            else:
                for _ in range(rng.randint(1, 4)):
                    books.append(Book(self.base_title(), author, narrator, None, None, False))
        return books[:n]

    def plex_title(self, book: Book) -> str:
        """How a Plex library might spell the book."""
        rng = self.rng
        if book.volume_style:
            style = rng.choice([f"{book.base}, Vol. {book.number}", f"{book.base} {book.number}",
                                f"{book.base} Vol. {ROMAN[(book.number or 1) - 1]}"])  # fmt: skip
        elif book.series and rng.random() < 0.7:
            style = rng.choice(
                [
                    f"{book.base} ({book.series}, Book {book.number})",
                    f"{book.series} {book.number} - {book.base}",
                    f"{book.base}: {book.series}, Book {book.number}",
                    f"Book {book.number}: {book.base}",
                    book.base,
                ]
            )
        else:
            style = book.base
            if rng.random() < 0.15:
                sub = rng.choice(SUBTITLES).format(a=rng.choice(ADJECTIVES), n=rng.choice(NOUNS))
                style += _title_case(sub)
        if style == book.base and style.startswith("The ") and rng.random() < 0.1:
            style = f"{style[4:]}, The"
        if rng.random() < 0.3:
            style = f"{style} {rng.choice(EDITIONS)}"
        return style

    def query_title(self, book: Book) -> str:
        """How the catalog might spell the same book."""
        rng = self.rng
        if book.volume_style:
            return rng.choice(
                [f"{book.base}, Vol. {book.number}", f"{book.base}, Volume {book.number}"]
            )
        if book.series and rng.random() < 0.5:
            return f"{book.base}: {book.series}, Book {book.number}"
        return book.base

    def query_author(self, author: str) -> str:
        rng = self.rng
        first = author.split(", ")[0]
        roll = rng.random()
        if roll < 0.15:
            given, last = first.rsplit(" ", 1)
            return f"{last}, {given}"
        if roll < 0.25:
            given, last = first.rsplit(" ", 1)
            return f"{given[0]}. {last}"
        if roll < 0.35:
            return first.upper()
        return first if roll < 0.5 else author


PLACEHOLDERS = ["Unknown Artist", "Various Artists", "[Unknown Artist]", "", "Audiobooks",
                "Tantor Audio", "Blackstone Audio"]  # fmt: skip
TAGS = ["64kbps", "(MP3)", "[M4B]", "- 128k MP3", "{Narrator}"]


def folder_named(rng: random.Random, book: Book, item: LibraryItem, asin: str) -> LibraryItem:
    """The album as a library without agent metadata might name it."""
    author = book.author.split(", ")[0]
    given, last = author.rsplit(" ", 1)
    nobody = rng.choice(PLACEHOLDERS)
    base = book.base
    if book.series and not book.volume_style and rng.random() < 0.3:
        title, artist = f"Book {book.number:02d} - {base}", book.author
    else:
        title, artist = rng.choice(
            [
                (f"{author} - {base}", nobody),
                (f"{base} - {author}", nobody),
                (f"{base} by {author}", nobody),
                (f"{last}, {given} - {base} ({rng.randint(1950, 2024)})", nobody),
                (f"{base} [{asin}]", nobody),
                (f"{base} (Disc 1)", item.author),
                (f"{base} {rng.choice(TAGS)}", item.author),
            ]
        )
    if book.volume_style:  # the number is the title: keep it
        title = title.replace(base, f"{base}, Vol. {book.number}")
    return LibraryItem(item.rating_key, title, artist, None, None, None)


def build(
    items: int, queries: int, seed: int, agentless: float = 0.0
) -> tuple[list[LibraryItem], list[Probe]]:
    """The library and the probes, with the right answer for each probe."""
    gen = Generator(seed)
    rng = gen.rng
    books = gen.books(items)
    library: list[LibraryItem] = []
    keys_of: dict[int, str] = {}
    asins: dict[int, str] = {}
    for i, book in enumerate(books):
        key = str(100_000 + i)
        keys_of[i] = key
        asin = gen.asin()
        asins[i] = asin
        author = book.author if rng.random() > 0.03 else book.narrator  # filed under narrator
        guid = None
        roll = rng.random()
        if roll < 0.4:
            guid = f"com.plexapp.agents.audnexus://{asin}_us?lang=en"
        elif roll < 0.5:
            guid = f"plex://album/{rng.getrandbits(64):016x}"
        library.append(LibraryItem(key, gen.plex_title(book), author, book.narrator, None, guid))

    # A few titles shared by two authors: the author must decide.
    twins: list[tuple[int, str]] = []
    for i in rng.sample(range(len(books)), max(1, items // 200)):
        if books[i].series:
            continue
        key = str(900_000 + len(twins))
        other = gen.person()
        library.append(LibraryItem(key, books[i].base, other, None, None, None))
        twins.append((i, other))

    probes: list[Probe] = []
    present = int(queries * 0.5)
    absent = int(queries * 0.2)
    for i in rng.sample(range(len(books)), present):
        book = books[i]
        # The catalog names the narrator most of the time, and that is the only
        # way to find a book Plex filed under its narrator.
        filed_under_narrator = library[i].author == book.narrator
        narrator = book.narrator if filed_under_narrator or rng.random() < 0.7 else None
        roll = rng.random()
        asin = None
        if roll < 0.2:
            asin = asins[i]
        elif roll < 0.35:
            asin = gen.asin()  # another region's ASIN
        query = BookQuery(gen.query_title(book), gen.query_author(book.author), narrator, asin)
        probes.append(Probe("present", query, frozenset({keys_of[i]})))
    for _ in range(absent):
        probes.append(Probe("absent", BookQuery(gen.base_title(), gen.person()), frozenset()))
    while len(probes) < queries:
        book = books[rng.randrange(len(books))]
        roll = rng.random()
        if book.volume_style:  # a volume we do not hold
            title = f"{book.base}, Vol. {(book.number or 0) + 20}"
            probes.append(Probe("trap", BookQuery(title, book.author), frozenset()))
        elif roll < 0.6:  # a sequel whose title extends the first
            title = f"{book.base} {rng.choice(SEQUEL_WORDS)}"
            probes.append(Probe("trap", BookQuery(title, book.author), frozenset()))
        else:  # the same title by someone else
            probes.append(Probe("trap", BookQuery(book.base, gen.person()), frozenset()))
    rng.shuffle(probes)
    if agentless > 0:
        other = random.Random(seed + 1)  # the default run's draws stay as they were
        for i in other.sample(range(len(books)), int(len(books) * agentless)):
            library[i] = folder_named(other, books[i], library[i], asins[i])
    return library, probes


def search_texts(library: list[LibraryItem], n: int, seed: int) -> list[str]:
    """What people type into /library: prefixes, whole titles, authors, typos."""
    rng = random.Random(seed + 1)
    texts = []
    for _ in range(n):
        item = rng.choice(library)
        words = item.title.split()
        roll = rng.random()
        if roll < 0.3:
            cut = " ".join(words[:2])
            texts.append(cut[: max(3, len(cut) - rng.randint(0, 3))])
        elif roll < 0.5:
            texts.append(item.title)
        elif roll < 0.65 and item.author:
            texts.append(item.author.split(", ")[0].split()[-1])
        elif roll < 0.8:
            word = max(words, key=len)
            pos = rng.randrange(1, len(word))
            texts.append(word[:pos] + word[pos + 1 :])  # a dropped letter
        elif roll < 0.9 and item.author:
            texts.append(f"{words[-1]} {item.author.split()[-1]}")
        else:
            texts.append(rng.choice(NOUNS)[:4])
    return texts


def _rss_mb() -> float:
    """Current resident memory (Linux); 0 where /proc is missing."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * resource.getpagesize() / 2**20


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(items: int, queries: int, seed: int, agentless: float = 0.0) -> str:
    library, probes = build(items, queries, seed, agentless)

    rss_before = _rss_mb()
    started = time.perf_counter()
    index = LibraryIndex(library)
    build_s = time.perf_counter() - started
    index_mb = _rss_mb() - rss_before

    wrong: dict[str, int] = {"present": 0, "absent": 0, "trap": 0}
    counts: dict[str, int] = {"present": 0, "absent": 0, "trap": 0}
    per_query: list[float] = []
    started = time.perf_counter()
    for probe in probes:
        t0 = time.perf_counter()
        result = index.match(probe.query)
        per_query.append(time.perf_counter() - t0)
        key = result.item.rating_key if result.item else None
        counts[probe.kind] += 1
        if (key in probe.expect) if probe.expect else key is None:
            continue
        wrong[probe.kind] += 1
        log.debug("%s: %r -> %s (%s)", probe.kind, probe.query, key, result.reason)
    match_s = time.perf_counter() - started

    texts = search_texts(library, queries, seed)
    latencies = []
    for text in texts:
        t0 = time.perf_counter()
        index.search(text, limit=25)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    per_query.sort()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    ok = "yes" if match_s < 2.0 else "NO"
    ok_search = "yes" if p99 < 0.050 else "NO"
    rows = [
        ("library items", f"{len(library):,}", ""),
        ("albums named without agent metadata", f"{agentless:.0%}", ""),
        ("index build", f"{build_s:.2f} s", ""),
        ("index memory (RSS growth while building)", f"{index_mb:.0f} MB", ""),
        (f"match {len(probes):,} queries", f"{match_s:.2f} s", f"< 2 s: {ok}"),
        (
            "match p50 / p99 / max",
            f"{_ms(statistics.median(per_query))} / "
            f"{_ms(per_query[int(len(per_query) * 0.99)])} / {_ms(per_query[-1])}",
            "",
        ),
        (f"search {len(texts):,} texts p50", _ms(p50), ""),
        ("search p99", _ms(p99), f"< 50 ms: {ok_search}"),
        ("present found", f"{counts['present'] - wrong['present']}/{counts['present']}", ""),
        ("absent left alone", f"{counts['absent'] - wrong['absent']}/{counts['absent']}", ""),
        ("traps left alone", f"{counts['trap'] - wrong['trap']}/{counts['trap']}", ""),
        ("peak RSS (whole process, generator included)", f"{peak_mb:.0f} MB", ""),
    ]
    lines = [
        f"# Matcher benchmark (seed {seed}, Python {sys.version.split()[0]})",
        "",
        "| measure | value | target |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--agentless", type=float, default=0.0, help="share of folder-named albums")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every wrong answer")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.verbose:
        log.setLevel(logging.DEBUG)
    table = run(args.items, args.queries, args.seed, args.agentless)
    print(table)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "match.md").write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
