"""Shared fixtures: a new database for each test (SQLite or PostgreSQL: tests/database.py),
and the fakes that several test modules serve over real sockets.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from core.catalog.client import AudibleCatalog
from core.crypto import TokenCipher
from core.db import close_db, open_db
from tests.cli_env import Env
from tests.database import empty_database, own_database
from tests.fakes.catalog import FakeAudible
from tests.fakes.plex import FakePlex
from tests.fakes.retry import QUICK_RETRY


@pytest.fixture
async def db() -> AsyncIterator[None]:
    """An open, empty database for the models (Tortoise's global connection)."""
    async with empty_database() as url:
        await open_db(url)
        try:
            yield
        finally:
            await close_db()


@pytest.fixture
async def database_url(tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database that outlives one `open_db`, for a test that reopens it."""
    async with own_database(f"sqlite://{tmp_path}/earmark.db") as url:
        yield url


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(Fernet.generate_key())


@pytest.fixture
async def pms() -> AsyncIterator[FakePlex]:
    """An empty fake Plex Media Server on a real socket (a module may override it)."""
    async with FakePlex() as fake:
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A real aiohttp session, for clients of the fakes."""
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def catalog(fake: FakeAudible) -> AsyncIterator[AudibleCatalog]:
    """The catalog client over the module's own `fake` FakeAudible (stocked as it needs)."""
    async with AudibleCatalog(base_url=fake.url, timeout=1.0, retry=QUICK_RETRY) as client:
        yield client


@pytest.fixture
async def env(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Env]:
    """Fake Plex and catalog, a config file for them, a new secret key, no other EARMARK_*."""
    key = Fernet.generate_key().decode()
    for name in [k for k in os.environ if k.startswith("EARMARK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("EARMARK_SECRET_KEY", key)
    async with FakePlex() as pms, FakeAudible() as audible:
        config = tmp_path / "config.toml"
        config.write_text(
            f"""
[discord]
guild_ids = [1]
[plex]
url = "{pms.url}"
token = "{pms.token}"
library_id = "{pms.section_id}"
[catalog]
audible_url = "{audible.url}"
[database]
url = "{database_url}"
[security]
key_file = "{tmp_path}/secret.key"
"""
        )
        yield Env(pms, audible, config, key)
