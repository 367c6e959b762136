"""Settings stored by `/setup` in the configuration table, secrets encrypted.

A value pinned in config.toml (or the environment) always wins over a stored
one; `effective_plex` merges the two so every caller sees one answer.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from core.crypto import TokenCipher
from core.models import ConfigEntry
from core.redact import register_secret
from core.users import count_undecryptable_tokens

log = logging.getLogger(__name__)

PLEX_URL = "plex.url"
PLEX_TOKEN = "plex.token"
PLEX_LIBRARY = "plex.library_id"
PLEX_MACHINE_ID = "plex.machine_identifier"
PLEX_CLIENT_ID = "plex.client_identifier"
ADMIN_CHANNEL = "discord.admin_channel_id"
AUTO_APPROVE = "requests.auto_approve"
FULFIL_BACKEND = "fulfil.backend"
FULFIL_URL = "fulfil.url"
FULFIL_TOKEN = "fulfil.token"
FULFIL_SECRET = "fulfil.secret"

SECRET_KEYS = frozenset({PLEX_TOKEN, FULFIL_TOKEN, FULFIL_SECRET})


class ConfigStore:
    """Reads and writes the configuration table; encrypts the keys in SECRET_KEYS."""

    def __init__(self, cipher: TokenCipher) -> None:
        self._cipher = cipher

    async def get(self, key: str) -> str | None:
        row = await ConfigEntry.get_or_none(key=key)
        if row is None:
            return None
        if not row.encrypted and key not in SECRET_KEYS:
            return row.value
        plain, was_encrypted = self._cipher.decrypt(row.value)
        if plain is not None and not was_encrypted:
            await self.set(key, plain)  # the seed's fix #8: heal plain text on read
        if plain is not None and key in SECRET_KEYS:
            register_secret(plain)
        return plain

    async def set(self, key: str, value: str) -> None:
        secret = key in SECRET_KEYS
        if secret:
            register_secret(value)
        stored = self._cipher.encrypt(value) if secret else value
        await ConfigEntry.update_or_create(
            key=key, defaults={"value": stored, "encrypted": secret}
        )

    async def delete(self, key: str) -> None:
        await ConfigEntry.filter(key=key).delete()


@dataclass(frozen=True, slots=True)
class PlexLocation:
    """Where the server and library are: everything but a token.

    User operations (login, ratings) need no more than this, so they never
    read or decrypt the system token (the seed's fixes #9 and #10).
    """

    url: str
    library_id: str
    machine_identifier: str
    client_identifier: str


@dataclass(frozen=True, slots=True)
class PlexConnection:
    """Everything needed to talk to the Plex server with the system token."""

    url: str
    token: str
    library_id: str
    machine_identifier: str
    client_identifier: str

    @property
    def configured(self) -> bool:
        return bool(self.url and self.token)


async def client_identifier(store: ConfigStore, pinned: str = "") -> str:
    """The stable X-Plex-Client-Identifier: pinned, stored, or generated once and stored."""
    if pinned:
        return pinned
    stored = await store.get(PLEX_CLIENT_ID)
    if stored:
        return stored
    generated = f"earmark-{secrets.token_hex(12)}"
    await store.set(PLEX_CLIENT_ID, generated)
    log.info("generated Plex client identifier %s", generated)
    return generated


async def plex_location(store: ConfigStore, pinned: Mapping[str, str]) -> PlexLocation:
    """Merge pinned values (from config/env) with stored ones, the token left out."""

    async def pick(key: str) -> str:
        return pinned.get(key) or (await store.get(key)) or ""

    return PlexLocation(
        url=(await pick(PLEX_URL)).rstrip("/"),
        library_id=await pick(PLEX_LIBRARY),
        machine_identifier=await pick(PLEX_MACHINE_ID),
        client_identifier=await client_identifier(store, pinned.get(PLEX_CLIENT_ID, "")),
    )


async def effective_plex(store: ConfigStore, pinned: Mapping[str, str]) -> PlexConnection:
    """The location plus the system token; pinned values win over stored ones."""
    where = await plex_location(store, pinned)
    token = pinned.get(PLEX_TOKEN) or (await store.get(PLEX_TOKEN)) or ""
    register_secret(token)
    return PlexConnection(
        url=where.url,
        token=token,
        library_id=where.library_id,
        machine_identifier=where.machine_identifier,
        client_identifier=where.client_identifier,
    )


async def undecryptable_secrets(cipher: TokenCipher) -> int:
    """Stored secrets (settings and users' tokens) that this key cannot decrypt.

    Non-zero means the key was replaced or lost: the symptoms ("Plex is not set
    up", users asked to log in again, scans skipped) would not say so. Both
    `python -m bot check` and the bot's start-up report it.
    """
    rows = await ConfigEntry.all().values_list("key", "value", "encrypted")
    settings = sum(
        1
        for key, value, encrypted in rows
        if (encrypted or key in SECRET_KEYS) and not cipher.can_decrypt(str(value))
    )
    return settings + await count_undecryptable_tokens(cipher)


def undecryptable_message(count: int, key_source: str) -> str:
    """The operator's sentence for `undecryptable_secrets` (key_source: a path or the variable)."""
    noun = "secret" if count == 1 else "secrets"
    return (
        f"{count} stored {noun} cannot be decrypted with the key in {key_source} "
        "(was the key replaced?)"
    )
