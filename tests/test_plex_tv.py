"""PlexTV over real sockets against the fake plex.tv: PIN flow, account, resources."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from core.plex import PlexError, PlexNotFound, PlexTV, PlexUnauthorized
from tests.fakes.plex import TEST_CLIENT_ID, FakePlexTV

USER_TOKEN = "plextv-user-token-SECRET-1"
MACHINE = "2757a8d90a22f2fd9077c77b9107536981bf1a28"


@pytest.fixture
async def fake_tv() -> AsyncIterator[FakePlexTV]:
    async with FakePlexTV() as fake:
        yield fake


@pytest.fixture
async def tv(fake_tv: FakePlexTV) -> AsyncIterator[PlexTV]:
    async with fake_tv.client() as client:
        yield client


async def test_pin_create_check_authorize(fake_tv: FakePlexTV, tv: PlexTV) -> None:
    pin = await tv.create_pin()
    assert pin.auth_token is None
    assert not pin.authorized
    assert len(pin.code) == 25  # strong PINs have long codes
    assert pin.expires_at and pin.expires_at.endswith("Z")
    created = fake_tv.requests[-1]
    assert (created.method, created.path, created.query) == (
        "POST",
        "/api/v2/pins",
        {"strong": "true"},
    )
    assert created.headers["X-Plex-Client-Identifier"] == TEST_CLIENT_ID
    assert created.headers["X-Plex-Product"] == "Earmark"
    assert "X-Plex-Token" not in created.headers

    assert (await tv.check_pin(pin.id)).auth_token is None
    fake_tv.authorize(pin.id, USER_TOKEN)
    checked = await tv.check_pin(pin.id)
    assert (checked.id, checked.code, checked.auth_token) == (pin.id, pin.code, USER_TOKEN)
    assert checked.authorized
    assert USER_TOKEN not in repr(checked)


async def test_expired_pin_is_not_found(fake_tv: FakePlexTV, tv: PlexTV) -> None:
    pin = await tv.create_pin()
    fake_tv.expire(pin.id)
    with pytest.raises(PlexNotFound) as caught:
        await tv.check_pin(pin.id)
    assert caught.value.status == 404
    with pytest.raises(PlexNotFound):
        await tv.check_pin(123)


async def test_pins_are_tied_to_the_client_identifier(fake_tv: FakePlexTV, tv: PlexTV) -> None:
    pin = await tv.create_pin()
    async with fake_tv.client(client_identifier="some-other-install") as other:
        with pytest.raises(PlexNotFound):
            await other.check_pin(pin.id)


def test_auth_url_format() -> None:
    tv = PlexTV(client_identifier="abc-123", product="Earmark")
    assert tv.auth_url("8x7k2") == (
        "https://app.plex.tv/auth#?clientID=abc-123&code=8x7k2"
        "&context%5Bdevice%5D%5Bproduct%5D=Earmark"
    )
    odd = PlexTV(client_identifier="id with/slash&amp", product="My Bot", app_url="http://x:1/")
    assert odd.auth_url("c d") == (
        "http://x:1/auth#?clientID=id%20with%2Fslash%26amp&code=c%20d"
        "&context%5Bdevice%5D%5Bproduct%5D=My%20Bot"
    )


async def test_account_and_bad_token(fake_tv: FakePlexTV, tv: PlexTV) -> None:
    fake_tv.add_account(USER_TOKEN, username="reader", email="reader@example.org")
    account = await tv.account(USER_TOKEN)
    assert account.username == "reader"
    assert account.email == "reader@example.org"
    assert account.title == "reader"
    assert account.id > 0 and account.uuid
    assert fake_tv.requests[-1].headers["X-Plex-Token"] == USER_TOKEN
    assert "X-Plex-Token" not in fake_tv.requests[-1].query
    with pytest.raises(PlexUnauthorized) as caught:
        await tv.account("not-a-real-token-xyz")
    assert caught.value.status == 401
    assert "not-a-real-token-xyz" not in str(caught.value)


async def test_resources_and_server_access_token(fake_tv: FakePlexTV, tv: PlexTV) -> None:
    fake_tv.add_account(
        USER_TOKEN,
        servers={MACHINE: "server-access-token-1", "f" * 40: "other-server-token"},
        owned={"f" * 40},
        server_uris={MACHINE: "http://127.0.0.1:32400"},
    )
    resources = await tv.resources(USER_TOKEN)
    query = fake_tv.requests[-1].query
    assert (query["includeHttps"], query["includeRelay"]) == ("1", "1")
    servers = [r for r in resources if r.is_server]
    assert [(r.client_identifier, r.owned) for r in servers] == [(MACHINE, False), ("f" * 40, True)]
    assert servers[0].connections == ["http://127.0.0.1:32400"]
    players = [r for r in resources if not r.is_server]
    assert len(players) == 1 and players[0].access_token

    assert await tv.server_access_token(USER_TOKEN, MACHINE) == "server-access-token-1"
    assert await tv.server_access_token(USER_TOKEN, "0" * 40) is None
    # A player's id never yields a server token.
    assert await tv.server_access_token(USER_TOKEN, players[0].client_identifier) is None
    with pytest.raises(PlexUnauthorized):
        await tv.server_access_token("unknown-token-abc", MACHINE)


async def test_account_without_servers_has_no_access(fake_tv: FakePlexTV, tv: PlexTV) -> None:
    fake_tv.add_account("lonely-token-0001")
    assert await tv.server_access_token("lonely-token-0001", MACHINE) is None


async def test_no_token_in_logs_or_errors(
    fake_tv: FakePlexTV, tv: PlexTV, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake_tv.add_account(USER_TOKEN, servers={MACHINE: "server-access-token-SECRET"})
    pin = await tv.create_pin()
    fake_tv.authorize(pin.id, USER_TOKEN)
    await tv.check_pin(pin.id)
    await tv.account(USER_TOKEN)
    await tv.server_access_token(USER_TOKEN, MACHINE)
    errors: list[PlexError] = []
    fake_tv.accounts.clear()
    for call in (tv.account, tv.resources):
        with pytest.raises(PlexUnauthorized) as caught:
            await call(USER_TOKEN)
        errors.append(caught.value)
    fake_tv.delay = 0.5
    async with fake_tv.client(timeout=0.05) as slow:
        with pytest.raises(PlexError) as timed_out:
            await slow.account(USER_TOKEN)
        errors.append(timed_out.value)
    assert any(r.name.startswith("core.plex") for r in caplog.records)
    for secret in (USER_TOKEN, "server-access-token-SECRET"):
        assert all(secret not in r.getMessage() for r in caplog.records)
        assert all(secret not in str(e) and secret not in repr(e) for e in errors)
