"""The command tree's guild filter and the error -> sentence mapping (small unit tests)."""

from __future__ import annotations

import types

import pytest
from discord import app_commands

from bot.checks import NotAdmin, in_home_guild
from bot.tree import user_message
from core.catalog.errors import CatalogUnavailable
from core.errors import NotLinked, PlexNotConfigured, UserError
from core.plex import PlexUnauthorized, PlexUnavailable


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
        (PlexNotConfigured("No Plex server is configured"), "Plex is not set up yet"),
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
