"""Runs the inbound API on `[http] listen`, and stops it without cutting answers short."""

from __future__ import annotations

import logging

from aiohttp import web

from core.inbound.address import parse_listen

log = logging.getLogger(__name__)

#: Seconds a stopping server lets requests in flight finish.
SHUTDOWN_GRACE = 5.0
#: The access log line: client, request line, status, size, seconds. No headers, so
#: never the Authorization header.
ACCESS_FORMAT = '%a "%r" %s %b %Tf'
access_log = logging.getLogger("core.inbound.access")


class InboundServer:
    """One aiohttp site; `start` binds (OSError when it cannot), `stop` is safe twice."""

    def __init__(self, app: web.Application, listen: str) -> None:
        self.app = app
        self.host, self.port = parse_listen(listen, any_port=True)
        self._runner: web.AppRunner | None = None

    @property
    def bound_port(self) -> int:
        """The port actually listened on (the one chosen by the system for port 0)."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("the inbound server is not running")
        return int(self._runner.addresses[0][1])

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app, access_log=access_log, access_log_format=ACCESS_FORMAT,
            shutdown_timeout=SHUTDOWN_GRACE,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("inbound API listening on %s:%s", self.host, self.bound_port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            log.info("inbound API stopped")

