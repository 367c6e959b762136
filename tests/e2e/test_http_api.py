"""End to end: the inbound API over a real socket, against the running bot and the fakes.

A download script moves requests with the rules of `/admin status` (same
refusals, same DMs, same admin post), reads a request back, and a monitor
reads /healthz. Every /api call needs the bearer token; the token never
reaches a log record.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.config import HttpSettings
from cogs._approval import post_request
from core.models import BookRequest, Notification, RequestStatus
from core.redact import MASK, redact
from tests.e2e.helpers import add_request, make_request
from tests.e2e.world import World, WorldFactory, eventually
from tests.fakes.discord import FakeMessage

TOKEN = "inbound-token-7c1e55d0a9b34f28"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

pytestmark = pytest.mark.world(
    http=HttpSettings(listen="127.0.0.1:0", token=TOKEN), admin_channel=True
)


def api_url(world: World) -> str:
    cog: Any = world.bot.get_cog("HttpApi")
    assert cog is not None and cog.server is not None, "the inbound API is not running"
    return f"http://127.0.0.1:{cog.server.bound_port}"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(
    http: aiohttp.ClientSession, world: World, method: str, path: str, *,
    headers: dict[str, str] | None = AUTH, **kwargs: Any,
) -> tuple[int, Any]:
    async with http.request(method, api_url(world) + path, headers=headers, **kwargs) as resp:
        assert resp.content_type == "application/json"
        return resp.status, await resp.json()


async def move(
    http: aiohttp.ClientSession, world: World, req: BookRequest, **body: Any
) -> tuple[int, Any]:
    return await call(http, world, "POST", f"/api/requests/{req.id}/status", json=body)


def status_field(post: FakeMessage) -> str:
    return next(f["value"] for f in post.embeds[0]["fields"] if f["name"] == "Status")


# ----- the token ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [None, {"Authorization": "Bearer wrong-token-0000000000"}, {"Authorization": TOKEN},
     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
     {"Authorization": "Bearer"}],
    ids=["missing", "wrong", "no-scheme", "basic", "longer", "empty"],
)
async def test_a_wrong_or_missing_token_gets_401_without_detail(
    world: World, http: aiohttp.ClientSession, headers: dict[str, str] | None
) -> None:
    req = await add_request(world.alice, "Dune")
    for method, path, body in [
        ("GET", f"/api/requests/{req.id}", None),
        ("POST", f"/api/requests/{req.id}/status", {"status": "downloading"}),
        ("GET", "/api/no/such/route", None),  # not even whether a path exists
    ]:
        async with http.request(method, api_url(world) + path, headers=headers, json=body) as resp:
            assert resp.status == 401
            assert await resp.json() == {"error": "unauthorized"}
            assert resp.headers["WWW-Authenticate"] == "Bearer"
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED


async def test_the_scheme_is_case_insensitive(world: World, http: aiohttp.ClientSession) -> None:
    req = await add_request(world.alice, "Dune")
    status, _ = await call(http, world, "GET", f"/api/requests/{req.id}",
                           headers={"Authorization": f"bearer {TOKEN}"})
    assert status == 200


# ----- GET /api/requests/{id} --------------------------------------------------------------


async def test_get_a_request(world: World, http: aiohttp.ClientSession) -> None:
    req = await add_request(world.alice, "Dune", asin="B002V1OF70", author="Frank Herbert",
                            status=RequestStatus.DOWNLOADING)
    status, body = await call(http, world, "GET", f"/api/requests/{req.id}")
    assert status == 200
    assert body["id"] == req.id and body["status"] == "downloading"
    assert (body["title"], body["author"], body["asin"]) == ("Dune", "Frank Herbert", "B002V1OF70")
    assert body["reason"] is None and body["created_at"] and body["updated_at"]
    assert "requester" not in str(body) and str(world.alice.id) not in str(body)


@pytest.mark.parametrize("path", ["/api/requests/99999", "/api/requests/0",
                                  "/api/requests/" + "9" * 5000])
async def test_unknown_request_is_404(world: World, http: aiohttp.ClientSession, path: str) -> None:
    status, body = await call(http, world, "GET", path)
    assert status == 404 and "no" in body["error"] and "request" in body["error"]
    status, _ = await call(http, world, "POST", path + "/status", json={"status": "failed"})
    assert status == 404


async def test_unknown_route_and_method_are_json_errors(
    world: World, http: aiohttp.ClientSession
) -> None:
    assert await call(http, world, "GET", "/api/requests/abc") == (404, {"error": "not found"})
    status, body = await call(http, world, "DELETE", "/api/requests/1")
    assert status == 405 and body == {"error": "method not allowed"}


# ----- POST /api/requests/{id}/status ------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("not json", "not JSON"),
        ('["downloading"]', "JSON object"),
        ('{"status": "done"}', "unknown status 'done'"),
        ('{"status": "downloading", "progress": 150}', "progress"),
        ('{"status": "failed", "reason": "' + "x" * 501 + '"}', "at most 500"),
        ('{"stauts": "failed"}', "unknown field 'stauts'"),
    ],
)
async def test_a_bad_body_is_400_with_a_reason(
    world: World, http: aiohttp.ClientSession, data: str, says: str
) -> None:
    req = await add_request(world.alice, "Dune")
    status, body = await call(
        http, world, "POST", f"/api/requests/{req.id}/status", data=data,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert status == 400 and says in body["error"]
    await req.refresh_from_db()
    assert req.status == RequestStatus.APPROVED


async def test_a_huge_body_is_refused(world: World, http: aiohttp.ClientSession) -> None:
    req = await add_request(world.alice, "Dune")
    status, body = await call(http, world, "POST", f"/api/requests/{req.id}/status",
                              data=b"{" + b" " * 100_000 + b"}")
    assert status == 413 and body["error"] == "request entity too large"


async def test_an_illegal_move_is_409_with_the_sentence_of_admin_status(
    world: World, http: aiohttp.ClientSession
) -> None:
    req = await make_request(world, world.alice, "Dune", status=RequestStatus.PENDING)

    status, body = await move(http, world, req, status="downloading")

    assert status == 409
    assert body["error"] == f"Request #{req.id} is pending; it can't move to downloading."
    admin = await world.fd.slash(
        world.boss, world.guild, "admin status", request_id=req.id, status="downloading"
    )
    assert body["error"] in admin.original.content  # the very same sentence
    await req.refresh_from_db()
    assert req.status == RequestStatus.PENDING
    assert await Notification.all().count() == 0


async def test_closed_requests_stay_closed(world: World, http: aiohttp.ClientSession) -> None:
    req = await add_request(world.alice, "Dune", status=RequestStatus.AVAILABLE)
    status, body = await move(http, world, req, status="downloading")
    assert status == 409 and "can't move to downloading" in body["error"]
    status, body = await move(http, world, req, status="available")
    assert status == 409 and "already available" in body["error"]


async def test_a_download_script_moves_a_request_with_dms_and_the_admin_post(
    world: World, http: aiohttp.ClientSession
) -> None:
    req = await make_request(world, world.alice, "Project Hail Mary", status=RequestStatus.PENDING)
    await post_request(world.bot, req)  # what /request does with a new request
    post = await world.fd.wait_for_message(world.admin_channel_id, lambda m: bool(m.buttons))

    status, body = await move(http, world, req, status="approved")
    assert status == 200 and body["status"] == "approved"
    approved = await world.fd.wait_for_dm(world.alice, lambda m: "Project Hail Mary" in m.text)
    await world.fd.wait_until(lambda: post.buttons == [], what="the post without buttons")
    assert "Approved" in status_field(post)

    status, body = await move(http, world, req, status="downloading", progress=40)
    assert status == 200 and body["status"] == "downloading" and body["progress"] == 40
    await world.fd.wait_until(lambda: "Downloading" in status_field(post), what="the post")
    started = await world.fd.wait_for_dm(world.alice, lambda m: m is not approved)

    status, body = await move(http, world, req, status="failed", reason="No seeders")
    assert status == 200 and body == {**body, "status": "failed", "reason": "No seeders"}
    failed = await world.fd.wait_for_dm(world.alice, lambda m: "No seeders" in m.text)
    assert failed is not approved and failed is not started
    await world.fd.wait_until(lambda: "Failed" in status_field(post), what="the post")
    assert len(world.fd.dms[world.alice.id]) == 3  # approved, download started (once), failed

    status, body = await call(http, world, "GET", f"/api/requests/{req.id}")
    assert (status, body["status"], body["reason"]) == (200, "failed", "No seeders")


# ----- /healthz ----------------------------------------------------------------------------


async def test_healthz_is_200_when_connected_with_jobs_and_database(
    world: World, http: aiohttp.ClientSession
) -> None:
    status, body = await call(http, world, "GET", "/healthz", headers=None)  # no token needed
    assert status == 200, body
    assert body["healthy"] is True and body["problems"] == []
    assert body["connected"] is True and body["database"] is True
    names = {job["name"] for job in body["jobs"]}
    assert any(name.startswith("Scheduler.") for name in names), names
    assert "pid" not in body


async def test_healthz_is_503_when_a_job_died(world: World, http: aiohttp.ClientSession) -> None:
    loop_name, loop = _a_loop(world.bot.get_cog("Scheduler"))
    loop.cancel()
    await eventually(lambda: not loop.is_running(), what="the job to stop")

    status, body = await call(http, world, "GET", "/healthz", headers=None)

    assert status == 503 and body["healthy"] is False
    assert any(loop_name in problem and "not running" in problem for problem in body["problems"])


def _a_loop(cog: Any) -> tuple[str, Any]:
    """The first running `tasks.Loop` of a cog (loops are class attributes bound per cog)."""
    from discord.ext import tasks

    for name, value in vars(type(cog)).items():
        loop = getattr(cog, name)
        if isinstance(value, tasks.Loop) and loop.is_running():
            return name, loop
    raise AssertionError(f"{cog} has no running job")


# ----- secrets, on and off -----------------------------------------------------------------


async def test_the_token_is_in_no_log_record_at_debug(
    world: World, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    req = await add_request(world.alice, "Dune")
    await call(http, world, "GET", f"/api/requests/{req.id}")
    await call(http, world, "GET", f"/api/requests/{req.id}", headers={"Authorization": "x"})
    await move(http, world, req, status="searching")
    await call(http, world, "GET", "/healthz", headers=None)

    assert redact(f"token {TOKEN}") == f"token {MASK}"  # registered with the log filter
    records = caplog.records
    assert any(r.name == "core.inbound.access" for r in records)  # the access log was on
    assert any("refused" in r.getMessage() for r in records)
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        assert TOKEN not in text and "Authorization" not in text, record


async def test_off_by_default(make_world: WorldFactory) -> None:
    async with make_world(http=HttpSettings()) as world:
        cog: Any = world.bot.get_cog("HttpApi")
        assert cog is not None and cog.server is None


async def test_the_server_stops_with_the_bot(
    make_world: WorldFactory, http: aiohttp.ClientSession
) -> None:
    async with make_world() as world:
        url = api_url(world)
        async with http.get(url + "/healthz") as resp:
            assert resp.status == 200
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(url + "/healthz"):
            pass


@pytest.mark.bot_errors(r"the inbound API cannot listen on 127\.0\.0\.1:\d+")
async def test_a_port_in_use_is_an_error_but_the_bot_runs(make_world: WorldFactory) -> None:
    with contextlib.closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        http = HttpSettings(listen=f"127.0.0.1:{port}", token=TOKEN)
        async with make_world(http=http, cogs=("cogs.http_api", "cogs.requests")) as world:
            cog: Any = world.bot.get_cog("HttpApi")
            assert cog.server is None and world.bot.is_ready()
