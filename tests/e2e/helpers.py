"""Helpers that several e2e test modules share, so that no test module imports another.

Request rows and owed notifications as the request service would have made
them, the loaded outbox worker, and what the bot sent to Discord; a member's
`/request` and the admin post it makes, Project Hail Mary put in Plex and the
Listen link to it; the fulfilment backend chosen and an approved request.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import quote

import pytest

from cogs.notify import Notify
from core import notify
from core.config_store import FULFIL_BACKEND, FULFIL_URL
from core.models import BookRequest, Notification, RequestStatus, RequestSubscriber, User
from core.notify import request_payload
from tests.e2e.world import World
from tests.fakes.discord import FakeMessage, FakeUser

PHM = "B08G9PRS1K"  # Project Hail Mary (a real product fixture): 970 min, 2021


def worker(w: World) -> Notify:
    """The loaded cog (load_extension runs its own copy of the module: no isinstance)."""
    cog = w.bot.get_cog("Notify")
    assert cog is not None and type(cog).__name__ == "Notify"
    return cog  # type: ignore[return-value]


async def add_request(
    user: FakeUser,
    title: str,
    *,
    asin: str = PHM,
    author: str = "Andy Weir",
    status: RequestStatus = RequestStatus.APPROVED,
    **fields: Any,
) -> BookRequest:
    """A request row straight in the database, by `user` (linked or not)."""
    row, _ = await User.get_or_create(discord_id=user.id)
    return await BookRequest.create(
        requester=row, asin=asin, title=title, author=author, status=status, **fields
    )


async def make_request(
    w: World,
    user: FakeUser,
    title: str,
    *,
    author: str = "Andy Weir",
    status: RequestStatus = RequestStatus.APPROVED,
    subscribers: tuple[FakeUser, ...] = (),
) -> BookRequest:
    """A request by a linked `user` (and linked subscribers), with narrator and cover."""
    for person in (user, *subscribers):
        await w.link(person)
    req = await add_request(
        user, title, author=author, status=status,
        narrator="Ray Porter", cover_url="https://m.media-amazon.com/images/I/cover.jpg",
    )
    for person in subscribers:
        await RequestSubscriber.create(request=req, user_id=person.id)
    return req


async def owe(user: FakeUser, req: BookRequest, kind: str, **extra: Any) -> None:
    """Queue a notification row for `user`, as a state change would; it must be new."""
    added = await notify.queue(user.id, kind, request_payload(req, **extra), request_id=req.id)
    assert added


async def all_sent() -> bool:
    """Every outbox row is marked sent."""
    return await Notification.filter(sent_at=None).count() == 0


def everything_sent(w: World) -> str:
    """Every payload the bot sent to Discord, as one string (to look for a secret in)."""
    return "\n".join(json.dumps(r.json, default=str) for r in w.fd.requests)


def spy_store_reads(w: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The keys the bot reads from the config store from now on (to show one is never read)."""
    asked: list[str] = []
    real_get = w.runtime.store.get

    async def spy(key: str) -> str | None:
        asked.append(key)
        return await real_get(key)

    monkeypatch.setattr(w.runtime.store, "get", spy)
    return asked


def assert_never_shown(w: World, records: list[logging.LogRecord], *secrets: str) -> None:
    """No secret in anything the bot sent to Discord, nor in any log record."""
    sent = everything_sent(w)
    for secret in secrets:
        assert secret not in sent
    for record in records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in secrets:
            assert secret not in text, record


def index_never_ready(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """First start on a big library: the matcher's index is dropped and its build never ends."""

    async def slow_build() -> object:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    w.runtime.scans.invalidate_index()
    monkeypatch.setattr(w.runtime.scans, "_build_index", slow_build)


def show_to_everyone(w: World, name: str) -> None:
    """What a guild admin can do in Discord's Integrations settings: unhide a command."""
    (cmd,) = [c for c in w.fd.commands(w.guild) if c["name"] == name]
    cmd["default_member_permissions"] = None


# -- a member's request and the admin post (the requests cog) ---------------------------------


async def shelve_phm(world: World) -> str:
    album = world.pms.add_album(
        "Project Hail Mary", "Andy Weir", narrators=["Ray Porter"], year=2021,
        guid=f"com.plexapp.agents.audnexus://{PHM}_us?lang=en",
    )
    await world.runtime.scans.run("full")
    return album.rating_key


async def request(world: World, user: FakeUser, title: str = PHM) -> FakeMessage:
    """`/request title:` and its reply, once the handler is done (the admin post after it)."""
    done = world.command_done("request")
    inter = await world.fd.slash(user, world.guild, "request", title=title)
    reply = await inter.wait_for_edit(lambda m: bool(m.embeds))
    await done
    return reply


async def requested(world: World) -> tuple[BookRequest, FakeMessage]:
    """Alice requests Project Hail Mary; returns the row and the admin post."""
    await world.link(world.alice)
    handled = world.command_done("request")
    inter = await world.fd.slash(world.alice, world.guild, "request", title=PHM)
    await inter.wait_for_edit(lambda m: bool(m.embeds))
    post = await world.fd.wait_for_message(world.admin_channel_id, lambda m: bool(m.buttons))
    await handled  # the post's id is stored after it is sent: refreshes need it
    (req,) = await BookRequest.all()
    return req, post


def listen_link(world: World, rating_key: str) -> str:
    key = quote(f"/library/metadata/{rating_key}", safe="")
    return (
        f"https://app.plex.tv/desktop/#!/server/{world.pms.machine_identifier}/details?key={key}"
    )


def fields(message: FakeMessage) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message.embeds[0].get("fields", [])}


# -- fulfilment (the fulfil cog) ---------------------------------------------------------------


def quicken(world: World) -> None:
    cog: Any = world.bot.get_cog("Fulfil")  # the extension's own class (loaded anew)
    assert cog is not None
    cog.deliver_interval = 0.1
    cog.sync_interval = 0.2
    cog.poke()


async def use(world: World, backend: str, url: str, key: str, value: str) -> None:
    """Choose the fulfilment backend (as `/setup fulfil` stores it) and run the jobs fast."""
    store = world.runtime.store
    await store.set(FULFIL_BACKEND, backend)
    await store.set(FULFIL_URL, url)
    await store.set(key, value)
    quicken(world)


async def approved(world: World, asin: str = PHM) -> BookRequest:
    """Alice (linked on first use) requests `asin`; the boss approves it with /admin."""
    if not await User.filter(discord_id=world.alice.id).exists():
        await world.link(world.alice)
    mine = await world.fd.slash(world.alice, world.guild, "request", title=asin)
    await mine.wait_for_edit(lambda m: bool(m.embeds))
    req = await BookRequest.get(asin=asin)
    await world.fd.slash(world.boss, world.guild, "admin approve", request_id=req.id)
    return req
