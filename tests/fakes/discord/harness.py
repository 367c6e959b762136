"""``FakeDiscord``: the state, the server lifecycle and the "be a user" API."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import secrets
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import discord
import yarl
from aiohttp import web

from .gateway import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILDS,
    RECONNECT,
    Connection,
    GatewaySession,
    gateway_handler,
)
from .limits import Faults, Nonces
from .models import (
    ADMINISTRATOR,
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    DM,
    EVERYONE_PERMISSIONS,
    GUILD_TEXT,
    MANAGE_GUILD,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Choices,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMember,
    FakeMessage,
    FakeRole,
    FakeUser,
    iso_now,
    snowflake,
)
from .rest import RestApi

log = logging.getLogger(__name__)

BOT_PERMISSIONS = EVERYONE_PERMISSIONS
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024
SELECT_TYPES = (3, 5, 6, 7, 8)


class FakeDiscordError(Exception):
    """The test asked for something Discord would not allow, or the bot misbehaved."""


class FakeDiscordTimeout(FakeDiscordError, TimeoutError):
    """Waited in vain for the bot."""


class CommandNotVisible(FakeDiscordError):
    """Discord hides this command from this user (``default_member_permissions``)."""


@dataclass
class RequestRecord:
    """One REST request the bot made."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int
    error: Any = None


class _ErrorCollector(logging.Handler):
    """Keeps ERROR records logged while the fake runs (the bot's swallowed exceptions)."""

    def __init__(self, fake: FakeDiscord) -> None:
        super().__init__(logging.ERROR)
        self.fake = fake

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("tests."):
            return
        self.fake.bot_errors.append(record)
        self.fake.notify()


class _DMs(dict[int, list[FakeMessage]]):
    """``fake.dms[user_id]``: the messages the bot DM'd that user ([] when none)."""

    def __missing__(self, key: int) -> list[FakeMessage]:
        return []


class FakeDiscord:
    """A fake Discord (REST + gateway on 127.0.0.1) that the real discord.py talks to.

    Use as ``async with FakeDiscord() as fd:``; entering starts the server and
    points discord.py at it (``Route.BASE``, ``DiscordWebSocket.DEFAULT_GATEWAY``),
    leaving stops any running bot, the server, and restores both.
    """

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        bot_name: str = "Earmark",
        response_deadline: float = 3.0,
        heartbeat_interval: float = 41.25,
    ) -> None:
        self.token = token
        self.app_id = snowflake()
        self.bot_user = FakeUser(self.app_id, bot_name, bot=True)
        self.owner = FakeUser(snowflake(), "app-owner")
        self.users: dict[int, FakeUser] = {u.id: u for u in (self.bot_user, self.owner)}
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}
        self.messages: dict[int, FakeMessage] = {}
        self.closed_dms: set[int] = set()
        self.bot_public = False  # the Developer Portal's "Public Bot" switch
        self.left_guilds: list[int] = []  # guilds the bot left (DELETE /users/@me/guilds/{id})
        self.faults = Faults()  # planned 429s, outages, slow answers (`limits.py`)
        self.nonces = Nonces()  # Discord's enforce_nonce rule
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.interactions_by_token: dict[str, FakeInteraction] = {}
        self.requests: list[RequestRecord] = []
        self.unknown_routes: list[str] = []
        self.bot_errors: list[logging.LogRecord] = []
        self.session: GatewaySession | None = None
        self.gateway_connections: set[Connection] = set()
        self.response_deadline = response_deadline
        self.heartbeat_interval_ms = int(heartbeat_interval * 1000)
        self._channel_log: dict[int, list[FakeMessage]] = defaultdict(list)
        self._dm_channels: dict[int, FakeChannel] = {}
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._saved: tuple[str, yarl.URL] | None = None
        self._collector = _ErrorCollector(self)
        self.bot: discord.Client | None = None
        self._bot_task: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._port is None:
            raise FakeDiscordError("FakeDiscord is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """What ``discord.http.Route.BASE`` points to while the fake runs."""
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        """The gateway websocket URL."""
        return f"ws://127.0.0.1:{self._port}/"

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Start the server and patch discord.py to use it."""
        rest = RestApi(self)
        app = web.Application(middlewares=[rest.middleware])
        app.router.add_get("/", self._gateway)
        app.add_routes(rest.routes())
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = self.api_url
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        logging.getLogger().addHandler(self._collector)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        return await gateway_handler(self, request)

    async def close(self) -> None:
        """Stop the bot if one runs, stop the server, restore discord.py."""
        try:
            if self.bot is not None:
                await self.stop_bot()
        finally:
            for conn in list(self.gateway_connections):
                await conn.close(code=1001)
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None
            if self._saved is not None:
                discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = (
                    self._saved
                )
                self._saved = None
            logging.getLogger().removeHandler(self._collector)
            for _, fut in self._waiters:
                fut.cancel()
        if self.unknown_routes:
            warnings.warn(
                f"fake Discord got requests it does not implement: {self.unknown_routes}",
                stacklevel=2,
            )

    async def start_bot(
        self,
        bot: discord.Client,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109
        fast_ready: bool = True,
    ) -> None:
        """Run ``bot.start(token)`` in a task and wait until the bot is ready.

        ``fast_ready`` shortens discord.py's wait for late GUILD_CREATEs
        (``guild_ready_timeout``) to 0.1 s; the fake sends them all at once.
        """
        if self.bot is not None:
            raise FakeDiscordError("a bot is already running here; stop_bot() it first")
        if fast_ready:
            state = bot._connection
            state.guild_ready_timeout = min(state.guild_ready_timeout, 0.1)
        self.bot = bot
        self._bot_task = asyncio.create_task(bot.start(self.token), name="fake-discord-bot")
        self._bot_task.add_done_callback(lambda _: self.notify())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not bot.is_ready():
            if self._bot_task.done():
                task, self.bot, self._bot_task = self._bot_task, None, None
                exc = task.exception()
                raise FakeDiscordError(f"the bot stopped while starting: {exc!r}") from exc
            if loop.time() > deadline:
                await self.stop_bot()
                raise FakeDiscordTimeout(f"the bot was not ready after {timeout} s{self._errors()}")
            await asyncio.sleep(0.01)

    async def stop_bot(self, *, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Close the running bot cleanly and wait for its task."""
        bot, task = self.bot, self._bot_task
        self.bot, self._bot_task = None, None
        if bot is None or task is None:
            return
        await bot.close()
        try:
            async with asyncio.timeout(timeout):
                await task
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise FakeDiscordTimeout(f"the bot did not stop within {timeout} s") from None

    async def force_reconnect(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Send op 7 RECONNECT and wait until the bot has RESUMEd."""
        session = self._live_session()
        before = session.resumes
        assert session.conn is not None
        session.conn.send({"op": RECONNECT, "d": None})
        await self.wait_until(
            lambda: session.resumes > before and session.conn is not None,
            timeout=timeout,
            what="the bot to resume",
        )

    # -- waiting ----------------------------------------------------------------

    def notify(self) -> None:
        """Re-check every waiter (called on every change)."""
        crashed = self._bot_task is not None and self._bot_task.done()
        for pred, fut in list(self._waiters):
            if fut.done():
                continue
            try:
                if pred():
                    fut.set_result(None)
                elif crashed:
                    fut.set_exception(FakeDiscordError(f"the bot stopped{self._errors()}"))
            except Exception as exc:
                fut.set_exception(exc)

    async def wait_until(
        self,
        pred: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
        what: str = "a condition",
    ) -> None:
        """Wait until ``pred()`` holds; re-checked whenever the fake's state changes."""
        if pred():
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (pred, fut)
        self._waiters.append(entry)
        try:
            async with asyncio.timeout(timeout):
                await fut
        except TimeoutError:
            raise FakeDiscordTimeout(
                f"timed out after {timeout} s waiting for {what}{self._errors()}"
            ) from None
        finally:
            self._waiters.remove(entry)

    def assert_no_bot_errors(self) -> None:
        """Fail if the bot logged an ERROR (e.g. an exception its command tree swallowed)."""
        if self.bot_errors:
            raise FakeDiscordError(
                f"the bot logged {len(self.bot_errors)} error(s){self._errors()}"
            )

    def _errors(self) -> str:
        out = ""
        failed = [r for r in self.requests if r.status >= 400][-3:]
        if failed:
            out += "; the bot's last failed requests: " + " | ".join(
                f"{r.method} {r.path} -> {r.status} {r.error}" for r in failed
            )
        if self.bot_errors:
            lines = []
            for rec in self.bot_errors[-3:]:
                text = f"{rec.name}: {rec.getMessage()}"
                if rec.exc_info and rec.exc_info[1] is not None:
                    text += f" -- {rec.exc_info[1]!r}"
                lines.append(text)
            out += "; errors the bot logged: " + " | ".join(lines)
        return out

    # -- world building ---------------------------------------------------------

    def _live_session(self) -> GatewaySession:
        if self.session is None or self.session.conn is None:
            raise FakeDiscordError("no bot is connected to the gateway (await fd.start_bot(bot))")
        return self.session

    def _dispatch(self, event: str, data: dict[str, Any], intent: int = 0) -> None:
        session = self.session
        if session is not None and (not intent or session.intents & intent):
            session.dispatch(event, data)

    def add_user(self, name: str, *, bot: bool = False) -> FakeUser:
        """A Discord user that is not (yet) in any guild."""
        user = FakeUser(snowflake(), name, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(self, name: str = "Guild", *, channel: str = "general") -> FakeGuild:
        """A guild with @everyone, the bot (and its role), an owner and one text channel."""
        owner = self.add_user(f"{name}-owner")
        guild = FakeGuild(id=snowflake(), name=name, owner_id=owner.id)
        guild.roles[guild.id] = FakeRole(
            guild.id, guild.id, "@everyone", permissions=EVERYONE_PERMISSIONS, position=0
        )
        bot_role = FakeRole(snowflake(), guild.id, self.bot_user.name, BOT_PERMISSIONS, 1, True)
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = FakeMember(owner)
        guild.members[self.bot_user.id] = FakeMember(self.bot_user, roles=[bot_role.id])
        self.guilds[guild.id] = guild
        self._new_channel(guild, channel, GUILD_TEXT, None)
        # A join, not a lazy load after READY: Discord leaves out "unavailable" then.
        joined = {k: v for k, v in guild.payload().items() if k != "unavailable"}
        self._dispatch("GUILD_CREATE", joined, INTENT_GUILDS)
        return guild

    def remove_bot_from(self, guild_id: int) -> bool:
        """The bot leaves a guild (as Discord does on DELETE /users/@me/guilds/{id})."""
        guild = self.guilds.get(guild_id)
        if guild is None or self.bot_user.id not in guild.members:
            return False
        del guild.members[self.bot_user.id]
        self.left_guilds.append(guild_id)
        self._dispatch("GUILD_DELETE", {"id": str(guild_id)}, INTENT_GUILDS)
        return True

    def _new_channel(
        self, guild: FakeGuild, name: str, ctype: int, parent: FakeChannel | None
    ) -> FakeChannel:
        chan = FakeChannel(
            id=snowflake(),
            name=name,
            type=ctype,
            guild_id=guild.id,
            position=len(guild.channels),
            parent_id=parent.id if parent else None,
        )
        guild.channels[chan.id] = chan
        self.channels[chan.id] = chan
        return chan

    def add_channel(
        self,
        guild: FakeGuild,
        name: str,
        *,
        type: int = GUILD_TEXT,
        parent: FakeChannel | None = None,
    ) -> FakeChannel:
        """Another channel in ``guild`` (text by default)."""
        chan = self._new_channel(guild, name, type, parent)
        self._dispatch("CHANNEL_CREATE", chan.payload(), INTENT_GUILDS)
        return chan

    def add_role(self, guild: FakeGuild, name: str, *, permissions: int = 0) -> FakeRole:
        """A role in ``guild``."""
        role = FakeRole(snowflake(), guild.id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        self._dispatch(
            "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.payload()}, INTENT_GUILDS
        )
        return role

    def add_member(
        self,
        guild: FakeGuild,
        name: str | None = None,
        *,
        user: FakeUser | None = None,
        permissions: int = 0,
        manage_guild: bool = False,
        administrator: bool = False,
        roles: Sequence[FakeRole | int] = (),
        nick: str | None = None,
    ) -> FakeUser:
        """Put a (new, or the given) user into ``guild`` and return the user.

        ``permissions`` / ``manage_guild`` / ``administrator`` are granted the
        way Discord does it, through a role (named ``<name>-perms``), so the
        interaction's ``member.permissions`` and discord.py's cache agree.
        """
        if user is None:
            if name is None:
                raise FakeDiscordError("add_member needs a name or a user")
            user = self.add_user(name)
        role_ids = [r.id if isinstance(r, FakeRole) else int(r) for r in roles]
        perms = (
            permissions
            | (MANAGE_GUILD if manage_guild else 0)
            | (ADMINISTRATOR if administrator else 0)
        )
        if perms:
            role_ids.append(self.add_role(guild, f"{user.name}-perms", permissions=perms).id)
        member = FakeMember(user, roles=role_ids, nick=nick)
        guild.members[user.id] = member
        self._dispatch(
            "GUILD_MEMBER_ADD", member.payload() | {"guild_id": str(guild.id)}, INTENT_GUILD_MEMBERS
        )
        return user

    def dm_channel(self, user: FakeUser) -> FakeChannel:
        """The DM channel between the bot and ``user`` (created on first use)."""
        chan = self._dm_channels.get(user.id)
        if chan is None:
            chan = FakeChannel(id=snowflake(), name="", type=DM, recipient=user)
            self._dm_channels[user.id] = chan
            self.channels[chan.id] = chan
        return chan

    def close_dms(self, user: FakeUser) -> None:
        """From now on the bot's DMs to ``user`` fail with 403 / 50007."""
        self.closed_dms.add(user.id)

    def open_dms(self, user: FakeUser) -> None:
        """Undo ``close_dms``."""
        self.closed_dms.discard(user.id)

    # -- what the bot sent ------------------------------------------------------

    def record_request(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        status: int,
        error: Any = None,
    ) -> None:
        """Log one REST request (used by the REST middleware)."""
        self.requests.append(RequestRecord(method, path, query, body, status, error))

    def channel_messages(self, channel: FakeChannel | int) -> list[FakeMessage]:
        """Non-ephemeral messages in a channel, oldest first, deleted ones left out."""
        cid = channel.id if isinstance(channel, FakeChannel) else int(channel)
        return [m for m in self._channel_log[cid] if not m.deleted]

    @property
    def dms(self) -> _DMs:
        """``{user_id: [messages the bot DM'd them]}`` ([] for anyone else)."""
        out = _DMs()
        for uid, chan in self._dm_channels.items():
            msgs = self.channel_messages(chan)
            if msgs:
                out[uid] = msgs
        return out

    def commands(self, guild: FakeGuild | None = None) -> list[dict[str, Any]]:
        """The synced commands: the guild's, or the global ones."""
        if guild is None:
            return self.global_commands
        return self.guild_commands.get(guild.id, [])

    async def wait_for_dm(
        self,
        user: FakeUser,
        pred: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """Wait until the bot has DM'd ``user`` a message matching ``pred``; return it."""
        return await self._wait_message(
            lambda: self.dms[user.id], pred, timeout, f"a DM to {user.name}"
        )

    async def wait_for_message(
        self,
        channel: FakeChannel | int,
        pred: Callable[[FakeMessage], bool] | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> FakeMessage:
        """Wait until a message matching ``pred`` is in ``channel``; return the latest."""
        return await self._wait_message(
            lambda: self.channel_messages(channel), pred, timeout, f"a message in {channel}"
        )

    async def _wait_message(
        self,
        source: Callable[[], list[FakeMessage]],
        pred: Callable[[FakeMessage], bool] | None,
        timeout: float,  # noqa: ASYNC109
        what: str,
    ) -> FakeMessage:
        def find() -> FakeMessage | None:
            hits = [m for m in source() if pred is None or pred(m)]
            return hits[-1] if hits else None

        await self.wait_until(lambda: find() is not None, timeout=timeout, what=what)
        msg = find()
        assert msg is not None
        return msg

    def new_message(
        self,
        channel: FakeChannel,
        payload: dict[str, Any],
        files: list[tuple[str, bytes, str]],
        *,
        interaction: FakeInteraction | None = None,
    ) -> FakeMessage:
        """Store a message the bot sent (used by the REST handlers)."""
        flags = int(payload.get("flags") or 0)
        data: dict[str, Any] = {
            "id": str(snowflake()),
            "channel_id": str(channel.id),
            "author": self.bot_user.payload(),
            "content": payload.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(payload.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": payload.get("embeds") or [],
            "components": payload.get("components") or [],
            "pinned": False,
            "type": 0,
            "flags": flags,
            "allowed_mentions": payload.get("allowed_mentions"),
        }
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        if payload.get("message_reference"):
            data["message_reference"] = payload["message_reference"]
            data["type"] = 19
        if interaction is not None:
            data.update(
                webhook_id=str(self.app_id),
                application_id=str(self.app_id),
                interaction_metadata=self._interaction_metadata(interaction),
            )
            if interaction.type == APPLICATION_COMMAND:
                data["type"] = 20
        msg = FakeMessage(data)
        msg.interaction = interaction
        self._add_files(msg, files)
        self.messages[msg.id] = msg
        if not msg.is_ephemeral:
            self._channel_log[channel.id].append(msg)
            self._dispatch_message("MESSAGE_CREATE", msg)
        self.notify()
        return msg

    def edit_message(
        self, msg: FakeMessage, merged: dict[str, Any], files: list[tuple[str, bytes, str]]
    ) -> None:
        """Replace a message's content with an already merged edit (keeps history)."""
        msg.history.append(copy.deepcopy(dict(msg)))
        msg.clear()
        msg.update(merged)
        msg["edited_timestamp"] = iso_now()
        self._add_files(msg, files)
        if not msg.is_ephemeral:
            self._dispatch_message("MESSAGE_UPDATE", msg)
        self.notify()

    def delete_message(self, msg: FakeMessage) -> None:
        """Mark a message deleted."""
        msg.deleted = True
        if not msg.is_ephemeral:
            data = {"id": msg["id"], "channel_id": msg["channel_id"]}
            if "guild_id" in msg:
                data["guild_id"] = msg["guild_id"]
            self._dispatch_message("MESSAGE_DELETE", msg, data)
        self.notify()

    def _add_files(self, msg: FakeMessage, files: list[tuple[str, bytes, str]]) -> None:
        for filename, content, ctype in files:
            att_id = snowflake()
            url = f"{self.base_url}/attachments/{msg['channel_id']}/{att_id}/{filename}"
            msg.setdefault("attachments", []).append(
                {
                    "id": str(att_id),
                    "filename": filename,
                    "size": len(content),
                    "url": url,
                    "proxy_url": url,
                    "content_type": ctype,
                }
            )
            msg.files.append((filename, content))

    def _dispatch_message(
        self, event: str, msg: FakeMessage, data: dict[str, Any] | None = None
    ) -> None:
        intent = INTENT_GUILD_MESSAGES if "guild_id" in msg else INTENT_DIRECT_MESSAGES
        if data is None:
            data = {k: v for k, v in msg.items() if k != "allowed_mentions"}
            if "guild_id" in msg:
                guild = self.guilds[int(msg["guild_id"])]
                data["member"] = guild.members[self.bot_user.id].payload(with_user=False)
        self._dispatch(event, data, intent)

    def _interaction_metadata(self, inter: FakeInteraction) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "id": str(inter.id),
            "type": inter.type,
            "user": inter.user.payload(),
            "authorizing_integration_owners": inter.payload["authorizing_integration_owners"],
        }
        if inter.type == APPLICATION_COMMAND:
            meta["name"] = inter.data.get("name")
        if inter.source_message is not None:
            meta["interacted_message_id"] = inter.source_message["id"]
        return meta

    # -- being a user -----------------------------------------------------------

    def _where(
        self, user: FakeUser, guild: FakeGuild | None, channel: FakeChannel | None
    ) -> FakeChannel:
        if guild is None:
            return channel or self.dm_channel(user)
        if user.id not in guild.members:
            raise FakeDiscordError(f"{user.name} is not a member of {guild.name}")
        channel = channel or guild.text_channel
        if channel.guild_id != guild.id:
            raise FakeDiscordError(f"#{channel.name} is not in {guild.name}")
        return channel

    def _member_payload(self, guild: FakeGuild, user: FakeUser) -> dict[str, Any]:
        member = guild.members[user.id]
        return member.payload() | {"permissions": str(guild.permissions_of(user.id))}

    def _channel_payload(self, channel: FakeChannel, user: FakeUser) -> dict[str, Any]:
        data = channel.payload()
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            data["permissions"] = str(guild.permissions_of(user.id))
        return data

    def _start_interaction(
        self,
        itype: int,
        user: FakeUser,
        guild: FakeGuild | None,
        channel: FakeChannel,
        data: dict[str, Any],
        *,
        message: FakeMessage | None = None,
    ) -> FakeInteraction:
        session = self._live_session()
        iid = snowflake()
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.app_id),
            "type": itype,
            "data": data,
            "token": f"itoken.{iid}.{secrets.token_urlsafe(16)}",
            "version": 1,
            "locale": "en-US",
            "app_permissions": str(
                guild.permissions_of(self.bot_user.id) if guild else BOT_PERMISSIONS
            ),
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
            "channel": self._channel_payload(channel, user),
            "channel_id": str(channel.id),
        }
        if guild is not None:
            payload.update(
                guild_id=str(guild.id),
                guild_locale="en-US",
                guild={"id": str(guild.id), "locale": "en-US", "features": []},
                member=self._member_payload(guild, user),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=user.payload(),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        if message is not None:
            payload["message"] = {k: v for k, v in message.items() if k != "allowed_mentions"}
        inter = FakeInteraction(self, payload, user, guild, channel, source_message=message)
        self.interactions[inter.id] = inter
        self.interactions_by_token[inter.token] = inter
        session.dispatch("INTERACTION_CREATE", payload)
        return inter

    async def _await_response(self, inter: FakeInteraction, timeout: float | None) -> None:  # noqa: ASYNC109
        limit = self.response_deadline + 0.5 if timeout is None else timeout
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            await self.wait_until(
                lambda: inter.response is not None or inter.expired or bool(inter.callback_errors),
                timeout=max(deadline - loop.time(), 0.0),
                what=f"the bot to answer {inter} (Discord: 'The application did not respond')",
            )
            if inter.response is not None or inter.expired:
                break
            # Discord rejected the bot's answer: allow a quick retry, then fail fast.
            seen = len(inter.callback_errors)
            with contextlib.suppress(FakeDiscordTimeout):
                await self.wait_until(
                    lambda seen=seen: (
                        inter.response is not None or len(inter.callback_errors) > seen
                    ),
                    timeout=min(0.2, max(deadline - loop.time(), 0.0)),
                )
            if inter.response is None and len(inter.callback_errors) == seen:
                raise FakeDiscordError(
                    f"Discord rejected the bot's answer to {inter}: {inter.callback_errors[-1]}"
                    f"{self._errors()}"
                )
        if inter.expired:
            raise FakeDiscordError(
                f"the bot answered {inter} after Discord's {self.response_deadline} s deadline"
                f"{self._errors()}"
            )

    def find_command(self, guild: FakeGuild | None, name: str) -> dict[str, Any]:
        """A synced top-level command by name (guild commands first, then global)."""
        pool = (self.guild_commands.get(guild.id, []) if guild else []) + self.global_commands
        for cmd in pool:
            if cmd["name"] == name and cmd.get("type", 1) == 1:
                return cmd
        known = sorted(c["name"] for c in pool)
        where = guild.name if guild else "DMs"
        raise FakeDiscordError(f"no synced slash command /{name} in {where}; synced: {known}")

    def _command_data(
        self,
        user: FakeUser,
        guild: FakeGuild | None,
        command: str,
        options: Mapping[str, Any],
        *,
        force: bool,
        focused: str | None = None,
        focused_value: Any = None,
    ) -> dict[str, Any]:
        parts = command.strip().lstrip("/").split()
        cmd = self.find_command(guild, parts[0])
        if not force:
            self._check_visible(cmd, user, guild)
        data: dict[str, Any] = {"id": cmd["id"], "name": cmd["name"], "type": 1}
        if cmd.get("guild_id"):
            data["guild_id"] = cmd["guild_id"]
        schema: list[dict[str, Any]] = cmd.get("options") or []
        container = data
        for part in parts[1:]:
            sub = next((o for o in schema if o["name"] == part and o["type"] in (1, 2)), None)
            if sub is None:
                subs = [o["name"] for o in schema if o["type"] in (1, 2)]
                raise FakeDiscordError(f"/{command}: no subcommand {part!r} (has {subs})")
            node: dict[str, Any] = {"name": part, "type": sub["type"], "options": []}
            container.setdefault("options", []).append(node)
            container = node
            schema = sub.get("options") or []
        if any(o["type"] in (1, 2) for o in schema):
            subs = [o["name"] for o in schema]
            raise FakeDiscordError(f"/{command} needs a subcommand: {subs}")
        resolved: dict[str, dict[str, Any]] = {}
        built: list[dict[str, Any]] = []
        by_name = {o["name"]: o for o in schema}
        for name, value in options.items():
            spec = by_name.get(name)
            if spec is None:
                raise FakeDiscordError(f"/{command} has no option {name!r} (has {list(by_name)})")
            built.append(self._option(command, spec, value, guild, resolved))
        if focused is not None:
            spec = by_name.get(focused)
            if spec is None or not spec.get("autocomplete"):
                raise FakeDiscordError(f"/{command} option {focused!r} has no autocomplete")
            built = [o for o in built if o["name"] != focused]
            built.append(
                {"name": focused, "type": spec["type"], "value": focused_value, "focused": True}
            )
        else:
            missing = [o["name"] for o in schema if o.get("required") and o["name"] not in options]
            if missing:
                raise FakeDiscordError(f"/{command}: required options missing: {missing}")
        container["options"] = built
        if resolved:
            data["resolved"] = resolved
        return data

    def _check_visible(self, cmd: dict[str, Any], user: FakeUser, guild: FakeGuild | None) -> None:
        if guild is None:
            contexts = cmd.get("contexts")
            if cmd.get("dm_permission") is False or (contexts and 1 not in contexts):
                raise CommandNotVisible(f"/{cmd['name']} is not available in DMs")
            return
        required = cmd.get("default_member_permissions")
        if required is None:
            return
        perms = guild.permissions_of(user.id)
        if perms & int(required) != int(required) or (
            int(required) == 0 and perms & ADMINISTRATOR == 0
        ):
            raise CommandNotVisible(
                f"Discord hides /{cmd['name']} from {user.name} (needs permissions {required}); "
                "pass force=True to invoke it anyway"
            )

    def _option(
        self,
        command: str,
        spec: dict[str, Any],
        value: Any,
        guild: FakeGuild | None,
        resolved: dict[str, dict[str, Any]],
    ) -> dict[str, Any]:
        name, otype = spec["name"], spec["type"]
        where = f"/{command} {name}:"

        def bad(msg: str) -> FakeDiscordError:
            return FakeDiscordError(f"{where} {msg} (got {value!r})")

        if otype == 3:
            if not isinstance(value, str):
                raise bad("expects a string")
            if len(value) < spec.get("min_length", 0) or len(value) > spec.get("max_length", 6000):
                raise bad("length out of range")
        elif otype == 4:
            if not isinstance(value, int) or isinstance(value, bool):
                raise bad("expects an integer")
        elif otype == 5:
            if not isinstance(value, bool):
                raise bad("expects a boolean")
        elif otype == 10 and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise bad("expects a number")
        if otype in (4, 10):
            if "min_value" in spec and value < spec["min_value"]:
                raise bad(f"below min_value {spec['min_value']}")
            if "max_value" in spec and value > spec["max_value"]:
                raise bad(f"above max_value {spec['max_value']}")
        choices = spec.get("choices")
        if choices and value not in [c["value"] for c in choices]:
            raise bad(f"must be one of {[c['value'] for c in choices]}")
        if otype in (6, 7, 8, 9):
            value = self._resolve(where, otype, spec, value, guild, resolved)
        elif otype == 11:
            raise bad("attachment options are not supported by the fake")
        return {"name": name, "type": otype, "value": value}

    def _resolve(
        self,
        where: str,
        otype: int,
        spec: dict[str, Any],
        value: Any,
        guild: FakeGuild | None,
        resolved: dict[str, dict[str, Any]],
    ) -> str:
        if isinstance(value, FakeUser) and otype in (6, 9):
            resolved.setdefault("users", {})[str(value.id)] = value.payload()
            if guild is not None and value.id in guild.members:
                member = self._member_payload(guild, value)
                member.pop("user")
                resolved.setdefault("members", {})[str(value.id)] = member
        elif isinstance(value, FakeRole) and otype in (8, 9):
            resolved.setdefault("roles", {})[str(value.id)] = value.payload()
        elif isinstance(value, FakeChannel) and otype == 7:
            types = spec.get("channel_types")
            if types and value.type not in types:
                raise FakeDiscordError(f"{where} channel type {value.type} not in {types}")
            chan = value.payload()
            chan["permissions"] = str(EVERYONE_PERMISSIONS)
            resolved.setdefault("channels", {})[str(value.id)] = chan
        else:
            raise FakeDiscordError(
                f"{where} expects a FakeUser/FakeRole/FakeChannel, got {value!r}"
            )
        return str(value.id)

    async def slash(
        self,
        user: FakeUser,
        guild: FakeGuild | None,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        in_channel: FakeChannel | None = None,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
        force: bool = False,
        **kwargs: Any,
    ) -> FakeInteraction:
        """``user`` runs ``/command`` ("setup plex" for subcommands) in ``guild`` (None: DM).

        Options come as keyword arguments, or in ``options`` when a name clashes
        with this method's own. They are checked against the synced command
        (names, required, types, choices, ranges). Returns once the bot has
        answered (``wait``), by default within Discord's deadline.
        """
        channel = self._where(user, guild, in_channel)
        data = self._command_data(user, guild, command, {**(options or {}), **kwargs}, force=force)
        inter = self._start_interaction(APPLICATION_COMMAND, user, guild, channel, data)
        if wait:
            await self._await_response(inter, timeout)
        return inter

    async def autocomplete(
        self,
        user: FakeUser,
        guild: FakeGuild | None,
        command: str,
        option: str,
        value: Any,
        options: Mapping[str, Any] | None = None,
        *,
        in_channel: FakeChannel | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
        **kwargs: Any,
    ) -> Choices:
        """``user`` types ``value`` into ``option``; returns the choices (with ``.latency``)."""
        channel = self._where(user, guild, in_channel)
        data = self._command_data(
            user,
            guild,
            command,
            {**(options or {}), **kwargs},
            force=False,
            focused=option,
            focused_value=value,
        )
        inter = self._start_interaction(AUTOCOMPLETE, user, guild, channel, data)
        await self._await_response(inter, timeout)
        assert inter.choices is not None
        return inter.choices

    def _message_context(
        self, user: FakeUser, message: FakeMessage | int, force: bool
    ) -> tuple[FakeMessage, FakeGuild | None, FakeChannel]:
        msg = self.messages.get(message if isinstance(message, int) else message.id)
        if msg is None or msg.deleted:
            raise FakeDiscordError(f"message {message!r} does not exist (or was deleted)")
        if msg.is_ephemeral and not force:
            owner = msg.interaction.user if msg.interaction else None
            if owner is not None and owner.id != user.id:
                raise FakeDiscordError(
                    f"{user.name} cannot see an ephemeral message for {owner.name}"
                )
        channel = self.channels[msg.channel_id]
        guild = self.guilds.get(channel.guild_id) if channel.guild_id else None
        if guild is not None and user.id not in guild.members:
            raise FakeDiscordError(f"{user.name} is not a member of {guild.name}")
        return msg, guild, channel

    def _component(
        self, msg: FakeMessage, custom_id: str | None, label: str | None
    ) -> dict[str, Any]:
        try:
            return msg.component(custom_id, label=label)
        except KeyError:
            raise FakeDiscordError(
                f"no component {custom_id or label!r} on {msg!r}; custom_ids: {msg.custom_ids}"
            ) from None

    async def click(
        self,
        user: FakeUser,
        message: FakeMessage | int,
        custom_id: str | None = None,
        *,
        label: str | None = None,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
        force: bool = False,
    ) -> FakeInteraction:
        """``user`` clicks a button (by ``custom_id`` or ``label``) on a message the bot sent."""
        msg, guild, channel = self._message_context(user, message, force)
        comp = self._component(msg, custom_id, label)
        if comp.get("type") != 2:
            raise FakeDiscordError(f"{custom_id or label!r} is not a button: {comp}")
        if comp.get("style") == 5:
            raise FakeDiscordError(f"{custom_id or label!r} is a link button ({comp.get('url')})")
        if comp.get("disabled") and not force:
            raise FakeDiscordError(f"button {custom_id or label!r} is disabled")
        data = {"custom_id": comp["custom_id"], "component_type": 2}
        if "id" in comp:
            data["id"] = comp["id"]
        inter = self._start_interaction(MESSAGE_COMPONENT, user, guild, channel, data, message=msg)
        if wait:
            await self._await_response(inter, timeout)
        return inter

    async def select(
        self,
        user: FakeUser,
        message: FakeMessage | int,
        custom_id: str,
        values: Sequence[Any],
        *,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
        force: bool = False,
    ) -> FakeInteraction:
        """``user`` picks ``values`` in a select menu (option values, or users/roles/channels)."""
        msg, guild, channel = self._message_context(user, message, force)
        comp = self._component(msg, custom_id, None)
        ctype = comp.get("type")
        if ctype not in SELECT_TYPES:
            raise FakeDiscordError(f"{custom_id!r} is not a select menu: {comp}")
        if comp.get("disabled") and not force:
            raise FakeDiscordError(f"select {custom_id!r} is disabled")
        lo, hi = comp.get("min_values", 1), comp.get("max_values", 1)
        if not lo <= len(values) <= hi:
            raise FakeDiscordError(f"select {custom_id!r} takes {lo}..{hi} values, got {values!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": ctype}
        if ctype == 3:
            allowed = [o["value"] for o in comp.get("options", [])]
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise FakeDiscordError(f"select {custom_id!r} has no options {unknown}; {allowed}")
            data["values"] = list(values)
        else:
            resolved: dict[str, dict[str, Any]] = {}
            kind = {5: 6, 6: 8, 7: 9, 8: 7}[ctype]
            spec = {"channel_types": comp.get("channel_types")}
            data["values"] = [
                self._resolve(f"select {custom_id}:", kind, spec, v, guild, resolved)
                for v in values
            ]
            data["resolved"] = resolved
        inter = self._start_interaction(MESSAGE_COMPONENT, user, guild, channel, data, message=msg)
        if wait:
            await self._await_response(inter, timeout)
        return inter

    async def submit_modal(
        self,
        user: FakeUser,
        inter: FakeInteraction,
        values: Mapping[str, str],
        *,
        wait: bool = True,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> FakeInteraction:
        """``user`` fills in the modal the bot opened on ``inter`` ({custom_id: text})."""
        modal = inter.modal
        if modal is None:
            raise FakeDiscordError(f"the bot did not open a modal on {inter!r}")
        unknown = set(values) - {
            c.get("custom_id") for c in _modal_inputs(modal.get("components") or [])
        }
        if unknown:
            raise FakeDiscordError(f"modal {modal.get('custom_id')!r} has no inputs {unknown}")
        submitted = []
        for top in modal.get("components") or []:
            if top.get("type") == 1:
                inner = [_submitted_input(c, values) for c in top.get("components") or []]
                submitted.append({"type": 1, "components": inner})
            elif top.get("type") == 18 and isinstance(top.get("component"), dict):
                submitted.append(
                    {"type": 18, "component": _submitted_input(top["component"], values)}
                )
        data = {"custom_id": modal["custom_id"], "components": submitted}
        new = self._start_interaction(
            MODAL_SUBMIT, user, inter.guild, inter.channel, data, message=inter.source_message
        )
        if wait:
            await self._await_response(new, timeout)
        return new


def _modal_inputs(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for comp in components:
        if comp.get("type") == 1:
            out += _modal_inputs(comp.get("components") or [])
        elif comp.get("type") == 18 and isinstance(comp.get("component"), dict):
            out += _modal_inputs([comp["component"]])
        elif "custom_id" in comp:
            out.append(comp)
    return out


def _submitted_input(comp: dict[str, Any], values: Mapping[str, str]) -> dict[str, Any]:
    cid = comp.get("custom_id")
    if comp.get("type") == 4:
        value = values.get(cid, comp.get("value") or "")
        if comp.get("required", True) and not value:
            raise FakeDiscordError(f"modal input {cid!r} is required")
        return {"type": 4, "custom_id": cid, "value": value}
    chosen = values.get(cid, [])
    return {"type": comp.get("type"), "custom_id": cid, "values": list(chosen)}
