"""At `-v` (DEBUG) no log record shows a secret, not even discord.py's raw payloads.

discord.py logs every gateway event at DEBUG, including the options of
`/setup plex` before the cog has seen (and registered) the token, and the
URLs of interaction callbacks, which carry the interaction token.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging
from tests.e2e.world import World

COGS = ("cogs.setup",)
PLEX_TOKEN = "never-logged-plex-token-4f9a"

pytestmark = pytest.mark.world(cogs=COGS, plex=False)


@pytest.fixture
def debug_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What `python -m bot -v` sets up, writing to a buffer instead of stderr."""
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    factory = logging.getLogRecordFactory()
    setup_logging(logging.DEBUG)
    try:
        yield stream
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        root.setLevel(level)
        logging.setLogRecordFactory(factory)


@pytest.fixture
def world(debug_logging: io.StringIO, world: World) -> World:
    """The shared world, started once `-v` logging is set up (its arguments run in order)."""
    return world


async def test_setup_plex_token_is_in_no_log_record_at_debug(
    world: World, debug_logging: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world.pms.token = PLEX_TOKEN
    inter = await world.fd.slash(
        world.boss, world.guild, "setup plex", url=world.pms.url, token=PLEX_TOKEN
    )
    await inter.wait_for_edit(lambda m: "Connected" in m.content)

    records = [r for r in caplog.records if r.name.startswith("discord")]
    assert any("INTERACTION_CREATE" in r.getMessage() for r in records)  # the payload was logged
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        assert PLEX_TOKEN not in text, record
        assert inter.token not in text, record  # the interaction token is a secret too
    written = debug_logging.getvalue()
    assert "INTERACTION_CREATE" in written
    assert PLEX_TOKEN not in written and inter.token not in written
