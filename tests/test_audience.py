"""Who is told about a request, and which moves tell them: one answer for every caller."""

from __future__ import annotations

from core import notify
from core.models import BookRequest, RequestStatus, RequestSubscriber, User
from core.requests.audience import audience, audiences


async def _request(owner: User, asin: str) -> BookRequest:
    return await BookRequest.create(
        requester=owner, asin=asin, title=f"Book {asin}", status=RequestStatus.PENDING
    )


async def test_requester_first_then_subscribers_nobody_twice(db: None) -> None:
    alice, bob, carol = [await User.create(discord_id=i) for i in (1, 2, 3)]
    one, two = await _request(alice, "A1"), await _request(bob, "A2")
    await RequestSubscriber.create(request=one, user=carol)
    await RequestSubscriber.create(request=one, user=bob)
    await RequestSubscriber.create(request=two, user=bob)  # the requester subscribed too
    assert await audiences([one, two]) == {one.id: [1, 3, 2], two.id: [2]}
    assert await audience(one) == [1, 3, 2]
    assert await audiences([]) == {}


def test_only_decisions_failures_and_arrivals_notify() -> None:
    told = {status for status in RequestStatus if notify.kind_for(status) is not None}
    assert told == {
        RequestStatus.APPROVED, RequestStatus.DENIED, RequestStatus.FAILED,
        RequestStatus.AVAILABLE,
    }
