"""Library items for the matcher's index tests, made from the fake Plex's synthetic albums."""

from __future__ import annotations

from core.matcher import LibraryItem
from tests.fakes.plex import synthetic_albums


def _library(n: int, seed: int = 3) -> list[LibraryItem]:
    return [
        LibraryItem(rating_key=a.rating_key, title=a.title, author=a.author, narrator=None,
                    asin=None, guid=a.guid)
        for a in synthetic_albums(n, seed=seed)
    ]  # fmt: skip
