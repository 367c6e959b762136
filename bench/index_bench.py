"""Index benchmark (issue 9, the index half): cold CLI calls, index build or load, stalls, RSS.

A fake PMS fills a fresh SQLite file with one full scan (50,000 albums, and
--big albums), then, each in its own process so start-up counts:

- cold `python -m bot match TITLE --json`: with no saved index (the build),
  and with the saved one beside the database (the load); target <= 2.0 s;
- `python -m bot match --batch` of 1,000 books (saved index); target <= 2.5 s;
- the bot's way at --big albums: `ScanService.library_index()` on the event
  loop with a 10 ms probe, built (no saved file) and loaded; targets <= 5 s
  and no stall over 50 ms;
- resident memory of a process with the bot's modules imported (discord.py,
  aiohttp, Tortoise) and the 50,000-book index loaded, after a collection:
  the runtime and the index alone, not a logged-in bot; target <= 120 MB.

Usage: python -m bench.index_bench [--albums 50000] [--big 200000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scan_bench import TOKEN, LagProbe, child, start_fake, write_table


def _rss_mb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _library_index(db: str) -> dict[str, float]:
    """The bot's path: the index built or loaded while the event loop keeps running."""
    import bot.app  # noqa: F401  (the bot's modules, as a running bot has them)
    from core.db import close_db, open_db
    from core.library import ScanService
    from core.library.scan import saved_index_file

    url = f"sqlite://{db}"
    await open_db(url)
    try:
        scans = ScanService(None, index_file=saved_index_file(url))  # type: ignore[arg-type]
        started = time.perf_counter()
        with LagProbe() as probe:
            index = await scans.library_index()
        seconds = time.perf_counter() - started
        with LagProbe() as save_probe:
            await scans.close()  # a first build saves in the background: measured too
        gc.collect()
        return {"seconds": seconds, "stall_ms": probe.worst * 1000,
                "save_stall_ms": save_probe.worst * 1000, "items": len(index),
                "rss_mb": _rss_mb()}  # fmt: skip
    finally:
        await close_db()


def _timed(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", *args], check=True, capture_output=True)
    return time.perf_counter() - started


def _fill(albums: int, db: str) -> None:
    proc, url = start_fake(albums)
    try:
        child(["scan", url, db, "full"])
    finally:
        proc.terminate()
        proc.wait()


def _batch(db: str, path: Path, n: int) -> None:
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute(f"SELECT title, author FROM plex_library LIMIT {n}").fetchall()
    lines = [json.dumps({"title": t, "author": a}) for t, a in rows]
    path.write_text("\n".join(lines) + "\n")


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--albums", type=int, default=50_000)
    parser.add_argument("--big", type=int, default=200_000, help="0 skips the big library")
    parser.add_argument("--child", nargs=1)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(_library_index(args.child[0]))))
        return

    load = os.getloadavg()[0]
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = f"{tmp}/main.db"
        _fill(args.albums, db)
        config = Path(tmp, "config.toml")
        config.write_text(
            f'[plex]\nurl = "http://127.0.0.1:9"\ntoken = "{TOKEN}"\nlibrary_id = "1"\n'
            f'[database]\nurl = "sqlite://{db}"\n[security]\nkey_file = "{tmp}/secret.key"\n'
        )
        cfg = ["--config", str(config)]
        index_file = Path(f"{db}.index")
        one = ["match", "The Shadow of the Wind", "--author", "Carlos Ruiz Zafon", "--json", *cfg]
        built = _timed(one)  # no saved index: built, then saved before the process exits
        loaded = min(_timed(one) for _ in range(3))
        batch_file = Path(tmp, "batch.jsonl")
        _batch(db, batch_file, 1000)
        batch = min(_timed(["match", "--batch", str(batch_file), "--json", *cfg]) for _ in range(2))
        index_file.unlink()
        bot_built = _child(db)
        bot_loaded = _child(db)
        rows += [
            (f"cold `match TITLE --json`, {args.albums:,} books, no saved index (build)",
             f"{built:.2f} s", "before: 4.7–5.2 s"),
            ("cold `match TITLE --json`, saved index (load), best of 3", f"{loaded:.2f} s",
             f"<= 2.0 s: {_met(loaded <= 2.0)}"),
            ("`match --batch` of 1,000 books, saved index, best of 2", f"{batch:.2f} s",
             f"<= 2.5 s: {_met(batch <= 2.5)}"),
            (f"bot: index build / load, {args.albums:,} books",
             f"{bot_built['seconds']:.2f} / {bot_loaded['seconds']:.2f} s",
             f"longest stall {bot_built['stall_ms']:.0f} / {bot_loaded['stall_ms']:.0f} ms; "
             f"the save after the build {bot_built['save_stall_ms']:.0f} ms"),
            (f"RSS: bot modules + {args.albums:,}-book index (loaded / built)",
             f"{bot_loaded['rss_mb']:.0f} / {bot_built['rss_mb']:.0f} MB",
             f"<= 120 MB: {_met(max(bot_loaded['rss_mb'], bot_built['rss_mb']) <= 120)} "
             "(both; not a logged-in bot)"),
        ]
        if args.big:
            big = f"{tmp}/big.db"
            _fill(args.big, big)
            b_built = _child(big)
            b_loaded = _child(big)
            worst = max(b_built["stall_ms"], b_loaded["stall_ms"], b_built["save_stall_ms"])
            rows += [
                (f"bot: index build / load, {args.big:,} books",
                 f"{b_built['seconds']:.2f} / {b_loaded['seconds']:.2f} s",
                 f"<= 5 s: build {_met(b_built['seconds'] <= 5)}, "
                 f"load {_met(b_loaded['seconds'] <= 5)}"),
                (f"bot: longest loop stall, {args.big:,} books: build / save / load",
                 f"{b_built['stall_ms']:.0f} / {b_built['save_stall_ms']:.0f} / "
                 f"{b_loaded['stall_ms']:.0f} ms", f"<= 50 ms: {_met(worst <= 50)}"),
            ]
    write_table("index", f"albums={args.albums} big={args.big} load={load:.2f}", rows)


def _child(db: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.index_bench", "--child", db],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
