"""`python -m bot migrate [--dry-run]` and `check`'s schema line, in process (tests/cli_env.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_env import Env
from tests.database import sqlite_only
from tests.migration_dbs import (
    LATEST,
    SHIPPED,
    backups,
    future_db,
    legacy_db,
    recorded,
    rows,
    schema,
)

# Every test here builds or inspects a SQLite database file (legacy, future, backups).
pytestmark = sqlite_only


def database(env: Env) -> Path:
    return env.config.parent / "earmark.db"


async def test_migrate_dry_run_lists_what_would_run_and_changes_nothing(env: Env) -> None:
    db = legacy_db(database(env))
    before, tables = rows(db), schema(db)

    result = await env.run("migrate", "--dry-run")

    assert result.code == 0, result.out + result.err
    assert "schema: at 0001_initial, made before migrations (to adopt)" in result.out
    assert "would adopt: made before migrations, marked as at 0001_initial" in result.out
    assert result.out.rstrip().endswith("dry run: nothing was changed")
    assert rows(db) == before and schema(db) == tables and backups(db) == []
    with pytest.raises(sqlite3.OperationalError):
        recorded(db)


async def test_migrate_dry_run_does_not_create_a_missing_database(env: Env) -> None:
    result = await env.run("migrate", "--dry-run")
    assert result.code == 0, result.err
    assert "would apply: 0001_initial" in result.out
    assert not database(env).exists()


async def test_migrate_adopts_backs_up_and_says_where(env: Env) -> None:
    db = legacy_db(database(env))
    before = rows(db)

    result = await env.run("migrate")

    assert result.code == 0, result.out + result.err
    assert "adopted: made before migrations, marked as at 0001_initial" in result.out
    assert result.out.rstrip().endswith(f"schema: up to date ({LATEST})")
    [backup] = backups(db)
    assert str(backup) in result.err  # the log line names it
    assert rows(db) == before == rows(backup)
    assert recorded(db) == SHIPPED

    again = await env.run("migrate")
    assert again.code == 0
    assert again.out.splitlines()[1:] == [f"schema: up to date ({LATEST})"]
    assert len(backups(db)) == 1


async def test_check_reports_the_schema(env: Env) -> None:
    result = await env.run("check")
    assert result.code == 0, result.out + result.err
    assert f"ok   schema: up to date ({LATEST})" in result.out


async def test_check_and_migrate_fail_on_a_database_from_a_newer_release(env: Env) -> None:
    future_db(database(env))

    check = await env.run("check")
    assert check.code == 1
    assert "FAIL schema:" in check.out and "0099_from_the_future" in check.out
    assert "Traceback" not in check.err

    migrate = await env.run("migrate")
    assert migrate.code == 1
    assert "0099_from_the_future" in migrate.out
    scan = await env.run("scan")
    assert scan.code == 2 and "newer Earmark" in scan.err
