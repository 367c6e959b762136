"""The fake Discord REST API (``/api/v10``), enough of it for a discord.py bot.

Every answer is ``application/json`` exactly (discord.py only parses JSON when
the content type is exactly that), errors use Discord's ``{"message", "code"}``
body, and anything not implemented is logged loudly, recorded in
``FakeDiscord.unknown_routes`` and answered 404 so gaps show up.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .models import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    DM,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    Choices,
    FakeChannel,
    FakeInteraction,
    FakeMessage,
    snowflake,
)
from .validation import (
    check_choices,
    check_commands,
    check_message,
    check_modal,
    is_empty_message,
)

if TYPE_CHECKING:
    from .harness import FakeDiscord

log = logging.getLogger(__name__)

API = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The initial-response types Discord accepts for each interaction type.
ALLOWED_CALLBACKS = {
    APPLICATION_COMMAND: {4, 5, 9},
    MESSAGE_COMPONENT: {4, 5, 6, 7, 9},
    AUTOCOMPLETE: {8},
    MODAL_SUBMIT: {4, 5, 6, 7},
}
Body = tuple[Any, list[tuple[str, bytes, str]]]
BODY: web.RequestKey[Body] = web.RequestKey("fake_discord_body")
EDITABLE_KEYS = ("content", "embeds", "components", "allowed_mentions", "poll")


def json_response(data: Any, status: int = 200) -> web.Response:
    """A JSON answer whose content type is exactly ``application/json``."""
    return web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )


def error(
    status: int, code: int, message: str, errors: dict[str, str] | None = None
) -> web.Response:
    """Discord's error body; ``errors`` maps dotted paths to messages (Invalid Form Body)."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors:
        body["errors"] = {
            path: {"_errors": [{"code": "INVALID", "message": msg}]} for path, msg in errors.items()
        }
    return json_response(body, status)


def form_error(errors: dict[str, str]) -> web.Response:
    """400 Invalid Form Body (50035)."""
    return error(400, 50035, "Invalid Form Body", errors)


class HTTPError(Exception):
    """Raised inside a handler to answer with a Discord error."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def unknown(kind: str, code: int) -> HTTPError:
    """404 "Unknown <kind>" with its Discord error code."""
    return HTTPError(error(404, code, f"Unknown {kind}"))


async def read_body(request: web.Request) -> Body:
    """The JSON payload and uploaded files (multipart ``payload_json`` + ``files[n]``)."""
    if BODY in request:
        return request[BODY]
    payload: dict[str, Any] = {}
    files: list[tuple[str, bytes, str]] = []
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if part.name == "payload_json":  # type: ignore[union-attr]
                payload = json.loads(await part.text())  # type: ignore[union-attr]
            else:
                data = await part.read()  # type: ignore[union-attr]
                ctype = part.headers.get("Content-Type", "application/octet-stream")
                files.append((part.filename or part.name or "file", bytes(data), ctype))  # type: ignore[union-attr]
    elif request.can_read_body:
        raw = await request.read()
        if raw:
            payload = json.loads(raw)
    request[BODY] = (payload, files)
    return payload, files


class RestApi:
    """The REST handlers, bound to one ``FakeDiscord``."""

    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake

    # -- wiring -----------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        """Every implemented route, then the loud catch-all."""
        app, guild, chan = "/applications/{app_id}", "/guilds/{guild_id}", "/channels/{channel_id}"
        gcmds = f"{app}/guilds/{{guild_id}}/commands"
        hook = "/webhooks/{app_id}/{token}"
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/users/@me", self.get_me),
            ("GET", "/users/{user_id}", self.get_user),
            ("POST", "/users/@me/channels", self.open_dm),
            ("DELETE", "/users/@me/guilds/{guild_id}", self.leave_guild),
            ("GET", "/oauth2/applications/@me", self.get_application),
            ("GET", "/applications/@me", self.get_application),
            ("GET", "/gateway", self.get_gateway),
            ("GET", "/gateway/bot", self.get_gateway_bot),
            ("GET", f"{app}/commands", self.list_commands),
            ("PUT", f"{app}/commands", self.overwrite_commands),
            ("POST", f"{app}/commands", self.upsert_command),
            ("GET", f"{app}/commands/{{command_id}}", self.get_command),
            ("PATCH", f"{app}/commands/{{command_id}}", self.edit_command),
            ("DELETE", f"{app}/commands/{{command_id}}", self.delete_command),
            ("GET", f"{gcmds}/permissions", self.command_permissions),
            ("GET", gcmds, self.list_commands),
            ("PUT", gcmds, self.overwrite_commands),
            ("POST", gcmds, self.upsert_command),
            ("GET", f"{gcmds}/{{command_id}}", self.get_command),
            ("PATCH", f"{gcmds}/{{command_id}}", self.edit_command),
            ("DELETE", f"{gcmds}/{{command_id}}", self.delete_command),
            ("GET", guild, self.get_guild),
            ("GET", f"{guild}/channels", self.get_guild_channels),
            ("GET", f"{guild}/roles", self.get_guild_roles),
            ("GET", f"{guild}/members", self.list_members),
            ("GET", f"{guild}/members/{{user_id}}", self.get_member),
            ("GET", chan, self.get_channel),
            ("POST", f"{chan}/typing", self.no_content),
            ("GET", f"{chan}/messages", self.list_messages),
            ("POST", f"{chan}/messages", self.create_message),
            ("GET", f"{chan}/messages/{{message_id}}", self.get_message),
            ("PATCH", f"{chan}/messages/{{message_id}}", self.edit_message),
            ("DELETE", f"{chan}/messages/{{message_id}}", self.delete_message),
            ("PUT", f"{chan}/messages/{{message_id}}/reactions/{{emoji}}/@me", self.add_reaction),
            ("DELETE", f"{chan}/messages/{{message_id}}/reactions/{{emoji}}/@me", self.no_content),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self.callback),
            ("POST", hook, self.followup),
            ("GET", f"{hook}/messages/{{message_id}}", self.get_webhook_message),
            ("PATCH", f"{hook}/messages/{{message_id}}", self.edit_webhook_message),
            ("DELETE", f"{hook}/messages/{{message_id}}", self.delete_webhook_message),
        ]
        defs = [web.route(method, API + path, handler) for method, path, handler in table]
        defs.append(web.route("*", "/{tail:.*}", self.not_implemented))
        return defs

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Auth check, error translation and the request log."""
        path = request.path
        needs_auth = path.startswith(API) and not path.startswith(
            (f"{API}/webhooks/", f"{API}/interactions/")
        )
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.fake.token}":
            response: web.StreamResponse = error(401, 0, "401: Unauthorized")
        else:
            response = await self._guarded(request, handler)
        body = request.get(BODY, (None, []))
        err = None
        if response.status >= 400 and isinstance(response, web.Response) and response.body:
            err = json.loads(response.body)  # type: ignore[arg-type]
        self.fake.record_request(
            request.method, path, dict(request.query), body[0], response.status, err
        )
        if response.status >= 400:
            log.info("fake discord: %s %s -> %s", request.method, path, response.status)
        return response

    async def _guarded(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Run the handler unless an open rate-limit window or a planned fault answers."""
        faults = self.fake.faults
        early = faults.window(request)
        if early is None and request.method == "POST":
            payload, _ = await read_body(request)
            early = faults.before(self.fake, request, payload if isinstance(payload, dict) else {})
        if early is not None:
            return early
        try:
            response = await handler(request)
        except HTTPError as exc:
            return exc.response
        if request.method == "POST":
            payload = request[BODY][0] if BODY in request else {}
            response = await faults.after(
                self.fake, request, payload if isinstance(payload, dict) else {}, response
            )
        return response

    async def not_implemented(self, request: web.Request) -> web.Response:
        """Loud 404 for routes this fake does not serve."""
        self.fake.unknown_routes.append(f"{request.method} {request.path}")
        log.error(
            "FAKE DISCORD: no handler for %s %s -- add it to tests/fakes/discord/rest.py",
            request.method,
            request.path,
        )
        return error(
            404, 0, f"404: Not Found (fake Discord has no {request.method} {request.path})"
        )

    async def no_content(self, request: web.Request) -> web.Response:
        """204 for fire-and-forget routes (typing, reaction removal)."""
        return web.Response(status=204)

    # -- users, application, gateway -------------------------------------------

    async def get_me(self, request: web.Request) -> web.Response:
        """The bot user."""
        return json_response(
            self.fake.bot_user.payload() | {"verified": True, "mfa_enabled": False}
        )

    async def get_user(self, request: web.Request) -> web.Response:
        """A user by id."""
        user = self.fake.users.get(int(request.match_info["user_id"]))
        if user is None:
            raise unknown("User", 10013)
        return json_response(user.payload())

    async def leave_guild(self, request: web.Request) -> web.Response:
        """The bot leaves a guild: 204, then GUILD_DELETE on the gateway."""
        if not self.fake.remove_bot_from(int(request.match_info["guild_id"])):
            raise unknown("Guild", 10004)
        return web.Response(status=204)

    async def get_application(self, request: web.Request) -> web.Response:
        """The bot's application."""
        fake = self.fake
        return json_response(
            {
                "id": str(fake.app_id),
                "name": fake.bot_user.name,
                "icon": None,
                "description": "",
                "summary": "",
                "type": None,
                "bot_public": fake.bot_public,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": 0,
                "owner": fake.owner.payload(),
                "team": None,
                "bot": fake.bot_user.payload(),
                "redirect_uris": [],
                "interactions_endpoint_url": None,
                "tags": [],
            }
        )

    async def get_gateway(self, request: web.Request) -> web.Response:
        """The gateway URL."""
        return json_response({"url": self.fake.gateway_url})

    async def get_gateway_bot(self, request: web.Request) -> web.Response:
        """The gateway URL with sharding info."""
        return json_response(
            {
                "url": self.fake.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def open_dm(self, request: web.Request) -> web.Response:
        """Open (or reuse) the DM channel with a user."""
        payload, _ = await read_body(request)
        user = self.fake.users.get(int(payload.get("recipient_id", 0)))
        if user is None:
            raise HTTPError(error(400, 50033, "Invalid Recipient(s)"))
        return json_response(self.fake.dm_channel(user).payload())

    # -- application commands ---------------------------------------------------

    def _command_list(self, request: web.Request) -> list[dict[str, Any]]:
        fake = self.fake
        if int(request.match_info["app_id"]) != fake.app_id:
            raise HTTPError(error(403, 50001, "Missing Access"))
        guild_id = request.match_info.get("guild_id")
        if guild_id is None:
            return fake.global_commands
        gid = int(guild_id)
        if gid not in fake.guilds:
            raise HTTPError(error(403, 50001, "Missing Access"))
        return fake.guild_commands.setdefault(gid, [])

    def _stored_command(
        self, request: web.Request, data: dict[str, Any], old: dict[str, Any] | None
    ) -> dict[str, Any]:
        guild_id = request.match_info.get("guild_id")
        cmd = copy.deepcopy(data)
        cmd.setdefault("type", 1)
        cmd.setdefault("options", [])
        cmd.setdefault("default_member_permissions", None)
        cmd.setdefault("nsfw", False)
        cmd.setdefault("description", "")
        cmd.update(
            id=old["id"] if old else str(snowflake()),
            application_id=str(self.fake.app_id),
            version=str(snowflake()),
        )
        if guild_id is not None:
            cmd["guild_id"] = guild_id
        return cmd

    async def list_commands(self, request: web.Request) -> web.Response:
        """The stored commands."""
        return json_response(self._command_list(request))

    async def overwrite_commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite (what ``tree.sync`` does); keeps ids of commands that stay."""
        commands = self._command_list(request)
        payload, _ = await read_body(request)
        if not isinstance(payload, list):
            raise HTTPError(form_error({"_": "Expected a list of commands."}))
        errors = check_commands(payload)
        if errors:
            raise HTTPError(form_error(errors))
        old = {(c["type"], c["name"]): c for c in commands}
        new = [
            self._stored_command(request, data, old.get((data.get("type", 1), data["name"])))
            for data in payload
        ]
        commands[:] = new
        self.fake.notify()
        return json_response(new)

    async def upsert_command(self, request: web.Request) -> web.Response:
        """Create or replace one command."""
        commands = self._command_list(request)
        payload, _ = await read_body(request)
        errors = check_commands([payload])
        if errors:
            raise HTTPError(form_error(errors))
        key = (payload.get("type", 1), payload["name"])
        old = next((c for c in commands if (c["type"], c["name"]) == key), None)
        cmd = self._stored_command(request, payload, old)
        if old is not None:
            commands[commands.index(old)] = cmd
        else:
            commands.append(cmd)
        return json_response(cmd, 200 if old else 201)

    def _find_command(self, request: web.Request) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        commands = self._command_list(request)
        cid = request.match_info["command_id"]
        for cmd in commands:
            if cmd["id"] == cid:
                return commands, cmd
        raise unknown("application command", 10063)

    async def get_command(self, request: web.Request) -> web.Response:
        """One command."""
        return json_response(self._find_command(request)[1])

    async def edit_command(self, request: web.Request) -> web.Response:
        """Edit one command."""
        _, cmd = self._find_command(request)
        payload, _ = await read_body(request)
        cmd.update(payload)
        cmd["version"] = str(snowflake())
        return json_response(cmd)

    async def delete_command(self, request: web.Request) -> web.Response:
        """Delete one command."""
        commands, cmd = self._find_command(request)
        commands.remove(cmd)
        return web.Response(status=204)

    async def command_permissions(self, request: web.Request) -> web.Response:
        """No per-command permission overrides."""
        self._command_list(request)
        return json_response([])

    # -- guilds and channels ----------------------------------------------------

    def _guild(self, request: web.Request) -> Any:
        guild = self.fake.guilds.get(int(request.match_info["guild_id"]))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    async def get_guild(self, request: web.Request) -> web.Response:
        """A guild (without members and channels, like the real route)."""
        data = self._guild(request).payload()
        for key in ("members", "channels", "threads", "presences", "voice_states"):
            data.pop(key, None)
        data["approximate_member_count"] = data.pop("member_count")
        return json_response(data)

    async def get_guild_channels(self, request: web.Request) -> web.Response:
        """A guild's channels."""
        return json_response([c.payload() for c in self._guild(request).channels.values()])

    async def get_guild_roles(self, request: web.Request) -> web.Response:
        """A guild's roles."""
        return json_response([r.payload() for r in self._guild(request).roles.values()])

    async def get_member(self, request: web.Request) -> web.Response:
        """One member."""
        member = self._guild(request).members.get(int(request.match_info["user_id"]))
        if member is None:
            raise unknown("Member", 10007)
        return json_response(member.payload())

    async def list_members(self, request: web.Request) -> web.Response:
        """Members, ordered by id, with ``limit`` and ``after``."""
        guild = self._guild(request)
        after = int(request.query.get("after", 0))
        limit = int(request.query.get("limit", 1))
        members = sorted(guild.members.values(), key=lambda m: m.user.id)
        return json_response([m.payload() for m in members if m.user.id > after][:limit])

    def _channel(self, request: web.Request) -> FakeChannel:
        channel = self.fake.channels.get(int(request.match_info["channel_id"]))
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    async def get_channel(self, request: web.Request) -> web.Response:
        """One channel."""
        return json_response(self._channel(request).payload())

    # -- channel messages -------------------------------------------------------

    def _message(self, request: web.Request) -> FakeMessage:
        channel = self._channel(request)
        msg = self.fake.messages.get(int(request.match_info["message_id"]))
        if msg is None or msg.deleted or msg.channel_id != channel.id or msg.is_ephemeral:
            raise unknown("Message", 10008)
        return msg

    async def list_messages(self, request: web.Request) -> web.Response:
        """Channel history, newest first."""
        channel = self._channel(request)
        limit = int(request.query.get("limit", 50))
        msgs = list(reversed(self.fake.channel_messages(channel.id)))[:limit]
        return json_response(msgs)

    async def create_message(self, request: web.Request) -> web.Response:
        """Send a message (403/50007 when the recipient's DMs are closed)."""
        fake = self.fake
        channel = self._channel(request)
        payload, files = await read_body(request)
        if channel.type == DM and channel.recipient and channel.recipient.id in fake.closed_dms:
            raise HTTPError(error(403, 50007, "Cannot send messages to this user"))
        errors = check_message(payload, creating=True)
        if errors:
            raise HTTPError(form_error(errors))
        if is_empty_message(payload, len(files)):
            raise HTTPError(error(400, 50006, "Cannot send an empty message"))
        first = fake.nonces.first(fake.bot_user.id, payload)
        if first is not None:  # enforce_nonce: the same message again, nothing created
            return json_response(first)
        msg = fake.new_message(channel, payload, files)
        fake.nonces.remember(fake.bot_user.id, payload, msg)
        return json_response(msg)

    async def get_message(self, request: web.Request) -> web.Response:
        """One message."""
        return json_response(self._message(request))

    async def edit_message(self, request: web.Request) -> web.Response:
        """Edit one of the bot's messages."""
        msg = self._message(request)
        if int(msg["author"]["id"]) != self.fake.bot_user.id:
            raise HTTPError(error(403, 50005, "Cannot edit a message authored by another user"))
        payload, files = await read_body(request)
        self.apply_edit(msg, payload, files)
        return json_response(msg)

    async def delete_message(self, request: web.Request) -> web.Response:
        """Delete a message."""
        self.fake.delete_message(self._message(request))
        return web.Response(status=204)

    async def add_reaction(self, request: web.Request) -> web.Response:
        """Record a reaction the bot added."""
        msg = self._message(request)
        msg.setdefault("reactions", []).append(
            {"emoji": {"id": None, "name": request.match_info["emoji"]}, "count": 1, "me": True}
        )
        return web.Response(status=204)

    def apply_edit(
        self, msg: FakeMessage, payload: dict[str, Any], files: list[tuple[str, bytes, str]]
    ) -> None:
        """Apply an edit payload to a message (validated like Discord does)."""
        merged = dict(msg)
        for key in EDITABLE_KEYS:
            if key in payload:
                merged[key] = payload[key]
        if "attachments" in payload or files:
            keep = {str(a.get("id")) for a in payload.get("attachments") or []}
            merged["attachments"] = [a for a in msg.get("attachments", []) if a["id"] in keep]
        merged["flags"] = msg.flags & ~FLAG_LOADING
        if "flags" in payload and payload["flags"] is not None:
            keep_bits = FLAG_EPHEMERAL
            merged["flags"] = (msg.flags & keep_bits) | (int(payload["flags"]) & ~keep_bits)
            merged["flags"] &= ~FLAG_LOADING
        errors = check_message(merged, creating=False)
        if errors:
            raise HTTPError(form_error(errors))
        if is_empty_message(merged, len(files)):
            raise HTTPError(error(400, 50006, "Cannot send an empty message"))
        self.fake.edit_message(msg, merged, files)

    # -- interactions -----------------------------------------------------------

    def _interaction_by_token(self, request: web.Request) -> FakeInteraction:
        inter = self.fake.interactions_by_token.get(request.match_info["token"])
        if inter is None or int(request.match_info["app_id"]) != self.fake.app_id:
            raise unknown("Webhook", 10015)
        if inter.response is None:
            raise unknown("Webhook", 10015)
        return inter

    async def callback(self, request: web.Request) -> web.StreamResponse:
        """The initial interaction response (a rejected one is noted on the interaction)."""
        inter = self.fake.interactions.get(int(request.match_info["interaction_id"]))
        if inter is None or inter.token != request.match_info["token"]:
            raise unknown("interaction", 10062)
        try:
            return await self._callback(request, inter)
        except HTTPError as exc:
            if inter.response is None and exc.response.body:
                inter.callback_errors.append(json.loads(exc.response.body))  # type: ignore[arg-type]
                self.fake.notify()
            raise

    async def _callback(self, request: web.Request, inter: FakeInteraction) -> web.StreamResponse:
        fake = self.fake
        if inter.response is not None:
            raise HTTPError(error(400, 40060, "Interaction has already been acknowledged."))
        age = asyncio.get_running_loop().time() - inter.created_at
        if age > fake.response_deadline:
            log.error(
                "fake discord: %r answered after %.2f s (deadline %.1f s): Unknown interaction",
                inter,
                age,
                fake.response_deadline,
            )
            inter.expired = True
            fake.notify()
            raise unknown("interaction", 10062)
        payload, files = await read_body(request)
        rtype = payload.get("type")
        data = payload.get("data") or {}
        if rtype not in ALLOWED_CALLBACKS.get(inter.type, set()):
            raise HTTPError(
                form_error(
                    {"type": f"Response type {rtype} is invalid for interaction {inter.type}"}
                )
            )
        resource: dict[str, Any] = {"type": rtype}
        if rtype == 4:
            errors = check_message(data, creating=True)
            if errors:
                raise HTTPError(form_error(errors))
            if is_empty_message(data, len(files)):
                raise HTTPError(error(400, 50006, "Cannot send an empty message"))
            inter.original = fake.new_message(inter.channel, data, files, interaction=inter)
        elif rtype == 5:
            flags = FLAG_LOADING | (int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            inter.original = fake.new_message(
                inter.channel, {"content": "", "flags": flags}, [], interaction=inter
            )
        elif rtype in (6, 7):
            if inter.source_message is None:
                raise HTTPError(form_error({"type": "No message to update."}))
            inter.original = inter.source_message
            if rtype == 7:
                self.apply_edit(inter.source_message, data, files)
        elif rtype == 8:
            errors = check_choices(data.get("choices") or [])
            if errors:
                raise HTTPError(form_error(errors))
            inter.choices = Choices(list(data.get("choices") or []), age)
        elif rtype == 9:
            errors = check_modal(data)
            if errors:
                raise HTTPError(form_error(errors))
            inter.modal = data
        inter.response = {"type": rtype, "data": data}
        inter.responded_at = asyncio.get_running_loop().time()
        fake.notify()
        if "with_response" not in request.query:
            return web.Response(status=204)
        info: dict[str, Any] = {"id": str(inter.id), "type": inter.type}
        if inter.original is not None and rtype in (4, 5, 6, 7):
            resource["message"] = inter.original
            info.update(
                response_message_id=inter.original["id"],
                response_message_loading=inter.original.is_loading,
                response_message_ephemeral=inter.original.is_ephemeral,
            )
        return json_response({"interaction": info, "resource": resource})

    async def followup(self, request: web.Request) -> web.StreamResponse:
        """A follow-up message; the first one after a "thinking" defer fills that message."""
        fake = self.fake
        inter = self._interaction_by_token(request)
        payload, files = await read_body(request)
        errors = check_message(payload, creating=True)
        if errors:
            raise HTTPError(form_error(errors))
        if is_empty_message(payload, len(files)):
            raise HTTPError(error(400, 50006, "Cannot send an empty message"))
        original = inter.original
        if (
            inter.response_type == 5
            and original is not None
            and original.is_loading
            and not original.deleted
        ):
            # Real Discord: the first follow-up after a deferred "thinking" response
            # replaces the placeholder (same message id, the defer's ephemerality).
            edit = dict(payload)
            edit.pop("flags", None)
            self.apply_edit(original, edit, files)
            msg = original
        else:
            msg = fake.new_message(inter.channel, payload, files, interaction=inter)
            inter.followups.append(msg)
            fake.notify()
        if request.query.get("wait") in ("0", "false", "False"):
            return web.Response(status=204)
        return json_response(msg)

    def _webhook_message(self, request: web.Request) -> tuple[FakeInteraction, FakeMessage]:
        inter = self._interaction_by_token(request)
        mid = request.match_info["message_id"]
        if mid == "@original":
            msg = inter.original
        else:
            msg = next(
                (m for m in [inter.original, *inter.followups] if m and m["id"] == mid), None
            )
        if msg is None or msg.deleted:
            raise unknown("Message", 10008)
        return inter, msg

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        """The original response or a follow-up."""
        return json_response(self._webhook_message(request)[1])

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        """Edit the original response or a follow-up."""
        _, msg = self._webhook_message(request)
        payload, files = await read_body(request)
        self.apply_edit(msg, payload, files)
        return json_response(msg)

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        """Delete the original response or a follow-up."""
        _, msg = self._webhook_message(request)
        self.fake.delete_message(msg)
        return web.Response(status=204)
