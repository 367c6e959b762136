"""Settings stored by /setup: secrets encrypted at rest, plain text healed, pinned values win."""

from __future__ import annotations

import pytest

from core.config_store import (
    PLEX_CLIENT_ID,
    PLEX_LIBRARY,
    PLEX_TOKEN,
    PLEX_URL,
    ConfigStore,
    effective_plex,
)
from core.crypto import TokenCipher
from core.models import ConfigEntry, User
from core.users import plex_token

pytestmark = pytest.mark.usefixtures("db")


async def test_secret_is_encrypted_at_rest(cipher: TokenCipher) -> None:
    store = ConfigStore(cipher)
    await store.set(PLEX_TOKEN, "system-token-123")
    row = await ConfigEntry.get(key=PLEX_TOKEN)
    assert row.encrypted and "system-token-123" not in row.value
    assert await store.get(PLEX_TOKEN) == "system-token-123"
    await store.set(PLEX_URL, "http://plex:32400")
    assert (await ConfigEntry.get(key=PLEX_URL)).value == "http://plex:32400"


async def test_plain_text_secret_is_read_and_re_encrypted(cipher: TokenCipher) -> None:
    await ConfigEntry.create(key=PLEX_TOKEN, value="legacy-plain-token", encrypted=False)
    store = ConfigStore(cipher)
    assert await store.get(PLEX_TOKEN) == "legacy-plain-token"
    row = await ConfigEntry.get(key=PLEX_TOKEN)
    assert row.encrypted and row.value != "legacy-plain-token"
    assert cipher.decrypt(row.value) == ("legacy-plain-token", True)


async def test_user_token_plain_text_is_healed(cipher: TokenCipher) -> None:
    user = await User.create(discord_id=5, plex_token="old-plain-user-token")
    assert await plex_token(cipher, user) == "old-plain-user-token"
    stored = (await User.get(discord_id=5)).plex_token
    assert stored and stored != "old-plain-user-token"
    assert cipher.decrypt(stored)[0] == "old-plain-user-token"


async def test_pinned_values_win_and_client_id_is_generated_once(cipher: TokenCipher) -> None:
    store = ConfigStore(cipher)
    await store.set(PLEX_URL, "http://stored:32400")
    await store.set(PLEX_LIBRARY, "4")
    first = await effective_plex(store, {PLEX_URL: "http://pinned:32400"})
    assert first.url == "http://pinned:32400"
    assert first.library_id == "4"
    assert first.client_identifier.startswith("earmark-")
    again = await effective_plex(store, {})
    assert again.client_identifier == first.client_identifier
    assert again.url == "http://stored:32400"
    pinned = await effective_plex(store, {PLEX_CLIENT_ID: "my-fixed-id"})
    assert pinned.client_identifier == "my-fixed-id"
