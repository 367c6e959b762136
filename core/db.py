"""Opening and closing the database (Tortoise ORM; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
import socket
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import BaseORMException

from core.migrate import (
    Migrator,
    SchemaStatus,
    backup_sqlite,
    known_migrations,
    tortoise_config,
)

log = logging.getLogger(__name__)

SQLITE_HEADER = b"SQLite format 3\x00"
DB_URL_FORMS = "sqlite://PATH or postgres://user:pass@host/db"
#: Every usual spelling of a PostgreSQL URL (libpq, SQLAlchemy, Tortoise) -> the one Earmark uses.
_POSTGRES_SCHEMES = {"postgres", "postgresql", "postgresql+asyncpg", "postgres+asyncpg", "asyncpg"}
_OTHER_SCHEMES = {"sqlite", "psycopg"}
POSTGRES_DRIVER_INSTALL = (
    "pip install 'earmark[postgres]' (in a source checkout: .venv/bin/pip install asyncpg)"
)


class DatabaseError(Exception):
    """The database could not be opened; the message is meant for the operator."""


def normalize_db_url(url: str) -> str:
    """The URL in the one spelling Tortoise and the logs see; ValueError for other databases.

    `postgresql://` is what libpq, hosting providers and most guides write;
    `postgres://` is Tortoise's name for the same asyncpg backend.
    """
    scheme, sep, rest = url.partition("://")
    lowered = scheme.lower()
    if sep and lowered in _POSTGRES_SCHEMES:
        return f"postgres://{rest}"
    if sep and lowered in _OTHER_SCHEMES:
        return f"{lowered}://{rest}"
    raise ValueError(f"a database URL: {DB_URL_FORMS}")


class SchemaError(DatabaseError):
    """The schema is one this release cannot use or reach (newer, foreign, failed upgrade)."""


def _sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:// URL; None for other databases and in-memory ones."""
    if not url.startswith("sqlite://"):
        return None
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser()


def sqlite_path(url: str) -> Path | None:
    """The file of a sqlite:// URL (files kept beside the database go next to it); else None."""
    return _sqlite_path(url)


def _prepare_sqlite_file(path: Path) -> None:
    """Create the folder of a fresh install; refuse at once a file that is no SQLite database.

    A foreign file would otherwise fail deep inside Tortoise ("file is not a
    database"); here the message names the file. Other sqlite3 errors are
    caught in `open_db`, which closes the connection: an aiosqlite worker
    thread left open kept the process alive for over a minute.
    """
    try:
        if path.is_dir():
            raise DatabaseError(f"cannot open the database: {path} is a directory, not a file")
        if path.exists():
            with path.open("rb") as fh:
                header = fh.read(len(SQLITE_HEADER))
            if header and header != SQLITE_HEADER:
                raise DatabaseError(
                    f"cannot open the database: {path} is not a SQLite database "
                    "(check [database] url)"
                )
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DatabaseError(f"cannot open the database {path}: {err.strerror or err}") from None


async def open_db(url: str, *, migrate: bool = True) -> SchemaStatus:
    """Connect and bring the schema up to date (safe to call on every start).

    With `migrate=False` (`migrate --dry-run`) nothing is changed: the status
    says what `apply_migrations` would do.
    """
    try:
        url = normalize_db_url(url)
    except ValueError as err:
        raise DatabaseError(f"cannot open the database {redact_db_url(url)}: {err}") from None
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None:
        _prepare_sqlite_file(sqlite_file)
    try:
        await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)
        migrator = Migrator(_connection())
        status = await migrator.status()
        if migrate:
            status = await apply_migrations(url, status, migrator)
    except SchemaError:
        await close_db()
        raise
    except _open_errors() as err:
        await close_db()
        raise DatabaseError(describe_open_error(url, err)) from err
    log.info("database ready at %s, schema %s", redact_db_url(url), status.describe())
    return status


async def plan_migrations(url: str) -> SchemaStatus:
    """What `apply_migrations` would do, changing nothing (`migrate --dry-run`).

    A SQLite file that does not exist yet is not created to find out.
    """
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None and not sqlite_file.exists():
        known = await known_migrations()
        return SchemaStatus(known=known, applied=(), unknown=(), pending=known, legacy=False)
    try:
        return await open_db(url, migrate=False)
    finally:
        await close_db()


def _connection() -> BaseDBAsyncClient:
    return Tortoise.get_connection("default")


async def current_schema() -> SchemaStatus:
    """Where the open database stands (for `check`)."""
    return await Migrator(_connection()).status()


async def apply_migrations(
    url: str, status: SchemaStatus, migrator: Migrator | None = None
) -> SchemaStatus:
    """Adopt and upgrade the open database; a SQLite file is first backed up beside itself."""
    if not status.usable:
        raise SchemaError(f"cannot use the database {redact_db_url(url)}: {status.describe()}")
    if status.up_to_date:
        return status
    sqlite_file = _sqlite_path(url)
    backup = None
    if sqlite_file is not None and status.has_data:
        try:
            backup = await backup_sqlite(sqlite_file)
        except (OSError, sqlite3.Error) as err:
            raise SchemaError(
                f"cannot back up {sqlite_file} before upgrading its schema ({err}); "
                "nothing was changed"
            ) from err
    try:
        return await (migrator or Migrator(_connection())).upgrade(status)
    except (BaseORMException, sqlite3.Error, ValueError) as err:
        kept = f"; the backup taken before it is {backup}" if backup else ""
        raise SchemaError(
            f"upgrading the schema of {redact_db_url(url)} failed ({status.describe()}): "
            f"{err}{kept}"
        ) from err


async def close_db() -> None:
    """Close every connection; harmless when nothing is open."""
    if Tortoise.is_inited():
        await Tortoise.close_connections()
        await Tortoise._reset_apps()


def redact_db_url(url: str) -> str:
    """Hide the password of a database URL before it is shown or logged."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _open_errors() -> tuple[type[Exception], ...]:
    """What opening may raise for a reason outside the code: the operator's to fix.

    The PostgreSQL driver is optional, so its exception roots are added only
    once it is loaded; they are not Tortoise's and not OSError (a wrong password).
    """
    errors: tuple[type[Exception], ...] = (BaseORMException, OSError, ImportError, sqlite3.Error)
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is not None:
        errors += (asyncpg.PostgresError, asyncpg.InterfaceError)
    return errors


def _causes(err: BaseException) -> list[BaseException]:
    """`err` and what it wraps: Tortoise re-raises driver errors as its own."""
    chain: list[BaseException] = []
    current: BaseException | None = err
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def describe_open_error(url: str, err: BaseException) -> str:
    """One line for the operator: the URL (password masked), the key to fix, and why."""
    where = f"cannot open the database {redact_db_url(url)}"
    reason = _postgres_reason(url, err) if url.startswith(("postgres://", "psycopg://")) else None
    if reason is None:
        return f"{where}: {err}"
    return f"{where} ([database] url): {reason}"


def _postgres_reason(url: str, err: BaseException) -> str | None:
    """Why a PostgreSQL server could not be used, in words; None when nothing better is known."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    try:
        address = f"{host}:{parts.port or 5432}"
    except ValueError:
        address = host
    for cause in _causes(err):
        if isinstance(cause, ImportError) and cause.name:
            driver = cause.name.split(".")[0]
            if driver == "asyncpg":
                return f"the PostgreSQL driver asyncpg is not installed: {POSTGRES_DRIVER_INSTALL}"
            return f"the database driver {driver} is not installed: pip install {driver}"
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == "28P01":
            return f'PostgreSQL refused the password of user "{parts.username or ""}"'
        if sqlstate == "3D000":
            name = parts.path.lstrip("/")
            return (
                f'the database "{name}" does not exist on {address}; '
                f"create it (createdb {name}) or correct the name"
            )
        if sqlstate is not None and str(sqlstate).startswith("28"):
            return f"PostgreSQL refused the login: {cause}"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {address}; is PostgreSQL running and listening there?"
        if isinstance(cause, socket.gaierror):
            return f"cannot resolve the host name {host}"
        if isinstance(cause, TimeoutError):
            return f"no answer from {address} in time"
    return None
