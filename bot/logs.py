"""Logging for the process: one stderr handler, every record masked for secrets."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from core.redact import install_filter, install_record_factory, register_secret

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


class _EarmarkHandler(logging.StreamHandler):
    """Earmark's own stderr handler: a second `setup_logging` replaces it, not adds one."""


def setup_logging(level: int = logging.INFO, secrets: Iterable[str] = ()) -> None:
    """Log to stderr; mask every known secret (more are registered as they are learnt)."""
    for secret in secrets:
        register_secret(secret)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _EarmarkHandler):
            root.removeHandler(handler)
    handler = _EarmarkHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    # Masked when made, not only when written: discord.py logs raw payloads at DEBUG
    # (options of /setup plex included) before Earmark could register the token.
    install_record_factory()
    install_filter(root)
    # discord.py and aiohttp are chatty at DEBUG; keep them at INFO unless asked.
    if level > logging.DEBUG:
        logging.getLogger("discord.gateway").setLevel(max(level, logging.WARNING))
        logging.getLogger("tortoise").setLevel(max(level, logging.WARNING))
        logging.getLogger("aiosqlite").setLevel(max(level, logging.WARNING))
