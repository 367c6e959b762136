"""The body of `POST /api/requests/{id}/status`: what a download script may send."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from core.inbound.body import REASON_MAX, BadBody, StatusUpdate, parse_status, request_json
from core.models import BookRequest, RequestStatus


def test_status_alone() -> None:
    assert parse_status({"status": "downloading"}) == StatusUpdate(RequestStatus.DOWNLOADING)


def test_reason_and_progress() -> None:
    update = parse_status({"status": "failed", "reason": "  no seeders  ", "progress": 52.4})
    assert update == StatusUpdate(RequestStatus.FAILED, reason="no seeders", progress=52)


def test_blank_or_null_reason_is_none() -> None:
    assert parse_status({"status": "failed", "reason": "   "}).reason is None
    assert parse_status({"status": "failed", "reason": None, "progress": None}) == StatusUpdate(
        RequestStatus.FAILED
    )


@pytest.mark.parametrize("progress", [0, 100, 0.0, 99.6])
def test_progress_bounds_are_accepted(progress: float) -> None:
    assert parse_status({"status": "downloading", "progress": progress}).progress == round(progress)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ([], "a JSON object"),
        ("downloading", "a JSON object"),
        ({}, "status is required"),
        ({"status": "Downloading"}, "unknown status 'Downloading'"),
        ({"status": "done"}, "one of pending, approved"),
        ({"status": 3}, "status must be a string"),
        ({"status": "failed", "reason": 5}, "reason must be a string"),
        ({"status": "failed", "reason": "x" * (REASON_MAX + 1)}, f"at most {REASON_MAX}"),
        ({"status": "downloading", "progress": 101}, "progress must be a number from 0 to 100"),
        ({"status": "downloading", "progress": -1}, "from 0 to 100"),
        ({"status": "downloading", "progress": "50"}, "from 0 to 100"),
        ({"status": "downloading", "progress": True}, "from 0 to 100"),
        ({"status": "downloading", "progress": float("nan")}, "from 0 to 100"),
        ({"status": "downloading", "stauts": "x"}, "unknown field 'stauts'"),
    ],
)
def test_bad_bodies_say_why(body: Any, says: str) -> None:
    with pytest.raises(BadBody) as err:
        parse_status(body)
    assert says in err.value.reason


def test_a_long_reason_is_accepted_up_to_the_limit() -> None:
    assert parse_status({"status": "failed", "reason": "x" * REASON_MAX}).reason == "x" * REASON_MAX


def test_request_json_has_no_personal_data() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    req = BookRequest(
        id=7, requester_id=123456789012345678, asin="B08G9PRS1K", title="Project Hail Mary",
        author="Andy Weir", narrator="Ray Porter", status=RequestStatus.DOWNLOADING,
        reason=None, progress=52, created_at=when, updated_at=when,
    )
    assert request_json(req) == {
        "id": 7, "status": "downloading", "title": "Project Hail Mary", "author": "Andy Weir",
        "narrator": "Ray Porter", "asin": "B08G9PRS1K", "reason": None, "progress": 52,
        "created_at": "2024-05-01T12:00:00+00:00", "updated_at": "2024-05-01T12:00:00+00:00",
    }
