"""Who is told about a request: the requester first, then every subscriber.

The one answer for the request service (decisions, status moves) and the scan
step that makes requests available, so both tell the same people.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.models import BookRequest, RequestSubscriber


async def audiences(requests: Sequence[BookRequest]) -> dict[int, list[int]]:
    """Request id -> the Discord ids to tell, requester first, nobody twice."""
    people: dict[int, list[int]] = {req.id: [req.requester_id] for req in requests}
    if not people:
        return {}
    rows = await RequestSubscriber.filter(request_id__in=list(people)).order_by("id").values_list(
        "request_id", "user_id"
    )
    for request_id, user_id in rows:
        people[request_id].append(user_id)
    return {key: list(dict.fromkeys(ids)) for key, ids in people.items()}


async def audience(req: BookRequest) -> list[int]:
    """The Discord ids to tell about one request."""
    return (await audiences([req]))[req.id]
