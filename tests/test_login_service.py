"""LoginService against the fake plex.tv over real sockets: every outcome of a PIN login."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from core.crypto import TokenCipher
from core.errors import UserError
from core.login import (
    LoginAttempt,
    LoginNotConfigured,
    LoginOutcome,
    LoginResult,
    LoginService,
)
from core.models import User
from core.plex import PlexPin, PlexTV, PlexUnavailable
from core.redact import redact
from tests.fakes.plex import TEST_CLIENT_ID, FakePlexTV

MACHINE = "2757a8d90a22f2fd9077c77b9107536981bf1a28"
OTHER_MACHINE = "ffffffffffffffffffffffffffffffffffffffff"
ALICE = 111_222_333
TICK = 0.01


@pytest.fixture
async def fake_tv() -> AsyncIterator[FakePlexTV]:
    async with FakePlexTV() as fake:
        yield fake


class Results:
    """Collects what the service reports to `on_done`."""

    def __init__(self) -> None:
        self.items: list[LoginResult] = []

    async def __call__(self, result: LoginResult) -> None:
        self.items.append(result)


def make_service(
    fake_tv: FakePlexTV,
    cipher: TokenCipher,
    *,
    machine_id: str | None = MACHINE,
    tv_cls: type[PlexTV] = PlexTV,
    max_wait: float | None = 5.0,
) -> tuple[LoginService, dict[str, str | None]]:
    state: dict[str, str | None] = {"machine_id": machine_id}

    async def factory() -> PlexTV:
        return tv_cls(client_identifier=TEST_CLIENT_ID, tv_url=fake_tv.url)

    async def stored_machine_id() -> str | None:
        return state["machine_id"]

    service = LoginService(
        factory, cipher, stored_machine_id, poll_interval=TICK, max_wait=max_wait
    )
    return service, state


async def wait_polled(fake_tv: FakePlexTV, pin_id: int, times: int = 1) -> None:
    """Until the service checked the PIN `times` times (so it is really polling)."""

    def checks() -> int:
        return sum(1 for r in fake_tv.requests if r.path == f"/api/v2/pins/{pin_id}")

    async with asyncio.timeout(3):
        while checks() < times:  # noqa: ASYNC110 (the fake's request log has no event)
            await asyncio.sleep(TICK)


async def finish(task: asyncio.Task[LoginResult]) -> LoginResult:
    async with asyncio.timeout(3):
        return await task


async def test_linked_stores_the_encrypted_token(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "tv-token-alice-SECRET-123"
    fake_tv.add_account(token, username="alice_reads", servers={MACHINE: "srv-alice-SECRET"})
    service, _ = make_service(fake_tv, cipher)

    attempt = await service.begin(ALICE)
    pin = fake_tv.pins[attempt.pin_id]
    assert pin.strong and pin.client_identifier == TEST_CLIENT_ID
    assert attempt.auth_url.startswith("https://app.plex.tv/auth#?")
    assert f"code={pin.code}" in attempt.auth_url
    assert f"clientID={TEST_CLIENT_ID}" in attempt.auth_url
    assert attempt.expires_at is not None

    results = Results()
    task = service.watch(attempt, results)
    await wait_polled(fake_tv, attempt.pin_id, 2)
    assert service.running(ALICE) is attempt
    fake_tv.authorize(attempt.pin_id, token)
    result = await finish(task)

    assert result == LoginResult(LoginOutcome.LINKED, username="alice_reads")
    assert result.linked
    assert results.items == [result]
    assert service.running(ALICE) is None
    user = await User.get(discord_id=ALICE)
    assert user.plex_username == "alice_reads"
    assert user.plex_token and user.plex_token != token and token not in user.plex_token
    assert cipher.decrypt(user.plex_token) == (token, True)
    # both tokens are known secrets now, and no log record carried them in plain
    assert redact(f"x {token} y srv-alice-SECRET") == "x *** y ***"
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert token not in text and "srv-alice-SECRET" not in text


async def test_account_without_the_server_is_refused(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    token = "tv-token-stranger-SECRET"
    fake_tv.add_account(token, username="stranger", servers={OTHER_MACHINE: "srv-other"})
    service, _ = make_service(fake_tv, cipher)
    attempt = await service.begin(ALICE)
    task = service.watch(attempt, Results())
    fake_tv.authorize(attempt.pin_id, token)
    result = await finish(task)

    assert result.outcome is LoginOutcome.NO_ACCESS
    assert result.username == "stranger"
    assert result.message and "no access" in result.message
    assert await User.filter(plex_token__not_isnull=True).count() == 0


async def test_refused_login_keeps_an_earlier_link(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    await User.create(discord_id=ALICE, plex_token=cipher.encrypt("old-token-123"))
    fake_tv.add_account("tv-token-stranger-SECRET", servers={OTHER_MACHINE: "srv"})
    service, _ = make_service(fake_tv, cipher)
    attempt = await service.begin(ALICE)
    task = service.watch(attempt, Results())
    fake_tv.authorize(attempt.pin_id, "tv-token-stranger-SECRET")
    assert (await finish(task)).outcome is LoginOutcome.NO_ACCESS
    user = await User.get(discord_id=ALICE)
    assert cipher.decrypt(user.plex_token or "") == ("old-token-123", True)


async def test_pin_forgotten_by_plex_tv_is_expired(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher)
    attempt = await service.begin(ALICE)
    results = Results()
    task = service.watch(attempt, results)
    await wait_polled(fake_tv, attempt.pin_id)
    fake_tv.expire(attempt.pin_id)
    result = await finish(task)
    assert result.outcome is LoginOutcome.EXPIRED
    assert result.message and "expired" in result.message
    assert results.items == [result]
    assert await User.all().count() == 0


async def test_polling_stops_at_the_pins_expiry_time(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher, max_wait=None)
    attempt = await service.begin(ALICE)
    task = service.watch(attempt, Results())
    await wait_polled(fake_tv, attempt.pin_id)
    fake_tv.pins[attempt.pin_id].expires_in = 0  # plex.tv now reports expiresAt = createdAt
    result = await finish(task)
    assert result.outcome is LoginOutcome.EXPIRED
    assert not task.cancelled()


async def test_polling_stops_after_max_wait(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher, max_wait=0.1)
    attempt = await service.begin(ALICE)
    result = await finish(service.watch(attempt, Results()))
    assert result.outcome is LoginOutcome.EXPIRED
    polls = [r for r in fake_tv.requests if r.path == f"/api/v2/pins/{attempt.pin_id}"]
    assert 1 <= len(polls) <= 20  # about every TICK for 0.1 s, then it stopped


async def test_not_configured_refuses_before_creating_a_pin(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher, machine_id=None)
    with pytest.raises(LoginNotConfigured) as caught:
        await service.begin(ALICE)
    assert "/setup plex" in caught.value.message
    assert isinstance(caught.value, UserError)
    assert fake_tv.pins == {}


async def test_server_forgotten_during_the_poll_is_not_configured(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    token = "tv-token-alice-SECRET-123"
    fake_tv.add_account(token, servers={MACHINE: "srv"})
    service, state = make_service(fake_tv, cipher)
    attempt = await service.begin(ALICE)
    task = service.watch(attempt, Results())
    state["machine_id"] = None
    fake_tv.authorize(attempt.pin_id, token)
    result = await finish(task)
    assert result.outcome is LoginOutcome.NOT_CONFIGURED
    assert result.message and "/setup plex" in result.message
    assert await User.all().count() == 0


async def test_a_new_login_cancels_the_old_poll(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    token = "tv-token-alice-SECRET-123"
    fake_tv.add_account(token, username="alice_reads", servers={MACHINE: "srv"})
    service, _ = make_service(fake_tv, cipher)
    first = await service.begin(ALICE)
    first_results = Results()
    first_task = service.watch(first, first_results)
    await wait_polled(fake_tv, first.pin_id)

    second = await service.begin(ALICE)
    assert second.pin_id != first.pin_id
    second_task = service.watch(second, Results())
    first_result = await finish(first_task)
    assert first_result.outcome is LoginOutcome.CANCELLED
    assert first_result.message and "newer" in first_result.message
    assert first_results.items == [first_result]
    assert service.running(ALICE) is second

    # approving the old PIN now changes nothing: nobody polls it any more
    fake_tv.authorize(first.pin_id, token)
    polls_before = sum(1 for r in fake_tv.requests if r.path == f"/api/v2/pins/{first.pin_id}")
    await wait_polled(fake_tv, second.pin_id, 3)
    polls_after = sum(1 for r in fake_tv.requests if r.path == f"/api/v2/pins/{first.pin_id}")
    assert polls_after == polls_before
    assert await User.filter(plex_token__not_isnull=True).count() == 0

    fake_tv.authorize(second.pin_id, token)
    assert (await finish(second_task)).outcome is LoginOutcome.LINKED


async def test_polls_of_different_users_are_independent(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher)
    alice = service.watch(await service.begin(ALICE), Results())
    bob_attempt = await service.begin(ALICE + 1)
    bob = service.watch(bob_attempt, Results())
    await wait_polled(fake_tv, bob_attempt.pin_id)
    assert not alice.done() and not bob.done()
    assert service.cancel(ALICE, "stop") and service.cancel(ALICE + 1, "stop")
    assert (await finish(alice)).outcome is LoginOutcome.CANCELLED
    assert (await finish(bob)).outcome is LoginOutcome.CANCELLED


async def test_cancel_tells_the_user_why(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher)
    results = Results()
    task = service.watch(await service.begin(ALICE), results)
    assert service.cancel(ALICE, "Cancelled by `/logout`.")
    result = await finish(task)
    assert result == LoginResult(LoginOutcome.CANCELLED, message="Cancelled by `/logout`.")
    assert results.items == [result]
    assert not service.cancel(ALICE, "again")


async def test_aclose_stops_every_poll_silently(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher)
    results = Results()
    task = service.watch(await service.begin(ALICE), results)
    await service.aclose()
    assert task.cancelled()
    assert results.items == []
    assert service.running(ALICE) is None


async def test_plex_tv_down_when_creating_the_pin(db: None, cipher: TokenCipher) -> None:
    async with FakePlexTV() as gone:
        url = gone.url

    async def factory() -> PlexTV:
        return PlexTV(client_identifier=TEST_CLIENT_ID, tv_url=url, timeout=1)

    async def machine_id() -> str:
        return MACHINE

    service = LoginService(factory, cipher, machine_id, poll_interval=TICK)
    with pytest.raises(UserError) as caught:
        await service.begin(ALICE)
    assert "plex.tv" in caught.value.message


class FlakyTV(PlexTV):
    """plex.tv that fails the first PIN checks with a transient error."""

    failures = 2

    async def check_pin(self, pin_id: int) -> PlexPin:
        if FlakyTV.failures:
            FlakyTV.failures -= 1
            raise PlexUnavailable("plex.tv answered 503")
        return await super().check_pin(pin_id)


async def test_transient_plex_tv_errors_keep_polling(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    token = "tv-token-alice-SECRET-123"
    fake_tv.add_account(token, servers={MACHINE: "srv"})
    FlakyTV.failures = 2
    service, _ = make_service(fake_tv, cipher, tv_cls=FlakyTV)
    attempt = await service.begin(ALICE)
    fake_tv.authorize(attempt.pin_id, token)
    result = await finish(service.watch(attempt, Results()))
    assert FlakyTV.failures == 0
    assert result.outcome is LoginOutcome.LINKED


async def test_an_unreadable_account_is_an_error_not_a_crash(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher
) -> None:
    service, _ = make_service(fake_tv, cipher)
    attempt = await service.begin(ALICE)
    task = service.watch(attempt, Results())
    fake_tv.authorize(attempt.pin_id, "token-plex-tv-does-not-know")  # /user answers 401
    result = await finish(task)
    assert result.outcome is LoginOutcome.ERROR
    assert result.message and "token-plex-tv-does-not-know" not in result.message
    assert await User.all().count() == 0


async def test_a_failing_on_done_is_logged_and_survived(
    db: None, fake_tv: FakePlexTV, cipher: TokenCipher, caplog: pytest.LogCaptureFixture
) -> None:
    service, _ = make_service(fake_tv, cipher)

    async def broken(result: LoginResult) -> None:
        raise RuntimeError("discord said no")

    on_done: Callable[[LoginResult], Awaitable[None]] = broken
    attempt: LoginAttempt = await service.begin(ALICE)
    task = service.watch(attempt, on_done)
    fake_tv.expire(attempt.pin_id)
    assert (await finish(task)).outcome is LoginOutcome.EXPIRED
    assert any("could not report" in r.getMessage() for r in caplog.records)
