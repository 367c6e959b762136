"""A bad key, key file or database is one line on stderr and exit 2, at once, for `check` and `run`.

Each case runs the real command line as a subprocess, as an admin meets it:
no traceback, the file or variable named, within a few seconds (a database
file that is not SQLite used to hang the process for over a minute).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.cli_process import TIME_LIMIT, run_cli, write_config
from tests.database import sqlite_only


@dataclass
class Case:
    """A broken setup: `prepare` breaks it in tmp_path and returns extra environment."""

    prepare: Callable[[Path], dict[str, str]]
    names: str  # what the error line must name; {tmp} is tmp_path
    says: str  # and a phrase of its explanation


def _garbage(tmp: Path) -> dict[str, str]:
    (tmp / "secret.key").write_text("this is not a fernet key\n")
    return {}


def _directory(tmp: Path) -> dict[str, str]:
    (tmp / "secret.key").mkdir()
    return {}


def _empty(tmp: Path) -> dict[str, str]:
    (tmp / "secret.key").write_bytes(b"\n")
    return {}


def _unreadable(tmp: Path) -> dict[str, str]:
    # A symlink loop cannot be read even by root (chmod 000 can); same error path.
    (tmp / "secret.key").symlink_to(tmp / "secret.key")
    return {}


def _uncreatable(tmp: Path) -> dict[str, str]:
    (tmp / "config.toml").write_text(
        (tmp / "config.toml").read_text().replace("secret.key", "a-file/secret.key")
    )
    (tmp / "a-file").write_text("not a folder")
    return {}


def _bad_env_key(tmp: Path) -> dict[str, str]:
    return {"EARMARK_SECRET_KEY": "hunter2-is-not-a-key"}


def _not_sqlite(tmp: Path) -> dict[str, str]:
    (tmp / "earmark.db").write_bytes(b"PK\x03\x04 a zip, not a database" + bytes(4000))
    return {}


def _corrupt_sqlite(tmp: Path) -> dict[str, str]:
    # The right header, then garbage: only SQLite itself can tell, deep in the open.
    (tmp / "earmark.db").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4080)
    return {}


def _db_is_directory(tmp: Path) -> dict[str, str]:
    (tmp / "earmark.db").mkdir()
    return {}


CASES = {
    "garbage key file": Case(_garbage, "{tmp}/secret.key", "is not a valid key"),
    "key file is a directory": Case(_directory, "{tmp}/secret.key", "is a directory"),
    "empty key file": Case(_empty, "{tmp}/secret.key", "is empty"),
    "unreadable key file": Case(_unreadable, "{tmp}/secret.key", "cannot read"),
    "key file path under a file": Case(_uncreatable, "{tmp}/a-file/secret.key", "Not a directory"),
    "bad EARMARK_SECRET_KEY": Case(_bad_env_key, "EARMARK_SECRET_KEY", "is not a valid key"),
    "database not SQLite": Case(_not_sqlite, "{tmp}/earmark.db", "is not a SQLite database"),
    "database corrupt": Case(_corrupt_sqlite, "{tmp}/earmark.db", "file is not a database"),
    "database is a directory": Case(_db_is_directory, "{tmp}/earmark.db", "is a directory"),
}


@pytest.mark.parametrize("command", ["check", "run"])
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=sqlite_only) if n.startswith("database") else n for n in CASES]
)
async def test_broken_key_or_database_is_one_line_and_exit_2(
    tmp_path: Path, database_url: str, command: str, name: str
) -> None:
    case = CASES[name]
    config = write_config(tmp_path, database_url)
    extra = case.prepare(tmp_path)
    if "EARMARK_SECRET_KEY" not in extra and name.startswith("database"):
        (tmp_path / "secret.key").write_bytes(Fernet.generate_key())
    result = await run_cli(config, command, extra)
    code, err, seconds = result.code, result.err, result.seconds
    assert "Traceback" not in err, err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert case.names.format(tmp=tmp_path) in lines[0]
    assert case.says in lines[0]
    assert "hunter2-is-not-a-key" not in err  # a bad key is still not shown
    assert seconds < TIME_LIMIT, f"took {seconds:.1f} s"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
async def test_key_file_without_read_permission_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    key = tmp_path / "secret.key"
    key.write_bytes(Fernet.generate_key())
    key.chmod(0)
    result = await run_cli(config, "check", {})
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip() == f"error: cannot read the key file {key}: Permission denied"


@pytest.mark.parametrize("command", ["check", "run"])
async def test_nonsense_intervals_are_a_config_error(tmp_path: Path, command: str) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text() + "[scan]\nrecently_added_minutes = 0.000001\n")
    result = await run_cli(config, command, {})
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip() == (
        f"error: {config}: [scan] recently_added_minutes: expected a number of minutes "
        "between 0.0167 (1 second) and 43200 (30 days), got 1e-06"
    )

    config.write_text(config.read_text().replace("0.000001", "5"))
    result = await run_cli(config, command, {"EARMARK_SCAN_FULL_SCAN_HOURS": "3e10"})
    assert result.code == 2 and "Traceback" not in result.err
    assert result.err.strip() == (
        "error: environment EARMARK_SCAN_FULL_SCAN_HOURS: expected a number of hours "
        "between 0.000278 (1 second) and 720 (30 days), got '3e10'"
    )
