"""Linked users: the Discord user -> Plex account link and its encrypted token."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from core.crypto import TokenCipher
from core.errors import NotLinked
from core.models import User
from core.plex import PlexAccount
from core.redact import register_secret

log = logging.getLogger(__name__)


async def get_user(discord_id: int) -> User:
    """The row for a Discord user, created on first contact."""
    user, _ = await User.get_or_create(discord_id=discord_id)
    return user


async def require_linked(discord_id: int) -> User:
    """The user's row if they linked Plex; NotLinked (a message for them) otherwise."""
    user = await User.get_or_none(discord_id=discord_id)
    if user is None or not user.is_linked:
        raise NotLinked()
    return user


async def link(cipher: TokenCipher, discord_id: int, account: PlexAccount, token: str) -> User:
    """Store the Plex account and its plex.tv token (encrypted)."""
    register_secret(token)
    user = await get_user(discord_id)
    user.plex_account_id = account.id
    user.plex_username = account.username
    user.plex_email = account.email
    user.plex_token = cipher.encrypt(token)
    user.linked_at = datetime.now(UTC)
    await user.save()
    log.info("linked discord user %s to plex account %s", discord_id, account.username)
    return user


async def unlink(discord_id: int) -> bool:
    """Forget the user's Plex token; True when there was one."""
    user = await User.get_or_none(discord_id=discord_id)
    if user is None or not user.is_linked:
        return False
    user.plex_token = None
    await user.save(update_fields=["plex_token"])
    return True


async def plex_token(cipher: TokenCipher, user: User) -> str | None:
    """The user's plex.tv token, healing a plain-text value (the seed's fix #8)."""
    if not user.plex_token:
        return None
    plain, was_encrypted = cipher.decrypt(user.plex_token)
    if plain is None:
        return None
    register_secret(plain)
    if not was_encrypted:
        user.plex_token = cipher.encrypt(plain)
        await user.save(update_fields=["plex_token"])
    return plain


async def count_undecryptable_tokens(cipher: TokenCipher) -> int:
    """Linked users whose stored token this key cannot decrypt (the key was replaced)."""
    tokens = await User.filter(plex_token__not_isnull=True).values_list("plex_token", flat=True)
    return sum(1 for token in tokens if token and not cipher.can_decrypt(str(token)))
