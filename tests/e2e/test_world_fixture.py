"""The `world` fixture's own rules: markers merge closest-last, and the bot-error check."""

from __future__ import annotations

import pytest

from core.config_store import PLEX_URL
from tests.e2e.conftest import check_bot_errors
from tests.e2e.world import World

pytestmark = pytest.mark.world(cogs=("cogs.library",), plex=False)

BUG = "cogs.scheduler: scheduled recent scan failed -- RuntimeError('a bug')"


def test_no_errors_logged_and_none_expected_passes() -> None:
    check_bot_errors([], [])


def test_an_unexpected_error_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="1 unexpected error"):
        check_bot_errors([BUG], [])


def test_an_expected_error_passes_only_when_it_was_logged() -> None:
    check_bot_errors([BUG], [r"RuntimeError\('a bug'\)"])
    with pytest.raises(pytest.fail.Exception, match="were not logged"):
        check_bot_errors([], [r"RuntimeError\('a bug'\)"])


def test_an_error_beside_the_expected_one_fails() -> None:
    other = "bot.tree: unhandled error in library -- KeyError('x')"
    with pytest.raises(pytest.fail.Exception, match="unexpected"):
        check_bot_errors([BUG, other], [r"a bug"])


@pytest.mark.world(plex=True)
async def test_the_closest_marker_wins_key_by_key(world: World) -> None:
    assert set(world.bot.extensions) == {"cogs.library"}  # from the module's marker
    assert await world.runtime.store.get(PLEX_URL) == world.pms.url  # the test's own
