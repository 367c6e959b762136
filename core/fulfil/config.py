"""The fulfilment settings: pinned in `[fulfil]` or stored by `/setup fulfil` (secrets encrypted).

Like Plex's: a value from the file or the environment wins over a stored
one, so every caller sees one answer through `FulfilConfig.load`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from core.config_store import (
    FULFIL_BACKEND,
    FULFIL_SECRET,
    FULFIL_TOKEN,
    FULFIL_URL,
    ConfigStore,
)
from core.redact import register_secret

Backend = Literal["none", "readmeabook", "webhook"]
BACKENDS: tuple[Backend, ...] = ("none", "readmeabook", "webhook")


def as_backend(value: str | None) -> Backend:
    """A stored or pinned name as a backend; anything unknown is `none` (nothing is sent)."""
    for backend in BACKENDS:
        if value == backend:
            return backend
    return "none"


@dataclass(frozen=True, slots=True)
class FulfilConfig:
    backend: Backend = "none"
    url: str = ""
    token: str = ""
    secret: str = ""

    @property
    def active(self) -> bool:
        """A backend is chosen and has what it needs to be sent to."""
        if self.backend == "readmeabook":
            return bool(self.url and self.token)
        if self.backend == "webhook":
            return bool(self.url and self.secret)
        return False

    @classmethod
    async def load(cls, store: ConfigStore, pinned: Mapping[str, str]) -> FulfilConfig:
        async def pick(key: str) -> str:
            return pinned.get(key) or (await store.get(key)) or ""

        config = cls(
            backend=as_backend(await pick(FULFIL_BACKEND)),
            url=(await pick(FULFIL_URL)).rstrip("/"),
            token=await pick(FULFIL_TOKEN),
            secret=await pick(FULFIL_SECRET),
        )
        register_secret(config.token)
        register_secret(config.secret)
        return config


def callback_base(listen: str) -> str:
    """Where a webhook receiver reports progress: the inbound API, or "" when it is off.

    Built from `[http] listen` as it is: behind a proxy, or listening on
    0.0.0.0, the receiver may need another address for the same path.
    """
    listen = listen.strip()
    return f"http://{listen}" if listen else ""
