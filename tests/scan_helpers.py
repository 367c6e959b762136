"""What the scan tests share: a PlexSource over the fake PMS and a small seeded library.

The fake PMS and the HTTP session behind `FakeSource` are the `pms` and
`session` fixtures of tests/conftest.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from core.plex import PlexServer
from tests.fakes.plex import FakePlex


@dataclass
class FakeSource:
    """A PlexSource pointing at the fake PMS through a real aiohttp session."""

    pms: FakePlex
    session: aiohttp.ClientSession
    token: str = ""
    timeout: float = 2.0

    async def connect(self) -> tuple[PlexServer, str]:
        server = self.pms.client(self.token or None, session=self.session, timeout=self.timeout)
        return server, self.pms.section_id


def seed_books(pms: FakePlex) -> None:
    pms.add_album(
        "Project Hail Mary",
        "Andy Weir",
        narrators=["Ray Porter"],
        guid="com.plexapp.agents.audnexus://B08G9PRS1K_us?lang=en",
        added_at=1000,
        folder="/books/Andy Weir/Project Hail Mary",
        tracks=3,
    )
    pms.add_album(
        "Dune",
        "Frank Herbert",
        guid="com.plexapp.agents.audiobooks://B002V1OF70?lang=en",
        added_at=1001,
    )
    pms.add_album(
        "The Hobbit", "J. R. R. Tolkien", guids=["audnexus://album/B0099SNJ7K"], added_at=1002
    )
    pms.add_album("Foundation", "Isaac Asimov", guid="local://123", added_at=1003)
    pms.add_album("Mistborn", "Brandon Sanderson", added_at=1004)
