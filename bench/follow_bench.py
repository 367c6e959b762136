"""The new-release check at size: 1,000 users following 3,000 authors and series.

The real `ReleaseChecker` and `AudibleCatalog` against the fake Audible on
127.0.0.1 (its searches answered from an index, so the figure measures
Earmark, not the fake's linear scan), with a SQLite database in memory.
Each of 2,000 authors and 1,000 series has an old and a new book; each user
follows 10 of them, every target followed by three or four users (10,000
follows). The first run with the default budget checks every target once
(one lookup however many follow it) and queues one digest per user; a
second run right after checks them again and announces nothing. Usage: python -m bench.follow_bench
"""

from __future__ import annotations

import asyncio
import random
import resource
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web

from core.catalog.client import AudibleCatalog
from core.db import close_db, open_db
from core.follow import ReleaseChecker, Target
from core.follow.check import DEFAULT_BUDGET, CheckReport
from core.models import Follow, FollowKind, User
from tests.fakes.catalog import FakeAudible, _people_words, _words

RESULTS = Path(__file__).parent / "results"
USERS, AUTHORS, SERIES, PER_USER = 1000, 2000, 1000, 10


class IndexedAudible(FakeAudible):
    """The fake catalog with its searches answered from dictionaries (same wire format)."""

    def __init__(self) -> None:
        super().__init__(load_fixtures=False)
        self.by_word: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def index(self) -> None:
        for product in self.products.values():
            words = _people_words(product, "authors")
            for entry in product.get("series") or ():
                words |= _words(entry["title"])
            for word in words:
                self.by_word[word].append(product)

    async def _search(self, request: web.Request) -> web.Response:
        if (stop := await self._gate(request)) is not None:
            return stop
        wanted = _words(request.query.get("author", "") or request.query.get("keywords", ""))
        pools = [self.by_word.get(w, []) for w in wanted]
        hits = min(pools, key=len) if pools else []
        hits = sorted(hits, key=lambda p: str(p.get("release_date")), reverse=True)[:50]
        return web.json_response({"products": hits, "total_results": len(hits)})


def stock(fake: IndexedAudible) -> list[Target]:
    today = datetime.now(UTC).date()
    old, new = "2015-01-01", (today - timedelta(days=2)).isoformat()
    targets: list[Target] = []
    for i in range(AUTHORS):
        name, asin = f"Author{i} Writer{i}", f"B0A{i:07d}"
        for tag, when in (("o", old), ("n", new)):
            fake.add_product(asin=f"B1{tag}{i:07d}", title=f"Book {tag} of author {i}",
                             authors=[name], author_asins=[asin], release_date=when)
        targets.append(Target(FollowKind.AUTHOR, name, asin))
    for i in range(SERIES):
        name, asin = f"Saga{i}", f"B0S{i:07d}"
        for tag, when, seq in (("o", old, "1"), ("n", new, "2")):
            fake.add_product(asin=f"B2{tag}{i:07d}", title=f"Volume {seq} of saga {i}",
                             authors=[f"Sagawriter{i}"], series=[(name, seq)],
                             series_asins=[asin], release_date=when)
        targets.append(Target(FollowKind.SERIES, name, asin))
    fake.index()
    return targets


async def follow_all(targets: list[Target]) -> int:
    """Every target followed by someone; each user's 10 spread over the whole list."""
    order = list(targets)
    random.Random(11).shuffle(order)
    await User.bulk_create([User(discord_id=10_000 + u, plex_token="x") for u in range(USERS)])
    rows = [
        Follow(user_id=10_000 + u, kind=t.kind, key=t.key, catalog_asin=t.asin, name=t.name,
               display_name=t.display_name)
        for u in range(USERS)
        for t in (order[(u * PER_USER + k * 331) % len(order)] for k in range(PER_USER))
    ]
    await Follow.bulk_create(rows, batch_size=1000)
    return len({(r.kind, r.key) for r in rows})


class NotInLibrary:
    async def in_library(self, book: object) -> object:
        return None


async def main() -> None:
    await open_db("sqlite://:memory:")
    rows = ["| run | lookups (budget) | failed | deferred | announced | messages | users | time |",
            "|---|---|---|---|---|---|---|---|"]
    try:
        async with IndexedAudible() as fake:
            followed = await follow_all(stock(fake))
            async with AudibleCatalog(base_url=fake.url, timeout=10.0) as catalog:
                checker = ReleaseChecker(catalog, NotInLibrary())
                reports: list[CheckReport] = []
                for run in (1, 2):
                    started = time.perf_counter()
                    report = await checker.run()
                    took = time.perf_counter() - started
                    reports.append(report)
                    rows.append(
                        f"| {run} | {report.lookups:,} ({DEFAULT_BUDGET:,}) | {report.failed} | "
                        f"{report.deferred:,} | {report.announced:,} | {report.messages:,} | "
                        f"{len(report.users):,} | {took:.1f} s |"
                    )
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        text = "\n".join([
            f"{USERS:,} users, {USERS * PER_USER:,} follows of {followed:,} distinct targets "
            f"({AUTHORS:,} authors and {SERIES:,} series); concurrency {checker.concurrency}; "
            f"peak RSS {rss:.0f} MB",
            "",
            *rows,
        ])
    finally:
        await close_db()
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "follow.md").write_text(f"python={sys.version.split()[0]}\n\n{text}\n")


if __name__ == "__main__":
    asyncio.run(main())
