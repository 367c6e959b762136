"""`/login` and `/logout` end to end: fake Discord + fake plex.tv, the real bot and cog."""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

import pytest

from cogs.login import LoginCog
from core.config_store import PLEX_TOKEN
from core.models import User
from core.redact import redact
from tests.e2e.helpers import assert_never_shown, everything_sent, spy_store_reads
from tests.e2e.world import World
from tests.fakes.discord import FakeInteraction, FakeMessage

COGS = ("cogs.login",)
TOKEN = "tv-token-alice-VERY-SECRET-42"
SERVER_TOKEN = "srv-token-alice-VERY-SECRET-42"
BUTTON_LINK = 5
POLL = 0.02


def login_cog(world: World) -> LoginCog:
    """The loaded cog (load_extension imports its own copy of the module, hence no isinstance)."""
    cog = world.bot.get_cog("Login")
    assert cog is not None and type(cog).__name__ == LoginCog.__name__
    return cog  # type: ignore[return-value]


pytestmark = pytest.mark.world(cogs=COGS)


@pytest.fixture
def world(world: World) -> World:
    """The shared world, polling plex.tv every POLL seconds."""
    login_cog(world).service.poll_interval = POLL  # read on every poll
    return world


def sign_in_button(msg: FakeMessage) -> dict[str, object]:
    (button,) = msg.buttons
    assert button["style"] == BUTTON_LINK and button["label"] == "Sign in with Plex"
    return button


def pin_of(world: World, inter: FakeInteraction) -> int:
    """The PIN behind the reply's link button (as the browser would read it)."""
    assert inter.original is not None
    url = str(sign_in_button(inter.original)["url"])
    assert url.startswith("https://app.plex.tv/auth#?")
    code = parse_qs(url.split("#?", 1)[1])["code"][0]
    (pin_id,) = [p.id for p in world.tv.pins.values() if p.code == code]
    return pin_id


async def start_login(world: World, user: object = None) -> tuple[FakeInteraction, int]:
    inter = await world.fd.slash(user or world.alice, world.guild, "login")
    assert inter.is_ephemeral
    msg = await inter.wait_for_edit(lambda m: bool(m.buttons))
    assert msg.is_ephemeral and "Link your Plex account" in msg.text
    pin_id = pin_of(world, inter)
    # the cog starts polling right after the reply: wait for the first PIN check
    async with asyncio.timeout(3):
        while not any(r.path == f"/api/v2/pins/{pin_id}" for r in world.tv.requests):  # noqa: ASYNC110
            await asyncio.sleep(POLL)
    return inter, pin_id


async def test_login_links_an_account_with_server_access(
    world: World, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    world.tv.add_account(
        TOKEN, username="alice_*reads*", servers={world.pms.machine_identifier: SERVER_TOKEN}
    )
    asked = spy_store_reads(world, monkeypatch)
    pms_requests = len(world.pms.requests)
    inter, pin_id = await start_login(world)
    assert world.tv.pins[pin_id].strong
    assert "30 minutes" not in inter.content  # capped by the interaction's 15 min life

    world.tv.authorize(pin_id, TOKEN)
    msg = await inter.wait_for_edit(lambda m: "Linked as" in m.text)
    assert msg.is_ephemeral and msg.buttons == []
    assert "alice\\_\\*reads\\*" in msg.text  # untrusted username, markdown escaped
    assert msg["allowed_mentions"] == {"parse": []}

    user = await User.get(discord_id=world.alice.id)
    assert user.plex_username == "alice_*reads*"
    assert user.plex_token and TOKEN not in user.plex_token
    assert world.runtime.cipher.decrypt(user.plex_token) == (TOKEN, True)
    # the server was never asked who it is: the stored machineIdentifier decides
    assert world.pms.requests[pms_requests:] == []
    assert PLEX_TOKEN not in asked  # the system token is never even decrypted (seed fix #9)
    assert_never_shown(world, caplog.records, TOKEN, SERVER_TOKEN)
    assert redact(TOKEN) == "***"


async def test_login_refused_without_access_to_this_server(world: World) -> None:
    world.tv.add_account(TOKEN, username="stranger", servers={"another-server-id": "srv"})
    inter, pin_id = await start_login(world)
    world.tv.authorize(pin_id, TOKEN)
    msg = await inter.wait_for_edit(lambda m: "no access" in m.text)
    assert "stranger" in msg.text and "Linked as" not in msg.text
    assert msg.buttons == []
    assert await User.filter(plex_token__not_isnull=True).count() == 0
    assert TOKEN not in everything_sent(world)


async def test_expired_pin_edits_the_reply_and_stores_nothing(world: World) -> None:
    inter, pin_id = await start_login(world)
    world.tv.expire(pin_id)
    msg = await inter.wait_for_edit(lambda m: "expired" in m.text)
    assert msg.buttons == [] and "/login" in msg.text
    assert await User.filter(plex_token__not_isnull=True).count() == 0


async def test_a_second_login_cancels_the_first_poll(world: World) -> None:
    world.tv.add_account(
        TOKEN, username="alice_reads", servers={world.pms.machine_identifier: SERVER_TOKEN}
    )
    first, first_pin = await start_login(world)
    second, second_pin = await start_login(world)
    assert first_pin != second_pin
    await first.wait_for_edit(lambda m: "replaced by a newer" in m.text)
    assert first.original is not None and first.original.buttons == []

    running = login_cog(world).service.running(world.alice.id)
    assert running is not None and running.pin_id == second_pin

    world.tv.authorize(first_pin, TOKEN)  # the abandoned PIN: nobody polls it any more
    world.tv.authorize(second_pin, TOKEN)
    await second.wait_for_edit(lambda m: "Linked as" in m.text)
    assert "Linked as" not in first.original.text
    first_checks_after = [
        r for r in world.tv.requests[-5:] if r.path == f"/api/v2/pins/{first_pin}"
    ]
    assert first_checks_after == []


@pytest.mark.world(plex=False)
async def test_login_without_plex_setup_tells_to_run_setup(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "login")
    msg = await inter.wait_for_edit(lambda m: "/setup plex" in m.text)
    assert msg.is_ephemeral and msg.buttons == []
    assert world.tv.pins == {}  # no PIN handed out for a server nobody can reach


async def test_logout_forgets_the_token(world: World) -> None:
    await world.link(world.alice)
    inter = await world.fd.slash(world.alice, world.guild, "logout")
    assert inter.is_ephemeral and "no longer linked" in inter.content
    user = await User.get(discord_id=world.alice.id)
    assert user.plex_token is None and not user.is_linked

    again = await world.fd.slash(world.alice, world.guild, "logout")
    assert again.is_ephemeral and "not linked" in again.content


async def test_logout_of_someone_never_linked(world: World) -> None:
    inter = await world.fd.slash(world.bob, world.guild, "logout")
    assert inter.is_ephemeral and "not linked" in inter.content


async def test_logout_cancels_a_pending_login(world: World) -> None:
    world.tv.add_account(TOKEN, servers={world.pms.machine_identifier: SERVER_TOKEN})
    login, pin_id = await start_login(world)
    out = await world.fd.slash(world.alice, world.guild, "logout")
    assert "pending `/login` was cancelled" in out.content
    await login.wait_for_edit(lambda m: "cancelled by `/logout`" in m.text)
    world.tv.authorize(pin_id, TOKEN)
    assert login_cog(world).service.running(world.alice.id) is None
    assert await User.filter(plex_token__not_isnull=True).count() == 0


async def test_relogin_mentions_the_current_link(world: World) -> None:
    await world.link(world.alice)
    inter, _ = await start_login(world)
    assert inter.original is not None and "You are linked as **alice**" in inter.original.text


async def test_unloading_the_cog_stops_the_polls(world: World) -> None:
    await start_login(world)
    cog = login_cog(world)
    assert cog.service.running(world.alice.id) is not None
    await world.bot.unload_extension("cogs.login")
    assert cog.service.running(world.alice.id) is None
