"""The fake Discord's bad days, checked against the real discord.py client.

Rate limits (per route and global), 5xx bursts, slow answers and the
`enforce_nonce` rule must look to discord.py the way Discord's do, or the
outbox tests built on them prove nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import discord
import pytest

from tests.fakes.discord import FakeDiscord, FakeUser


@dataclass
class Setup:
    fd: FakeDiscord
    client: discord.Client
    alice: FakeUser


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    async with FakeDiscord() as fd:
        guild = fd.add_guild("Books")
        alice = fd.add_member(guild, "alice")
        client = discord.Client(intents=discord.Intents.default())
        await fd.start_bot(client)
        yield Setup(fd, client, alice)
        await fd.stop_bot()


async def dm(s: Setup, text: str, nonce: str | None = None) -> discord.Message:
    channel = await s.client.create_dm(discord.Object(id=s.alice.id))
    if nonce is None:
        return await channel.send(text)
    return await channel.send(text, nonce=nonce)


async def test_per_route_429_is_waited_out_by_discord_py(setup: Setup) -> None:
    setup.fd.faults.rate_limit(0.3)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await dm(setup, "hello")
    assert loop.time() - start >= 0.3
    assert [m.text for m in setup.fd.dms[setup.alice.id]] == ["hello"]
    statuses = [r.status for r in setup.fd.requests if r.path.endswith("/messages")]
    assert statuses == [429, 200]


async def test_global_429_holds_every_route_until_it_ends(setup: Setup) -> None:
    setup.fd.faults.rate_limit(0.4, scope="global")
    loop = asyncio.get_running_loop()
    start = loop.time()
    first = asyncio.create_task(dm(setup, "first"))
    await setup.fd.wait_until(lambda: setup.fd.faults.fired != [], what="the global 429")
    other = await setup.client.fetch_user(setup.alice.id)  # any route waits for the window
    assert other.id == setup.alice.id and loop.time() - start >= 0.35
    await first
    assert [m.text for m in setup.fd.dms[setup.alice.id]] == ["first"]


async def test_5xx_burst_is_retried_by_discord_py(setup: Setup) -> None:
    setup.fd.faults.fail(502)  # discord.py waits 1 s, then 3 s: one is enough
    await dm(setup, "after the burst")
    assert [m.text for m in setup.fd.dms[setup.alice.id]] == ["after the burst"]


async def test_same_nonce_returns_the_first_message(setup: Setup) -> None:
    one = await dm(setup, "once", nonce="row-1")
    two = await dm(setup, "once", nonce="row-1")
    three = await dm(setup, "other", nonce="row-2")
    assert one.id == two.id != three.id
    assert [m.text for m in setup.fd.dms[setup.alice.id]] == ["once", "other"]
    assert setup.fd.nonces.replays == 1


async def test_stored_then_lost_answer_with_nonce_is_one_message(setup: Setup) -> None:
    """Discord stored it, the answer was a 502: discord.py resends the same payload."""
    setup.fd.faults.fail(502, after_store=True)
    await dm(setup, "stored once", nonce="row-7")
    assert len(setup.fd.dms[setup.alice.id]) == 1


async def test_a_resend_without_our_nonce_doubles(setup: Setup) -> None:
    """Why the outbox passes its own nonce: discord.py draws a new random one per send()."""
    await dm(setup, "twice")
    await dm(setup, "twice")
    assert len(setup.fd.dms[setup.alice.id]) == 2


async def test_slow_answer_stores_at_once(setup: Setup) -> None:
    setup.fd.faults.slow(0.5)
    task = asyncio.create_task(dm(setup, "slow"))
    await setup.fd.wait_for_dm(setup.alice, timeout=0.4)
    assert not task.done()
    await task
