"""The command tree's guild filter and the error -> sentence mapping (small unit tests)."""

from __future__ import annotations

import types

import aiohttp
import pytest
from discord import app_commands

from bot.checks import NotAdmin, in_home_guild
from bot.tree import plex_problem, user_message
from core.catalog.errors import CatalogUnavailable
from core.errors import NotLinked, PlexNotConfigured, UserError
from core.plex import (
    PlexBadResponse,
    PlexError,
    PlexNotFound,
    PlexUnauthorized,
    PlexUnavailable,
)


@pytest.mark.parametrize(
    ("guild_ids", "guild_id", "accepted"),
    [((1,), 1, True), ((1,), 2, False), ((1,), None, False), ((), 7, False), ((), None, False)],
)
def test_interactions_only_from_configured_guilds(
    guild_ids: tuple[int, ...], guild_id: int | None, accepted: bool
) -> None:
    assert in_home_guild(guild_id, guild_ids) is accepted


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NotAdmin(NotAdmin.message), "admins only"),
        (NotLinked(), "/login"),
        (UserError("You already asked for that."), "You already asked for that."),
        (PlexNotConfigured("No Plex server is configured: run /setup plex."),
         "No Plex server is configured: run /setup plex."),
        (PlexUnauthorized("401"), "/setup plex"),
        (PlexUnavailable("down"), "can't be reached"),
        (CatalogUnavailable("down"), "Audible catalog"),
    ],
)
def test_known_errors_become_sentences(error: Exception, expected: str) -> None:
    message = user_message(error)
    assert message is not None and expected in message


def test_wrapped_errors_are_unwrapped_and_unknown_ones_are_not_explained() -> None:
    command = types.SimpleNamespace(name="x", qualified_name="x")
    wrapped = app_commands.CommandInvokeError(command, NotLinked())  # type: ignore[arg-type]
    assert "/login" in (user_message(wrapped) or "")
    assert user_message(RuntimeError("secret internals")) is None


URL = "GET http://10.0.0.5:32400/library/sections/1/all?type=9&X-Plex-Token=***"


def _caused(error: PlexUnavailable, cause: BaseException) -> PlexUnavailable:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (PlexUnavailable(f"Plex Media Server failed (500): {URL}", status=500),
         "internal error (HTTP 500)"),
        (PlexUnavailable(f"Plex Media Server failed (429): {URL}", status=429), "slow down"),
        (_caused(PlexUnavailable(f"did not answer within 10 s: {URL}"), TimeoutError()),
         "did not answer in time"),
        (_caused(PlexUnavailable(f"cannot reach: {URL}"), aiohttp.ClientConnectionError()),
         "can't reach the Plex server"),
        (PlexUnauthorized(f"refused the token (401): {URL}", status=401), "`/setup plex`"),
        (PlexNotFound(f"no such resource (404): {URL}", status=404), "`/setup library`"),
        (PlexBadResponse(f"{URL}: unparseable XML body"), "can't read"),
        (PlexError(f"answered 400: {URL}", status=400), "refused the request (HTTP 400)"),
    ],
)
def test_plex_problems_say_what_failed_without_the_url(error: PlexError, says: str) -> None:
    told = plex_problem(error)
    assert says in told
    assert "://" not in told and "/library/" not in told  # a status, never an address
    assert "10.0.0.5" not in told and "?" not in told and "Token" not in told
    shown = user_message(error) or ""
    assert "10.0.0.5" not in shown and "failed (500)" not in shown
