"""`/library` and notification benchmark against a 50,000-book library.

A fake PMS runs in its own process; one full scan fills a fresh SQLite file,
then, in this process:

- `/library` autocomplete: 1,000 typed queries (title prefixes, authors,
  typos, misses), then each common shape of ``SHAPES`` 50 times, through
  the cog's own code path (`scans.library_index()`,
  `core.library.query.suggest`, `cogs.library.choices_for`); p50/p95/p99/max.
  Target: p99 < 50 ms. The SQL fallback used while the index is still being
  built on a first start is measured too, and `/library` without a query.
- A recently-added poll that matches 1,000 open requests (all become
  available, 1,000 outbox rows queued), with a warm index. Target: < 1 s.
- The same poll when those 1,000 books are new to the mirror, so the poll
  also pages them in and fetches their folders (no target; for scale).

Usage: python -m bench.library_bench [--albums 50000] [--queries 1000] [--requests 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time

from bench.scan_bench import TOKEN, start_fake, write_table


def _typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice("aeioursnt") + word[i + 1 :]


def make_queries(rows: list[tuple[str, str | None]], n: int, seed: int = 7) -> list[str]:
    """What people type: title prefixes, author names, both, typos, and misses."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        title, author = rng.choice(rows)
        words = title.split()
        roll = rng.random()
        if roll < 0.40:  # a title being typed
            k = rng.randint(1, min(3, len(words)))
            text = " ".join(words[:k])
            out.append(text[: max(3, len(text) - rng.randint(0, 3))])
        elif roll < 0.60 and author:  # an author's family name, or all of it
            parts = author.split()
            out.append(parts[-1] if rng.random() < 0.6 else author)
        elif roll < 0.80 and author:  # title word + author
            out.append(f"{rng.choice(words)} {author.split()[-1]}")
        elif roll < 0.90:  # a typo in a longer word
            long_words = [w for w in words if len(w) >= 5]
            out.append(_typo(rng.choice(long_words), rng) if long_words else title)
        else:  # something not in the library
            out.append("".join(rng.choice("bcdfghjklmnpqrstvwxz") for _ in range(7)))
    return out


#: Shapes that start or select a large share of the library (issue 9), each timed on its own.
SHAPES = ("The", "the", "A T", "a t", "T", "Th", "A", "Of", "of the", "in the", "the of", "and",
          "An", "The S", "J", "a b")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(url: str, db: str, n_queries: int, n_requests: int) -> list[tuple[str, str, str]]:
    import aiohttp
    from cryptography.fernet import Fernet

    from cogs.library import choices_for
    from core.config_store import PLEX_LIBRARY, PLEX_TOKEN, PLEX_URL, ConfigStore
    from core.crypto import TokenCipher
    from core.db import close_db, open_db
    from core.library import ScanService
    from core.library import query as lib
    from core.models import BookRequest, Notification, PlexItem, RequestStatus, User
    from core.plex_source import StoredPlexSource

    rows_out: list[tuple[str, str, str]] = []
    await open_db(f"sqlite://{db}")
    try:
        store = ConfigStore(TokenCipher(Fernet.generate_key()))
        pinned = {PLEX_URL: url, PLEX_TOKEN: TOKEN, PLEX_LIBRARY: "1"}
        async with aiohttp.ClientSession() as session:
            scans = ScanService(StoredPlexSource(store, pinned, session))
            started = time.perf_counter()
            full = await scans.run("full")
            rows_out.append((f"full scan to fill the mirror ({full.total:,} books)",
                             f"{time.perf_counter() - started:.1f} s", "setup"))

            started = time.perf_counter()
            await scans.library_index()
            rows_out.append(("library index build (once per process)",
                             f"{time.perf_counter() - started:.2f} s",
                             "autocomplete uses the SQL fallback meanwhile"))

            # ---- /library autocomplete ----
            sample = await PlexItem.all().values_list("title", "author")
            queries = make_queries(sample, n_queries)
            for q in queries[:20]:  # warm caches the way a running bot has them
                choices_for(lib.suggest(await scans.library_index(), q))
            times: list[float] = []
            hits = 0
            for q in queries:
                t0 = time.perf_counter()
                index = await scans.library_index()
                choices = choices_for(lib.suggest(index, q, limit=25))
                times.append((time.perf_counter() - t0) * 1000)
                hits += bool(choices)
            p99 = pct(times, 99)
            rows_out += [
                (f"/library autocomplete p50 ({n_queries:,} queries)",
                 f"{pct(times, 50):.2f} ms", f"{hits:,} with choices"),
                ("/library autocomplete p95", f"{pct(times, 95):.2f} ms", ""),
                ("/library autocomplete p99", f"{p99:.2f} ms",
                 f"target < 50 ms: {'met' if p99 < 50 else 'MISSED'}"),
                ("/library autocomplete max", f"{max(times):.2f} ms",
                 f"mean {statistics.fmean(times):.2f} ms"),
            ]

            for shape in SHAPES:  # the common shapes, 50 times each
                shape_times: list[float] = []
                for _ in range(50):
                    t0 = time.perf_counter()
                    choices_for(lib.suggest(await scans.library_index(), shape, limit=25))
                    shape_times.append((time.perf_counter() - t0) * 1000)
                worst = pct(shape_times, 99)
                rows_out.append((
                    f"/library autocomplete {shape!r}: p50 / p99 / max",
                    f"{pct(shape_times, 50):.2f} / {worst:.2f} / {max(shape_times):.2f} ms",
                    f"target p99 < 50 ms: {'met' if worst < 50 else 'MISSED'}",
                ))

            fallback: list[float] = []
            for q in queries[:200]:
                t0 = time.perf_counter()
                choices_for(await lib.suggest_fallback(q))
                fallback.append((time.perf_counter() - t0) * 1000)
            rows_out.append(("SQL fallback p99 (index not built yet, 200 queries)",
                             f"{pct(fallback, 99):.1f} ms", "must stay well under 3 s"))

            t0 = time.perf_counter()
            totals = await lib.totals()
            recent = await lib.recently_added(10)
            rows_out.append(("/library without a query (totals + 10 newest)",
                             f"{(time.perf_counter() - t0) * 1000:.1f} ms",
                             f"{totals.books:,} books, {totals.authors:,} authors, "
                             f"{len(recent)} shown"))

            # ---- a poll that matches n_requests open requests (warm index) ----
            newest = await PlexItem.all().order_by("-added_at").limit(n_requests)
            users = [User(discord_id=1000 + i) for i in range(100)]
            await User.bulk_create(users)

            async def open_requests() -> None:
                await BookRequest.filter(status__in=["approved"]).delete()
                await Notification.all().delete()
                await BookRequest.bulk_create([
                    BookRequest(requester_id=1000 + i % 100, asin=row.asin or f"X{i:09d}",
                                title=row.title, author=row.author, narrator=row.narrator,
                                status=RequestStatus.APPROVED)
                    for i, row in enumerate(newest)
                ])

            await open_requests()
            await scans.library_index()
            t0 = time.perf_counter()
            summary = await scans.run("recent")
            seconds = time.perf_counter() - t0
            queued = await Notification.all().count()
            rows_out.append((
                f"recently-added poll matching {n_requests:,} open requests (warm index)",
                f"{seconds * 1000:.0f} ms",
                f"{summary.matched_requests:,} matched, {queued:,} DMs queued; target < 1 s: "
                f"{'met' if seconds < 1 else 'MISSED'}",
            ))

            # ---- the same, when those books are new to the mirror ----
            await BookRequest.all().delete()
            await open_requests()
            await PlexItem.filter(id__in=[r.id for r in newest]).delete()
            scans.invalidate_index()
            await scans.library_index()
            t0 = time.perf_counter()
            summary = await scans.run("recent")
            seconds = time.perf_counter() - t0
            rows_out.append((
                f"poll bringing in {summary.new:,} new books and matching them",
                f"{seconds:.2f} s",
                f"{summary.matched_requests:,} matched; includes one folder request per book",
            ))
    finally:
        await close_db()
    return rows_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albums", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=1_000)
    args = parser.parse_args()

    proc, url = start_fake(args.albums)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            rows = asyncio.run(run(url, f"{tmp}/bench.db", args.queries, args.requests))
    finally:
        proc.terminate()
        proc.wait()

    write_table("library", f"albums={args.albums}", rows)


if __name__ == "__main__":
    main()
