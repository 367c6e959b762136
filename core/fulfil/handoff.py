"""Queueing a hand-off: one row per approval, written in the approving transaction.

The approval and its hand-off commit together or not at all, so a crash can
neither lose an approved request's hand-off nor send an unapproved one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from tortoise.backends.base.client import BaseDBAsyncClient

from core.models import BookRequest, Handoff

log = logging.getLogger(__name__)

#: What the request service asks at approval: the active backend's name, or "none".
BackendProbe = Callable[[], Awaitable[str]]


async def queue_handoff(req: BookRequest, backend: str, conn: BaseDBAsyncClient) -> Handoff:
    """A new hand-off of `req` to `backend`; its key counts the request's earlier ones."""
    earlier = await Handoff.filter(request_id=req.id).using_db(conn).count()
    row = await Handoff.create(
        request_id=req.id, key=f"{req.id}:{earlier}", backend=backend, using_db=conn
    )
    log.info("request %s: hand-off %s to %s queued", req.id, row.key, backend)
    return row
