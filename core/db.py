"""Opening and closing the database (Tortoise ORM; SQLite by default, PostgreSQL by URL)."""

from __future__ import annotations

import logging
from pathlib import Path

from tortoise import Tortoise
from tortoise.exceptions import BaseORMException

log = logging.getLogger(__name__)

MODELS_MODULE = "core.models"


class DatabaseError(Exception):
    """The database could not be opened; the message is meant for the operator."""


def _ensure_sqlite_dir(url: str) -> None:
    """Create the folder of a SQLite file so a fresh install just works."""
    if not url.startswith("sqlite://"):
        return
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    if path and path != ":memory:":
        Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)


async def open_db(url: str) -> None:
    """Connect and create the schema when missing (safe to call on every start)."""
    try:
        _ensure_sqlite_dir(url)
        await Tortoise.init(
            db_url=url, modules={"models": [MODELS_MODULE]}, _enable_global_fallback=True
        )
        await Tortoise.generate_schemas(safe=True)
    except (BaseORMException, OSError, ImportError) as err:
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
