"""Opening and closing the database (Tortoise ORM; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

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


class DatabaseError(Exception):
    """The database could not be opened; the message is meant for the operator."""


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
    except (BaseORMException, OSError, ImportError, sqlite3.Error) as err:
        await close_db()
        raise DatabaseError(f"cannot open the database {redact_db_url(url)}: {err}") from err
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
