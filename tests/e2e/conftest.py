"""The end-to-end fixtures: `world` (the real bot against the fakes) and `make_world`.

A test that asks for `world` gets a running `World` (tests/e2e/world.py).
Options are `world` markers on the test, its class or its module
(`pytestmark = pytest.mark.world(...)`); the closest marker wins, key by key:

    @pytest.mark.world(cogs=("cogs.library",))   extensions to load (default: every cog)
    @pytest.mark.world(plex=False)               no stored Plex setup (default: configured)
    @pytest.mark.world(admin_channel=True)       the admin channel is set (`/setup channel`)
    @pytest.mark.world(scan=ScanSettings(...))   any other keyword replaces a Settings section

No bot errors, by default: once the test is over and its bot has stopped,
the fixture fails the test if the bot logged an ERROR (the command tree and
the background loops log what they swallow). A test that expects errors
names them, as regexes searched in "logger: message -- exception":

    @pytest.mark.bot_errors(r"scheduled recent scan failed")

Every logged error must match one of them, and each must match a logged
error, so the opt-out fails too when the expected error stops happening.

`make_world(**options)` is the same as an async context manager, for a
world whose options are only known inside the test (a database file in
`tmp_path`) or a second world: its options go over the markers' and the
same check covers every world it opened. To add setup for a whole module,
override the fixture there: `async def world(world: World) -> World: ...`.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.world import World, WorldFactory, open_world


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "world(**options): options of the e2e `world` fixture")
    config.addinivalue_line(
        "markers", "bot_errors(*regexes): the ERRORs this e2e test expects the bot to log"
    )


def world_options(node: pytest.Item) -> dict[str, Any]:
    """The `world` markers merged, the closest (the test's own) last so that it wins."""
    options: dict[str, Any] = {}
    for mark in reversed(list(node.iter_markers("world"))):
        options.update(mark.kwargs)
    return options


def describe(record: logging.LogRecord) -> str:
    """One logged error as the `bot_errors` regexes see it."""
    text = f"{record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        text += f" -- {record.exc_info[1]!r}"
    return text


def check_bot_errors(logged: list[str], expected: list[str]) -> None:
    """Fail unless the logged errors are exactly the expected kinds (none by default)."""
    unexpected = [e for e in logged if not any(re.search(p, e) for p in expected)]
    missing = [p for p in expected if not any(re.search(p, e) for e in logged)]
    problems = []
    if unexpected:
        problems.append(f"the bot logged {len(unexpected)} unexpected error(s): {unexpected}")
    if missing:
        problems.append(f"expected bot errors that were not logged: {missing}")
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def make_world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WorldFactory]:
    defaults = world_options(request.node)
    expected = [p for mark in request.node.iter_markers("bot_errors") for p in mark.args]
    worlds: list[World] = []

    @contextlib.asynccontextmanager
    async def make(**options: Any) -> AsyncIterator[World]:
        async with open_world(tmp_path, **{**defaults, **options}) as opened:
            worlds.append(opened)
            yield opened

    yield make
    # After teardown of `world`: the bots have stopped, so errors while stopping count too.
    check_bot_errors([describe(r) for w in worlds for r in w.fd.bot_errors], expected)


@pytest.fixture
async def world(make_world: WorldFactory) -> AsyncIterator[World]:
    async with make_world() as opened:
        yield opened
