"""A database that cannot be opened is one line naming `[database] url`, password masked.

PostgreSQL's usual failures: nothing listening, a wrong password, a missing
database, and no driver installed. The refused connection and the missing
driver need no server; the others run against the real one when
EARMARK_TEST_DATABASE_URL is set (`make test-postgres`).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from cryptography.fernet import Fernet

from core.db import DatabaseError, close_db, open_db
from tests.cli_env import run_main
from tests.database import ON_POSTGRES, SERVER_URL, url_of

needs_server = pytest.mark.skipif(
    not ON_POSTGRES, reason="needs PostgreSQL: EARMARK_TEST_DATABASE_URL (make test-postgres)"
)


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port of 127.0.0.1 that nothing listens on (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


async def open_error(url: str) -> str:
    with pytest.raises(DatabaseError) as caught:
        await open_db(url)
    await close_db()
    message = str(caught.value)
    assert "\n" not in message
    assert "[database] url" in message
    return message


async def test_nothing_listening(closed_port: int) -> None:
    url = f"postgresql://earmark:s3cret@127.0.0.1:{closed_port}/earmark"
    message = await open_error(url)
    assert message == (
        f"cannot open the database postgres://earmark:***@127.0.0.1:{closed_port}/earmark "
        f"([database] url): connection refused by 127.0.0.1:{closed_port}; "
        "is PostgreSQL running and listening there?"
    )


async def test_missing_driver_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "asyncpg" or m.startswith("asyncpg.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # import asyncpg -> ImportError
    for name in [m for m in sys.modules if m.startswith("tortoise.backends.asyncpg")]:
        monkeypatch.delitem(sys.modules, name)
    message = await open_error("postgres://earmark:s3cret@127.0.0.1:5432/earmark")
    assert "s3cret" not in message
    assert message.endswith(
        "([database] url): the PostgreSQL driver asyncpg is not installed: "
        "pip install 'earmark[postgres]' (in a source checkout: .venv/bin/pip install asyncpg)"
    )


@needs_server
async def test_wrong_password() -> None:
    parts = urlsplit(SERVER_URL)
    url = SERVER_URL.replace(f":{parts.password}@", ":not-the-password@")
    message = await open_error(url)
    assert "not-the-password" not in message and (parts.password or "") not in message
    assert message.endswith(
        f'([database] url): PostgreSQL refused the password of user "{parts.username}"'
    )


@needs_server
async def test_missing_database() -> None:
    message = await open_error(url_of("no_such_database"))
    assert message.endswith(
        '([database] url): the database "no_such_database" does not exist on '
        f"{urlsplit(SERVER_URL).hostname}:{urlsplit(SERVER_URL).port}; create it "
        "(createdb no_such_database) or correct the name"
    )


@pytest.mark.parametrize("command", ["check", "run"])
def test_the_command_line_says_it_in_one_line_with_exit_2(
    command: str, closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [k for k in os.environ if k.startswith("EARMARK_")]:
        monkeypatch.delenv(name)
    url = f"postgresql://earmark:s3cret@127.0.0.1:{closed_port}/earmark"
    (tmp_path / "secret.key").write_bytes(Fernet.generate_key())  # no "created a key" line
    config = tmp_path / "config.toml"
    config.write_text(
        f'[discord]\ntoken = "not-a-real-discord-token"\nguild_ids = [1]\n'
        f'[database]\nurl = "{url}"\n[security]\nkey_file = "{tmp_path}/secret.key"\n'
    )
    result = run_main([command, "--config", str(config)])
    assert result.code == 2, result.err
    assert "Traceback" not in result.err and "s3cret" not in result.err
    assert result.err.strip().splitlines() == [
        f"error: cannot open the database postgres://earmark:***@127.0.0.1:{closed_port}/earmark "
        f"([database] url): connection refused by 127.0.0.1:{closed_port}; "
        "is PostgreSQL running and listening there?"
    ]


async def test_the_switch_selects_the_database_of_the_db_fixture(db: None) -> None:
    """A guard for the switch itself: a PostgreSQL run that quietly used SQLite proves nothing."""
    from tortoise import Tortoise

    dialect = Tortoise.get_connection("default").capabilities.dialect
    assert dialect == ("postgres" if ON_POSTGRES else "sqlite")
