"""Shared fixtures: a new database for each test (SQLite or PostgreSQL: tests/database.py),
and the fakes that several test modules serve over real sockets.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography.fernet import Fernet

from core.catalog.client import AudibleCatalog
from core.crypto import TokenCipher
from core.db import close_db, open_db
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
