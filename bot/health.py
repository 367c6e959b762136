"""The heartbeat file and `python -m bot health` (the Docker HEALTHCHECK).

A process that exists is not a bot that works: the gateway may have dropped,
a job loop may have died or hung, the database may be gone. So the running
bot writes a small JSON file (`[health] file`) every `HEARTBEAT_SECONDS`:
when, whether it is connected to Discord, whether the database answers, and
each scheduled job's state. `python -m bot health`, run in another process,
reads it and exits 0 when it is fresh and every part is well, else 1 with
one line per problem. It opens nothing itself: a check must stay cheap.
`GET /healthz` of the inbound API (`cogs.http_api`) answers from the same
`HealthProbe`, live, for monitors that speak HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from tortoise import connections

if TYPE_CHECKING:
    from discord.ext import commands

log = logging.getLogger(__name__)

#: Seconds between two heartbeats.
HEARTBEAT_SECONDS = 30.0
#: A heartbeat older than this means the bot stopped writing (three beats missed).
STALE_SECONDS = 3 * HEARTBEAT_SECONDS
#: A job whose next tick is overdue by more than max(this, its interval) is hung.
STALL_SECONDS = 900.0
#: Seconds the database gets to answer `SELECT 1`.
DB_TIMEOUT = 5.0

EXIT_OK, EXIT_FAIL = 0, 1


@dataclass(frozen=True, slots=True)
class JobBeat:
    """One scheduled job (a `tasks.Loop` of a cog) as the heartbeat shows it."""

    name: str
    running: bool
    ticks: int
    last_tick: str | None  # ISO time the writer first saw the latest completed tick
    next_tick: str | None
    interval_seconds: float | None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat() if isinstance(moment, datetime) else None


def _interval(loop: Any) -> float | None:
    if getattr(loop, "time", None):  # explicit times of day: no fixed interval
        return None
    return float(loop.seconds + 60 * loop.minutes + 3600 * loop.hours)


def _connected(bot: commands.Bot) -> bool:
    try:
        return bool(bot.is_ready() and not bot.is_closed() and bot.ws is not None and bot.ws.open)
    except (AttributeError, RuntimeError):
        return False


async def _db_ok() -> bool:
    """Whether the database answers a trivial query within `DB_TIMEOUT`."""
    try:
        async with asyncio.timeout(DB_TIMEOUT):
            await connections.get("default").execute_query("SELECT 1")
    except Exception as err:  # any failure means "not reachable", and the beat goes on
        log.warning("health: the database did not answer: %s", err)
        return False
    return True


class HealthProbe:
    """What is well and what is not in `bot`: the heartbeat file and `/healthz` both ask this."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot
        self._ticks: dict[str, tuple[int, str | None]] = {}

    def jobs(self) -> list[JobBeat]:
        """Every `tasks.Loop` of every loaded cog, with what changed since the last beat."""
        from discord.ext import tasks  # the CLI's `health` never needs discord

        beats: list[JobBeat] = []
        for cog in self.bot.cogs.values():
            for attr, value in vars(type(cog)).items():
                if not isinstance(value, tasks.Loop):
                    continue
                loop = getattr(cog, attr)
                name = f"{cog.qualified_name}.{attr}"
                count = loop.current_loop
                seen, last = self._ticks.get(name, (0, None))
                if count != seen:
                    last = _iso(datetime.now(UTC))
                self._ticks[name] = (count, last)
                beats.append(JobBeat(
                    name=name,
                    running=loop.is_running() and not loop.failed(),
                    ticks=count,
                    last_tick=last,
                    next_tick=_iso(loop.next_iteration),
                    interval_seconds=_interval(loop),
                ))
        return beats

    async def beat(self) -> dict[str, Any]:
        """One heartbeat's content."""
        return {
            "written_at": time.time(),
            "pid": os.getpid(),
            "connected": _connected(self.bot),
            "database": await _db_ok(),
            "jobs": [asdict(job) for job in self.jobs()],
        }

    async def report(self) -> tuple[bool, dict[str, Any]]:
        """Healthy or not, with the beat and its problems: the body of `GET /healthz`."""
        data = await self.beat()
        found = problems(data, data["written_at"])
        del data["pid"]
        return not found, {"healthy": not found, "problems": found, **data}


class HealthWriter(HealthProbe):
    """Writes the heartbeat of `bot` to `path` until stopped."""

    def __init__(self, bot: commands.Bot, path: str | os.PathLike[str],
                 interval: float | None = None) -> None:
        super().__init__(bot)
        self.path = Path(path)
        self.interval = interval or HEARTBEAT_SECONDS
        self._task: asyncio.Task[None] | None = None

    async def write(self) -> None:
        data = await self.beat()
        await asyncio.to_thread(write_atomic, self.path, data)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="earmark-health")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.write()
            except Exception:  # a full disk must not stop the bot, only its health
                log.exception("could not write the health file %s", self.path)
            if self.bot.is_ready():
                await asyncio.sleep(self.interval)
                continue
            # Not connected yet: beat again as soon as it is, not one interval later.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self.bot.wait_until_ready()


def write_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Replace `path` at once: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    partial.write_text(json.dumps(data), encoding="utf-8")
    os.replace(partial, path)


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def problems(data: Mapping[str, Any], now: float) -> list[str]:
    """What is wrong according to a heartbeat read at `now` (epoch seconds); [] when healthy."""
    found: list[str] = []
    written = data.get("written_at")
    if not isinstance(written, int | float) or not math.isfinite(written):
        return ["the health file has no valid written_at"]
    age = now - written
    if age > STALE_SECONDS:
        found.append(f"no heartbeat for {age:.0f} s (the bot is stopped or stuck)")
    if data.get("connected") is not True:
        found.append("not connected to Discord")
    if data.get("database") is not True:
        found.append("the database does not answer")
    moment = datetime.fromtimestamp(now, UTC)
    for job in data.get("jobs") or []:
        name = job.get("name", "?")
        if not job.get("running"):
            found.append(f"job {name} is not running")
            continue
        due = _when(job.get("next_tick"))
        grace = max(STALL_SECONDS, float(job.get("interval_seconds") or 0))
        if due is not None and (moment - due).total_seconds() > grace:
            found.append(f"job {name} is hung: its tick due at {job['next_tick']} has not ended")
    return found


def cmd_health(path: str | os.PathLike[str], out: TextIO, now: float | None = None) -> int:
    """`python -m bot health`: 0 healthy, 1 otherwise; one line on `out` either way."""
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        print(f"unhealthy: no health file at {file} (is the bot running?)", file=out)
        return EXIT_FAIL
    except (OSError, ValueError) as err:
        print(f"unhealthy: cannot read the health file {file}: {err}", file=out)
        return EXIT_FAIL
    if not isinstance(data, dict):
        print(f"unhealthy: {file} is not a health file", file=out)
        return EXIT_FAIL
    found = problems(data, time.time() if now is None else now)
    if found:
        print("unhealthy: " + "; ".join(found), file=out)
        return EXIT_FAIL
    jobs = data.get("jobs") or []
    print(f"healthy: connected, database answers, {len(jobs)} jobs running", file=out)
    return EXIT_OK
