"""Scan benchmark: a synthetic Plex library served by the fake PMS over loopback.

Measures, in one run so the ratios are fair on a noisy machine:
- fetching + parsing every page (albums and track folders) with no database;
- a first full scan into a fresh SQLite file (time and peak RSS of that process);
- a second full scan of the unchanged library;
- a recently-added poll, at two library sizes (its cost must not follow the size);
- a recently-added poll that matches 1,000 open requests.

Each measurement runs in its own child process so peak memory is the scan's own.
Usage: python -m bench.scan_bench [--albums 50000] [--small 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOKEN = "bench-token-0123456789"
RESULTS = Path(__file__).parent / "results"


def start_fake(albums: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.plex", "--albums", str(albums), "--port", "0",
         "--token", TOKEN],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"fake Plex did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def write_table(name: str, heading: str, rows: list[tuple[str, str, str]]) -> None:
    """Print the results as a Markdown table and keep a copy in bench/results/NAME.md."""
    table = ["| measurement | result | note |", "|---|---|---|"]
    table += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    text = "\n".join(table)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(
        f"{heading} python={sys.version.split()[0]} cpus={os.cpu_count()}\n\n{text}\n"
    )


def child(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.scan_bench", "--child", *args],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


async def _fetch_only(url: str) -> dict[str, float]:
    import aiohttp

    from core.plex import PlexServer

    async with aiohttp.ClientSession() as session:
        server = PlexServer(url, TOKEN, session=session, client_identifier="bench")
        started = time.perf_counter()
        folders = albums = 0
        async for fpage in server.iter_folders("1"):
            folders += len(fpage.folders)
        async for page in server.iter_albums("1"):
            albums += len(page.items)
        return {"seconds": time.perf_counter() - started, "albums": albums, "folders": folders}


async def _scan(url: str, db: str, mode: str, requests: int = 0) -> dict[str, float]:
    import aiohttp
    from cryptography.fernet import Fernet

    from bot.config import PlexSettings
    from core.config_store import PLEX_LIBRARY, PLEX_TOKEN, PLEX_URL, ConfigStore
    from core.crypto import TokenCipher
    from core.db import close_db, open_db
    from core.library import ScanService
    from core.models import BookRequest, RequestStatus, User
    from core.plex_source import StoredPlexSource

    await open_db(f"sqlite://{db}")
    try:
        store = ConfigStore(TokenCipher(Fernet.generate_key()))
        pinned = {PLEX_URL: url, PLEX_TOKEN: TOKEN, PLEX_LIBRARY: "1"}
        async with aiohttp.ClientSession() as session:
            source = StoredPlexSource(store, pinned, session, product=PlexSettings().product)
            scans = ScanService(source)
            extra: dict[str, float] = {}
            if requests:
                user, _ = await User.get_or_create(discord_id=1)
                await BookRequest.bulk_create([
                    BookRequest(requester=user, asin=f"Z{i:09d}", title=f"Absent Book {i}",
                                author="Nobody Known", status=RequestStatus.APPROVED)
                    for i in range(requests)
                ])
                started = time.perf_counter()
                await scans.library_index()
                extra["index_build_seconds"] = time.perf_counter() - started
            started = time.perf_counter()
            summary = await scans.run(mode)  # type: ignore[arg-type]
            seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "total": summary.total,
            "new": summary.new,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            **extra,
        }
    finally:
        await close_db()


def run_child(argv: list[str]) -> None:
    kind, url, *rest = argv
    if kind == "fetch":
        result = asyncio.run(_fetch_only(url))
    elif kind == "scan":
        db, mode, *req = rest
        result = asyncio.run(_scan(url, db, mode, int(req[0]) if req else 0))
    else:
        raise SystemExit(f"unknown child {kind}")
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--albums", type=int, default=50_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return

    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        big, big_url = start_fake(args.albums)
        small, small_url = start_fake(args.small)
        try:
            fetch = child(["fetch", big_url])
            first = child(["scan", big_url, f"{tmp}/big.db", "full"])
            second = child(["scan", big_url, f"{tmp}/big.db", "full"])
            poll_big = child(["scan", big_url, f"{tmp}/big.db", "recent"])
            child(["scan", small_url, f"{tmp}/small.db", "full"])
            poll_small = child(["scan", small_url, f"{tmp}/small.db", "recent"])
            poll_req = child(["scan", big_url, f"{tmp}/big.db", "recent", "1000"])
        finally:
            for proc in (big, small):
                proc.terminate()
                proc.wait()

    n = args.albums
    ratio = first["seconds"] / fetch["seconds"]
    rows += [
        ("fetch + parse all pages (no DB)", f"{fetch['seconds']:.2f} s", "baseline"),
        ("first full scan into SQLite", f"{first['seconds']:.2f} s",
         f"{ratio:.2f}x the fetch (target <= 2.5x)"),
        ("peak RSS of the first full scan", f"{first['peak_rss_mb']:.0f} MB", "target < 250 MB"),
        ("second full scan, unchanged", f"{second['seconds']:.2f} s",
         f"{second['seconds'] / first['seconds']:.2f}x the first (target < 1)"),
        (f"recently-added poll, {n} albums", f"{poll_big['seconds'] * 1000:.0f} ms",
         "target < 200 ms"),
        (f"recently-added poll, {args.small} albums", f"{poll_small['seconds'] * 1000:.0f} ms",
         "same order as above"),
        ("poll matching 1,000 open requests (warm index)",
         f"{poll_req['seconds'] * 1000:.0f} ms", "target < 1 s"),
        ("library index build (50k rows, once per process)",
         f"{poll_req.get('index_build_seconds', 0):.2f} s", "cached afterwards"),
    ]
    write_table("scan", f"albums={n}", rows)


if __name__ == "__main__":
    main()
