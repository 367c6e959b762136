"""Shared fixtures: a fresh in-memory database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cryptography.fernet import Fernet

from core.crypto import TokenCipher
from core.db import close_db, open_db


@pytest.fixture
async def db() -> AsyncIterator[None]:
    await open_db("sqlite://:memory:")
    try:
        yield
    finally:
        await close_db()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher(Fernet.generate_key())
