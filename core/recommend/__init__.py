"""Personal recommendations: the user's Plex ratings -> catalog candidates -> ranked picks.

`RecommendService` is what `/recommend` calls. It reads the user's ratings
with the user's own Plex access (`ratings`), asks the catalog about the
seeds' authors and narrators, then about the series those turn out to
continue (at most `max_searches` searches in all, concurrent, within one
deadline), drops what the user can't or won't want (in the library, requested
by anyone and still open, ever requested by this user, dismissed), and lets
`engine` rank the rest. "In the library" is the one matcher's answer
(`RequestService.in_library`), like everywhere else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Protocol

from tortoise.expressions import Q

from core.catalog.errors import CatalogError
from core.catalog.models import CatalogBook
from core.errors import UserError
from core.matcher import BookIndex, BookQuery
from core.models import OPEN_STATUSES, BookRequest, Dismissal, RequestSubscriber
from core.recommend.engine import (
    NoSeeds,
    RatedBook,
    Recommendation,
    TasteProfile,
    build_profile,
    recommend,
    series_search_terms,
)
from core.recommend.ratings import RatingsSource, RatingsUnavailable
from core.requests.service import RequestService, request_key
from core.users import get_user, require_linked

__all__ = [
    "CatalogDown",
    "NoRatings",
    "NothingLiked",
    "RatedBook",
    "RatingsSource",
    "RatingsUnavailable",
    "RecommendService",
    "Recommendation",
]

log = logging.getLogger(__name__)

MAX_SEARCHES = 6  # catalog calls per /recommend, people and series together
PEOPLE_SEARCHES = 4
DEADLINE = 8.0  # seconds for every catalog call together
SEARCH_RESULTS = 50  # Audible's cap per search
LIMIT = 10

RATE_HOW = (
    "In Plex (the web app or Plexamp), open a book you've listened to and give it stars: "
    "4 or 5 for the ones you loved. Then run `/recommend` again; new ratings can take up "
    "to 10 minutes to show up here."
)


class NoRatings(UserError):
    """The user has rated no book in the library."""

    def __init__(self) -> None:
        super().__init__(
            "You haven't rated any audiobooks in Plex yet, so Earmark has nothing to base "
            "recommendations on. " + RATE_HOW
        )


class NothingLiked(UserError):
    """Books are rated, but none 3★ or more."""

    def __init__(self) -> None:
        super().__init__(
            "None of the books you rated in Plex has 3 stars or more, so Earmark can't tell "
            "what you like yet. " + RATE_HOW
        )


class CatalogDown(UserError):
    """Every catalog search failed or missed the deadline."""

    def __init__(self) -> None:
        super().__init__(
            "The Audible catalog didn't answer in time, so there are no recommendations "
            "right now. Please try `/recommend` again in a minute."
        )


class CatalogSearch(Protocol):
    """What the service needs from the catalog (`CachedCatalog` in the bot)."""

    async def search(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]: ...


class RecommendService:
    """Ratings, catalog, exclusions and the engine, for one user at a time."""

    def __init__(
        self,
        ratings: RatingsSource,
        catalog: CatalogSearch,
        requests: RequestService,
        *,
        max_searches: int = MAX_SEARCHES,
        people_searches: int = PEOPLE_SEARCHES,
        deadline: float = DEADLINE,
        limit: int = LIMIT,
    ) -> None:
        self.ratings = ratings
        self._catalog = catalog
        self._requests = requests
        self.max_searches = max_searches
        self.people_searches = min(people_searches, max_searches)
        self.deadline = deadline
        self.limit = limit

    async def profile(self, discord_id: int) -> TasteProfile:
        """The user's taste from their Plex ratings; a UserError explains an empty one."""
        user = await require_linked(discord_id)
        rated = await self.ratings.ratings(user)
        if not rated:
            raise NoRatings()
        try:
            return build_profile(rated)
        except NoSeeds:
            raise NothingLiked() from None

    async def recommend(self, discord_id: int) -> list[Recommendation]:
        """Up to `limit` books for this user, best first; [] when nothing is left to suggest."""
        profile = await self.profile(discord_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.deadline
        people = profile.search_people(self.people_searches)
        books, asked, answered = await self._search(people, deadline)
        series = series_search_terms(profile, books, self.max_searches - len(people))
        if series and loop.time() < deadline:
            more, asked2, answered2 = await self._search(series, deadline)
            books += more
            asked, answered = asked + asked2, answered + answered2
        if asked and not answered:
            raise CatalogDown()
        excluded = await self._excluded(discord_id, books)
        picks = recommend(profile, books, excluded=excluded, limit=self.limit)
        log.info(
            "recommend for %s: %d ratings, %d searches (%d answered), %d candidates, %d picks",
            discord_id, len(profile.rated), asked, answered, len(books), len(picks),
        )
        return picks

    async def dismiss(self, discord_id: int, asin: str) -> None:
        """The user is not interested: never suggest this book to them again."""
        user = await get_user(discord_id)
        await Dismissal.get_or_create(user=user, asin=asin.strip().upper())

    async def _search(
        self, terms: Sequence[str], deadline: float
    ) -> tuple[list[CatalogBook], int, int]:
        """Concurrent searches cut at the deadline: (books in term order, asked, answered).

        A late search is abandoned, not cancelled: the cache keeps fetching it
        for the next `/recommend`.
        """
        if not terms:
            return [], 0, 0
        tasks = [
            asyncio.ensure_future(self._catalog.search(term, limit=SEARCH_RESULTS))
            for term in terms
        ]
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        books: list[CatalogBook] = []
        answered = 0
        for term, task in zip(terms, tasks, strict=True):
            if task.cancelled():
                log.info("catalog search %r missed the recommend deadline", term)
            elif isinstance(err := task.exception(), CatalogError):
                log.info("catalog search %r failed: %s", term, err)
            elif err is not None:
                log.error("catalog search %r crashed", term, exc_info=err)
            else:
                answered += 1
                books.extend(task.result())
        return books, len(tasks), answered

    async def _excluded(self, discord_id: int, books: Iterable[CatalogBook]) -> set[str]:
        """ASINs not to suggest: dismissed, requested (open, or ever by this user), in Plex."""
        dismissed = set(
            await Dismissal.filter(user_id=discord_id).values_list("asin", flat=True)
        )
        subscribed = await RequestSubscriber.filter(user_id=discord_id).values_list(
            "request_id", flat=True
        )
        rows = await BookRequest.filter(
            Q(status__in=OPEN_STATUSES) | Q(requester_id=discord_id) | Q(id__in=list(subscribed))
        )
        requested = BookIndex(rows, key=request_key)
        excluded: set[str] = set()
        for book in {b.asin: b for b in books}.values():
            if (
                book.asin in dismissed
                or requested.match(BookQuery.of(book)).matched
                or (await self._requests.in_library(book)).matched
            ):
                excluded.add(book.asin)
        return excluded
