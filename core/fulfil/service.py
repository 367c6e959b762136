"""The fulfilment service: deliver queued hand-offs, read their progress back.

`deliver_due` sends each due hand-off once, with the outbox's capped backoff
for failures (an RMAB outage of hours loses nothing). No second RMAB request
is ever created: a POST is marked unclear before it is sent, so after a
timeout or a stop before the row was marked done (the POST may have arrived)
the next try first looks the book up by ASIN in `GET /api/requests`,
and a 409 DuplicateRequest/BeingProcessed links the request RMAB already has.
`sync` reads every open handed-off request in a few paged list calls and
moves Earmark's requests through the request service. Both return `Report`s
that the cog turns into admin posts and scans: core never talks to Discord.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import aiohttp
from tortoise.expressions import Q

from core.catalog.models import CatalogBook
from core.config_store import ConfigStore
from core.fulfil.config import FulfilConfig
from core.fulfil.errors import (
    FulfilConflict,
    FulfilError,
    FulfilUnauthorized,
    FulfilUnavailable,
)
from core.fulfil.rmab import RmabClient, RmabRequest
from core.fulfil.stages import IN_PLACE, stage_of
from core.fulfil.webhook import WebhookClient
from core.models import OPEN_STATUSES, BookRequest, Handoff, RequestStatus, User
from core.notify import backoff
from core.requests.service import RequestService

log = logging.getLogger(__name__)

ReportKind = Literal["unauthorized", "failed", "in_place"]
BookLookup = Callable[[str], Awaitable[CatalogBook | None]]
#: RMAB states that are over: a request found in one of them is not linked again.
ENDED = frozenset({"failed", "cancelled", "denied"})
EVENT_APPROVED = "request.approved"
EVENT_TEST = "ping"
#: Config table key: set once the admins were told that the backend refused Earmark's
#: credentials, so a restart does not tell them again; cleared when a hand-off succeeds.
TOLD_UNAUTHORIZED = "fulfil.unauthorized_told"


@dataclass(frozen=True, slots=True)
class Report:
    """Something the admins should see, or a scan to run (`in_place`)."""

    kind: ReportKind
    request_id: int | None = None
    text: str = ""


@dataclass(slots=True)
class FulfilStats:
    sent: int = 0
    linked: int = 0
    retries: int = 0
    syncs: int = 0
    list_calls: int = 0
    moved: int = 0
    reports: list[Report] = field(default_factory=list)


class FulfilService:
    """Hand-offs and progress for the configured backend (`FulfilConfig`)."""

    def __init__(
        self,
        store: ConfigStore,
        pinned: dict[str, str],
        session: aiohttp.ClientSession,
        requests: RequestService,
        *,
        book: BookLookup | None = None,
        callback_url: str = "",
        timeout: float = 15.0,
    ) -> None:
        self._store = store
        self._pinned = pinned
        self._session = session
        self._requests = requests
        self._book = book
        self._callback_url = callback_url
        self.timeout = timeout
        self.stats = FulfilStats()

    async def config(self) -> FulfilConfig:
        return await FulfilConfig.load(self._store, self._pinned)

    async def active_backend(self) -> str:
        """The backend approvals are handed to now ("none" when unset or incomplete)."""
        config = await self.config()
        return config.backend if config.active else "none"

    def rmab(self, config: FulfilConfig) -> RmabClient:
        return RmabClient(config.url, config.token, session=self._session, timeout=self.timeout)

    def webhook(self, config: FulfilConfig) -> WebhookClient:
        return WebhookClient(config.url, config.secret, session=self._session,
                             timeout=self.timeout)

    # ----- hand-offs ------------------------------------------------------------------------

    async def due(self, limit: int = 20, now: datetime | None = None) -> list[Handoff]:
        now = now or datetime.now(UTC)
        return await (
            Handoff.filter(done_at=None)
            .filter(Q(next_attempt_at=None) | Q(next_attempt_at__lte=now))
            .order_by("id").limit(limit)
        )

    async def deliver_due(self) -> list[Report]:
        """Send every due hand-off once; what the admins must hear is returned."""
        config = await self.config()
        reports: list[Report] = []
        for row in await self.due():
            if row.backend != config.backend or not config.active:
                await self._retry_later(row, f"the {row.backend} backend is not configured")
                continue
            report = await self._deliver(row, config)
            if report is not None:
                reports.append(report)
        return reports

    async def _deliver(self, row: Handoff, config: FulfilConfig) -> Report | None:
        req = await BookRequest.get_or_none(id=row.request_id)
        if req is None or req.status not in OPEN_STATUSES or req.status == RequestStatus.PENDING:
            await self._done(row, "skipped")  # cancelled, denied or in Plex meanwhile
            return None
        try:
            if row.backend == "readmeabook":
                return await self._to_rmab(row, req, config)
            await self.webhook(config).deliver(
                EVENT_APPROVED, f"earmark-{row.key}", await self.document(req)
            )
            await self._done(row, "sent")
            self.stats.sent += 1
            await self._store.delete(TOLD_UNAUTHORIZED)
            return None
        except FulfilUnauthorized as err:
            await self._retry_later(row, str(err))
            return await self._unauthorized(row, config, err)
        except FulfilUnavailable as err:
            # Clear only when this answer proves the POST did not arrive (an error
            # status, a refused connection): any earlier doubt was looked up first.
            row.unclear = err.unclear
            await self._retry_later(row, str(err))
            return None
        except FulfilError as err:
            return await self._refused(row, req, err)

    async def _to_rmab(self, row: Handoff, req: BookRequest, config: FulfilConfig) -> Report | None:
        client = self.rmab(config)
        if row.unclear:  # the last POST may have arrived: look before sending again
            found = await client.find_by_asin(req.asin)
            if found is not None and found.status not in ENDED:
                return await self._link(row, req, found, "found")
        if not row.unclear:
            # Written ahead: if the process stops after RMAB took the POST but before
            # the row is marked done, the next try looks the book up before sending.
            row.unclear = True
            await row.save(update_fields=["unclear"])
        try:
            created = await client.create_request(await self.audiobook(req))
        except FulfilConflict as err:
            if err.code == "AlreadyAvailable":
                await self._done(row, "already_available")
                return Report("in_place", req.id)
            if err.code in ("DuplicateRequest", "BeingProcessed"):
                found = await client.find_by_asin(req.asin)
                if found is not None:
                    return await self._link(row, req, found, "linked")
            raise
        self.stats.sent += 1
        return await self._link(row, req, created, "created")

    async def _link(
        self, row: Handoff, req: BookRequest, remote: RmabRequest, outcome: str
    ) -> Report | None:
        await BookRequest.filter(id=req.id).update(external_id=remote.id)
        await self._done(row, outcome)
        self.stats.linked += 1
        log.info("request %s is ReadMeABook request %s (%s)", req.id, remote.id, outcome)
        await self._store.delete(TOLD_UNAUTHORIZED)
        return await self._apply(req.id, remote)

    async def _refused(self, row: Handoff, req: BookRequest, err: FulfilError) -> Report:
        await self._done(row, "failed", str(err))
        reason = f"the download service refused it: {err}"[:300]
        await self._requests.follow_backend(
            req.id, RequestStatus.FAILED, progress=None, stage_note=reason, reason=reason
        )
        return Report("failed", req.id, reason)

    async def _unauthorized(
        self, row: Handoff, config: FulfilConfig, err: FulfilError
    ) -> Report | None:
        """The admins hear of a refused token once, across restarts, until a hand-off works."""
        if await self._store.get(TOLD_UNAUTHORIZED):
            return None
        await self._store.set(TOLD_UNAUTHORIZED, datetime.now(UTC).isoformat())
        fix = (
            "create a new API token in ReadMeABook (Profile -> API Tokens) and set it with "
            "`/setup fulfil`" if config.backend == "readmeabook"
            else "check the webhook receiver's secret and `/setup fulfil`"
        )
        return Report("unauthorized", row.request_id,
                      f"The {config.backend} backend refused Earmark ({err.status}): {fix}. "
                      "Approved requests wait and are sent once it works.")

    async def _done(self, row: Handoff, outcome: str, error: str | None = None) -> None:
        row.done_at = datetime.now(UTC)
        row.outcome = outcome
        row.attempts += 1
        row.last_error = error[:500] if error else None
        await row.save(update_fields=["done_at", "outcome", "attempts", "last_error"])

    async def _retry_later(self, row: Handoff, error: str) -> None:
        row.attempts += 1
        row.last_error = error[:500]
        row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=backoff(row.attempts))
        await row.save(update_fields=["attempts", "last_error", "next_attempt_at", "unclear"])
        self.stats.retries += 1
        log.warning("hand-off %s: try %d failed (%s); again later", row.key, row.attempts, error)

    async def retry(self, request_id: int) -> BookRequest:
        """The admin's Retry: a failed request is re-opened as approved (which hands it off)."""
        req = await self._requests.get(request_id)
        if req.status == RequestStatus.FAILED:
            return await self._requests.set_status(request_id, RequestStatus.APPROVED)
        return await self._requests.reapprove(request_id)

    async def download_dms(self, discord_id: int, *, on: bool) -> None:
        """The person's choice of the "download started" DM (NULL, the default, means on)."""
        await User.filter(discord_id=discord_id).update(dm_download_started=on)
        log.info("user %s turned download-started DMs %s", discord_id, "on" if on else "off")

    async def audiobook(self, req: BookRequest) -> dict[str, Any]:
        """RMAB's body: the request's fields and what the catalog adds (best effort)."""
        body: dict[str, Any] = {"asin": req.asin, "title": req.title,
                                "author": req.author or "Unknown"}
        if req.narrator:
            body["narrator"] = req.narrator
        if req.cover_url:
            body["coverArtUrl"] = req.cover_url
        book = await self._lookup(req.asin)
        if book is not None:
            if book.summary:
                body["description"] = book.summary[:4000]
            if book.runtime_minutes:
                body["durationMinutes"] = book.runtime_minutes
            if book.release_year:
                body["releaseDate"] = f"{book.release_year}-01-01"
        return body

    async def document(self, req: BookRequest) -> dict[str, Any]:
        """The webhook's JSON: request id, the book, the requester's name, a callback URL."""
        user = await User.get_or_none(discord_id=req.requester_id)
        return {
            "event": EVENT_APPROVED,
            "request_id": req.id,
            "book": await self.audiobook(req),
            "requester": {"discord_id": str(req.requester_id),
                          "name": (user.plex_username if user else None) or ""},
            "callback_url": (f"{self._callback_url}/api/requests/{req.id}/status"
                             if self._callback_url else None),
        }

    async def _lookup(self, asin: str) -> CatalogBook | None:
        if self._book is None:
            return None
        try:
            return await self._book(asin)
        except Exception as err:  # the catalog is extra detail, never a reason not to send
            log.info("no catalog details for %s: %s", asin, err)
            return None

    # ----- status back ----------------------------------------------------------------------

    async def sync(self) -> list[Report]:
        """Read every open handed-off request from RMAB (paged lists) and follow it."""
        config = await self.config()
        if config.backend != "readmeabook" or not config.active:
            return []
        rows = await BookRequest.filter(
            status__in=OPEN_STATUSES, external_id__not_isnull=True
        ).values_list("id", "external_id")
        wanted = {str(ext): rid for rid, ext in rows}
        if not wanted:
            return []
        self.stats.syncs += 1
        reports: list[Report] = []
        client = self.rmab(config)
        try:
            cursor: str | None = None
            while wanted:
                page = await client.list_requests(cursor=cursor)
                self.stats.list_calls += 1
                for remote in page.requests:
                    rid = wanted.pop(remote.id, None)
                    if rid is not None and (report := await self._apply(rid, remote)):
                        reports.append(report)
                if not page.next_cursor or page.next_cursor == cursor:
                    break
                cursor = page.next_cursor
        except FulfilUnauthorized as err:
            row = Handoff(request_id=0, key="sync", backend=config.backend)
            if (report := await self._unauthorized(row, config, err)) is not None:
                reports.append(report)
        except FulfilError as err:
            log.warning("reading progress from ReadMeABook failed: %s", err)
        return reports

    async def _apply(self, request_id: int, remote: RmabRequest) -> Report | None:
        stage = stage_of(remote)
        reason = remote.error_message if stage.status == RequestStatus.FAILED else None
        moved = await self._requests.follow_backend(
            request_id, stage.status, progress=stage.progress, stage_note=stage.note,
            reason=reason,
        )
        if moved:
            self.stats.moved += 1
        if remote.status in IN_PLACE:
            return Report("in_place", request_id)
        if moved and stage.status == RequestStatus.FAILED:
            return Report("failed", request_id, f"ReadMeABook: {remote.error_message or 'failed'}")
        return None
