"""A replaced or lost key is said plainly: at start (a warning) and by `python -m bot check`.

Without it the symptoms are "Plex is not set up", users asked to log in again
and scheduled scans skipped, none of which points at the key.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.app import _serve
from bot.config import DatabaseSettings, DiscordSettings
from core.config_store import (
    PLEX_TOKEN,
    PLEX_URL,
    ConfigStore,
    undecryptable_message,
    undecryptable_secrets,
)
from core.crypto import TokenCipher
from core.db import close_db, open_db
from core.models import User
from tests.cli_process import run_cli, write_config
from tests.e2e.world import eventually, make_settings
from tests.fakes.discord import FakeDiscord


async def store_secrets(cipher: TokenCipher) -> None:
    """A Plex token and two linked users under `cipher`, plus rows that hold no secret."""
    store = ConfigStore(cipher)
    await store.set(PLEX_TOKEN, "system-token-1")
    await store.set(PLEX_URL, "http://plex:32400")  # not a secret
    await User.create(discord_id=1, plex_token=cipher.encrypt("user-token-1"))
    await User.create(discord_id=2, plex_token=cipher.encrypt("user-token-2"))
    await User.create(discord_id=3, plex_token=None)  # logged out
    await User.create(discord_id=4, plex_token="legacy-plain-token")  # readable, healed on use


@pytest.mark.usefixtures("db")
async def test_counts_only_secrets_the_current_key_cannot_open(
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = TokenCipher(Fernet.generate_key())
    await store_secrets(old)
    assert await undecryptable_secrets(old) == 0
    with caplog.at_level(logging.WARNING):
        assert await undecryptable_secrets(TokenCipher(Fernet.generate_key())) == 3
    assert caplog.records == []  # counting is silent; the caller says it once


def test_message_names_the_count_and_the_key() -> None:
    assert undecryptable_message(3, "/data/secret.key") == (
        "3 stored secrets cannot be decrypted with the key in /data/secret.key "
        "(was the key replaced?)"
    )
    assert undecryptable_message(1, "EARMARK_SECRET_KEY").startswith("1 stored secret cannot")


async def seed_database(url: str, key: bytes) -> None:
    await open_db(url)
    try:
        await store_secrets(TokenCipher(key))
    finally:
        await close_db()


async def test_check_says_how_many_secrets_the_key_cannot_decrypt(
    tmp_path: Path, database_url: str
) -> None:
    config = write_config(tmp_path, database_url)
    original = Fernet.generate_key()
    await seed_database(database_url, original)
    (tmp_path / "secret.key").write_bytes(original)
    assert "secrets:" not in (await run_cli(config, "check", {})).out  # the right key: silent

    (tmp_path / "secret.key").write_bytes(Fernet.generate_key())  # the key was replaced

    result = await run_cli(config, "check", {})
    assert "Traceback" not in result.err
    assert result.code == 1  # the stored Plex token is unusable, so Plex is not set up
    expected = undecryptable_message(3, str(tmp_path / "secret.key"))
    assert f"WARN secrets: {expected}" in result.out


async def test_bot_start_warns_when_the_key_cannot_decrypt_stored_secrets(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_database(database_url, Fernet.generate_key())
    caplog.set_level(logging.WARNING)
    async with FakeDiscord() as fd:  # start-up reaches neither plex.tv nor the catalog
        guild = fd.add_guild("Books")
        unused = "http://127.0.0.1:9"
        settings = dataclasses.replace(
            make_settings(tmp_path, guild.id, tv_url=unused, audible_url=unused),
            discord=DiscordSettings(token=fd.token, guild_ids=(guild.id,)),
            database=DatabaseSettings(url=database_url),
        )  # make_settings wrote a new key: the one the secrets were stored with is gone
        serving = asyncio.create_task(_serve(settings))
        await eventually(lambda: fd.session is not None, timeout=10, what="the bot to connect")
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, 10) == 0
    expected = undecryptable_message(3, str(tmp_path / "secret.key"))
    warnings = [r for r in caplog.records if r.getMessage() == expected]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
