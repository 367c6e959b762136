"""The command line: `python -m bot [run|check|scan|match|migrate|health]`.

Everything but `run` works without Discord: with `[plex] url/token/library_id`
in the config an admin can check the server, scan it and ask the matcher.
Exit codes: 0 success, 1 a check or scan failed, 2 bad usage or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from bot.config import ConfigError, Settings, load_settings
from bot.discord_check import discord_lines
from bot.health import cmd_health
from bot.logs import setup_logging
from bot.progress import ProgressLine
from bot.runtime import Runtime
from core.catalog.errors import CatalogError
from core.config_store import undecryptable_message, undecryptable_secrets
from core.crypto import CryptoError, key_source
from core.db import (
    DatabaseError,
    SchemaError,
    apply_migrations,
    close_db,
    current_schema,
    open_db,
    plan_migrations,
    redact_db_url,
)
from core.errors import PlexNotConfigured
from core.fulfil.errors import FulfilError
from core.library import ScanMode, ScanSummary
from core.matcher import BookQuery, MatchResult
from core.matcher.batch import match_many
from core.plex import PlexError, PlexLibrary

log = logging.getLogger(__name__)

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: `python -m bot --config F` and `python -m bot run --config F` both work,
    # and a subcommand's absent option does not overwrite the top-level one.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config", metavar="FILE", default=argparse.SUPPRESS,
        help="config file (default config.toml, or $EARMARK_CONFIG)",
    )
    common.add_argument(
        "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
        help="log at DEBUG level",
    )
    parser = argparse.ArgumentParser(
        # `earmark` is the installed console command; `python -m bot` works everywhere.
        prog="earmark" if Path(sys.argv[0]).name == "earmark" else "python -m bot",
        description="Earmark: audiobook requests for Plex, on Discord.",
        parents=[common],
    )
    sub = parser.add_subparsers(dest="command")

    sub.add_parser("run", parents=[common], help="run the Discord bot (the default)")
    sub.add_parser(
        "check", parents=[common], help="test the database, the Plex server and the catalog"
    )

    scan = sub.add_parser("scan", parents=[common], help="scan the Plex library now")
    mode = scan.add_mutually_exclusive_group()
    mode.add_argument(
        "--full", dest="mode", action="store_const", const="full",
        help="read the whole library, update every book, remove what is gone (the default)",
    )
    mode.add_argument(
        "--recent", dest="mode", action="store_const", const="recent",
        help="read only the newest additions until a known book (fast; removes nothing)",
    )
    scan.add_argument("--json", action="store_true", help="print the summary as JSON")
    scan.set_defaults(mode="full")

    match = sub.add_parser(
        "match", parents=[common], help="ask the matcher whether a book is in the library"
    )
    match.add_argument("title", nargs="?", help="book title")
    match.add_argument("--author")
    match.add_argument("--narrator")
    match.add_argument("--asin")
    match.add_argument("--batch", metavar="FILE.jsonl", help="one JSON object per line")
    match.add_argument("--json", action="store_true", help="print JSON")
    sub.add_parser(
        "health", parents=[common],
        help="exit 0 when the running bot's heartbeat ([health] file) is fresh and well",
    )

    migrate = sub.add_parser(
        "migrate", parents=[common],
        help="bring the database schema up to date (a SQLite file is backed up first)",
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="list what would run and change nothing"
    )
    parser.set_defaults(command="run")  # not config/verbose: their actions are shared
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.config = getattr(args, "config", None)
    args.verbose = getattr(args, "verbose", False)
    if args.command == "match" and bool(args.title) == bool(args.batch):
        parser.error("match needs a TITLE or --batch FILE.jsonl (not both)")
    quiet = args.command in {"scan", "match", "check", "migrate", "health"}
    level = logging.DEBUG if args.verbose else (logging.WARNING if quiet else logging.INFO)
    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(level, settings.secrets())
    if args.command == "health":
        return health(settings)
    try:
        if args.command == "run":
            from bot.app import run_bot  # imported late: the CLI works without discord wiring

            return run_bot(settings)
        return asyncio.run(_dispatch(args, settings))
    except KeyboardInterrupt:
        return 130


def health(settings: Settings) -> int:
    """`health`: judge the heartbeat file; opens no database and creates no key."""
    if not settings.health.file:
        print(
            "error: no heartbeat file: set [health] file (or EARMARK_HEALTH_FILE), "
            "for the bot and for this check",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return cmd_health(settings.health.file, sys.stdout)


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    try:
        if args.command == "migrate":  # not through Runtime: opening it migrates
            return await cmd_migrate(settings.database.url, sys.stdout, dry_run=args.dry_run)
        async with Runtime(settings) as runtime:
            if args.command == "check":
                return await cmd_check(runtime, sys.stdout)
            if args.command == "scan":
                return await cmd_scan(runtime, args.mode, as_json=args.json)
            return await cmd_match(runtime, args)
    except SchemaError as err:
        if args.command == "check":
            print(f"FAIL schema: {err}")
            return EXIT_FAIL
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAIL if args.command == "migrate" else EXIT_USAGE
    except (DatabaseError, CryptoError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


# ----- check ---------------------------------------------------------------------------------


async def cmd_check(runtime: Runtime, out: TextIO) -> int:
    """Test each dependency and say what is wrong in one line each."""
    ok = True

    def line(good: bool, what: str, detail: str) -> None:
        nonlocal ok
        ok = ok and good
        print(f"{'ok  ' if good else 'FAIL'} {what}: {detail}", file=out)

    line(True, "database", "reachable")
    schema = await current_schema()
    line(schema.up_to_date, "schema", schema.describe())
    unreadable = await undecryptable_secrets(runtime.cipher)
    if unreadable:
        # WARN, not FAIL: what still works keeps working; the plex line fails on its own
        # when the system token is among them.
        key = key_source(runtime.settings.security.key_file)
        print(f"WARN secrets: {undecryptable_message(unreadable, key)}", file=out)
    try:
        conn = await runtime.plex.connection()
        server = await runtime.plex.server(conn)
        identity = await server.identity()
        line(True, "plex server", f"{conn.url} (machine {identity.machine_identifier}, "
             f"version {identity.version or '?'})")
        libraries = await server.libraries()
        music = [lib for lib in libraries if lib.is_music]
        listing = ", ".join(f"{lib.id}={lib.title}" for lib in music) or "none"
        line(bool(music), "plex music libraries", listing)
        if conn.library_id:
            chosen = next((lib for lib in libraries if lib.id == conn.library_id), None)
            line(
                chosen is not None and chosen.is_music,
                "audiobook library",
                _library_detail(chosen) if chosen else
                f"{conn.library_id} does not exist on this server",
            )
        else:
            line(False, "audiobook library", "not chosen ([plex] library_id or /setup library)")
    except PlexNotConfigured as err:
        line(False, "plex server", str(err))
    except PlexError as err:
        line(False, "plex server", str(err))
    for found in await discord_lines(runtime.settings):
        if found.level == "warn":
            print(f"WARN {found.what}: {found.detail}", file=out)
        else:
            line(found.level == "ok", found.what, found.detail)
    try:
        results = await runtime.catalog.search("dune", limit=1)
        line(True, "audible catalog", f"{runtime.settings.catalog.region} ({len(results)} result)")
    except CatalogError as err:
        line(False, "audible catalog", str(err))
    await _check_fulfil(runtime, line)
    return EXIT_OK if ok else EXIT_FAIL


async def _check_fulfil(runtime: Runtime, line: Callable[[bool, str, str], None]) -> None:
    """One line for the fulfilment backend: ReadMeABook is asked who the token is."""
    config = await runtime.fulfil.config()
    if config.backend == "none":
        line(True, "fulfilment", "none (approved requests wait for an admin)")
    elif not config.active:
        line(False, "fulfilment", f"{config.backend}: incomplete ([fulfil] or /setup fulfil)")
    elif config.backend == "webhook":
        line(True, "fulfilment", f"webhook {config.url} (a test delivery: /setup fulfil)")
    else:
        try:
            user = await runtime.fulfil.rmab(config).me()
            line(True, "fulfilment", f"readmeabook {config.url} as {user.username} ({user.role})")
        except FulfilError as err:
            line(False, "fulfilment", str(err))


#: How Plex's section types read in a sentence.
_LIBRARY_KINDS = {"movie": "a movie", "show": "a TV show", "photo": "a photo", "artist": "a music"}


def _library_detail(library: PlexLibrary) -> str:
    """`7 = Audiobooks`, or why that library cannot hold audiobooks."""
    detail = f"{library.id} = {library.title}"
    if library.is_music:
        return detail
    kind = _LIBRARY_KINDS.get(library.type, f"a {library.type or 'untyped'}")
    return (f"{detail} is {kind} library; audiobooks must be in a music library "
            "(type artist)")


# ----- migrate -------------------------------------------------------------------------------


async def cmd_migrate(url: str, out: TextIO, *, dry_run: bool) -> int:
    """Apply pending migrations, or with `dry_run` list them; say where the schema stands."""
    print(f"database: {redact_db_url(url)}", file=out)
    status = await plan_migrations(url) if dry_run else await open_db(url, migrate=False)
    try:
        print(f"schema: {status.describe()}", file=out)
        if not status.usable:
            return EXIT_FAIL
        if not dry_run and not status.up_to_date:
            done = await apply_migrations(url, status)
        steps = [f"adopt{'' if dry_run else 'ed'}: made before migrations, marked as at "
                 f"{status.known[0]}"] if status.legacy else []
        steps += [f"appl{'y' if dry_run else 'ied'}: {name}" for name in status.pending]
        for step in steps:
            print(f"would {step}" if dry_run else step, file=out)
        if dry_run:
            print("dry run: nothing was changed", file=out)
        elif not status.up_to_date:
            print(f"schema: {done.describe()}", file=out)
        return EXIT_OK
    finally:
        await close_db()


# ----- scan ----------------------------------------------------------------------------------


async def cmd_scan(runtime: Runtime, mode: ScanMode, *, as_json: bool = False) -> int:
    """One scan now: progress on stderr, the summary on stdout."""
    progress = ProgressLine(sys.stderr)
    try:
        with progress.attach_to_logging():
            summary = await runtime.scans.run(mode, progress)
    except PlexNotConfigured as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except PlexError as err:
        print(f"error: the scan failed, nothing was removed: {err}", file=sys.stderr)
        return EXIT_FAIL
    if as_json:
        print(json.dumps(summary.as_dict()))
    else:
        print(format_summary(summary))
    return EXIT_OK if summary.complete else EXIT_FAIL


def format_summary(summary: ScanSummary) -> str:
    lines = [
        f"{summary.mode} scan {'complete' if summary.complete else 'INCOMPLETE'} "
        f"in {summary.seconds:.1f}s",
        # A poll reads the newest books only: its count is not the library's size.
        f"total: {summary.total} books in the library" if summary.mode == "full"
        else f"books checked: {summary.total} (the newest in Plex)",
        f"new: {summary.new}",
        f"updated: {summary.updated}",
        f"removed: {summary.removed}",
        f"matched requests: {summary.matched_requests}",
    ]
    if summary.note:
        lines.append(f"note: {summary.note}")
    return "\n".join(lines)


# ----- match ---------------------------------------------------------------------------------


def result_json(result: MatchResult) -> dict[str, Any]:
    """The contract's per-book shape."""
    return {
        "matched": result.matched,
        "rating_key": result.item.rating_key if result.matched and result.item else None,
        "title": result.item.title if result.matched and result.item else None,
        "score": round(float(result.score), 2),
        "reason": result.reason,
    }


def parse_batch_line(raw: str, number: int) -> BookQuery:
    """One JSONL line to a query; ValueError with a message naming the line."""
    try:
        obj = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"line {number}: not valid JSON ({err.msg})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"line {number}: expected a JSON object")
    fields: dict[str, str | None] = {}
    for key in ("title", "author", "narrator", "asin"):
        value = obj.get(key)
        if value is not None and not isinstance(value, str):
            raise ValueError(f"line {number}: {key} must be a string")
        fields[key] = value.strip() if isinstance(value, str) and value.strip() else None
    if not fields["title"] and not fields["asin"]:
        raise ValueError(f"line {number}: needs a title (or an asin)")
    return BookQuery(
        title=fields["title"] or "",
        author=fields["author"],
        narrator=fields["narrator"],
        asin=fields["asin"],
    )


async def cmd_match(runtime: Runtime, args: argparse.Namespace) -> int:
    lines: list[BookQuery | str] = []
    if args.batch:  # read and checked before the index: a typo fails at once
        try:
            text = await asyncio.to_thread(Path(args.batch).read_text, encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            print(f"error: cannot read {args.batch}: {err}", file=sys.stderr)
            return EXIT_USAGE
        for number, raw in enumerate(text.splitlines(), start=1):
            if raw.strip():
                try:
                    lines.append(parse_batch_line(raw, number))
                except ValueError as err:
                    lines.append(str(err))
    runtime.scans.search_ready = False  # matching only: no autocomplete orders
    index = await runtime.scans.library_index()
    if len(index) == 0:
        print(
            "warning: the library mirror is empty (never scanned, or the Plex library holds "
            "no books): run `python -m bot scan` first",
            file=sys.stderr,
        )
    if not args.batch:
        query = BookQuery(
            title=args.title, author=args.author, narrator=args.narrator, asin=args.asin
        )
        result = index.match(query)
        if args.json:
            print(json.dumps(result_json(result)))
        elif result.matched and result.item:
            print(f"matched: {result.item.title} — {result.item.author or '?'} "
                  f"(rating key {result.item.rating_key}, score {result.score:.1f}; "
                  f"{result.reason})")
        else:
            print(f"not in the library (score {result.score:.1f}; {result.reason})")
        return EXIT_OK

    queries = [line for line in lines if isinstance(line, BookQuery)]
    results = iter(match_many(index, queries))
    status = EXIT_OK
    for line in lines:
        if isinstance(line, str):
            print(f"error: {line}", file=sys.stderr)
            invalid = {"matched": False, "rating_key": None, "title": None, "score": 0.0}
            print(json.dumps({**invalid, "reason": f"invalid input: {line}"}))
            status = EXIT_USAGE
            continue
        print(json.dumps(result_json(next(results))))
    return status
