"""Running the command line against the fake Plex and catalog: `run_main` and `Env`.

`main` runs its own event loop (`asyncio.run`), so `Env.run` calls it in a
worker thread while the fakes keep serving on the test's loop; stdout and
stderr are captured, and the logging set-up `main` does is undone after it.
The `env` fixture (tests/conftest.py) is an `Env` with a config file for the
fakes and a fresh secret key.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.cli import main
from tests.fakes.catalog import FakeAudible
from tests.fakes.plex import FakePlex

ROOT = Path(__file__).resolve().parents[1]
#: The loggers whose level `bot.logs.setup_logging` sets, besides the root.
TUNED_LOGGERS = ("discord.gateway", "tortoise", "aiosqlite")


@dataclass
class Result:
    code: int
    out: str
    err: str


@contextlib.contextmanager
def logging_restored() -> Iterator[None]:
    """Undo what `setup_logging` does to the process: handlers, filters and levels."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    filters = {handler: list(handler.filters) for handler in handlers}
    levels = {name: logging.getLogger(name).level for name in ("", *TUNED_LOGGERS)}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in filters:
                root.removeHandler(handler)
        for handler, kept in filters.items():
            handler.filters[:] = kept
            if handler not in root.handlers:
                root.addHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def run_main(argv: Sequence[str]) -> Result:
    """`python -m bot ARGV` in this process (blocking: it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), logging_restored():
        try:
            code = main(list(argv))
        except SystemExit as exit_:  # argparse's usage errors
            code = exit_.code if isinstance(exit_.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


@dataclass
class Env:
    pms: FakePlex
    audible: FakeAudible
    config: Path
    key: str

    async def run(self, *args: str) -> Result:
        """The CLI with this config, in process; the fakes serve meanwhile."""
        return await asyncio.to_thread(run_main, [*args, "--config", str(self.config)])

    async def run_process(self, *args: str) -> Result:
        """The CLI as `python -m bot` in a child process."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("EARMARK_")}
        env["EARMARK_SECRET_KEY"] = self.key
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            *args,
            "--config",
            str(self.config),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode is not None
        return Result(proc.returncode, out.decode(), err.decode())
