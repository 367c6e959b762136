"""State objects of the fake Discord and the JSON payloads built from them.

Everything here is plain data: users, guilds, channels, roles, the messages
the bot sent (``FakeMessage``, a ``dict`` in Discord's own message shape) and
the interactions a test started (``FakeInteraction``). The server and the
harness in ``server.py`` / ``harness.py`` own the behaviour.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .harness import FakeDiscord

DISCORD_EPOCH_MS = 1_420_070_400_000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
USE_EXTERNAL_EMOJIS = 1 << 18
USE_APPLICATION_COMMANDS = 1 << 31
ALL_PERMISSIONS = (1 << 53) - 1

EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Channel types.
GUILD_TEXT = 0
DM = 1
GUILD_VOICE = 2
GUILD_CATEGORY = 4

# Interaction types.
APPLICATION_COMMAND = 2
MESSAGE_COMPONENT = 3
AUTOCOMPLETE = 4
MODAL_SUBMIT = 5

_counter = itertools.count()


def snowflake() -> int:
    """A fresh, unique, time-ordered Discord snowflake."""
    ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    """The current time in Discord's ISO 8601 format."""
    return datetime.now(UTC).isoformat()


@dataclass(eq=False)
class FakeUser:
    """A Discord user (a person, or the bot itself)."""

    id: int
    name: str
    bot: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        """``<@id>``, as Discord renders a mention."""
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The user object as Discord sends it."""
        return {
            "id": str(self.id),
            "username": self.name,
            "global_name": self.global_name,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(eq=False)
class FakeRole:
    """A guild role."""

    id: int
    guild_id: int
    name: str
    permissions: int = 0
    position: int = 1
    managed: bool = False

    @property
    def mention(self) -> str:
        """``<@&id>``."""
        return f"<@&{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The role object as Discord sends it."""
        return {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass(eq=False)
class FakeChannel:
    """A guild channel or a DM channel."""

    id: int
    name: str
    type: int = GUILD_TEXT
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    recipient: FakeUser | None = None

    @property
    def mention(self) -> str:
        """``<#id>``."""
        return f"<#{self.id}>"

    def payload(self) -> dict[str, Any]:
        """The channel object as Discord sends it."""
        if self.type == DM:
            assert self.recipient is not None
            return {
                "id": str(self.id),
                "type": DM,
                "last_message_id": None,
                "recipients": [self.recipient.payload()],
            }
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "permission_overwrites": [],
            "nsfw": False,
            "flags": 0,
        }
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.type == GUILD_TEXT:
            data.update(topic=None, rate_limit_per_user=0, last_message_id=None)
        elif self.type == GUILD_VOICE:
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        return data


@dataclass(eq=False)
class FakeMember:
    """A user's membership in one guild."""

    user: FakeUser
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso_now)

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        """The guild member object as Discord sends it."""
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.roles],
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass(eq=False)
class FakeGuild:
    """A guild with its channels, roles and members."""

    id: int
    name: str
    owner_id: int
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    roles: dict[int, FakeRole] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    joined_at: str = field(default_factory=iso_now)

    @property
    def everyone(self) -> FakeRole:
        """The @everyone role (its id is the guild id)."""
        return self.roles[self.id]

    @property
    def text_channel(self) -> FakeChannel:
        """The first text channel (the default one ``add_guild`` creates)."""
        return next(c for c in self.channels.values() if c.type == GUILD_TEXT)

    def channel(self, name: str) -> FakeChannel:
        """The channel called ``name``."""
        for chan in self.channels.values():
            if chan.name == name:
                return chan
        raise KeyError(name)

    def role(self, name: str) -> FakeRole:
        """The role called ``name``."""
        for role in self.roles.values():
            if role.name == name:
                return role
        raise KeyError(name)

    def permissions_of(self, user_id: int) -> int:
        """Guild-level permissions of a member, computed from its roles."""
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        member = self.members.get(user_id)
        perms = self.everyone.permissions
        if member is not None:
            for role_id in member.roles:
                role = self.roles.get(role_id)
                if role is not None:
                    perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        return perms

    def payload(self) -> dict[str, Any]:
        """The full GUILD_CREATE guild object."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "premium_progress_bar_enabled": False,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "vanity_url_code": None,
            "features": [],
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.payload() for c in self.channels.values()],
            "threads": [],
            "members": [m.payload() for m in self.members.values()],
            "member_count": len(self.members),
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "large": False,
            "unavailable": False,
            "joined_at": self.joined_at,
            "application_id": None,
        }


def iter_components(components: list[dict[str, Any]] | None) -> Iterator[dict[str, Any]]:
    """Every component in a component tree, depth first (rows, sections, labels...)."""
    for comp in components or []:
        yield comp
        yield from iter_components(comp.get("components"))
        for key in ("accessory", "component"):
            if isinstance(comp.get(key), dict):
                yield from iter_components([comp[key]])


def is_ephemeral(message: dict[str, Any] | None) -> bool:
    """True when the message carries the EPHEMERAL flag."""
    return bool(message and int(message.get("flags") or 0) & FLAG_EPHEMERAL)


class FakeMessage(dict[str, Any]):
    """A message the bot sent, in Discord's message shape, kept current.

    Edits are applied in place (``history`` keeps the earlier versions), a
    delete sets ``deleted``. The dict also carries ``allowed_mentions`` as the
    bot sent it. ``files`` holds uploaded attachments as (filename, bytes).
    """

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(data)
        self.history: list[dict[str, Any]] = []
        self.deleted: bool = False
        self.files: list[tuple[str, bytes]] = []
        self.interaction: FakeInteraction | None = None

    @property
    def id(self) -> int:
        """The message id."""
        return int(self["id"])

    @property
    def channel_id(self) -> int:
        """The channel id."""
        return int(self["channel_id"])

    @property
    def content(self) -> str:
        """The text content ("" when none)."""
        return self.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        """The embeds as sent."""
        return self.get("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        """The top-level components as sent."""
        return self.get("components") or []

    @property
    def flags(self) -> int:
        """The message flags."""
        return int(self.get("flags") or 0)

    @property
    def is_ephemeral(self) -> bool:
        """Only the invoking user sees it."""
        return bool(self.flags & FLAG_EPHEMERAL)

    @property
    def is_loading(self) -> bool:
        """A deferred "Bot is thinking..." placeholder, not yet filled in."""
        return bool(self.flags & FLAG_LOADING)

    @property
    def edited(self) -> bool:
        """Edited at least once."""
        return bool(self.history)

    def all_components(self) -> list[dict[str, Any]]:
        """Every component, nested ones included."""
        return list(iter_components(self.components))

    @property
    def buttons(self) -> list[dict[str, Any]]:
        """Every button (type 2)."""
        return [c for c in self.all_components() if c.get("type") == 2]

    @property
    def selects(self) -> list[dict[str, Any]]:
        """Every select menu (types 3, 5, 6, 7, 8)."""
        return [c for c in self.all_components() if c.get("type") in (3, 5, 6, 7, 8)]

    @property
    def custom_ids(self) -> list[str]:
        """The custom_id of every interactive component."""
        return [c["custom_id"] for c in self.all_components() if "custom_id" in c]

    def component(
        self, custom_id: str | None = None, *, label: str | None = None
    ) -> dict[str, Any]:
        """The component with this custom_id (or button label); KeyError if none."""
        for comp in self.all_components():
            if custom_id is not None and comp.get("custom_id") == custom_id:
                return comp
            if label is not None and comp.get("label") == label:
                return comp
        raise KeyError(custom_id or label)

    @property
    def text(self) -> str:
        """Content plus every embed's visible text and text displays, for loose asserts."""
        parts = [self.content]
        for emb in self.embeds:
            parts += [
                (emb.get("author") or {}).get("name", ""),
                emb.get("title", ""),
                emb.get("description", ""),
            ]
            for fld in emb.get("fields", []):
                parts += [fld.get("name", ""), fld.get("value", "")]
            parts.append((emb.get("footer") or {}).get("text", ""))
        for comp in self.all_components():
            if comp.get("type") == 10:  # text display
                parts.append(comp.get("content", ""))
        return "\n".join(p for p in parts if p)

    def __repr__(self) -> str:
        flags = []
        if self.is_ephemeral:
            flags.append("ephemeral")
        if self.is_loading:
            flags.append("loading")
        if self.deleted:
            flags.append("deleted")
        return (
            f"<FakeMessage id={self['id']} {' '.join(flags)} content={self.content!r} "
            f"embeds={len(self.embeds)} custom_ids={self.custom_ids}>"
        )


class Choices(list[dict[str, Any]]):
    """Autocomplete choices ({"name", "value"} dicts) with the measured latency."""

    def __init__(self, choices: list[dict[str, Any]], latency: float) -> None:
        super().__init__(choices)
        self.latency = latency

    @property
    def names(self) -> list[str]:
        """The choice names, in order."""
        return [c["name"] for c in self]

    @property
    def values(self) -> list[Any]:
        """The choice values, in order."""
        return [c["value"] for c in self]


class FakeInteraction:
    """One interaction a test started, and everything the bot did with it.

    ``response`` is the initial callback as the bot sent it (``{"type", "data"}``);
    ``original`` the message it created (type 4, or the "thinking" placeholder
    of type 5) or, for a button/select answered with type 6/7, the clicked
    message itself (``source_message``), which is also what ``@original``
    edits then touch; ``followups`` the follow-up messages. All are live:
    edits are applied in place as the bot makes them.
    """

    def __init__(
        self,
        fake: FakeDiscord,
        payload: dict[str, Any],
        user: FakeUser,
        guild: FakeGuild | None,
        channel: FakeChannel,
        *,
        source_message: FakeMessage | None = None,
    ) -> None:
        self._fake = fake
        self.payload = payload
        self.id: int = int(payload["id"])
        self.token: str = payload["token"]
        self.type: int = payload["type"]
        self.user = user
        self.guild = guild
        self.channel = channel
        self.source_message = source_message
        self.created_at: float = asyncio.get_running_loop().time()
        self.responded_at: float | None = None
        self.response: dict[str, Any] | None = None
        self.original: FakeMessage | None = None
        self.followups: list[FakeMessage] = []
        self.choices: Choices | None = None
        self.modal: dict[str, Any] | None = None
        self.expired: bool = False
        self.callback_errors: list[dict[str, Any]] = []

    @property
    def data(self) -> dict[str, Any]:
        """The interaction's ``data`` as sent to the bot."""
        return self.payload.get("data") or {}

    @property
    def response_type(self) -> int | None:
        """The callback type (4 message, 5 deferred, 6/7 update, 8 choices, 9 modal)."""
        return None if self.response is None else self.response["type"]

    @property
    def latency(self) -> float | None:
        """Seconds from INTERACTION_CREATE to the bot's callback."""
        if self.responded_at is None:
            return None
        return self.responded_at - self.created_at

    @property
    def deferred(self) -> bool:
        """The bot answered with a defer (type 5 or 6)."""
        return self.response_type in (5, 6)

    @property
    def is_ephemeral(self) -> bool:
        """The initial response is ephemeral."""
        if self.response is None:
            return False
        return bool(int((self.response.get("data") or {}).get("flags") or 0) & FLAG_EPHEMERAL)

    @property
    def messages(self) -> list[FakeMessage]:
        """The original response (if any) then the follow-ups, deleted ones left out."""
        msgs = ([self.original] if self.original is not None else []) + self.followups
        return [m for m in msgs if not m.deleted]

    @property
    def content(self) -> str:
        """The original response's content ("" when none yet)."""
        return self.original.content if self.original is not None else ""

    async def wait_for(self, pred: Callable[[FakeInteraction], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``pred(self)`` holds (checked on every change the bot makes)."""
        await self._fake.wait_until(lambda: pred(self), timeout=timeout, what=f"{self!r} condition")

    async def wait_for_response(self, timeout: float = 5.0) -> FakeInteraction:  # noqa: ASYNC109
        """Wait for the bot's initial callback."""
        await self._fake.wait_until(
            lambda: self.response is not None, timeout=timeout, what=f"the response to {self!r}"
        )
        return self

    async def wait_for_edit(
        self,
        pred: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """Wait until the original response satisfies ``pred`` (default: edited at least once)."""

        def check() -> bool:
            msg = self.original
            if msg is None:
                return False
            return msg.edited if pred is None else bool(pred(msg))

        await self._fake.wait_until(check, timeout=timeout, what=f"an edit of {self!r}")
        assert self.original is not None
        return self.original

    async def wait_for_followup(
        self,
        pred: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """Wait for a follow-up matching ``pred`` (default: any) and return the first such."""

        def find() -> FakeMessage | None:
            return next((m for m in self.followups if pred is None or pred(m)), None)

        await self._fake.wait_until(
            lambda: find() is not None, timeout=timeout, what=f"a follow-up to {self!r}"
        )
        msg = find()
        assert msg is not None
        return msg

    def __repr__(self) -> str:
        what = self.data.get("name") or self.data.get("custom_id") or ""
        return (
            f"<FakeInteraction id={self.id} type={self.type} {what!r} "
            f"user={self.user.name!r} response_type={self.response_type}>"
        )
