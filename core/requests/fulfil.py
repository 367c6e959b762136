"""Matching open requests against the library: the step every scan ends with.

A match moves the request to `available` (only if it is still open: a
compare-and-set), links the Plex item and queues one outbox row per person
to tell (the requester and every subscriber). The outbox rows carry a dedupe
key, so a request is never announced twice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from core.matcher import BookQuery, LibraryIndex
from core.models import OPEN_STATUSES, BookRequest, Notification, PlexItem, RequestStatus
from core.notify import KIND_AVAILABLE, rows_for
from core.requests.audience import audiences

log = logging.getLogger(__name__)


async def open_request_count() -> int:
    return await BookRequest.filter(status__in=OPEN_STATUSES).count()


async def fulfil_open_requests(index: LibraryIndex) -> list[int]:
    """Match every open request against the index; return the ids that became available."""
    open_requests = await BookRequest.filter(status__in=OPEN_STATUSES).order_by("id")
    hits: list[tuple[BookRequest, str]] = []
    for req in open_requests:
        result = index.match(
            BookQuery.of(req)
        )
        if result.matched and result.item is not None:
            log.info(
                "request %s (%s) is available as %s: %s",
                req.id, req.title, result.item.rating_key, result.reason,
            )
            hits.append((req, result.item.rating_key))
    if not hits:
        return []

    rating_keys = {rk for _, rk in hits}
    rows = await PlexItem.filter(rating_key__in=list(rating_keys)).values_list(
        "rating_key", "plex_guid"
    )
    guid_by_key = dict(rows)
    people = await audiences([req for req, _ in hits])

    now = datetime.now(UTC)
    outbox: list[Notification] = []
    moved: list[int] = []
    async with in_transaction() as conn:
        for req, rating_key in hits:
            # Compare-and-set: only a request still open becomes available, so a
            # concurrent `/admin status` (or another scan) and this one can't both win.
            won = await BookRequest.filter(id=req.id, status__in=OPEN_STATUSES).using_db(
                conn
            ).update(
                status=RequestStatus.AVAILABLE, plex_guid=guid_by_key.get(rating_key),
                available_at=now, updated_at=now,
            )
            if not won:
                log.info("request %s was closed meanwhile; left as it is", req.id)
                continue
            req.status = RequestStatus.AVAILABLE
            req.plex_guid = guid_by_key.get(rating_key)
            req.available_at = req.updated_at = now
            moved.append(req.id)
            outbox += rows_for(req, KIND_AVAILABLE, people[req.id], rating_key=rating_key)
        await Notification.bulk_create(outbox, ignore_conflicts=True, using_db=conn)
    return moved
