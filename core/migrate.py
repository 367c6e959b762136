"""Schema migrations with Tortoise ORM's own engine; the files live in core/migrations/.

`open_db` (core/db.py) calls `Migrator.upgrade` at every start and `python -m bot
migrate` calls it on request. Before migrations existed, Earmark created its
tables with `generate_schemas`, which never alters a table: such a database
has all the tables of `0001_initial` and no recorder table. It is *adopted*:
checked column by column against `0001_initial`, marked as at it (Tortoise's
`--fake`), then upgraded like any other. Everything here goes through
Tortoise's dialect-neutral executor; only the backup is SQLite's.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pypika_tortoise.utils import format_quotes
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import BaseORMException
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.migrations.graph import MigrationKey
from tortoise.migrations.loader import MigrationLoader
from tortoise.migrations.migration import Migration
from tortoise.migrations.operations import CreateModel
from tortoise.migrations.recorder import MigrationRecorder
from tortoise.migrations.schema_generator.state import State
from tortoise.migrations.schema_generator.state_apps import StateApps
from tortoise.models import Model
from tortoise.transactions import in_transaction

log = logging.getLogger(__name__)

MODELS_MODULE = "core.models"
MIGRATIONS_MODULE = "core.migrations"
APP_LABEL = "models"
#: Tortoise's recorder table (MigrationRecorder's default name).
RECORDER_TABLE = "tortoise_migrations"


def tortoise_config(url: str) -> dict[str, Any]:
    """The Tortoise config of Earmark's one app, with its migrations package."""
    return {
        "connections": {"default": url},
        "apps": {
            APP_LABEL: {
                "models": [MODELS_MODULE],
                "migrations": MIGRATIONS_MODULE,
                "default_connection": "default",
            }
        },
    }


#: For `tortoise makemigrations` (pyproject [tool.tortoise]): it compares the models with
#: the migration files and never needs a real database.
TORTOISE_ORM = tortoise_config("sqlite://:memory:")


@dataclass(frozen=True)
class SchemaStatus:
    """Where the database stands against the migrations this code ships."""

    known: tuple[str, ...]  # the code's migrations, in the order they apply
    applied: tuple[str, ...]  # recorded in the database, known to the code
    unknown: tuple[str, ...]  # recorded in the database, unknown to the code: a newer release
    pending: tuple[str, ...]  # to apply, in order
    legacy: bool  # made by generate_schemas before migrations existed: adopt first
    problems: tuple[str, ...] = ()  # why a pre-migration database cannot be adopted

    @property
    def current(self) -> str | None:
        """The newest migration the database is at (an adopted one counts)."""
        if self.unknown:
            return self.unknown[-1]
        if self.legacy:
            return self.known[0]
        return self.applied[-1] if self.applied else None

    @property
    def has_data(self) -> bool:
        """Whether Earmark's tables exist already (a backup is worth taking)."""
        return self.legacy or bool(self.applied)

    @property
    def usable(self) -> bool:
        """Whether this release can bring the database to its schema (maybe after upgrading)."""
        return not self.unknown and not self.problems

    @property
    def up_to_date(self) -> bool:
        return self.usable and not self.pending and not self.legacy

    def describe(self) -> str:
        """One line for `check`, `migrate` and errors."""
        if self.problems:
            return (
                "the database has Earmark's tables but not the schema this release starts "
                f"from ({self.known[0]}): {'; '.join(self.problems)}. It was made by an older "
                "Earmark: restore a backup, or start once the release that made it"
            )
        if self.unknown:
            return (
                f"the database is at {', '.join(self.unknown)}, which this release does not "
                f"know (its newest is {self.known[-1]}): it was upgraded by a newer Earmark; "
                "run that release, or restore the backup taken before the upgrade"
            )
        if self.up_to_date:
            return f"up to date ({self.current})"
        at = f"at {self.current}" if self.current else "empty"
        adopt = ", made before migrations (to adopt)" if self.legacy else ""
        return f"{at}{adopt}; pending: {', '.join(self.pending)}"


def _ordered(loader: MigrationLoader) -> tuple[str, ...]:
    """The app's migrations in the order they apply."""
    graph = loader.graph
    plans = (graph.forwards_plan(leaf) for leaf in graph.leaf_nodes(APP_LABEL))
    return tuple(dict.fromkeys(key.name for plan in plans for key in plan))


class _NoDatabase(MigrationRecorder):
    """A recorder for reading the migration files alone (as Tortoise's `heads` does)."""

    def __init__(self) -> None:
        super().__init__(connection=None)

    async def applied_migrations(self) -> list[MigrationKey]:
        return []


async def known_migrations() -> tuple[str, ...]:
    """The migrations this code ships, in order, without opening a database."""
    loader = MigrationLoader(tortoise_config("")["apps"], _NoDatabase())
    await loader.build_graph()
    return _ordered(loader)


def _initial_tables(initial: Migration) -> list[str]:
    """The tables the first migration creates (read from its operations, no model built)."""
    return [
        op.options["table"]
        for op in initial.operations
        if isinstance(op, CreateModel) and op.options and "table" in op.options
    ]


async def _initial_columns(initial: Migration) -> dict[str, list[str]]:
    """Table -> columns as the first migration creates them (not as the models are today)."""
    state = State(models={}, apps=StateApps(default_connections={APP_LABEL: "default"}))
    await initial.apply(state, dry_run=True, schema_editor=None)
    tables: dict[str, list[str]] = {}
    for (app, name), model_state in state.models.items():
        model = state.apps.get_model(app, name)
        tables[model_state.table] = list(model._meta.fields_db_projection.values())
    return tables


class _Recorder(MigrationRecorder):
    """Tortoise's recorder, its table's model built once per process, not per database.

    Building it costs 3-4 ms (Tortoise parses the source for comments), paid
    by every test that opens a database.
    """

    _models: ClassVar[dict[str, type[Model]]] = {}

    def _make_model(self, table_name: str) -> type[Model]:
        if table_name not in self._models:
            self._models[table_name] = super()._make_model(table_name)
        return self._models[table_name]


class _Executor(MigrationExecutor):
    """Tortoise's executor with `_Recorder`; tests/test_migrations.py checks it stays in step."""

    def __init__(self, connection: BaseDBAsyncClient, apps_config: dict[str, dict]) -> None:
        # MigrationExecutor.__init__ with the recorder swapped (it builds its own).
        self.connection = connection
        self.recorder = _Recorder(connection)
        self.loader = MigrationLoader(apps_config, self.recorder, load=False)
        self._full_plan_cache: list[MigrationKey] | None = None
        self._logger = logging.getLogger("tortoise.migrations.executor")


#: Known migrations -> the SQLite DDL they produced on an empty database, in order.
_SQLITE_TEMPLATES: dict[tuple[str, ...], list[str]] = {}


class Migrator:
    """Tortoise's migration executor for Earmark's app on one connection."""

    def __init__(self, connection: BaseDBAsyncClient) -> None:
        self.connection = connection
        self.executor: MigrationExecutor = _Executor(connection, tortoise_config("")["apps"])
        self._sqlite = connection.capabilities.dialect == "sqlite"

    async def status(self) -> SchemaStatus:
        """Read where the database stands; changes nothing."""
        # Unguarded, unlike the probes below: a database that cannot be read at all fails
        # here with its own error (and a failed connect would leave Tortoise's lock held).
        await self.connection.execute_query("SELECT 1")
        loader = self.executor.loader
        await loader.build_graph()
        known = _ordered(loader)
        recorded: list[MigrationKey] = []
        if await self._query_ok(RECORDER_TABLE, "app", "name"):
            recorded = [
                key for key in await self.executor.recorder.applied_migrations()
                if key.app_label == APP_LABEL
            ]
        legacy, problems = False, tuple[str, ...]()
        if not recorded:  # no recorder, or one left empty by a first start that died half-way
            initial = loader.graph.nodes[MigrationKey(app_label=APP_LABEL, name=known[0])]
            assert isinstance(initial, Migration)
            if any([await self._query_ok(t) for t in _initial_tables(initial)]):
                problems = tuple(await self._legacy_problems(await _initial_columns(initial)))
                legacy = not problems
        names = {key.name for key in recorded}
        done = names | ({known[0]} if legacy else set())
        return SchemaStatus(
            known=known,
            applied=tuple(name for name in known if name in names),
            unknown=tuple(key.name for key in recorded if key.name not in set(known)),
            pending=tuple(name for name in known if name not in done),
            legacy=legacy,
            problems=problems,
        )

    async def upgrade(self, status: SchemaStatus) -> SchemaStatus:
        """Adopt a pre-migration database, then apply what is pending, each atomically."""
        if not status.usable:
            raise ValueError(status.describe())
        if status.legacy:
            initial = MigrationTarget(app_label=APP_LABEL, name=status.known[0])
            await self.executor.migrate([initial], fake=True)  # Tortoise's `migrate --fake`
            log.warning("adopted a database made before migrations: marked as at %s", initial.name)
        if status.pending and status.has_data:
            await self.executor.migrate(direction="forward")
            log.warning("database schema upgraded: applied %s", ", ".join(status.pending))
        elif status.pending:
            await self._create(status.known)
            log.info("database schema created: %s", ", ".join(status.pending))
        return replace(status, applied=status.known, pending=(), legacy=False)

    async def _create(self, known: tuple[str, ...]) -> None:
        """Migrate an empty database; SQLite replays what the first one in this process got.

        The suite opens a fresh in-memory database for every test, and running
        the migrations builds Tortoise's model state again each time (about
        50 ms). The real migrations still run once per process; later empty
        SQLite databases get the DDL they produced, then the same records.
        """
        template = _SQLITE_TEMPLATES.get(known) if self._sqlite else None
        if template is None:
            await self.executor.migrate(direction="forward")
            if self._sqlite:
                _SQLITE_TEMPLATES[known] = await self._sqlite_ddl()
            return
        async with in_transaction(self.connection.connection_name) as tx:
            for statement in template:
                await tx.execute_query(statement)
        for name in known:
            await self.executor.recorder.record_applied(APP_LABEL, name)

    async def _sqlite_ddl(self) -> list[str]:
        # SQLite keeps each statement as executed; its own tables (sqlite_sequence) and
        # the automatic indexes of UNIQUE constraints come back by themselves.
        _, rows = await self.connection.execute_query(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY rowid"
        )
        return [
            # A first start that died half-way may have left the (empty) recorder table.
            sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1)
            if row["name"] == RECORDER_TABLE else sql
            for row in rows
            if not str(row["name"]).startswith("sqlite_") and (sql := str(row["sql"]))
        ]

    async def _query_ok(self, table: str, *columns: str) -> bool:
        """Whether `SELECT columns FROM table` runs: the dialect-neutral test that they exist."""
        def quoted(name: str) -> str:
            return format_quotes(name, self.connection.query_class.SQL_CONTEXT.quote_char)

        # Qualified: SQLite reads an unknown "column" on its own as a string literal.
        selected = ", ".join(f"{quoted(table)}.{quoted(c)}" for c in columns) or "1"
        try:
            await self.connection.execute_query(
                f"SELECT {selected} FROM {quoted(table)} LIMIT 1"  # nosec: names from migrations
            )
        except (BaseORMException, sqlite3.Error):
            return False
        return True

    async def _legacy_problems(self, tables: dict[str, list[str]]) -> list[str]:
        """What a pre-migration database lacks of the first migration: empty means adoptable."""
        problems = []
        for table, columns in tables.items():
            if await self._query_ok(table, *columns):
                continue
            if not await self._query_ok(table):
                problems.append(f"table {table} is missing")
                continue
            missing = [c for c in columns if not await self._query_ok(table, c)]
            problems.append(f"{table} lacks {', '.join(missing)}")
        return problems


def backup_path(db_file: Path, now: datetime | None = None) -> Path:
    """A free name beside the database: earmark.db -> earmark.db.20250101-120000.bak."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    candidate = db_file.with_name(f"{db_file.name}.{stamp}.bak")
    number = 1
    while candidate.exists():
        number += 1
        candidate = db_file.with_name(f"{db_file.name}.{stamp}-{number}.bak")
    return candidate


def _copy_sqlite(source: Path, target: Path) -> None:
    # SQLite's backup API, not a file copy: the bot runs in WAL mode, and recent
    # writes may still sit in the -wal file beside the database.
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


async def backup_sqlite(db_file: Path) -> Path:
    """Copy the database to a timestamped file beside it, before a migration touches it."""
    target = backup_path(db_file)
    await asyncio.to_thread(_copy_sqlite, db_file, target)
    log.warning("database backed up to %s before the schema upgrade", target)
    return target
