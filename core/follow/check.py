"""The new-release check: what everyone follows, asked of the catalog once per target.

One run: the distinct followed targets, least recently checked first, up to
`budget` catalog lookups (a thousand followers of one author cost one), at
most `concurrency` at a time. A target's books count as news when they came
out within `RECENT_DAYS` or come out within `AHEAD_DAYS`; another edition
of an older book of the same target (other region, abridged, dramatised:
the matcher's `same_work`) is not news. Each follower is told once per book:
`announced_releases` is written in the same transaction as the outbox row,
so a restart or a catalog outage can neither lose nor repeat an announcement.
A lookup that fails leaves its target unchecked, first in line next run.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from core import notify
from core.catalog.errors import CatalogError
from core.catalog.models import CatalogBook
from core.follow import days
from core.follow.targets import Target
from core.matcher import BookIndex, BookQuery
from core.models import (
    OPEN_STATUSES,
    AnnouncedRelease,
    BookRequest,
    Dismissal,
    Follow,
    FollowCheck,
    FollowKind,
    Notification,
)
from core.normalize import parse_title, tokens

log = logging.getLogger(__name__)

RECENT_DAYS = 30  # a release this fresh is still news (covers a catalog outage of weeks)
AHEAD_DAYS = 365  # pre-orders further out than this wait for a later run
DIGEST_MAX = 10  # books per message; more become several messages
DEFAULT_BUDGET = 3000  # catalog lookups per run (more targets: the rest go first next run)
DEFAULT_CONCURRENCY = 4


class ReleaseSource(Protocol):
    """The catalog lookups a check needs (`AudibleCatalog`)."""

    async def by_author(self, name: str, *, limit: int = 50) -> list[CatalogBook]: ...

    async def by_series(self, title: str, *, limit: int = 50) -> list[CatalogBook]: ...


class Library(Protocol):
    """What the check asks of the request service: is the book in Plex already?"""

    async def in_library(self, book: CatalogBook) -> Any: ...


@dataclass(slots=True)
class CheckReport:
    """What one run did, for the log, `make bench` and tests."""

    targets: int = 0  # distinct targets followed
    lookups: int = 0  # catalog calls made (at most the budget)
    failed: int = 0  # lookups that failed (their targets wait for the next run)
    deferred: int = 0  # targets left for the next run by the budget
    announced: int = 0  # (user, book) announcements queued
    messages: int = 0  # outbox rows queued
    users: set[int] = field(default_factory=set)


def work_key(book: CatalogBook) -> str:
    """The work's identity for "announced already": core title words and the first author."""
    author = " ".join(tokens(book.authors[0])) if book.authors else ""
    return f"{parse_title(book.title).key}|{author}"[:255]


def news(books: Sequence[CatalogBook], today: date) -> list[CatalogBook]:
    """The books that are news today, other editions of older books left out."""
    low, high = (today - timedelta(days=RECENT_DAYS)).isoformat(), (
        today + timedelta(days=AHEAD_DAYS)
    ).isoformat()
    fresh = [b for b in books if b.release_date and low <= b.release_date <= high]
    older = [b for b in books if b.release_date and b.release_date < low]
    index = BookIndex(older, key=lambda b: b.asin)
    picked: list[CatalogBook] = []
    # Oldest fresh edition first, so a later edition of the same new work is the one dropped.
    for book in sorted(fresh, key=lambda b: (b.release_date or "", b.asin)):
        query = BookQuery.of(book)
        if index.same_work(query) is not None:
            continue
        if BookIndex(picked, key=lambda b: b.asin).same_work(query) is not None:
            continue
        picked.append(book)
    return picked


def payload_book(book: CatalogBook, state: str, rating_key: str | None = None) -> dict[str, Any]:
    """One book of a release message: enough to render without the catalog."""
    return {
        "asin": book.asin,
        "title": book.title,
        "author": book.author,
        "series": [[name, seq] for name, seq in book.series],
        "release_date": book.release_date,
        "cover_url": book.cover_url,
        "state": state,  # "new", "in_library" or "requested"
        "rating_key": rating_key,
    }


class ReleaseChecker:
    """Runs the check; one at a time (a second caller waits for the running one)."""

    def __init__(
        self,
        catalog: ReleaseSource,
        library: Library,
        *,
        budget: int = DEFAULT_BUDGET,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        if budget < 1 or concurrency < 1:
            raise ValueError("budget and concurrency must be positive")
        self._catalog = catalog
        self._library = library
        self.budget = budget
        self.concurrency = concurrency
        self._lock = asyncio.Lock()

    async def run(self, today: date | None = None) -> CheckReport:
        async with self._lock:
            return await self._run(today or datetime.now(UTC).date())

    async def _run(self, today: date) -> CheckReport:
        report = CheckReport()
        targets = await _targets()
        report.targets = len(targets)
        order = await _check_order(targets)
        chosen, report.deferred = order[: self.budget], max(0, len(order) - self.budget)
        found = await self._lookups(chosen, report)
        await days.remember((b for books in found.values() for b in books), today)
        per_user: dict[int, dict[str, CatalogBook]] = defaultdict(dict)
        followers = await _followers([t for t in chosen if t.key in found])
        for target in chosen:
            for book in news(found.get(target.key, []), today):
                for user_id in followers.get((target.kind, target.key), ()):
                    per_user[user_id].setdefault(book.asin, book)
        states: dict[str, tuple[str, str | None]] = {}
        for user_id, by_asin in per_user.items():
            await self._announce(user_id, list(by_asin.values()), states, report)
        await _mark_checked(chosen, found)
        log.info(
            "release check: %d targets, %d lookups (%d failed, %d deferred), "
            "%d announcements in %d messages to %d users",
            report.targets, report.lookups, report.failed, report.deferred,
            report.announced, report.messages, len(report.users),
        )
        return report

    async def _lookups(
        self, targets: Sequence[Target], report: CheckReport
    ) -> dict[str, list[CatalogBook]]:
        """Each target's books (only those that are really its own); failures left out."""
        gate = asyncio.Semaphore(self.concurrency)
        found: dict[str, list[CatalogBook]] = {}

        async def one(target: Target) -> None:
            async with gate:
                report.lookups += 1
                try:
                    if target.kind == FollowKind.AUTHOR:
                        books = await self._catalog.by_author(target.display_name)
                    else:
                        books = await self._catalog.by_series(target.display_name)
                except CatalogError as err:
                    report.failed += 1
                    log.info("release check of %s %s failed: %s", target.kind, target.key, err)
                    return
                found[target.key] = [b for b in books if target.owns(b)]

        await asyncio.gather(*(one(t) for t in targets))
        return found

    async def _announce(
        self,
        user_id: int,
        books: list[CatalogBook],
        states: dict[str, tuple[str, str | None]],
        report: CheckReport,
    ) -> None:
        """Queue what this user has not heard of yet, and remember it, in one transaction."""
        told = await AnnouncedRelease.filter(user_id=user_id).values("asin", "work_key")
        told_asins = {r["asin"] for r in told}
        told_works = {r["work_key"] for r in told}
        dismissed = set(
            await Dismissal.filter(user_id=user_id).values_list("asin", flat=True)
        )
        fresh = [
            b for b in books
            if b.asin not in told_asins and b.asin not in dismissed
            and work_key(b) not in told_works
        ]
        if not fresh:
            return
        entries = []
        mine = await _open_requests_of(user_id)
        for book in fresh:
            if book.asin not in states:
                states[book.asin] = await self._library_state(book)
            state, rating_key = states[book.asin]
            if state == "new" and mine is not None and mine.same_work(BookQuery.of(book)):
                state = "requested"
            entries.append(payload_book(book, state, rating_key))
        async with in_transaction():
            await AnnouncedRelease.bulk_create(
                [
                    AnnouncedRelease(
                        user_id=user_id, asin=b.asin, work_key=work_key(b), title=b.title,
                        author=b.author,
                    )
                    for b in fresh
                ],
                ignore_conflicts=True,
            )
            for start in range(0, len(entries), DIGEST_MAX):
                chunk = entries[start : start + DIGEST_MAX]
                await Notification.get_or_create(
                    dedupe_key=f"{notify.KIND_RELEASE}:{user_id}:{chunk[0]['asin']}",
                    defaults={
                        "user_id": user_id, "kind": notify.KIND_RELEASE,
                        "payload": {"books": chunk},
                    },
                )
                report.messages += 1
        report.announced += len(fresh)
        report.users.add(user_id)

    async def _library_state(self, book: CatalogBook) -> tuple[str, str | None]:
        match = await self._library.in_library(book)
        if getattr(match, "matched", False) and match.item is not None:
            return "in_library", getattr(match.item, "rating_key", None)
        return "new", None


async def _targets() -> list[Target]:
    """Every distinct followed target (the display name of its oldest follow)."""
    rows = await Follow.all().order_by("id").values("kind", "key", "catalog_asin", "display_name")
    seen: dict[tuple[str, str], Target] = {}
    for row in rows:
        kind = FollowKind(row["kind"])
        seen.setdefault((kind, row["key"]), Target(kind, row["display_name"], row["catalog_asin"]))
    return list(seen.values())


async def _check_order(targets: list[Target]) -> list[Target]:
    """Never checked first, then the longest ago; ties keep follow order."""
    checked = {
        (FollowKind(r["kind"]), r["key"]): r["checked_at"]
        for r in await FollowCheck.all().values("kind", "key", "checked_at")
    }
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(targets, key=lambda t: checked.get((t.kind, t.key)) or oldest)


async def _followers(targets: Iterable[Target]) -> dict[tuple[FollowKind, str], list[int]]:
    out: dict[tuple[FollowKind, str], list[int]] = defaultdict(list)
    keys = {t.key for t in targets}
    if not keys:
        return out
    for row in await Follow.filter(key__in=list(keys)).values("kind", "key", "user_id"):
        out[(FollowKind(row["kind"]), row["key"])].append(row["user_id"])
    return out


async def _open_requests_of(user_id: int) -> BookIndex[Any] | None:
    """The open requests this user made or joined, for "already requested by you"."""
    mine = await BookRequest.filter(
        Q(requester_id=user_id) | Q(subscribers__user_id=user_id), status__in=OPEN_STATUSES
    ).distinct()
    return BookIndex(mine, key=lambda r: str(r.id)) if mine else None


async def _mark_checked(targets: Sequence[Target], found: dict[str, list[CatalogBook]]) -> None:
    """Checked targets move to the back of the line; failed ones count a failure and stay."""
    now = datetime.now(UTC)
    for kind in FollowKind:
        ours = [t for t in targets if t.kind == kind]
        ok = [t.key for t in ours if t.key in found]
        failed = [t.key for t in ours if t.key not in found]
        known = set(
            await FollowCheck.filter(kind=kind, key__in=ok + failed).values_list("key", flat=True)
        )
        await FollowCheck.bulk_create(
            [
                FollowCheck(kind=kind, key=key, checked_at=now if key in found else None,
                            failures=0 if key in found else 1)
                for key in ok + failed if key not in known
            ],
            ignore_conflicts=True,
        )
        if done := [k for k in ok if k in known]:
            await FollowCheck.filter(kind=kind, key__in=done).update(checked_at=now, failures=0)
        if again := [k for k in failed if k in known]:
            await FollowCheck.filter(kind=kind, key__in=again).update(failures=F("failures") + 1)
