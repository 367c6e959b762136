"""The Plex PIN login, without Discord: create a PIN, poll it, check access, link.

A user proves who they are on plex.tv; Earmark only keeps the account when it
can reach *this* Plex server. The server is identified by the machineIdentifier
stored by `/setup plex` (the seed's fixes #9 and #10: never look it up with the
system token on behalf of a user). Each Discord user has at most one poll
running: a new login, or a logout, cancels the old one and says why.

Tokens are registered with `core.redact` the moment they are known, so no log
line can carry them.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from core.crypto import TokenCipher
from core.errors import UserError
from core.plex import PlexError, PlexNotFound, PlexTV, PlexUnavailable
from core.redact import register_secret
from core.users import link

__all__ = [
    "NOT_CONFIGURED_MESSAGE",
    "LoginAttempt",
    "LoginNotConfigured",
    "LoginOutcome",
    "LoginResult",
    "LoginService",
]

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 2.0
NOT_CONFIGURED_MESSAGE = (
    "Earmark doesn't know its Plex server yet: an admin must run `/setup plex` first."
)
PLEX_TV_DOWN = "plex.tv can't be reached right now. Please try `/login` again later."
EXPIRED_MESSAGE = "The Plex login link expired before it was approved. Run `/login` again."
UNEXPECTED = "Something went wrong while linking your Plex account. Please try `/login` again."

PlexTVFactory = Callable[[], Awaitable[PlexTV]]
MachineIdSource = Callable[[], Awaitable[str | None]]


class LoginOutcome(enum.Enum):
    """How a login attempt ended."""

    LINKED = "linked"
    NO_ACCESS = "no_access"
    EXPIRED = "expired"
    NOT_CONFIGURED = "not_configured"
    CANCELLED = "cancelled"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome plus what the user should be told (never a token)."""

    outcome: LoginOutcome
    username: str | None = None
    message: str | None = None

    @property
    def linked(self) -> bool:
        return self.outcome is LoginOutcome.LINKED


class LoginNotConfigured(UserError):
    """No machineIdentifier is stored, so no account can be checked: nothing to start."""

    def __init__(self) -> None:
        super().__init__(NOT_CONFIGURED_MESSAGE)


@dataclass(slots=True)
class LoginAttempt:
    """One PIN handed to one Discord user; `auth_url` is where they approve it."""

    discord_id: int
    pin_id: int
    auth_url: str
    expires_at: datetime | None
    tv: PlexTV = field(repr=False)
    cancel_reason: str | None = None


OnDone = Callable[[LoginResult], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class _Running:
    attempt: LoginAttempt
    task: asyncio.Task[LoginResult]  # reports the outcome
    poll: asyncio.Task[LoginResult]  # the PIN poll and link; cancelled on replace/logout


def _parse_expiry(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        log.warning("plex.tv sent an unreadable PIN expiry %r", value)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class LoginService:
    """Runs PIN logins; one background poll per Discord user.

    Use `begin` to get the PIN and its auth URL, show it, then `watch` to poll
    in the background; `on_done` receives the result (including a cancel).
    """

    def __init__(
        self,
        plex_tv: PlexTVFactory,
        cipher: TokenCipher,
        machine_identifier: MachineIdSource,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_wait: float | None = None,
    ) -> None:
        self._plex_tv = plex_tv
        self._cipher = cipher
        self._machine_identifier = machine_identifier
        self.poll_interval = poll_interval
        self.max_wait = max_wait  # e.g. the Discord interaction's lifetime
        self._tasks: dict[int, _Running] = {}

    def running(self, discord_id: int) -> LoginAttempt | None:
        """The attempt being polled for this user, if any."""
        entry = self._tasks.get(discord_id)
        return entry.attempt if entry and not entry.task.done() else None

    async def begin(self, discord_id: int) -> LoginAttempt:
        """A fresh strong PIN for this user; LoginNotConfigured before asking plex.tv."""
        if not await self._machine_identifier():
            raise LoginNotConfigured()
        tv = await self._plex_tv()
        try:
            pin = await tv.create_pin()
        except PlexError as err:
            await tv.close()
            log.warning("could not create a plex.tv PIN: %s", err)
            raise UserError(PLEX_TV_DOWN) from err
        return LoginAttempt(
            discord_id=discord_id,
            pin_id=pin.id,
            auth_url=tv.auth_url(pin.code),
            expires_at=_parse_expiry(pin.expires_at),
            tv=tv,
        )

    def watch(self, attempt: LoginAttempt, on_done: OnDone) -> asyncio.Task[LoginResult]:
        """Poll `attempt` in the background, replacing the user's previous poll.

        The poll is its own task so that `cancel` can stop it while the outer
        task still reports the cancel to the user.
        """
        self.cancel(attempt.discord_id, "This login was replaced by a newer `/login`.")
        name = f"plex-login-{attempt.discord_id}"
        poll = asyncio.create_task(self._poll_and_link(attempt), name=f"{name}-poll")
        task = asyncio.create_task(self._run(attempt, poll, on_done), name=name)
        self._tasks[attempt.discord_id] = _Running(attempt, task, poll)
        task.add_done_callback(lambda t: self._forget(attempt.discord_id, t))
        return task

    def cancel(self, discord_id: int, reason: str) -> bool:
        """Stop the user's poll; its `on_done` gets CANCELLED with `reason`."""
        entry = self._tasks.pop(discord_id, None)
        if entry is None or entry.task.done():
            return False
        entry.attempt.cancel_reason = reason
        entry.poll.cancel()
        log.info("cancelled the plex login poll of discord user %s", discord_id)
        return True

    async def aclose(self) -> None:
        """Stop every poll without notifying anyone (shutdown, cog unload)."""
        entries = list(self._tasks.values())
        self._tasks.clear()
        for entry in entries:
            entry.task.cancel()
            entry.poll.cancel()
        for entry in entries:
            for task in (entry.task, entry.poll):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await entry.attempt.tv.close()

    def _forget(self, discord_id: int, task: asyncio.Task[LoginResult]) -> None:
        entry = self._tasks.get(discord_id)
        if entry is not None and entry.task is task:
            del self._tasks[discord_id]

    async def _run(
        self, attempt: LoginAttempt, poll: asyncio.Task[LoginResult], on_done: OnDone
    ) -> LoginResult:
        try:
            result = await poll
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if attempt.cancel_reason is None or (current and current.cancelling()):
                raise  # shutdown: nobody to tell
            result = LoginResult(LoginOutcome.CANCELLED, message=attempt.cancel_reason)
        except Exception:
            log.exception("plex login of discord user %s failed", attempt.discord_id)
            result = LoginResult(LoginOutcome.ERROR, message=UNEXPECTED)
        finally:
            await attempt.tv.close()
        try:
            await on_done(result)
        except Exception:
            log.exception("could not report the plex login outcome to %s", attempt.discord_id)
        return result

    async def _poll_and_link(self, attempt: LoginAttempt) -> LoginResult:
        token = await self._wait_for_token(attempt)
        if token is None:
            return LoginResult(LoginOutcome.EXPIRED, message=EXPIRED_MESSAGE)
        return await self._link(attempt, token)

    def _deadline(self, attempt: LoginAttempt, started: float) -> float:
        loop = asyncio.get_running_loop()
        deadline = started + self.max_wait if self.max_wait is not None else float("inf")
        if attempt.expires_at is not None:
            left = (attempt.expires_at - datetime.now(UTC)).total_seconds()
            deadline = min(deadline, loop.time() + left)
        return deadline

    async def _wait_for_token(self, attempt: LoginAttempt) -> str | None:
        """The PIN's token once approved; None when it expired (404 or past its expiry)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while True:
            if loop.time() >= self._deadline(attempt, started):
                return None
            await asyncio.sleep(self.poll_interval)
            try:
                pin = await attempt.tv.check_pin(attempt.pin_id)
            except PlexNotFound:
                return None
            except PlexUnavailable as err:  # a blip: keep trying until the PIN expires
                log.warning("plex.tv PIN check failed, retrying: %s", err)
                continue
            if pin.auth_token:
                register_secret(pin.auth_token)
                return pin.auth_token
            attempt.expires_at = _parse_expiry(pin.expires_at) or attempt.expires_at

    async def _link(self, attempt: LoginAttempt, token: str) -> LoginResult:
        machine_id = await self._machine_identifier()
        if not machine_id:
            return LoginResult(LoginOutcome.NOT_CONFIGURED, message=NOT_CONFIGURED_MESSAGE)
        try:
            account = await attempt.tv.account(token)
            server_token = await attempt.tv.server_access_token(token, machine_id)
        except PlexError as err:
            log.warning("plex.tv refused the new login of %s: %s", attempt.discord_id, err)
            return LoginResult(LoginOutcome.ERROR, message=PLEX_TV_DOWN)
        register_secret(server_token)
        if server_token is None:
            log.info(
                "plex account %s (discord user %s) has no access to server %s",
                account.username,
                attempt.discord_id,
                machine_id,
            )
            return LoginResult(
                LoginOutcome.NO_ACCESS,
                username=account.username,
                message="That Plex account has no access to this Plex server. "
                "Ask the server owner to share the library with you, then `/login` again.",
            )
        await link(self._cipher, attempt.discord_id, account, token)
        return LoginResult(LoginOutcome.LINKED, username=account.username)
