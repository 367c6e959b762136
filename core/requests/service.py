"""The request rules: submit, subscribe, decide, move along the lifecycle.

`/request`, `/admin` and the approval buttons all call this one service. It
refuses with a `UserError` (a sentence for the user) and then changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from core import notify
from core.catalog.models import CatalogBook
from core.config_store import AUTO_APPROVE, ConfigStore
from core.errors import UserError
from core.fulfil.handoff import BackendProbe, queue_handoff
from core.fulfil.stages import KIND_DOWNLOAD_STARTED
from core.library import ScanService
from core.matcher import BookIndex, BookQuery, LibraryItem, MatchResult
from core.models import (
    OPEN_STATUSES,
    BookRequest,
    Notification,
    RequestStatus,
    RequestSubscriber,
    User,
)
from core.requests.audience import audience
from core.requests.lifecycle import can_move
from core.users import require_linked

log = logging.getLogger(__name__)

Outcome = Literal["created", "subscribed", "already_yours", "already_subscribed", "in_library"]


@dataclass(frozen=True, slots=True)
class SubmitResult:
    outcome: Outcome
    request: BookRequest | None = None
    library_item: LibraryItem | None = None
    match: MatchResult | None = None


@dataclass(frozen=True, slots=True)
class CancelResult:
    """A cancel: the request, and who holds it now when others still wanted it."""

    request: BookRequest
    handed_to: int | None = None


#: What a requester may cancel: nobody is working on the book yet.
CANCELLABLE = (RequestStatus.PENDING, RequestStatus.APPROVED)


def request_key(req: BookRequest) -> str:
    """A request's key in a book index."""
    return str(req.id)


class RequestService:
    """Request lifecycle over the database; matching through the scan service's index."""

    def __init__(
        self,
        scans: ScanService,
        store: ConfigStore,
        *,
        max_open_per_user: int = 10,
        handoff_backend: BackendProbe | None = None,
    ) -> None:
        self._scans = scans
        self._store = store
        # Every approval (decide, set_status, auto-approve at submit) queues a
        # hand-off to this backend in its own transaction; None or "none": no hand-off.
        self._handoff_backend = handoff_backend
        self.max_open_per_user = max_open_per_user
        # Find-or-create is one step: two people asking for one book at the same
        # instant get one request and a subscriber. The bot is the only process
        # that creates requests (the CLI never does), so a process lock suffices.
        self._submitting = asyncio.Lock()

    async def auto_approve(self) -> bool:
        return (await self._store.get(AUTO_APPROVE)) == "1"

    async def set_auto_approve(self, enabled: bool) -> None:
        await self._store.set(AUTO_APPROVE, "1" if enabled else "0")

    async def in_library(self, book: CatalogBook | BookQuery) -> MatchResult:
        """The matcher's answer for one book against the whole library mirror."""
        index = await self._scans.library_index()
        query = book if isinstance(book, BookQuery) else BookQuery.of(book)
        return index.match(query)

    async def owned(self, books: Iterable[CatalogBook], *, wait: float) -> set[str]:
        """ASINs of these books already in the library, for marking choices.

        Autocomplete cannot wait for a cold index (seconds on a big library):
        after `wait` seconds it gets no marks rather than no answer.
        """
        index = await self._scans.library_index(wait=wait)
        if index is None:
            return set()
        return {book.asin for book in books if index.match(BookQuery.of(book)).matched}

    async def find_open(self, book: CatalogBook) -> BookRequest | None:
        """An open request for the same work, if there is one: subscribing joins it.

        The same ASIN, or another edition or region of the same work under the
        matcher's strict rule (exact title and author); never a fuzzy score,
        which would merge two books into one request.
        """
        open_requests = await BookRequest.filter(status__in=OPEN_STATUSES)
        if not open_requests:
            return None
        return BookIndex(open_requests, key=request_key).same_work(BookQuery.of(book))

    async def submit(self, discord_id: int, book: CatalogBook) -> SubmitResult:
        """Create, subscribe or refuse; refusals raise UserError, except 'in library'."""
        user = await require_linked(discord_id)
        match = await self.in_library(book)
        if match.matched:
            return SubmitResult("in_library", library_item=match.item, match=match)

        async with self._submitting:
            return await self._find_or_create(user, book)

    async def _find_or_create(self, user: User, book: CatalogBook) -> SubmitResult:
        existing = await self.find_open(book)
        if existing is not None:
            if existing.requester_id == user.discord_id:
                return SubmitResult("already_yours", request=existing)
            _, created = await RequestSubscriber.get_or_create(request=existing, user=user)
            return SubmitResult("subscribed" if created else "already_subscribed",
                                request=existing)

        open_count = await BookRequest.filter(
            requester_id=user.discord_id, status__in=OPEN_STATUSES
        ).count()
        if open_count >= self.max_open_per_user:
            raise UserError(
                f"You already have {open_count} open requests (the limit is "
                f"{self.max_open_per_user}). Wait for some to arrive first."
            )
        status = RequestStatus.APPROVED if await self.auto_approve() else RequestStatus.PENDING
        backend = await self._backend() if status == RequestStatus.APPROVED else "none"
        async with in_transaction() as conn:
            req = await BookRequest.create(
                requester=user,
                asin=book.asin,
                title=book.title,
                author=book.author,
                narrator=book.narrator,
                cover_url=book.cover_url,
                status=status,
                using_db=conn,
            )
            if backend != "none":
                await queue_handoff(req, backend, conn)
        log.info(
            "request %s created by %s: %s (%s)", req.id, user.discord_id, book.title, status
        )
        return SubmitResult("created", request=req)

    async def get(self, request_id: int) -> BookRequest:
        req = await BookRequest.get_or_none(id=request_id)
        if req is None:
            raise UserError(f"There is no request #{request_id}.")
        return req

    async def decide(
        self, request_id: int, *, approve: bool, reason: str | None = None
    ) -> BookRequest:
        """Approve or deny a pending request and tell the people waiting for it."""
        req = await self.get(request_id)
        target = RequestStatus.APPROVED if approve else RequestStatus.DENIED
        if req.status != RequestStatus.PENDING:
            raise _unchanged(req.id, req.status, target, decision=True)
        return await self._move(req, target, reason, decision=True)

    async def cancel(self, request_id: int, discord_id: int) -> CancelResult:
        """The requester withdraws a request that nobody has started on (pending/approved).

        Nobody is told by DM: the requester is the one who cancelled. When
        others joined the request, it does not end: it passes to the earliest
        of them (who stops being a subscriber), so their wait goes on and the
        admins keep one request. A compare-and-set like `decide`: a cancel that
        races an approval or a scan changes nothing and says what the request is.
        """
        async with self._submitting:  # nobody joins a request while it is being cancelled
            return await self._cancel(await self.get(request_id), discord_id)

    async def _cancel(self, req: BookRequest, discord_id: int) -> CancelResult:
        if req.requester_id != discord_id:
            raise UserError(f"Request #{req.id} is someone else's; you can only leave it.")
        if req.status not in CANCELLABLE:
            raise UserError(f"Request #{req.id} is already {req.status}; it can't be cancelled.")
        heir = (
            await RequestSubscriber.filter(request_id=req.id).order_by("created_at", "id").first()
        )
        if heir is None:
            await self._move(req, RequestStatus.CANCELLED, None, decision=False)
            return CancelResult(req)
        async with in_transaction() as conn:
            won = await BookRequest.filter(
                id=req.id, requester_id=discord_id, status=req.status
            ).using_db(conn).update(requester_id=heir.user_id, updated_at=datetime.now(UTC))
            if not won:
                current = await BookRequest.filter(id=req.id).using_db(conn).first()
                status = current.status if current is not None else req.status
                raise UserError(f"Request #{req.id} is already {status}; nothing changed.")
            await RequestSubscriber.filter(id=heir.id).using_db(conn).delete()
        req.requester_id = heir.user_id
        log.info("request %s: %s cancelled; handed to %s", req.id, discord_id, heir.user_id)
        return CancelResult(req, handed_to=heir.user_id)

    async def leave(self, request_id: int, discord_id: int) -> BookRequest:
        """Stop waiting for a request someone else made: no DM about it any more."""
        req = await self.get(request_id)
        gone = await RequestSubscriber.filter(request_id=req.id, user_id=discord_id).delete()
        if not gone:
            raise UserError(f"You are not waiting for request #{req.id}; nothing changed.")
        log.info("request %s: %s left", req.id, discord_id)
        return req

    async def set_status(
        self,
        request_id: int,
        status: RequestStatus,
        reason: str | None = None,
        *,
        progress: int | None = None,
    ) -> BookRequest:
        """Move a request along the lifecycle (`/admin status`, the inbound API).

        `progress` (percent) is kept while the request is downloading and
        cleared when it moves on; entering `downloading` queues the "download
        started" DM, as when the fulfilment backend reports it.
        """
        req = await self.get(request_id)
        if not can_move(req.status, status):
            raise _unchanged(req.id, req.status, status, decision=False)
        downloading = status == RequestStatus.DOWNLOADING
        more: dict[str, object] = {"progress": progress if downloading else None}
        moved = await self._move(req, status, reason, decision=False, more=more)
        if downloading:
            await self._download_started(moved)
        return moved

    def set_handoff_backend(self, probe: BackendProbe | None) -> None:
        """Where approvals are handed off from now on (the fulfilment service is built after)."""
        self._handoff_backend = probe

    async def _backend(self) -> str:
        return await self._handoff_backend() if self._handoff_backend is not None else "none"

    async def follow_backend(
        self,
        request_id: int,
        target: RequestStatus | None,
        *,
        progress: int | None,
        stage_note: str | None,
        reason: str | None = None,
    ) -> bool:
        """What the fulfilment backend reports: move (if allowed) and record progress and note.

        The same compare-and-set as `set_status`; a move that is not allowed
        (a closed request, a pending one) or that lost a race changes only
        the progress and note of a request still in the state read. True
        when the request moved. Entering `downloading` queues the "download
        started" DM, once per request and person, for those who want it.
        """
        req = await self.get(request_id)
        extra: dict[str, object] = {"progress": progress, "stage_note": stage_note}
        if target is not None and target != req.status and can_move(req.status, target) \
                and req.status != RequestStatus.PENDING:
            source = RequestStatus(req.status)
            try:
                await self._move(req, target, reason, decision=False, more=extra)
            except UserError:
                return False
            if target == RequestStatus.DOWNLOADING and source != target:
                await self._download_started(req)
            return True
        if (req.progress, req.stage_note) != (progress, stage_note):
            await BookRequest.filter(id=req.id, status=req.status).update(**extra)
        return False

    async def reapprove(self, request_id: int) -> BookRequest:
        """Queue another hand-off of an approved-or-later open request (the admin's Retry)."""
        req = await self.get(request_id)
        backend = await self._backend()
        if req.status not in OPEN_STATUSES or req.status == RequestStatus.PENDING:
            raise UserError(f"Request #{req.id} is {req.status}; there is nothing to retry.")
        if backend == "none":
            raise UserError("No fulfilment backend is set up (`/setup fulfil`).")
        async with in_transaction() as conn:
            await queue_handoff(req, backend, conn)
        return req

    async def deny_failed(self, request_id: int, reason: str | None = None) -> BookRequest:
        """The admin's Deny on a failed request: it ends as denied and the people are told.

        Failed requests otherwise only re-open as approved (`can_move`); this
        is the one way to close one for good, compare-and-set like `decide`.
        """
        req = await self.get(request_id)
        if req.status != RequestStatus.FAILED:
            raise _unchanged(req.id, req.status, RequestStatus.DENIED, decision=True)
        return await self._move(req, RequestStatus.DENIED, reason, decision=True)

    async def _download_started(self, req: BookRequest) -> None:
        people = await self.audience(req)
        off = set(await User.filter(discord_id__in=people, dm_download_started=False)
                  .values_list("discord_id", flat=True))
        rows = notify.rows_for(req, KIND_DOWNLOAD_STARTED, [p for p in people if p not in off])
        await Notification.bulk_create(rows, ignore_conflicts=True)

    async def _move(
        self,
        req: BookRequest,
        target: RequestStatus,
        reason: str | None,
        *,
        decision: bool,
        more: dict[str, object] | None = None,
    ) -> BookRequest:
        """Compare-and-set `req.status` -> `target`; exactly one of racing moves wins.

        The UPDATE is conditional on the status read before (so it holds on
        SQLite and PostgreSQL alike); a loser changes nothing and is told the
        current state. The winner queues the DMs, keyed by the transition
        (`from->to` and the request's count of earlier notifying moves).
        """
        source = RequestStatus(req.status)
        kind = notify.kind_for(target)
        now = datetime.now(UTC)
        changes: dict[str, object] = {"status": target, "reason": reason, "updated_at": now}
        if target == RequestStatus.AVAILABLE:
            changes["available_at"] = now
        changes.update(more or {})
        backend = await self._backend() if target == RequestStatus.APPROVED else "none"
        async with in_transaction() as conn:
            won = await BookRequest.filter(id=req.id, status=source).using_db(conn).update(
                **changes
            )
            if not won:
                current = await BookRequest.filter(id=req.id).using_db(conn).first()
                status = current.status if current is not None else source
                raise _unchanged(req.id, status, target, decision=decision)
            for name, value in changes.items():
                setattr(req, name, value)
            if kind is not None:
                extra = ""
                if kind != notify.KIND_AVAILABLE:  # available is final: one key for every path
                    earlier = await Notification.filter(
                        request_id=req.id, user_id=req.requester_id
                    ).using_db(conn).count()
                    extra = f"{source}->{target}:{earlier}"
                rows = notify.rows_for(req, kind, await self.audience(req), extra=extra)
                await Notification.bulk_create(rows, ignore_conflicts=True, using_db=conn)
            if backend != "none":
                await queue_handoff(req, backend, conn)
        log.info("request %s moved from %s to %s", req.id, source, target)
        return req

    async def audience(self, req: BookRequest) -> list[int]:
        """The requester, then every subscriber (`core.requests.audience`)."""
        return await audience(req)

    async def for_user(
        self, discord_id: int, *, offset: int = 0, limit: int = 10
    ) -> tuple[list[BookRequest], int]:
        """The user's own requests and those they subscribed to, newest first."""
        sub_ids = await RequestSubscriber.filter(user_id=discord_id).values_list(
            "request_id", flat=True
        )
        query = BookRequest.filter(Q(requester_id=discord_id) | Q(id__in=list(sub_ids)))
        total = await query.count()
        rows = await query.order_by("-created_at", "-id").offset(offset).limit(limit)
        return rows, total

    async def pending(self, limit: int = 25) -> list[BookRequest]:
        return await BookRequest.filter(status=RequestStatus.PENDING).order_by("id").limit(limit)


def _unchanged(
    request_id: int, current: RequestStatus, target: RequestStatus, *, decision: bool
) -> UserError:
    """The answer to a move that did not happen (refused, or lost a race to another move).

    A decision (approve/deny) on a request that left `pending` says what it
    already is: "Request #4 is already approved; nothing changed."
    """
    if decision or current == target:
        return UserError(f"Request #{request_id} is already {current}; nothing changed.")
    return UserError(f"Request #{request_id} is {current}; it can't move to {target}.")
