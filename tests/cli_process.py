"""The command line as an admin meets it: `python -m bot COMMAND` in a child process.

`write_config` writes a minimal config (a SQLite file and a key file in the
given folder); `run_cli` runs one command with it and only the EARMARK_*
variables it is given, and times it.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIME_LIMIT = 8.0  # seconds; Python and discord.py start in about one


def write_config(tmp: Path, database_url: str = "") -> Path:
    """A config in `tmp`; the database is a SQLite file there unless `database_url` says."""
    config = tmp / "config.toml"
    config.write_text(
        f"""
[discord]
token = "not-a-real-discord-token"
guild_ids = [1]
[database]
url = "{database_url or f'sqlite://{tmp}/earmark.db'}"
[security]
key_file = "{tmp}/secret.key"
"""
    )
    return config


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float


async def run_cli(config: Path, command: str, extra_env: dict[str, str]) -> Run:
    """`python -m bot COMMAND --config CONFIG` with only the given EARMARK_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")}
    env.update(extra_env)
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", command, "--config", str(config),
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), TIME_LIMIT * 4)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"`{command}` still running after {TIME_LIMIT * 4} s") from None
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode(), time.monotonic() - started)
