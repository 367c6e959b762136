"""What an admin sees of `/setup` (issue 12, point 9).

`/setup show` is a checklist ("✅ Plex · ✅ Library · ✅ Channel · Auto-approve
off") over a few compact inline fields, saying where a pinned value comes
from; the step that completes the checklist ends with "Setup complete —
next: `/admin scan mode:full`", whichever of plex/library/channel it is.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.e2e.world import World

pytestmark = pytest.mark.world(cogs=("cogs.setup",))

COMPLETE = "Setup complete — next: `/admin scan mode:full`"


async def show(world: World) -> dict[str, object]:
    inter = await world.fd.slash(world.boss, world.guild, "setup show")
    assert inter.is_ephemeral
    (embed,) = inter.original.embeds
    return embed


@pytest.mark.world(plex=False)
async def test_show_on_a_fresh_install_is_a_checklist_with_the_next_step(world: World) -> None:
    embed = await show(world)

    description = str(embed["description"])
    assert description.splitlines() == [
        "❌ Plex · ❌ Library · ❌ Channel · Auto-approve off",
        "Next: `/setup plex`",
    ]
    fields = embed["fields"]
    assert isinstance(fields, list) and len(fields) <= 6
    assert all(f["inline"] for f in fields)
    shown = str(embed)
    assert "from default" not in shown and "(not set)" not in shown
    assert str(world.guild.id) not in shown  # IDs only where useful
    values = {f["name"]: f["value"] for f in fields}
    assert values["Plex server"] == "not set: `/setup plex`"
    assert values["Admin channel"] == "not set: `/setup channel`"


async def test_show_names_an_environment_pin(world: World) -> None:
    settings = world.runtime.settings
    world.runtime.settings = dataclasses.replace(
        settings,
        plex=dataclasses.replace(settings.plex, url=world.pms.url),
        origins={**settings.origins, "plex.url": "env"},
    )

    embed = await show(world)

    url_line = {f["name"]: f["value"] for f in embed["fields"]}["Plex server"].splitlines()[0]
    assert "📌 `EARMARK_PLEX_URL`" in url_line
    assert str(embed["description"]).startswith("✅ Plex · ✅ Library · ❌ Channel")
    assert "Next: `/setup channel`" in str(embed["description"])


@pytest.mark.world(plex=False)
async def test_the_library_step_completes_setup_when_it_comes_last(world: World) -> None:
    fd = world.fd
    channel = fd.channels[world.admin_channel_id]
    inter = await fd.slash(world.boss, world.guild, "setup channel", channel=channel)
    assert inter.original.content.endswith("Next: `/setup plex`")

    inter = await fd.slash(
        world.boss, world.guild, "setup plex", url=world.pms.url, token=world.pms.token
    )
    msg = await inter.wait_for_edit(lambda m: "Connected" in m.content)
    assert msg.content.endswith("Next: choose the audiobook library with `/setup library`.")
    assert COMPLETE not in msg.content

    inter = await fd.slash(world.boss, world.guild, "setup library", library="1")
    msg = await inter.wait_for_edit(lambda m: "Audiobook library" in m.content)
    assert COMPLETE in msg.content

    embed = await show(world)
    assert str(embed["description"]).splitlines() == [
        "✅ Plex · ✅ Library · ✅ Channel · Auto-approve off", COMPLETE,
    ]


async def test_the_channel_step_completes_setup_when_it_comes_last(world: World) -> None:
    channel = world.fd.channels[world.admin_channel_id]

    inter = await world.fd.slash(world.boss, world.guild, "setup channel", channel=channel)

    assert inter.original.content.endswith(COMPLETE)


async def test_a_library_chosen_before_the_channel_points_at_the_channel(world: World) -> None:
    inter = await world.fd.slash(world.boss, world.guild, "setup library", library="1")
    msg = await inter.wait_for_edit(lambda m: "Audiobook library" in m.content)

    assert "Next: `/setup channel`, then `/admin scan mode:full`" in msg.content
    assert COMPLETE not in msg.content
