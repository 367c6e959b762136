"""Schema migrations: the files match the models, old databases are adopted without loss.

The database of the last release before migrations is rebuilt from
tests/fixtures/db/earmark-0.1.0.sql (made by that release's `open_db`, with
rows in every table). Later migrations are simulated with a migrations
package written to tmp_path, as `make migrations` would write one.
"""

from __future__ import annotations

import logging
import re
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from tortoise import Tortoise
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget

import core.migrate
from core.db import DatabaseError, SchemaError, close_db, open_db
from core.migrate import RECORDER_TABLE, TORTOISE_ORM, Migrator, tortoise_config
from core.models import BookRequest, Notification, User
from tests.migration_dbs import (
    LATEST,
    ROOT,
    SHIPPED,
    TABLES,
    backups,
    future_db,
    legacy_db,
    recorded,
    rows,
    schema,
)

ALICE = 123456789012345678  # a user of the fixture, linked to Plex

ADD_SERIES = """
from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]
    operations = [
        ops.AddField(model_name="PlexItem", name="series", field=fields.TextField(null=True)),
    ]
"""
BROKEN = """
from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]
    operations = [ops.RunSQL("ALTER TABLE plex_library ADD COLUMN title TEXT")]
"""


def columns(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Per table and index: its columns as SQLite describes them, in name order.

    A later migration adds columns with ALTER TABLE, whose DDL text differs
    from a CREATE TABLE with the same columns: compare what the columns are.
    """
    with closing(sqlite3.connect(path)) as con:
        found = con.execute(
            "SELECT type, name, tbl_name FROM sqlite_master WHERE sql IS NOT NULL AND name != ?",
            (RECORDER_TABLE,),
        ).fetchall()
        out: dict[str, list[tuple[Any, ...]]] = {}
        for kind, name, table in found:
            if kind == "table":
                info = con.execute(f'PRAGMA table_info("{name}")').fetchall()
                out[name] = sorted(tuple(r[1:]) for r in info)
            else:
                info = con.execute(f'PRAGMA index_info("{name}")').fetchall()
                out[name] = [(table, *sorted(r[2] for r in info))]
        return out


@pytest.fixture
def later_migrations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """A migrations package with 0001_initial, for a test to add later migrations to."""
    name = "migrations_" + re.sub(r"\W", "_", request.node.name)
    package = tmp_path / "pkgs" / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(ROOT / "core" / "migrations" / "0001_initial.py", package)
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.setattr(core.migrate, "MIGRATIONS_MODULE", name)
    yield package


@pytest.fixture
async def closed() -> AsyncIterator[None]:
    """Close whatever a test left open."""
    yield
    await close_db()


# ----- the migration files match the models ---------------------------------------------------


async def test_every_model_change_has_a_migration() -> None:
    """Fails when a model changed without `make migrations` (Tortoise's autodetector, dry)."""
    context = await Tortoise.init(config=TORTOISE_ORM)
    try:
        assert context.apps is not None
        detector = MigrationAutodetector(context.apps, TORTOISE_ORM["apps"])
        changes = [
            f"{writer.name}: {', '.join(op.describe() for op in writer.operations)}"
            for writer in await detector.changes()
        ]
    finally:
        await close_db()
    assert changes == [], "models changed without a migration: run `make migrations`"


async def test_migrations_build_the_schema_the_models_describe(tmp_path: Path) -> None:
    """What the migrations create equals what generate_schemas makes of the models."""
    migrated, generated = tmp_path / "migrated.db", tmp_path / "generated.db"
    await open_db(f"sqlite://{migrated}")
    await close_db()
    await Tortoise.init(db_url=f"sqlite://{generated}", modules={"models": ["core.models"]})
    try:
        await Tortoise.generate_schemas(safe=False)
    finally:
        await close_db()
    assert columns(migrated) == columns(generated)
    assert recorded(migrated) == SHIPPED


def test_model_descriptions_survive_the_sqlite_migration_editor() -> None:
    """Tortoise's SQLite editor splits DDL on ';', comments included (docstrings become them)."""
    import core.models

    offenders = [
        f"{model.__name__}{'.' + name if name else ''}"
        for model in vars(core.models).values()
        if isinstance(model, type) and model.__module__ == "core.models"
        and hasattr(model, "_meta")
        for name, text in [("", model._meta.table_description)]
        + [(n, f.description) for n, f in model._meta.fields_map.items()]
        if text and ";" in text
    ]
    assert offenders == [], "no ';' in model docstrings or field descriptions"


async def test_a_later_empty_sqlite_database_gets_exactly_what_the_migrations_made(
    monkeypatch: pytest.MonkeyPatch, closed: None
) -> None:
    """The per-process shortcut for empty databases replays the real migrations' DDL."""
    monkeypatch.setattr(core.migrate, "_SQLITE_TEMPLATES", {})
    query = "SELECT type, name, sql FROM sqlite_master ORDER BY rowid"
    made = []
    for _ in range(2):
        await open_db("sqlite://:memory:")
        connection = Tortoise.get_connection("default")
        _, found = await connection.execute_query(query)
        made.append((found, await Migrator(connection).status()))
        await close_db()
    assert core.migrate._SQLITE_TEMPLATES  # the second one was replayed
    (first, first_status), (second, second_status) = made
    assert [tuple(r) for r in first] == [tuple(r) for r in second]
    assert first_status == second_status and second_status.up_to_date


async def test_the_executor_subclass_stays_in_step_with_tortoise(closed: None) -> None:
    await open_db("sqlite://:memory:")
    connection = Tortoise.get_connection("default")
    apps = tortoise_config("")["apps"]
    ours = Migrator(connection).executor
    assert set(vars(ours)) == set(vars(MigrationExecutor(connection, apps)))


# ----- adopting and upgrading a database made before migrations -------------------------------


async def test_a_database_made_before_migrations_is_adopted_without_loss(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, closed: None
) -> None:
    db = legacy_db(tmp_path / "earmark.db")
    before = rows(db)
    assert all(before[table] for table in TABLES), "the fixture has rows in every table"
    caplog.set_level(logging.WARNING)

    status = await open_db(f"sqlite://{db}")

    assert status.up_to_date and status.current == LATEST
    alice = await User.get(discord_id=ALICE)
    assert alice.is_linked and alice.plex_username == "alice"
    assert await BookRequest.filter(requester_id=ALICE).count() == 1
    note = await Notification.get()
    assert note.payload == {"title": "Project Hail Mary", "rating_key": "101"}
    await close_db()
    assert rows(db) == before
    assert recorded(db) == SHIPPED
    [backup] = backups(db)
    assert rows(backup) == before and RECORDER_TABLE not in str(schema(backup))
    assert str(backup) in caplog.text and "adopted" in caplog.text


async def test_an_adopted_database_is_then_upgraded(
    tmp_path: Path, later_migrations: Path, closed: None
) -> None:
    (later_migrations / "0002_series.py").write_text(ADD_SERIES)
    db = legacy_db(tmp_path / "earmark.db")
    before = rows(db)

    status = await open_db(f"sqlite://{db}")

    assert status.up_to_date and status.current == "0002_series"
    await close_db()
    assert recorded(db) == ["0001_initial", "0002_series"]
    with closing(sqlite3.connect(db)) as con:
        assert "series" in [r[1] for r in con.execute("PRAGMA table_info(plex_library)")]
    assert rows(db) == before
    assert len(backups(db)) == 1


async def test_no_backup_when_nothing_is_pending_or_the_database_is_new(
    tmp_path: Path, closed: None
) -> None:
    db = tmp_path / "data" / "earmark.db"
    for _ in range(2):
        await open_db(f"sqlite://{db}")
        await close_db()
    assert backups(db) == []
    assert recorded(db) == SHIPPED


async def test_a_database_missing_columns_of_the_first_migration_is_refused(
    tmp_path: Path, closed: None
) -> None:
    db = legacy_db(tmp_path / "earmark.db")
    with closing(sqlite3.connect(db)) as con:
        con.execute("ALTER TABLE plex_library DROP COLUMN user_rating")
    before = schema(db)
    with pytest.raises(SchemaError, match=r"plex_library lacks user_rating"):
        await open_db(f"sqlite://{db}")
    assert schema(db) == before and backups(db) == []
    with pytest.raises(sqlite3.OperationalError):
        recorded(db)


async def test_a_migration_that_fails_leaves_the_schema_and_names_the_backup(
    tmp_path: Path, later_migrations: Path, closed: None
) -> None:
    (later_migrations / "0002_broken.py").write_text(BROKEN)
    db = tmp_path / "earmark.db"
    await open_db(f"sqlite://{db}", migrate=False)
    await Migrator(Tortoise.get_connection("default")).executor.migrate(
        [MigrationTarget(app_label="models", name="0001_initial")]
    )
    await close_db()
    with pytest.raises(SchemaError, match=r"0002_broken.*backup taken before it is") as err:
        await open_db(f"sqlite://{db}")
    assert isinstance(err.value, DatabaseError)
    assert recorded(db) == ["0001_initial"]
    assert len(backups(db)) == 1 and str(backups(db)[0]) in str(err.value)


async def test_a_database_from_a_newer_release_is_refused(tmp_path: Path, closed: None) -> None:
    db = future_db(tmp_path / "earmark.db")
    with pytest.raises(SchemaError, match=r"0099_from_the_future.*newer Earmark"):
        await open_db(f"sqlite://{db}")
    assert backups(db) == []


@pytest.mark.parametrize("replayed", [False, True], ids=["migrated", "replayed"])
async def test_an_empty_recorder_left_by_a_first_start_that_died_is_no_obstacle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replayed: bool, closed: None
) -> None:
    monkeypatch.setattr(core.migrate, "_SQLITE_TEMPLATES", {})
    if replayed:
        await open_db("sqlite://:memory:")
        await close_db()
    db = tmp_path / "earmark.db"
    with closing(sqlite3.connect(db)) as con:
        con.execute(f'CREATE TABLE "{RECORDER_TABLE}" (id INTEGER PRIMARY KEY, app TEXT, '
                    "name TEXT, applied_at TIMESTAMP)")
    status = await open_db(f"sqlite://{db}")
    assert status.up_to_date
    await close_db()
    assert recorded(db) == SHIPPED and backups(db) == []
