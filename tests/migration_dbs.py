"""SQLite database files for the migration tests, and what to read back from them.

The database of the last release before migrations is rebuilt from
tests/fixtures/db/earmark-0.1.0.sql (`legacy_db`); `future_db` is one that a
newer release has migrated further than this code knows.
"""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from core.migrate import RECORDER_TABLE

ROOT = Path(__file__).resolve().parents[1]
#: The migrations this code ships, in order: what a new or adopted database ends up at.
SHIPPED = sorted(p.stem for p in (ROOT / "core" / "migrations").glob("0*.py"))
LATEST = SHIPPED[-1]
FIXTURE = ROOT / "tests" / "fixtures" / "db" / "earmark-0.1.0.sql"
TABLES = (
    "users", "plex_library", "requests", "request_subscribers", "notifications",
    "configuration", "recommend_dismissals",
)
LATER_COLUMNS = {
    "series", "series_index", "progress", "stage_note", "external_id", "dm_download_started"
}


def legacy_db(path: Path) -> Path:
    """A database file as Earmark 0.1.0 left it (generate_schemas, no recorder table)."""
    with closing(sqlite3.connect(path)) as con:
        con.executescript(FIXTURE.read_text(encoding="utf-8"))
    return path


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the 0.1.0 schema, columns as 0.1.0 had them."""
    with closing(sqlite3.connect(path)) as con:
        out = {}
        for table in TABLES:
            columns = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
            # Added later (ADD_SERIES, 0002_fulfilment): rows keep the 0.1.0 columns.
            columns = [c for c in columns if c not in LATER_COLUMNS]
            names = ", ".join(f'"{c}"' for c in columns)
            out[table] = con.execute(f'SELECT {names} FROM "{table}" ORDER BY rowid').fetchall()
        return out


def schema(path: Path) -> list[tuple[str, str]]:
    """The app's tables and indexes as SQLite stores them, whitespace normalised."""
    with closing(sqlite3.connect(path)) as con:
        found = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name != ?",
            (RECORDER_TABLE,),
        ).fetchall()
    return sorted((name, re.sub(r"\s+", " ", sql)) for name, sql in found)


def recorded(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as con:
        return [r[0] for r in con.execute(f'SELECT name FROM "{RECORDER_TABLE}" ORDER BY id')]


def backups(path: Path) -> list[Path]:
    return sorted(path.parent.glob(f"{path.name}.*.bak"))


def future_db(path: Path) -> Path:
    """A database a newer release has migrated further than this code knows."""
    legacy_db(path)
    with closing(sqlite3.connect(path)) as con:
        con.execute(
            f'CREATE TABLE "{RECORDER_TABLE}" (id INTEGER PRIMARY KEY, app TEXT, name TEXT, '
            "applied_at TIMESTAMP)"
        )
        con.executemany(
            f'INSERT INTO "{RECORDER_TABLE}" (app, name, applied_at) VALUES (?, ?, ?)',
            [("models", "0001_initial", "2026-01-01"), ("models", "0099_from_the_future",
                                                         "2026-02-01")],
        )
        con.commit()
    return path
