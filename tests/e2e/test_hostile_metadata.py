"""The worst metadata at every command and message: Discord accepts them all, nothing pings.

The real bot with every cog, against the fake Discord (whose validation
refuses what Discord refuses), the fake PMS and the fake Audible catalog,
both seeded with hostile or just long metadata: 250 `*`, 600 `_a`, mentions,
backtick runs, 150-character ASIN-like values, 5,000-character summaries,
newlines, RTL overrides and zero-width characters. Each test drives the
commands a user meets and checks that every message the bot made was
accepted, pings nobody, and still shows which book it is about.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from core.models import BookRequest, RequestStatus, User
from tests.e2e.world import World, eventually
from tests.fakes.discord import FakeMessage, FakeUser

STARS = "*" * 250
UNDERSCORES = "_a" * 600
PINGS = "@everyone @here <@123456789012345678> <@&456> <#789>"
TICKS = "`" * 120
RTL, ZW = "\u202e", "\u200b\ufeff\u2060"
LONG_ASIN = "B0" + "X1" * 74  # 150 characters, shaped like an ASIN
SUMMARY = "\n".join(["**Bold** claims, @everyone, <@123> and __more__."] * 110)  # 5,000+

STARS_ASIN = "B0STARS001"  # the title is nothing but 250 `*`
WORST_ASIN = "B0WORST001"  # every field hostile; "Zanzibar" identifies it
WORST_TITLE = f"Zanzibar {TICKS} {PINGS} {RTL}desrever{ZW} " + UNDERSCORES
ALL_ASINS = (STARS_ASIN, WORST_ASIN)
REASON = ("@everyone <@123> " + "*" * 40 + " ") * 9  # 500 characters, as /admin deny allows
REASON = REASON[:500]


pytestmark = pytest.mark.world(admin_channel=True)  # and every cog


@pytest.fixture
def world(world: World) -> Iterator[World]:
    """The catalog seeded; at the end, every REST call accepted (the shared check: no errors)."""
    seed_catalog(world)
    yield world
    assert_all_accepted(world)


def seed_catalog(world: World) -> None:
    hostile: dict[str, Any] = {
        "authors": [UNDERSCORES, PINGS], "narrators": [TICKS, "Narr" + ZW * 40 + RTL],
        "series": [(UNDERSCORES, "1" * 60)], "summary": SUMMARY, "subtitle": STARS,
    }
    world.audible.add_product(asin=STARS_ASIN, title=STARS, **hostile)
    world.audible.add_product(asin=WORST_ASIN, title=WORST_TITLE, **hostile)
    world.audible.add_product(asin=LONG_ASIN, title="Zanzibar Too Long An Id", **hostile)
    for i in range(30):  # more than a select or a choice list holds
        world.audible.add_product(
            asin=f"B0ZANZ{i:04d}", title=f"Zanzibar {i} {STARS}", **hostile
        )


# ----- what every test asserts at the end -------------------------------------------------


def pinged(message: FakeMessage) -> list[str]:
    """Who Discord would ping for this message: mentions in content, as allowed_mentions permit."""
    allowed: dict[str, Any] | None = message.get("allowed_mentions")
    parse = set(allowed.get("parse", [])) if allowed is not None else {"everyone", "users", "roles"}
    users = set(allowed.get("users", [])) if allowed is not None else set()
    content = message.content
    out = []
    if "everyone" in parse and re.search(r"@(everyone|here)", content):
        out.append("@everyone")
    for uid in re.findall(r"<@!?(\d+)>", content):
        if "users" in parse or uid in users:
            out.append(uid)
    if "roles" in parse and re.search(r"<@&\d+>", content):
        out.append("role")
    return out


def assert_all_accepted(world: World) -> None:
    """No REST call of the bot refused; no message pings anyone it should not."""
    refused = [(r.method, r.path, r.error) for r in world.fd.requests if r.status == 400]
    assert refused == []
    for message in world.fd.messages.values():
        for version in [message, *message.get("history", [])]:
            assert pinged(version) in ([], [str(u.id) for u in (world.alice, world.bob)]), version


def visible(text: str) -> str:
    """What a reader sees: escapes and zero-width spaces are not shown."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u200b", "")


def texts(message: FakeMessage | None) -> str:
    """Every text of a message as a reader sees it (title, description, fields, footer)."""
    assert message is not None, "the bot did not answer"
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.get("title") or "", embed.get("description") or "",
                  (embed.get("footer") or {}).get("text") or ""]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields") or []]
    return visible("\n".join(parts))


def shows_book(message: FakeMessage, asin: str) -> bool:
    """The book can be told apart: its words, or its ASIN in the footer."""
    seen = texts(message)
    return asin in seen or ("Zanzibar" in seen if asin == WORST_ASIN else "*" * 40 in seen)


async def request_book(world: World, user: FakeUser, asin: str) -> FakeMessage:
    """`/request` by ASIN, its handler finished (the admin post included): the reply."""
    done = world.command_done("request", timeout=10)
    inter = await world.fd.slash(user, world.guild, "request", title=asin)
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds), timeout=10)
    await done
    return reply


async def seed_pending(world: World, count: int) -> list[BookRequest]:
    """Requests with the worst metadata, as if members had asked (admin posts not needed)."""
    user, _ = await User.get_or_create(discord_id=world.bob.id)
    return [
        await BookRequest.create(
            requester=user, asin=f"B0PEND{i:04d}{'X' * 6}",
            title=STARS if i % 3 else WORST_TITLE, author=UNDERSCORES, narrator=TICKS + PINGS,
            status=RequestStatus.PENDING,
        )
        for i in range(count)
    ]


# ----- /request -------------------------------------------------------------------------


async def test_request_autocomplete_keeps_every_book_whose_id_fits(world: World) -> None:
    await world.link(world.alice)

    choices = await world.fd.autocomplete(world.alice, world.guild, "request", "title", "zanzibar")

    assert 1 <= len(choices.values) <= 25 and LONG_ASIN not in choices.values
    assert all(1 <= len(n) <= 100 for n in choices.names)
    by_value = dict(zip(choices.values, choices.names, strict=True))
    if WORST_ASIN in by_value:
        assert by_value[WORST_ASIN].startswith("Zanzibar ```")


async def test_free_text_picker_and_submit_with_hostile_books(world: World) -> None:
    await world.link(world.alice)

    inter = await world.fd.slash(world.alice, world.guild, "request", title="zanzibar")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects), timeout=10)
    (select,) = menu.selects
    values = [o["value"] for o in select["options"]]
    assert LONG_ASIN not in values and 1 <= len(values) <= 25
    assert all(len(o["label"]) <= 100 and len(o.get("description") or "") <= 100
               for o in select["options"])

    await world.fd.select(world.alice, menu, select["custom_id"], [values[0]])
    done = await inter.wait_for_edit(lambda m: bool(m.embeds), timeout=10)

    assert "Zanzibar" in texts(done)
    post = await world.fd.wait_for_message(world.admin_channel_id)
    assert "Zanzibar" in texts(post) and post.buttons


async def test_request_reply_and_admin_post_for_the_worst_titles(world: World) -> None:
    await world.link(world.alice)

    for asin in ALL_ASINS:
        reply = await request_book(world, world.alice, asin)
        assert shows_book(reply, asin), texts(reply)

    await eventually(lambda: len(world.fd.channel_messages(world.admin_channel_id)) == 2)
    for post, asin in zip(world.fd.channel_messages(world.admin_channel_id), ALL_ASINS,
                          strict=True):
        assert shows_book(post, asin)
        (embed,) = post.embeds
        assert embed["title"].startswith("\\*\\*" if asin == STARS_ASIN else "Zanzibar")


# ----- the admin side -------------------------------------------------------------------


async def test_admin_pending_with_25_hostile_requests(world: World) -> None:
    await seed_pending(world, 26)

    inter = await world.fd.slash(world.boss, world.guild, "admin pending")

    assert "Zanzibar" in texts(inter.original) and inter.original is not None
    (embed,) = inter.original.embeds
    assert embed["fields"]
    choices = await world.fd.autocomplete(world.boss, world.guild, "admin deny", "request_id", "")
    assert len(choices.values) == 25 and all(len(n) <= 100 for n in choices.names)


async def test_decisions_and_every_dm_with_hostile_metadata(world: World) -> None:
    await world.link(world.alice)
    await world.link(world.bob)
    await request_book(world, world.alice, WORST_ASIN)
    await request_book(world, world.alice, STARS_ASIN)
    worst = await BookRequest.get(asin=WORST_ASIN)
    stars = await BookRequest.get(asin=STARS_ASIN)
    await request_book(world, world.bob, WORST_ASIN)  # a subscriber hears the news too

    denied = await world.fd.slash(world.boss, world.guild, "admin deny",
                                  request_id=stars.id, reason=REASON)
    assert "Denied" in texts(denied.original)
    approved = await world.fd.slash(world.boss, world.guild, "admin approve", request_id=worst.id)
    assert "Zanzibar" in texts(approved.original)
    await world.fd.slash(world.boss, world.guild, "admin status", request_id=worst.id,
                         status="failed", reason=REASON)

    for user, count in ((world.alice, 3), (world.bob, 2)):
        await eventually(lambda u=user, n=count: len(world.fd.dms[u.id]) >= n,  # type: ignore[misc]
                         timeout=10, what=f"DMs to {user.name}")
    for dm in world.fd.dms[world.alice.id] + world.fd.dms[world.bob.id]:
        assert dm.embeds and ("Zanzibar" in texts(dm) or "*" * 40 in texts(dm)), texts(dm)
    reasons = [f["value"] for dm in world.fd.dms[world.alice.id]
               for f in dm.embeds[0].get("fields", []) if f["name"] == "Reason"]
    assert reasons and all(len(r) <= 1024 and "@everyone" not in r for r in reasons)


async def test_deny_button_modal_with_a_hostile_title(world: World) -> None:
    await world.link(world.alice)
    await request_book(world, world.alice, STARS_ASIN)
    req = await BookRequest.get(asin=STARS_ASIN)
    post = await world.fd.wait_for_message(world.admin_channel_id)

    opened = await world.fd.click(world.boss, post, f"earmark:req:deny:{req.id}")
    assert opened.modal is not None and opened.modal["title"].startswith("Deny: ***")
    await world.fd.submit_modal(world.boss, opened, {"earmark:req:deny-reason:text": REASON})

    await eventually(lambda: any("was denied" in texts(m) for m in world.fd.dms[world.alice.id]),
                     timeout=10, what="the denial DM")
    assert "Denied" in texts(post)


# ----- /requests, /library, /recommend --------------------------------------------------


async def test_requests_list_with_hostile_titles(world: World) -> None:
    await world.link(world.alice)
    for asin in ALL_ASINS:
        await request_book(world, world.alice, asin)

    inter = await world.fd.slash(world.alice, world.guild, "requests")

    seen = texts(inter.original)
    assert "Zanzibar" in seen and "*" * 40 in seen


async def shelve_hostile(world: World) -> None:
    """Plex albums as hostile as the catalog's, one matching an open request."""
    hostile: dict[str, Any] = {"narrators": [TICKS, PINGS], "summary": SUMMARY, "year": 2020}
    world.pms.add_album(WORST_TITLE, UNDERSCORES,
                        guid=f"com.plexapp.agents.audnexus://{WORST_ASIN}?lang=en", **hostile)
    world.pms.add_album(STARS, PINGS, **hostile)
    world.pms.add_album("Zanzibar " + STARS, PINGS, rating_key="9" * 32, **hostile)
    await world.runtime.scans.run("full")


async def test_available_dm_for_a_hostile_plex_album(world: World) -> None:
    await world.link(world.alice)
    await world.runtime.requests.set_auto_approve(True)
    await request_book(world, world.alice, WORST_ASIN)

    await shelve_hostile(world)
    world.bot.kick_outbox()

    await eventually(lambda: any("now in Plex" in texts(m) for m in world.fd.dms[world.alice.id]),
                     timeout=10, what="the available DM")


async def test_library_autocomplete_query_and_overview(world: World) -> None:
    await shelve_hostile(world)

    choices = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "zanzibar")
    assert choices.values and all(len(v) <= 100 for v in choices.values)
    assert all(1 <= len(n) <= 100 for n in choices.names)
    recent = await world.fd.autocomplete(world.alice, world.guild, "library", "query", "")
    assert len(recent.values) == 3

    found = await world.fd.slash(world.alice, world.guild, "library",
                                 query=choices.values[0])
    assert "Zanzibar" in texts(found.original)
    typed = await world.fd.slash(world.alice, world.guild, "library", query="zanzibar")
    assert "Zanzibar" in texts(typed.original)
    overview = await world.fd.slash(world.alice, world.guild, "library")
    assert "Zanzibar" in texts(overview.original)


async def test_recommend_with_hostile_catalog_books(world: World) -> None:
    await world.link(world.alice)
    album = world.pms.add_album("Seed Book", UNDERSCORES, narrators=[TICKS],
                                guid="com.plexapp.agents.audnexus://B0SEED0001?lang=en")
    world.audible.add_product(asin="B0SEED0001", title="Seed Book", authors=[UNDERSCORES],
                              narrators=[TICKS], series=[(UNDERSCORES, "1")])
    await world.runtime.scans.run("full")
    world.pms.add_user(f"srv-{world.alice.id}", {album.rating_key: 10})

    inter = await world.fd.slash(world.alice, world.guild, "recommend")
    shown = await inter.wait_for_edit(lambda m: bool(m.embeds) or bool(m.content), timeout=15)

    assert shown.embeds, shown.content  # hostile books by the seed's author and series
    assert "*" * 40 in texts(shown) or "Zanzibar" in texts(shown)
    await world.fd.click(world.alice, shown, label="Next")
    await world.fd.click(world.alice, shown, label="Request")
    await eventually(lambda: BookRequest.exists(), what="the request")
    # The click's last step, the admin post, ends before the bot stops (or it logs an error).
    await eventually(
        lambda: BookRequest.filter(admin_message_id__not_isnull=True).exists(),
        what="the request posted to the admins",
    )
