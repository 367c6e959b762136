"""The new-release check against the fake catalog over a socket, with a real database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from core import notify
from core.catalog.client import AudibleCatalog
from core.catalog.models import CatalogBook
from core.errors import UserError
from core.follow import FollowService, ReleaseChecker, Target, days
from core.models import (
    AnnouncedRelease,
    BookRequest,
    Dismissal,
    FollowKind,
    Notification,
    RequestStatus,
    User,
)
from tests.fakes.catalog import FakeAudible

TODAY = date(2026, 12, 1)
AUTHOR = Target(FollowKind.AUTHOR, "Ann Leck", "B0ANNLECK1")
SERIES = Target(FollowKind.SERIES, "Radch", "B0RADCH001")


@dataclass
class Match:
    matched: bool
    item: Any = None


@dataclass
class Item:
    rating_key: str


class Library:
    """The in-library answer for a few ASINs (the matcher itself has its own tests)."""

    def __init__(self, owned: set[str] | None = None) -> None:
        self.owned = owned or set()

    async def in_library(self, book: CatalogBook) -> Match:
        return Match(True, Item("77")) if book.asin in self.owned else Match(False)


class NoSearch:
    async def search_quick(self, keywords: str, *, limit: int = 10) -> list[CatalogBook]:
        return []


def stock(fake: FakeAudible) -> None:
    """An author with an old, a new and an upcoming book; a series with a new volume and
    another region's edition of its old first volume; a namesake author."""
    a, s = {"author_asins": ["B0ANNLECK1"]}, {"series_asins": ["B0RADCH001"]}
    fake.add_product(asin="B0OLD00001", title="Ancillary Justice", authors=["Ann Leck"],
                     release_date="2019-05-01", series=[("Radch", "1")], **a, **s)
    fake.add_product(asin="B0NEW00001", title="Translation State", authors=["Ann Leck"],
                     release_date="2026-11-20", **a)
    fake.add_product(asin="B0UPC00001", title="The Raven Tower II", authors=["Ann Leck"],
                     release_date="2027-02-01", **a)
    fake.add_product(asin="B0VOL00003", title="Ancillary Mercy", authors=["Ann Leck"],
                     release_date="2026-11-25", series=[("Radch", "3")], **a, **s)
    fake.add_product(asin="B0UKE00001", title="Ancillary Justice", authors=["Ann Leck"],
                     release_date="2026-11-15", series=[("Radch", "1")], **a, **s)
    fake.add_product(asin="B0NAMESAK1", title="Other Ann's Book", authors=["Ann Leck"],
                     release_date="2026-11-28", author_asins=["B0OTHERANN"])


# The `catalog` fixture (tests/conftest.py) is the client over this fake.
@pytest.fixture
async def fake() -> AsyncIterator[FakeAudible]:
    async with FakeAudible(load_fixtures=False) as server:
        stock(server)
        yield server


async def linked(*ids: int) -> None:
    for discord_id in ids:
        await User.create(discord_id=discord_id, plex_token="sealed")


async def follow(user_id: int, target: Target) -> None:
    await FollowService(NoSearch()).follow(user_id, target)


def asins_of(note: Notification) -> list[str]:
    return [b["asin"] for b in note.payload["books"]]


async def test_new_and_upcoming_books_of_an_author_in_one_digest(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1)
    await follow(1, AUTHOR)
    report = await ReleaseChecker(catalog, Library()).run(TODAY)
    [note] = await Notification.all()
    assert note.kind == notify.KIND_RELEASE and note.user_id == 1
    # Newest work first out; the namesake's book and the old book are not news; the other
    # region's edition of the old first volume is not either.
    assert sorted(asins_of(note)) == ["B0NEW00001", "B0UPC00001", "B0VOL00003"]
    upcoming = next(b for b in note.payload["books"] if b["asin"] == "B0UPC00001")
    assert upcoming["release_date"] == "2027-02-01" and upcoming["state"] == "new"
    assert report.lookups == 1 and report.announced == 3 and report.messages == 1
    # Pre-orders keep their day for `/requests`; books already out do not.
    assert await days.upcoming(["B0UPC00001", "B0NEW00001"], TODAY) == {"B0UPC00001": "2027-02-01"}


async def test_a_series_new_volume_but_not_an_other_region_edition_of_an_old_one(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1)
    await follow(1, SERIES)
    await ReleaseChecker(catalog, Library()).run(TODAY)
    [note] = await Notification.all()
    assert asins_of(note) == ["B0VOL00003"]
    assert note.payload["books"][0]["series"] == [["Radch", "3"]]
    assert fake.requests[0].query["keywords"] == "Radch"


async def test_two_followers_one_lookup_two_messages_and_nothing_twice(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1, 2)
    await follow(1, AUTHOR)
    await follow(2, AUTHOR)
    await follow(2, SERIES)  # the same new volume through two follows: told once
    checker = ReleaseChecker(catalog, Library())
    report = await checker.run(TODAY)
    assert report.lookups == 2  # one per target, not per follower
    notes = await Notification.all().order_by("user_id")
    assert [n.user_id for n in notes] == [1, 2]
    assert sorted(asins_of(notes[1])) == ["B0NEW00001", "B0UPC00001", "B0VOL00003"]
    again = await ReleaseChecker(catalog, Library()).run(TODAY)  # a new process, same database
    assert again.announced == 0 and await Notification.all().count() == 2


async def test_another_edition_of_an_announced_book_is_not_announced(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1)
    await follow(1, AUTHOR)
    await ReleaseChecker(catalog, Library()).run(TODAY)
    fake.add_product(asin="B0DRAMA001", title="Translation State (Dramatised Adaptation)",
                     authors=["Ann Leck"], release_date="2026-11-29",
                     author_asins=["B0ANNLECK1"])
    fake.add_product(asin="B0NEXT0001", title="Brand New", authors=["Ann Leck"],
                     release_date="2026-11-30", author_asins=["B0ANNLECK1"])
    report = await ReleaseChecker(catalog, Library()).run(TODAY)
    assert report.announced == 1
    last = await Notification.all().order_by("-id").first()
    assert last is not None and asins_of(last) == ["B0NEXT0001"]


async def test_a_catalog_outage_loses_nothing_and_repeats_nothing(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1, 2)
    await follow(1, AUTHOR)
    await follow(2, SERIES)
    checker = ReleaseChecker(catalog, Library())
    fake.fail_status = 503
    down = await checker.run(TODAY)
    assert down.failed == 2 and await Notification.all().count() == 0
    fake.fail_status = None
    up = await checker.run(TODAY)
    assert up.failed == 0 and up.announced == 4
    assert await checker.run(TODAY) == type(up)(targets=2, lookups=2)


async def test_the_budget_checks_the_longest_waiting_targets_first(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1)
    await follow(1, AUTHOR)
    await follow(1, SERIES)
    checker = ReleaseChecker(catalog, Library(), budget=1)
    first, second = await checker.run(TODAY), await checker.run(TODAY)
    assert (first.lookups, first.deferred, second.lookups) == (1, 1, 1)
    asked = [r.query.get("author") or r.query.get("keywords") for r in fake.requests]
    assert sorted(asked) == ["Ann Leck", "Radch"]


async def test_in_library_requested_and_dismissed_books(
    db: None, fake: FakeAudible, catalog: AudibleCatalog
) -> None:
    await linked(1)
    await follow(1, AUTHOR)
    user = await User.get(discord_id=1)
    await BookRequest.create(requester=user, asin="B0UPC00001", title="The Raven Tower II",
                             author="Ann Leck", status=RequestStatus.PENDING)
    await Dismissal.create(user=user, asin="B0VOL00003")
    await ReleaseChecker(catalog, Library({"B0NEW00001"})).run(TODAY)
    [note] = await Notification.all()
    states = {b["asin"]: (b["state"], b["rating_key"]) for b in note.payload["books"]}
    assert states == {"B0NEW00001": ("in_library", "77"), "B0UPC00001": ("requested", None)}
    assert await AnnouncedRelease.filter(user_id=1).count() == 2


async def test_the_per_user_cap_and_unlinked_users(db: None) -> None:
    await linked(1)
    service = FollowService(NoSearch(), max_follows=2)
    await service.follow(1, Target(FollowKind.AUTHOR, "A One"))
    _, created = await service.follow(1, Target(FollowKind.AUTHOR, "a  ONE"))
    assert not created  # one normalised name, one follow
    await service.follow(1, Target(FollowKind.SERIES, "A One"))
    with pytest.raises(UserError, match="the limit is 2"):
        await service.follow(1, Target(FollowKind.AUTHOR, "Third"))
    with pytest.raises(UserError):
        await service.follow(5, AUTHOR)


def test_choice_values_round_trip() -> None:
    assert Target.from_choice(FollowKind.AUTHOR, AUTHOR.choice_value()) == AUTHOR
    plain = Target(FollowKind.SERIES, "The Expanse")
    assert Target.from_choice(FollowKind.SERIES, plain.choice_value()) == plain
    typed = Target.from_choice(FollowKind.SERIES, "Mistborn: Era 2")
    assert typed == Target(FollowKind.SERIES, "Mistborn: Era 2")
    assert typed.key == "name:mistborn era 2"
