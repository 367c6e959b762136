"""`/library` end to end: autocomplete from the mirror, one book, recent books and totals."""

from __future__ import annotations

import pytest

from core.library import query
from core.models import PlexItem
from tests.e2e.helpers import index_never_ready
from tests.e2e.world import World, eventually

HOUR_MS = 3_600_000

pytestmark = pytest.mark.world(cogs=("cogs.library",))


def add_books(w: World) -> dict[str, str]:
    """Three books added one after the other; returns title -> rating key."""
    pms = w.pms
    books = [
        pms.add_album(
            "Project Hail Mary", "Andy Weir", narrators=["Ray Porter"], year=2021,
            duration=16 * HOUR_MS, added_at=1_700_000_000,
            guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en",
        ),
        pms.add_album("The Martian", "Andy Weir", duration=11 * HOUR_MS, added_at=1_700_000_100),
        pms.add_album(
            "Dune", "Frank Herbert", duration=21 * HOUR_MS + HOUR_MS // 2, added_at=1_700_000_200
        ),
    ]
    return {b.title: b.rating_key for b in books}


async def scanned(w: World) -> dict[str, str]:
    keys = add_books(w)
    summary = await w.runtime.scans.run("full")
    assert summary.new == 3
    return keys


async def test_autocomplete_answers_from_the_mirror(world: World) -> None:
    keys = await scanned(world)
    choices = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "hail ma")
    assert choices.names[0] == "Project Hail Mary — Andy Weir"
    assert choices.values[0] == f"rk:{keys['Project Hail Mary']}"
    assert choices.latency < 1.0

    by_author = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "weir")
    assert set(by_author.names) == {"Project Hail Mary — Andy Weir", "The Martian — Andy Weir"}
    none = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "zzzzqx")
    assert list(none) == []


async def test_autocomplete_sees_books_a_recent_poll_added(world: World) -> None:
    await scanned(world)
    await world.runtime.scans.library_index()  # warm, as after a first autocomplete
    new = world.pms.add_album("Hyperion", "Dan Simmons")
    await world.runtime.scans.run("recent")
    choices = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "hyperi")
    assert choices.values == [f"rk:{new.rating_key}"]


async def test_chosen_book_is_shown_ephemerally_without_plex_urls(world: World) -> None:
    keys = await scanned(world)
    inter = await world.fd.slash(
        world.alice, world.guild, "library", query=f"rk:{keys['Project Hail Mary']}"
    )
    msg = inter.original
    assert msg is not None and msg.is_ephemeral
    assert len(msg.embeds) == 1
    embed = msg.embeds[0]
    assert embed["title"] == "Project Hail Mary"
    assert "Andy Weir" in msg.text and "Ray Porter" in msg.text and "16 h 00 min" in msg.text
    assert world.pms.url not in str(msg) and world.pms.token not in str(msg)
    # The cover is the catalog's (the item has an ASIN): a Plex thumb would carry the token.
    assert embed["thumbnail"]["url"].startswith("https://m.media-amazon.com/")
    assert "image" not in embed
    assert msg["allowed_mentions"]["parse"] == []


async def test_typed_text_shows_the_best_matches(world: World) -> None:
    await scanned(world)
    inter = await world.fd.slash(world.alice, world.guild, "library", query="martian")
    msg = inter.original
    assert msg is not None and msg.is_ephemeral
    assert msg.embeds[0]["title"] == "The Martian"

    several = await world.fd.slash(world.alice, world.guild, "library", query="andy weir")
    text = several.original.text
    assert "The Martian" in text and "Project Hail Mary" in text

    nothing = await world.fd.slash(world.alice, world.guild, "library", query="zzzzqx")
    assert nothing.original.is_ephemeral
    assert "Nothing in the library matches" in nothing.original.text


async def test_a_choice_for_a_book_that_left_the_library(world: World) -> None:
    await scanned(world)
    inter = await world.fd.slash(world.alice, world.guild, "library", query="rk:999999")
    assert "Nothing in the library matches" in inter.original.text


async def test_no_query_shows_recent_books_and_totals(world: World) -> None:
    await scanned(world)
    inter = await world.fd.slash(world.alice, world.guild, "library")
    msg = inter.original
    assert msg is not None and msg.is_ephemeral
    text = msg.text
    # newest first
    assert text.index("Dune") < text.index("The Martian") < text.index("Project Hail Mary")
    assert "3 books" in text and "2 authors" in text and "48.5 hours" in text


async def test_recent_list_is_capped_and_newest_first(world: World) -> None:
    for i in range(14):
        world.pms.add_album(f"Book Number {i:02d}", "Some Author", added_at=1_700_000_000 + i)
    await world.runtime.scans.run("full")
    inter = await world.fd.slash(world.alice, world.guild, "library")
    text = inter.original.text
    assert "Book Number 13" in text and "Book Number 04" in text
    assert "Book Number 03" not in text
    assert text.index("Book Number 13") < text.index("Book Number 12")
    assert "14 books" in text


async def test_metadata_is_escaped_and_never_pings(world: World) -> None:
    world.pms.add_album("**Loud** @everyone <@123>", "_Sneaky_ Author", added_at=1_700_000_000)
    await world.runtime.scans.run("full")
    inter = await world.fd.slash(world.alice, world.guild, "library")
    msg = inter.original
    assert "\\*\\*Loud\\*\\*" in msg.text and "@\u200beveryone" in msg.text
    assert "<@123>" not in msg.text
    assert msg["allowed_mentions"]["parse"] == []

    choices = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "loud")
    assert choices.names == ["**Loud** @everyone <@123> — _Sneaky_ Author"]  # plain text there
    shown = await world.fd.slash(world.alice, world.guild, "library", query=choices.values[0])
    assert "@everyone" not in shown.original.text.replace("@\u200beveryone", "")


async def test_empty_library_is_a_friendly_message(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "library")
    assert inter.original.is_ephemeral
    assert "empty" in inter.original.text and "/admin scan" in inter.original.text


@pytest.mark.world(plex=False)
async def test_plex_not_configured_is_a_friendly_message(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "library")
    assert inter.original.is_ephemeral
    assert "/setup plex" in inter.original.text
    found = await world.fd.slash(world.alice, world.guild, "library", query="dune")
    assert "/setup plex" in found.original.text
    choices = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "dune")
    assert list(choices) == []


async def test_autocomplete_answers_while_the_index_is_not_ready(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """First start on a big library: the substring fallback answers inside Discord's window."""
    keys = await scanned(world)

    index_never_ready(world, monkeypatch)
    choices = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "dune")
    assert choices.values == [f"rk:{keys['Dune']}"]
    assert choices.latency < 2.9


async def test_query_helpers_against_the_table(world: World) -> None:
    """The core queries on their own: totals, newest first, and the last full scan time."""
    assert (await query.totals()).empty
    assert await query.last_full_scan() is None
    await scanned(world)
    totals = await query.totals()
    assert (totals.books, totals.authors, totals.hours) == (3, 2, 48.5)
    assert [r.title for r in await query.recently_added(2)] == ["Dune", "The Martian"]
    assert await query.last_full_scan() is not None
    assert query.key_from_value("rk:12") == "12" and query.key_from_value("1984") is None
    assert await PlexItem.all().count() == 3


async def test_index_is_built_in_the_background_at_start(world: World) -> None:
    """Loading the cog starts the build: the index is ready before any command asks for it."""
    scans = world.runtime.scans
    # The private slot on purpose: the public `library_index()` would start a build itself.
    await eventually(lambda: scans._index is not None, what="the index built at start")
