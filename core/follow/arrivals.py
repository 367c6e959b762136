"""New in the library: what `/setup announce` posts, never the whole library.

The announce channel keeps a watermark: the newest `added_at` (Plex's epoch
seconds) already posted. Setting the channel puts the watermark at the
newest book the mirror holds, or now when the mirror is empty, so a first
scan after `/setup announce` (thousands of books Plex added long ago) posts
nothing. Later scans bring books added after it: a few are posted one by
one, many at once become one digest.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from tortoise.functions import Max

from core.models import PlexItem

log = logging.getLogger(__name__)

ANNOUNCE_CHANNEL = "follow.announce_channel_id"
ANNOUNCE_SINCE = "follow.announce_since"
ONE_BY_ONE = 3  # up to this many new books get a post each; more become one digest
DIGEST_MAX = 25  # books named in a digest (the rest are counted)


class Store(Protocol):
    async def get(self, key: str) -> str | None: ...

    async def set(self, key: str, value: str) -> None: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Arrivals:
    """Books added since the watermark, and the watermark once they are posted."""

    items: list[PlexItem]
    total: int
    watermark: int

    @property
    def digest(self) -> bool:
        return self.total > ONE_BY_ONE


async def set_channel(store: Store, channel_id: int | None) -> None:
    """Turn posting on (from now on: the watermark moves to the newest book) or off."""
    if channel_id is None:
        await store.delete(ANNOUNCE_CHANNEL)
        return
    newest = await _newest()
    await store.set(ANNOUNCE_SINCE, str(newest if newest is not None else int(time.time())))
    await store.set(ANNOUNCE_CHANNEL, str(channel_id))


async def channel(store: Store) -> int | None:
    value = await store.get(ANNOUNCE_CHANNEL)
    return int(value) if value and value.isdigit() else None


async def pending(store: Store) -> Arrivals | None:
    """What to post now, or None (posting off, or nothing new)."""
    if await channel(store) is None:
        return None
    since_text = await store.get(ANNOUNCE_SINCE)
    since = int(since_text) if since_text and since_text.isdigit() else None
    if since is None:  # set before a watermark existed: start from now, post nothing old
        await store.set(ANNOUNCE_SINCE, str(await _newest() or int(time.time())))
        return None
    newest = await _newest()
    if newest is None or newest <= since:
        return None
    # Bounded above too, so a book added while this runs waits for the next run.
    query = PlexItem.filter(added_at__gt=since, added_at__lte=newest)
    total = await query.count()
    items = await query.order_by("added_at", "id").limit(DIGEST_MAX)
    return Arrivals(items=items, total=total, watermark=newest)


async def posted(store: Store, arrivals: Arrivals) -> None:
    """Move the watermark past what was just posted."""
    await store.set(ANNOUNCE_SINCE, str(arrivals.watermark))


async def _newest() -> int | None:
    row = await PlexItem.annotate(newest=Max("added_at")).values_list("newest", flat=True)
    value = row[0] if row else None
    return int(value) if isinstance(value, int | float) else None
