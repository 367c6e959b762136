"""End to end: `/setup fulfil` tests the backend before it saves anything, over real sockets.

The fake ReadMeABook checks the token; the fake webhook receiver checks the
signature. A refused or unreachable backend saves nothing, a pinned key is
refused untested, and `/setup show` says where approved requests go.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from core.config_store import FULFIL_BACKEND, FULFIL_SECRET, FULFIL_TOKEN, FULFIL_URL
from core.models import ConfigEntry
from tests.e2e.world import World
from tests.fakes.discord import FakeMessage
from tests.fakes.rmab import FakeRmab, FakeWebhook, free_port

pytestmark = pytest.mark.world(plex=False)
KEYS = (FULFIL_BACKEND, FULFIL_URL, FULFIL_TOKEN, FULFIL_SECRET)


@pytest.fixture
async def rmab() -> AsyncIterator[FakeRmab]:
    async with FakeRmab() as fake:
        yield fake


@pytest.fixture
async def hook() -> AsyncIterator[FakeWebhook]:
    async with FakeWebhook() as fake:
        yield fake


async def saved() -> dict[str, str]:
    return {row.key: row.value for row in await ConfigEntry.filter(key__in=KEYS)}


def everything(message: FakeMessage) -> str:
    return json.dumps([message, *message.history], default=str)


async def setup_fulfil(world: World, **options: str) -> FakeMessage:
    inter = await world.fd.slash(world.boss, world.guild, "setup fulfil", **options)
    assert inter.is_ephemeral
    return await inter.wait_for_edit(lambda m: m.content.startswith(("✅", "❌")))


async def test_rmab_token_is_tested_then_saved(world: World, rmab: FakeRmab) -> None:
    msg = await setup_fulfil(world, backend="readmeabook", url=rmab.url, token=rmab.token)

    assert "**earmark-bot**" in msg.content and "role user" in msg.content
    assert "auto-approve" in msg.content
    assert [c.path for c in rmab.calls] == ["/api/auth/me"]
    stored = await saved()
    assert stored[FULFIL_BACKEND] == "readmeabook" and stored[FULFIL_URL] == rmab.url
    assert rmab.token not in stored[FULFIL_TOKEN]  # encrypted at rest
    assert (await world.runtime.fulfil.config()).token == rmab.token
    assert rmab.token not in everything(msg)


async def test_a_refused_rmab_token_saves_nothing(world: World, rmab: FakeRmab) -> None:
    msg = await setup_fulfil(world, backend="readmeabook", url=rmab.url,
                             token="rmab_not_the_right_one")

    assert "refused the credentials" in msg.content and "Nothing was saved" in msg.content
    assert "rmab_not_the_right_one" not in everything(msg)
    assert await saved() == {}


async def test_an_unreachable_url_saves_nothing(world: World) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    msg = await setup_fulfil(world, backend="readmeabook", url=url, token="rmab_some_token_1")

    assert msg.content.startswith("❌ The test failed") and "Nothing was saved" in msg.content
    assert await saved() == {}


async def test_a_webhook_that_takes_the_signed_test_is_saved(
    world: World, hook: FakeWebhook
) -> None:
    msg = await setup_fulfil(world, backend="webhook", url=f"{hook.url}/hook",
                             secret=hook.secret)

    assert "signed test delivery (204)" in msg.content
    [got] = hook.received
    assert got["event"] == "ping" and hook.rejected == 0
    stored = await saved()
    assert stored[FULFIL_BACKEND] == "webhook" and stored[FULFIL_URL] == f"{hook.url}/hook"
    assert hook.secret not in stored[FULFIL_SECRET]


async def test_a_webhook_answering_500_is_refused(world: World, hook: FakeWebhook) -> None:
    hook.fail = 1
    msg = await setup_fulfil(world, backend="webhook", url=f"{hook.url}/hook",
                             secret=hook.secret)

    assert msg.content.startswith("❌ The test failed") and "Nothing was saved" in msg.content
    assert hook.secret not in everything(msg)
    assert await saved() == {}


async def test_a_pinned_backend_is_refused_untested(world: World, rmab: FakeRmab) -> None:
    settings = world.runtime.settings
    world.runtime.settings = dataclasses.replace(
        settings, fulfil=dataclasses.replace(settings.fulfil, backend="none"),
        origins={**settings.origins, "fulfil.backend": "file"},
    )
    inter = await world.fd.slash(world.boss, world.guild, "setup fulfil",
                                 backend="readmeabook", url=rmab.url, token=rmab.token)

    assert inter.is_ephemeral and "change it there" in inter.original.content
    assert rmab.calls == [] and await saved() == {}


async def test_setup_show_says_where_requests_go(world: World, rmab: FakeRmab) -> None:
    def requests_field(message: FakeMessage) -> str:
        fields = {f["name"]: f["value"] for f in message.embeds[0]["fields"]}
        return fields["Requests"]

    before = await world.fd.slash(world.boss, world.guild, "setup show")
    assert "fulfilment off (`/setup fulfil`)" in requests_field(before.original)

    await setup_fulfil(world, backend="readmeabook", url=rmab.url, token=rmab.token)
    after = await world.fd.slash(world.boss, world.guild, "setup show")

    line = requests_field(after.original)
    assert f"handed to readmeabook → `{rmab.url}`" in line and "***" in line
    assert rmab.token not in everything(after.original)
