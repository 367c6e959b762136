"""Which database the suite runs on: SQLite, or PostgreSQL when switched on.

`EARMARK_TEST_DATABASE_URL=postgres://user:pass@127.0.0.1:PORT/postgres`
(set by scripts/with-postgres.sh, i.e. `make test-postgres`) points at a
server where that user may create databases. Then:

- `empty_database()` (the `db` fixture, the e2e world) is one database per
  run, emptied before each test (its ids restart at 1 as in a new SQLite
  database; the migrations' bookkeeping stays): a few milliseconds, where
  creating a database costs about half a second on this machine.
- `own_database()` (the `database_url` fixture: a database that outlives a
  bot) is a database of the test's own, cloned from a template, dropped after.

The variable is read once, at import: some tests clear every EARMARK_*
variable for the command line they run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from core.db import close_db, normalize_db_url, open_db

SWITCH = "EARMARK_TEST_DATABASE_URL"
SERVER_URL = normalize_db_url(os.environ[SWITCH]) if os.environ.get(SWITCH) else ""
ON_POSTGRES = SERVER_URL.startswith("postgres://")
_RUN = f"earmark_test_{os.getpid()}"  # two runs may share a server
SHARED = f"{_RUN}_shared"
TEMPLATE = f"{_RUN}_template"

#: For tests about SQLite database files themselves (headers, paths, backups).
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason=f"about SQLite database files; {SWITCH} selects PostgreSQL"
)

_names = itertools.count(1)
_created: set[str] = set()


def url_of(name: str) -> str:
    """The URL of database `name` on the test server."""
    return urlunsplit(urlsplit(SERVER_URL)._replace(path=f"/{name}"))


async def _connect(name: str = "") -> Any:
    import asyncpg  # only with the switch on: the SQLite run needs no driver

    return await asyncpg.connect(url_of(name) if name else SERVER_URL)


async def _admin(sql: str) -> None:
    """One statement on the server's maintenance database (outside a transaction)."""
    conn = await _connect()
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _create_once(name: str) -> None:
    """Create database `name` with Earmark's schema, made by `open_db` itself; once per run."""
    if name in _created:
        return
    await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await _admin(f"CREATE DATABASE {name}")
    await open_db(url_of(name))
    await close_db()
    _created.add(name)


#: Empty every Earmark table and restart its ids (as in a new database). DELETE, not
#: TRUNCATE: on tables this small it is ten times faster; foreign keys are not checked
#: meanwhile (replica role: the test user is the server's superuser).
_EMPTY = r"""
DO $$
DECLARE name text;
BEGIN
    SET LOCAL lock_timeout = '5s';
    SET LOCAL session_replication_role = replica;
    FOR name IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema()
            AND tablename NOT LIKE 'tortoise\_%' AND tablename NOT LIKE 'aerich%' LOOP
        EXECUTE format('DELETE FROM %I', name);
    END LOOP;
    FOR name IN SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()
            AND sequencename NOT LIKE 'tortoise\_%' AND sequencename NOT LIKE 'aerich%' LOOP
        EXECUTE format('ALTER SEQUENCE %I RESTART', name);
    END LOOP;
END $$
"""


async def _empty(name: str) -> None:
    """Delete every row of database `name`; fail, not hang, if a leaked transaction holds one."""
    conn = await _connect(name)
    try:
        await conn.execute(_EMPTY)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def empty_database() -> AsyncIterator[str]:
    """The URL of an empty Earmark database for one test: SQLite in memory, or PostgreSQL."""
    if not ON_POSTGRES:
        yield "sqlite://:memory:"
        return
    await _create_once(SHARED)
    await _empty(SHARED)
    yield url_of(SHARED)


@contextlib.asynccontextmanager
async def own_database(sqlite_url: str) -> AsyncIterator[str]:
    """A database for this test alone that outlives one `open_db`: `sqlite_url`, or a clone."""
    if not ON_POSTGRES:
        yield sqlite_url
        return
    await _create_once(TEMPLATE)
    name = f"{_RUN}_{next(_names)}"
    await _admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
    try:
        yield url_of(name)
    finally:
        await close_db()
        await _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
