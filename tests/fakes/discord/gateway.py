"""The fake Discord gateway: one websocket endpoint speaking gateway v10 JSON.

HELLO -> IDENTIFY -> READY + one GUILD_CREATE per guild, heartbeat ACKs,
RESUME (replays what the client missed, then RESUMED), request-guild-members
(one GUILD_MEMBERS_CHUNK), and op 7 RECONNECT on demand. Frames go out as
uncompressed text, which discord.py accepts even though it asks for
``compress=zlib-stream``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .harness import FakeDiscord

log = logging.getLogger(__name__)

DISPATCH = 0
HEARTBEAT = 1
IDENTIFY = 2
PRESENCE_UPDATE = 3
VOICE_STATE_UPDATE = 4
RESUME = 6
RECONNECT = 7
REQUEST_GUILD_MEMBERS = 8
INVALID_SESSION = 9
HELLO = 10
HEARTBEAT_ACK = 11

# Intent bits that gate the events the fake dispatches.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12


class Connection:
    """One websocket connection; frames leave in order through a single writer task."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write(), name="fake-discord-gateway-writer")

    def send(self, frame: dict[str, Any]) -> None:
        """Queue one frame (never blocks, keeps the order)."""
        self.outbox.put_nowait(frame)

    async def _write(self) -> None:
        while True:
            frame = await self.outbox.get()
            if self.ws.closed:
                continue
            try:
                await self.ws.send_str(json.dumps(frame))
            except (ConnectionError, RuntimeError) as exc:
                log.debug("fake gateway: send on a closing socket failed: %s", exc)

    async def close(self, code: int = 1000) -> None:
        """Stop the writer and close the socket."""
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.writer
        if not self.ws.closed:
            await self.ws.close(code=code)


@dataclass(eq=False)
class GatewaySession:
    """One identified bot session; survives reconnects until a new IDENTIFY."""

    id: str
    intents: int
    shard: list[int] | None = None
    seq: int = 0
    conn: Connection | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0
    heartbeats: int = 0

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Number and record an event, and queue it if the bot is connected."""
        self.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": self.seq, "d": data}
        self.events.append(frame)
        if self.conn is not None:
            self.conn.send(frame)


async def gateway_handler(fake: FakeDiscord, request: web.Request) -> web.WebSocketResponse:
    """Serve one gateway connection until the client closes it."""
    ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
    await ws.prepare(request)
    conn = Connection(ws)
    fake.gateway_connections.add(conn)
    log.debug("fake gateway: connection %s", request.query_string)
    conn.send({"op": HELLO, "d": {"heartbeat_interval": fake.heartbeat_interval_ms}})
    session: GatewaySession | None = None
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            if op == HEARTBEAT:
                if session is not None:
                    session.heartbeats += 1
                conn.send({"op": HEARTBEAT_ACK})
            elif op == IDENTIFY:
                if data.get("token") != fake.token:
                    await ws.close(code=4004, message=b"Authentication failed.")
                    break
                session = _identify(fake, conn, data)
            elif op == RESUME:
                session = _resume(fake, conn, data)
            elif op == REQUEST_GUILD_MEMBERS and session is not None:
                _members_chunk(fake, session, data)
            elif op in (PRESENCE_UPDATE, VOICE_STATE_UPDATE):
                pass
            else:
                log.warning("fake gateway: unhandled op %s: %s", op, frame)
    finally:
        fake.gateway_connections.discard(conn)
        if session is not None and session.conn is conn:
            session.conn = None
        await conn.close()
        log.debug("fake gateway: connection closed (%s)", ws.close_code)
    return ws


def _identify(fake: FakeDiscord, conn: Connection, data: dict[str, Any]) -> GatewaySession:
    session = GatewaySession(
        id=uuid.uuid4().hex,
        intents=int(data.get("intents") or 0),
        shard=data.get("shard"),
        conn=conn,
    )
    fake.session = session
    guilds = [g for g in fake.guilds.values() if fake.bot_user.id in g.members]
    ready: dict[str, Any] = {
        "v": 10,
        "user": fake.bot_user.payload() | {"verified": True, "mfa_enabled": False},
        "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
        "session_id": session.id,
        "session_type": "normal",
        "resume_gateway_url": fake.gateway_url,
        "application": {"id": str(fake.app_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "user_settings": {},
        "guild_join_requests": [],
        "geo_ordered_rtc_regions": [],
    }
    if session.shard is not None:
        ready["shard"] = session.shard
    session.dispatch("READY", ready)
    for guild in guilds:
        session.dispatch("GUILD_CREATE", guild.payload())
    fake.notify()
    return session


def _resume(fake: FakeDiscord, conn: Connection, data: dict[str, Any]) -> GatewaySession | None:
    session = fake.session
    if data.get("token") != fake.token or session is None or session.id != data.get("session_id"):
        conn.send({"op": INVALID_SESSION, "d": False})
        return None
    session.conn = conn
    session.resumes += 1
    last = int(data.get("seq") or 0)
    for frame in session.events:
        if frame["s"] > last:
            conn.send(frame)
    session.dispatch("RESUMED", {})
    fake.notify()
    return session


def _members_chunk(fake: FakeDiscord, session: GatewaySession, data: dict[str, Any]) -> None:
    guild = fake.guilds.get(int(data["guild_id"]))
    if guild is None:
        return
    members = list(guild.members.values())
    if data.get("user_ids"):
        wanted = {int(u) for u in data["user_ids"]}
        members = [m for m in members if m.user.id in wanted]
    elif data.get("query"):
        members = [m for m in members if m.user.name.lower().startswith(data["query"].lower())]
    limit = int(data.get("limit") or 0)
    if limit:
        members = members[:limit]
    chunk: dict[str, Any] = {
        "guild_id": str(guild.id),
        "members": [m.payload() for m in members],
        "chunk_index": 0,
        "chunk_count": 1,
    }
    if data.get("nonce"):
        chunk["nonce"] = data["nonce"]
    session.dispatch("GUILD_MEMBERS_CHUNK", chunk)
