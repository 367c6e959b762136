"""Opening and closing the database (Tortoise ORM; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from tortoise import Tortoise
from tortoise.exceptions import BaseORMException

log = logging.getLogger(__name__)

MODELS_MODULE = "core.models"
SQLITE_HEADER = b"SQLite format 3\x00"


class DatabaseError(Exception):
    """The database could not be opened; the message is meant for the operator."""


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


async def open_db(url: str) -> None:
    """Connect and create the schema when missing (safe to call on every start)."""
    sqlite_file = _sqlite_path(url)
    if sqlite_file is not None:
        _prepare_sqlite_file(sqlite_file)
    try:
        await Tortoise.init(
            db_url=url, modules={"models": [MODELS_MODULE]}, _enable_global_fallback=True
        )
        await Tortoise.generate_schemas(safe=True)
    except (BaseORMException, OSError, ImportError, sqlite3.Error) as err:
        await close_db()
        raise DatabaseError(f"cannot open the database {redact_db_url(url)}: {err}") from err
    log.info("database ready at %s", redact_db_url(url))


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
