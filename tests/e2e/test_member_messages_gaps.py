"""The last gaps of issue 12, as a member sees them: no Status field under the `/request`
heading, a picker that names the narrator once, `/recommend`'s login button, the Listen
button after `/admin status`, and `/library` for a series.

The real bot (every cog) against the fakes; each test asserts what the fake
Discord recorded.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_member_messages import PHM, fields, request
from tests.e2e.world import World

pytestmark = pytest.mark.world(admin_channel=True)


async def test_request_reply_says_the_state_in_its_heading_only(world: World) -> None:
    await world.link(world.alice)

    reply = await request(world, world.alice)

    assert reply.embeds[0]["description"].startswith("Requested.")
    assert "Status" not in fields(reply) and "Pending" not in reply.text


async def test_picker_option_does_not_repeat_the_narrator(world: World) -> None:
    await world.link(world.alice)
    world.audible.add_product(
        asin="B0SERIES01", title="Leviathan Wakes", authors=["James S. A. Corey"],
        narrators=["Jefferson Mays"], series=[("The Expanse", "1")],
    )

    inter = await world.fd.slash(world.alice, world.guild, "request", title="hail mary")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))
    phm = next(o for o in menu.selects[0]["options"] if o["value"] == PHM)
    assert "Ray Porter" in phm["label"] and "Ray Porter" not in (phm.get("description") or "")

    inter = await world.fd.slash(world.alice, world.guild, "request", title="leviathan")
    menu = await inter.wait_for_edit(lambda m: bool(m.selects))
    (wakes,) = menu.selects[0]["options"]
    assert "Jefferson Mays" in wakes["label"]
    assert wakes["description"] == "The Expanse #1"  # what the label does not say


async def test_recommend_refuses_an_unlinked_member_with_the_login_button(world: World) -> None:
    inter = await world.fd.slash(world.alice, world.guild, "recommend")

    assert inter.is_ephemeral and "/login" in inter.original.content
    assert "run `/recommend` again" in inter.original.content
    login = await world.fd.click(world.alice, inter.original, label="Link your Plex account")
    prompt = await login.wait_for_edit(lambda m: bool(m.buttons))
    (sign_in,) = prompt.buttons
    assert sign_in["label"] == "Sign in with Plex" and prompt.is_ephemeral
