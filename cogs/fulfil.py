"""The fulfilment jobs: deliver queued hand-offs, and read progress back from ReadMeABook.

Thin over `core.fulfil.service`: two background loops (STYLE habit 7: start in
`cog_load`, cancel in `cog_unload`, wait until ready, log and live on). The
service's reports become admin-channel posts (a refused token, once; a
failed hand-off or download, with Retry / Deny buttons) and, when RMAB says a book is in place, a
recently-added scan at once, so the "in Plex" DM follows within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from discord.ext import commands

from bot.app import EarmarkBot
from cogs._admin_channel import tell_admins
from cogs._fulfil_buttons import post_failure, register_failed, unregister_failed
from core.errors import PlexNotConfigured
from core.fulfil.service import Report
from core.plex import PlexError

log = logging.getLogger(__name__)

DELIVER_SECONDS = 3.0  # a hand-off goes out within seconds of the approval
SYNC_SECONDS = 60.0  # one paged read of RMAB per minute for every open request


class Fulfil(commands.Cog, name="Fulfil"):
    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.runtime = bot.runtime
        self.deliver_interval = DELIVER_SECONDS
        self.sync_interval = SYNC_SECONDS
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = {"deliver": asyncio.Event(), "sync": asyncio.Event()}

    def poke(self) -> None:
        """Run both jobs now (and read the intervals again)."""
        for event in self._wake.values():
            event.set()

    async def cog_load(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop("deliver", self.deliver_once, "deliver_interval")),
            asyncio.create_task(self._loop("sync", self.sync_once, "sync_interval")),
        ]

    async def cog_unload(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(
        self, name: str, job: Callable[[], Awaitable[None]], interval: str
    ) -> None:
        await self.bot.wait_until_ready()
        while True:
            try:
                await job()
            except Exception:  # the job must live on: log and try at the next tick
                log.exception("fulfilment %s job failed", name)
            wake = self._wake[name]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), getattr(self, interval))
            wake.clear()

    async def deliver_once(self) -> None:
        await self._run(self.runtime.fulfil.deliver_due)

    async def sync_once(self) -> None:
        await self._run(self.runtime.fulfil.sync)

    async def _run(self, job: Callable[[], Awaitable[list[Report]]]) -> None:
        stats = self.runtime.fulfil.stats
        before = stats.moved
        await self._handle(await job())
        if stats.moved != before:  # a stage DM may be queued ("download started", "failed")
            self.bot.kick_outbox()

    async def _handle(self, reports: list[Report]) -> None:
        scan = False
        for report in reports:
            if report.kind == "in_place":
                scan = True
            elif report.kind == "unauthorized":
                await tell_admins(self.bot, f"⚠️ {report.text}")
            elif report.request_id is not None:
                await post_failure(self.bot, report.request_id, report.text)
        if reports:
            self.bot.kick_outbox()
        if scan:
            try:
                await self.runtime.scans.run("recent")
            except (PlexNotConfigured, PlexError) as err:
                log.warning("the scan after a finished download failed: %s", err)
            self.bot.kick_outbox()


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(Fulfil(bot))
    register_failed(bot)  # Retry / Deny under failures posted before a restart


async def teardown(bot: EarmarkBot) -> None:
    unregister_failed(bot)
