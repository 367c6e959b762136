"""End to end: `/setup plex|library|channel|approval|show` through the fake Discord and Plex."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator

import pytest

from core.config_store import (
    ADMIN_CHANNEL,
    AUTO_APPROVE,
    PLEX_LIBRARY,
    PLEX_MACHINE_ID,
    PLEX_TOKEN,
    PLEX_URL,
)
from core.models import ConfigEntry
from tests.e2e.helpers import show_to_everyone
from tests.e2e.world import World, WorldFactory
from tests.fakes.discord import MANAGE_GUILD, CommandNotVisible, FakeMessage

COGS = ("cogs.setup",)


pytestmark = pytest.mark.world(cogs=COGS, plex=False)


@pytest.fixture
async def configured(make_world: WorldFactory) -> AsyncIterator[World]:
    """A world where `/setup plex` and `/setup library` are done."""
    async with make_world(plex=True) as w:
        yield w


def pin(world: World, **plex: str) -> None:
    """Pretend config.toml set these [plex] keys (they pin the settings)."""
    settings = world.runtime.settings
    origins = dict(settings.origins)
    origins.update({f"plex.{key}": "file" for key in plex})
    world.runtime.settings = dataclasses.replace(
        settings, plex=dataclasses.replace(settings.plex, **plex), origins=origins
    )


def everything(message: FakeMessage) -> str:
    """Every byte the bot sent in the message (content, embeds, components), as JSON."""
    return json.dumps([message, *message.history], default=str)


SETUP_KEYS = {PLEX_URL, PLEX_TOKEN, PLEX_LIBRARY, PLEX_MACHINE_ID, ADMIN_CHANNEL, AUTO_APPROVE}


async def stored() -> dict[str, str]:
    """The settings `/setup` manages that are in the table (housekeeping rows left out)."""
    return {row.key: row.value for row in await ConfigEntry.filter(key__in=SETUP_KEYS)}


async def test_setup_commands_are_admin_only_in_discord_too(world: World) -> None:
    (setup,) = [c for c in world.fd.commands(world.guild) if c["name"] == "setup"]
    assert int(setup["default_member_permissions"]) == MANAGE_GUILD
    subcommands = {o["name"] for o in setup["options"]}
    assert subcommands == {
        "plex", "library", "channel", "approval", "show", "fulfil", "announce",
    }
    with pytest.raises(CommandNotVisible):
        await world.fd.slash(world.alice, world.guild, "setup show")


async def test_setup_plex_tests_the_server_then_stores_it(world: World) -> None:
    fd, pms = world.fd, world.pms
    inter = await fd.slash(
        world.boss, world.guild, "setup plex", url=pms.url + "/", token=pms.token
    )
    assert inter.is_ephemeral
    msg = await inter.wait_for_edit(lambda m: "Connected" in m.content)
    assert "`1` = Audiobooks" in msg.content  # the music library, not the movie one
    assert "Movies" not in msg.content
    assert "/setup library" in msg.content
    assert pms.token not in everything(msg)

    store = world.runtime.store
    assert await store.get(PLEX_URL) == pms.url  # trailing slash dropped
    assert await store.get(PLEX_TOKEN) == pms.token
    assert await store.get(PLEX_MACHINE_ID) == pms.machine_identifier
    raw = await ConfigEntry.get(key=PLEX_TOKEN)
    assert raw.encrypted and pms.token not in raw.value


async def test_setup_plex_with_a_bad_token_stores_nothing(world: World) -> None:
    inter = await world.fd.slash(
        world.boss, world.guild, "setup plex", url=world.pms.url, token="not-the-right-token"
    )
    msg = await inter.wait_for_edit(lambda m: "Nothing was saved" in m.content)
    assert "refused the token" in msg.content
    assert "not-the-right-token" not in everything(msg)
    assert await stored() == {}


async def test_setup_plex_with_an_unreachable_server_stores_nothing(world: World) -> None:
    inter = await world.fd.slash(
        world.boss, world.guild, "setup plex", url="http://127.0.0.1:9", token=world.pms.token
    )
    msg = await inter.wait_for_edit(lambda m: "Nothing was saved" in m.content)
    assert "can't reach the Plex server" in msg.content
    assert "/identity" not in msg.content and "GET " not in msg.content  # the log has those
    assert world.pms.token not in everything(msg)
    assert PLEX_URL not in await stored() and PLEX_TOKEN not in await stored()


async def test_setup_plex_refuses_what_is_not_a_url(world: World) -> None:
    inter = await world.fd.slash(
        world.boss, world.guild, "setup plex", url="plex.local:32400", token=world.pms.token
    )
    assert "not a URL" in inter.original.content
    assert PLEX_URL not in await stored()


async def test_setup_plex_refuses_a_pinned_url(world: World) -> None:
    pin(world, url=world.pms.url)
    inter = await world.fd.slash(
        world.boss, world.guild, "setup plex", url="http://other:32400", token=world.pms.token
    )
    assert inter.is_ephemeral
    assert "config.toml" in inter.original.content or "[plex] url" in inter.original.content
    assert "change it there" in inter.original.content
    assert world.pms.token not in everything(inter.original)
    assert PLEX_URL not in await stored()
    assert world.pms.requests == []  # not even tested


async def test_setup_plex_on_another_server_unsets_the_library(configured: World) -> None:
    world = configured
    await world.runtime.store.set(PLEX_MACHINE_ID, "an-older-server")
    inter = await world.fd.slash(
        world.boss, world.guild, "setup plex", url=world.pms.url, token=world.pms.token
    )
    msg = await inter.wait_for_edit(lambda m: "Connected" in m.content)
    assert "library was unset" in msg.content
    assert await world.runtime.store.get(PLEX_LIBRARY) is None


async def test_non_admin_is_refused_by_the_bot(world: World) -> None:
    """Discord hides /setup from alice; a forged call must still be refused by the bot."""
    fd = world.fd
    inter = await fd.slash(
        world.alice, world.guild, "setup plex", url=world.pms.url, token=world.pms.token,
        force=True,
    )
    assert inter.is_ephemeral and "admins only" in inter.original.content
    inter = await fd.slash(world.alice, world.guild, "setup approval", auto=True, force=True)
    assert "admins only" in inter.original.content
    inter = await fd.slash(world.alice, world.guild, "setup show", force=True)
    assert "admins only" in inter.original.content and not inter.original.embeds
    assert await stored() == {}
    assert not await world.runtime.requests.auto_approve()


async def test_admin_role_counts_as_admin(world: World) -> None:
    fd = world.fd
    role = fd.add_role(world.guild, "librarian")
    carol = fd.add_member(world.guild, "carol", roles=[role])
    settings = world.runtime.settings
    world.runtime.settings = dataclasses.replace(
        settings, discord=dataclasses.replace(settings.discord, admin_role_ids=(role.id,))
    )
    inter = await fd.slash(carol, world.guild, "setup approval", auto=True, force=True)
    assert "Auto-approve is **on**" in inter.original.content
    assert await world.runtime.requests.auto_approve()


async def test_setup_library_autocompletes_music_libraries(configured: World) -> None:
    world = configured
    world.pms.add_album("Dune", "Frank Herbert")
    world.pms.add_album("Hyperion", "Dan Simmons")
    choices = await world.fd.autocomplete(world.boss, world.guild, "setup library", "library", "")
    assert choices.values == [world.pms.section_id]
    assert choices.names == ["Audiobooks (music, 2 books)"]
    assert choices.latency < 3
    none = await world.fd.autocomplete(world.boss, world.guild, "setup library", "library", "zz")
    assert none == []


async def test_setup_library_autocomplete_is_empty_for_non_admins(configured: World) -> None:
    world = configured
    show_to_everyone(world, "setup")
    choices = await world.fd.autocomplete(world.alice, world.guild, "setup library", "library", "")
    assert choices == []
    assert not [r for r in world.pms.requests if r.path == "/library/sections"]


async def test_setup_library_without_plex_says_so(world: World) -> None:
    choices = await world.fd.autocomplete(world.boss, world.guild, "setup library", "library", "")
    assert choices == []
    inter = await world.fd.slash(world.boss, world.guild, "setup library", library="1")
    assert inter.is_ephemeral and "/setup plex" in inter.original.content
    assert PLEX_LIBRARY not in await stored()


async def test_setup_library_stores_a_music_library(configured: World) -> None:
    world = configured
    await world.runtime.store.delete(PLEX_LIBRARY)
    inter = await world.fd.slash(world.boss, world.guild, "setup library", library="1")
    msg = await inter.wait_for_edit(lambda m: "Audiobook library" in m.content)
    assert inter.is_ephemeral and "/admin scan" in msg.content
    assert await world.runtime.store.get(PLEX_LIBRARY) == "1"


async def test_setup_library_refuses_a_movie_or_unknown_library(configured: World) -> None:
    world = configured
    await world.runtime.store.delete(PLEX_LIBRARY)
    movies = world.pms.movie_section_id
    inter = await world.fd.slash(world.boss, world.guild, "setup library", library=movies)
    msg = await inter.wait_for_edit(lambda m: "Nothing was saved" in m.content)
    assert "movie library" in msg.content and "`1` = Audiobooks" in msg.content
    inter = await world.fd.slash(world.boss, world.guild, "setup library", library="42")
    msg = await inter.wait_for_edit(lambda m: "Nothing was saved" in m.content)
    assert "no library `42`" in msg.content
    assert await world.runtime.store.get(PLEX_LIBRARY) is None


async def test_setup_library_refuses_a_pinned_library(configured: World) -> None:
    world = configured
    pin(world, library_id="1")
    inter = await world.fd.slash(world.boss, world.guild, "setup library", library="2")
    assert "change it there" in inter.original.content
    assert await world.runtime.store.get(PLEX_LIBRARY) == "1"


async def test_setup_channel_and_approval(world: World) -> None:
    fd = world.fd
    channel = fd.channels[world.admin_channel_id]
    inter = await fd.slash(world.boss, world.guild, "setup channel", channel=channel)
    assert inter.is_ephemeral and f"<#{channel.id}>" in inter.original.content
    assert await world.runtime.store.get(ADMIN_CHANNEL) == str(channel.id)

    inter = await fd.slash(world.boss, world.guild, "setup approval", auto=True)
    assert inter.is_ephemeral and "on" in inter.original.content
    assert await world.runtime.requests.auto_approve()
    await fd.slash(world.boss, world.guild, "setup approval", auto=False)
    assert not await world.runtime.requests.auto_approve()


async def test_setup_show_masks_the_token_and_names_sources(configured: World) -> None:
    world = configured
    fd = world.fd
    await world.runtime.store.set(ADMIN_CHANNEL, str(world.admin_channel_id))
    pin(world, url=world.pms.url)  # the URL now "comes from" the config file
    inter = await fd.slash(world.boss, world.guild, "setup show")
    assert inter.is_ephemeral
    msg = inter.original
    assert world.pms.token not in everything(msg)
    embed = msg.embeds[0]
    assert embed["description"].startswith("✅ Plex · ✅ Library · ✅ Channel · Auto-approve off")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    url_line, token_line = fields["Plex server"].splitlines()
    assert world.pms.url in url_line and "📌 config.toml" in url_line  # pinned: says where
    assert token_line.startswith("token ***") and "(set, " in token_line
    assert "📌" not in token_line  # stored by /setup: nothing to say
    assert "`1`" in fields["Audiobook library"]
    assert world.pms.machine_identifier in embed["footer"]["text"]
    assert f"<#{world.admin_channel_id}>" in fields["Admin channel"]
    assert "every 5 min" in fields["Scans"] and "every 6 h" in fields["Scans"]
    assert "`us`" in fields["Requests"]
    assert fields["Who is admin"] == "Manage Server"
    assert msg["allowed_mentions"] == {"parse": []} or not msg["allowed_mentions"].get("parse")


async def test_setup_show_masks_a_pinned_token(world: World) -> None:
    pin(world, url=world.pms.url, token=world.pms.token)
    inter = await world.fd.slash(world.boss, world.guild, "setup show")
    assert world.pms.token not in everything(inter.original)
    fields = {f["name"]: f["value"] for f in inter.original.embeds[0]["fields"]}
    token_line = fields["Plex server"].splitlines()[1]
    assert "📌 config.toml" in token_line and "(set, " in token_line
