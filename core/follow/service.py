"""Following authors and series: the rules behind `/follow`, `/following` and `/unfollow`.

Linked users only, at most `MAX_FOLLOWS` each, one row per (user, kind,
key). Refusals are `UserError`s: a sentence for the user, nothing changed.
"""

from __future__ import annotations

import logging
from typing import Protocol

from tortoise.exceptions import IntegrityError

from core.catalog.models import CatalogBook
from core.errors import UserError
from core.follow.targets import Candidate, Target, candidates
from core.models import Follow, FollowKind
from core.users import require_linked

log = logging.getLogger(__name__)

MAX_FOLLOWS = 100
SUGGEST_BOOKS = 20  # one search page is enough to find the names a user is typing


class QuickSearch(Protocol):
    """The catalog cache's autocomplete search (never raises, answers within a deadline)."""

    async def search_quick(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]: ...


class FollowService:
    """Follows stored per user; suggestions from the catalog for autocomplete."""

    def __init__(self, catalog: QuickSearch, *, max_follows: int = MAX_FOLLOWS) -> None:
        self._catalog = catalog
        self.max_follows = max_follows

    async def suggest(self, kind: FollowKind, typed: str, limit: int = 25) -> list[Candidate]:
        """Authors or series the catalog knows by what was typed, each with a few books."""
        if not typed.strip():
            return []
        books = await self._catalog.search_quick(typed, limit=SUGGEST_BOOKS)
        return candidates(kind, books, typed)[:limit]

    async def follow(self, user_id: int, target: Target) -> tuple[Follow, bool]:
        """Follow `target`; (row, False) when the user already did. Refuses past the cap."""
        await require_linked(user_id)
        if not target.name:
            raise UserError("Give the name of an author or a series to follow.")
        existing = await Follow.get_or_none(user_id=user_id, kind=target.kind, key=target.key)
        if existing is not None:
            return existing, False
        count = await Follow.filter(user_id=user_id).count()
        if count >= self.max_follows:
            raise UserError(
                f"You already follow {count} authors and series (the limit is "
                f"{self.max_follows}). Unfollow some with `/unfollow` first."
            )
        try:
            row = await Follow.create(
                user_id=user_id, kind=target.kind, key=target.key, catalog_asin=target.asin,
                name=target.name, display_name=target.display_name[:255],
            )
        except IntegrityError:  # the same follow, pressed twice at once
            return await Follow.get(user_id=user_id, kind=target.kind, key=target.key), False
        log.info("user %s follows %s %s", user_id, target.kind, target.key)
        return row, True

    async def following(self, user_id: int) -> list[Follow]:
        return await Follow.filter(user_id=user_id).order_by("kind", "name")

    async def unfollow(self, user_id: int, follow_id: int) -> Follow:
        """Stop one follow of this user's (someone else's id is "not found", not a leak)."""
        row = await Follow.get_or_none(id=follow_id, user_id=user_id)
        if row is None:
            raise UserError("You don't follow that (any more). `/following` shows what you do.")
        await row.delete()
        log.info("user %s unfollowed %s %s", user_id, row.kind, row.key)
        return row

    async def search_own(self, user_id: int, typed: str, limit: int = 25) -> list[Follow]:
        """The user's follows whose name contains what was typed, for `/unfollow`."""
        rows = await self.following(user_id)
        wanted = " ".join(typed.casefold().split())
        return [r for r in rows if wanted in r.display_name.casefold()][:limit]
