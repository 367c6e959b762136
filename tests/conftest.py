"""Shared fixtures: a new database for each test (SQLite or PostgreSQL: tests/database.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.crypto import TokenCipher
from core.db import close_db, open_db
from tests.database import empty_database, own_database


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
