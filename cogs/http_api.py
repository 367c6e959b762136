"""The inbound HTTP API (`core.inbound`) in the bot process, on when `[http] listen` is set.

The cog only wires it: the rules live in core, a move is `RequestService.set_status`
as in `/admin status`, and after a move this cog does what `/admin status`
does (refresh the admin post, wake the outbox). /healthz answers from the
same probe as the heartbeat file. A port that cannot be bound is an ERROR
in the log, not a dead bot: the API is a side door, Discord the front one.
"""

from __future__ import annotations

import logging
from typing import Any

from discord.ext import commands

from bot.app import EarmarkBot
from bot.health import HealthProbe
from cogs._approval import refresh_post
from core.inbound.api import InboundApi
from core.inbound.server import InboundServer
from core.models import BookRequest
from core.redact import register_secret

log = logging.getLogger(__name__)


class HttpApi(commands.Cog):
    """Starts the inbound server on load, stops it on unload (the bot's close unloads)."""

    def __init__(self, bot: EarmarkBot) -> None:
        self.bot = bot
        self.probe = HealthProbe(bot)
        self.server: InboundServer | None = None

    async def cog_load(self) -> None:
        http = self.bot.settings.http
        if not http.listen:
            return
        register_secret(http.token)
        api = InboundApi(self.bot.runtime.requests, self, http.token)
        server = InboundServer(api.app(), http.listen)
        try:
            await server.start()
        except OSError as err:
            log.error("the inbound API cannot listen on %s: %s", http.listen, err.strerror or err)
            return
        self.server = server

    async def cog_unload(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            await server.stop()

    # InboundHooks

    async def moved(self, req: BookRequest) -> None:
        self.bot.kick_outbox()  # the move queued DMs
        await refresh_post(self.bot, req)

    async def health(self) -> tuple[bool, dict[str, Any]]:
        return await self.probe.report()


async def setup(bot: EarmarkBot) -> None:
    await bot.add_cog(HttpApi(bot))
