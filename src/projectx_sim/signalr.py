"""The ASP.NET Core SignalR JSON hub protocol over aiohttp WebSockets (gateway-api.md §4.1-§4.3).

This module knows the protocol, not the gateway: negotiate, token checks before the upgrade, the
handshake, 0x1E framing with partial-record buffering, invocations and completions, keep-alive pings,
the client timeout and Close messages. A `Hub` subclass declares its methods and decides who receives
what; subscriptions live on the connection and die with it.

Every connection has an outbox drained by its own writer task: publishers never wait for a slow
client, records queued together leave in one WebSocket frame, and each event record is encoded once
and shared by all its receivers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from projectx_sim.config import SimConfig
from projectx_sim.journal import EventLog
from projectx_sim.tokens import Claims, TokenIssuer
from projectx_sim.wire import (
    CLOSE,
    COMPLETION,
    INVOCATION,
    PING_RECORD,
    RECORD_SEPARATOR,
    message_record,
)

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024  # records queued together are sent in frames of at most this size
MAX_PARTIAL_RECORD = 1024 * 1024  # a client that sends this much without a separator is dropped
LOW_WATER = 1024  # `wait_writable` returns once the outbox is this short
INT32 = (-(2**31), 2**31 - 1)
JSON_PROTOCOL_VERSION = 1
HANDSHAKE_OK = b"{}" + RECORD_SEPARATOR.encode()
TIMEOUT_ERROR = "Server timeout elapsed without receiving a message from the client."
BINDING_ERROR = (
    "Failed to invoke '{}' due to an error on the server. InvalidDataException: Error binding arguments. "
    "Make sure that the types of the provided values match the types of the hub method being invoked."
)
_connection_ids = itertools.count(1)


class RecordReader:
    """Splits incoming text on 0x1E, keeping an unfinished record until the rest arrives."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, text: str) -> list[str]:
        *records, self._partial = (self._partial + text).split(RECORD_SEPARATOR)
        return [r for r in records if r]

    @property
    def pending(self) -> int:
        return len(self._partial)


Handler = Callable[["HubConnection", list[Any]], None]


@dataclass(frozen=True, slots=True)
class HubMethod:
    name: str
    params: tuple[type, ...]  # int (a JSON integer in int32 range) or str
    handler: Handler

    def binds(self, arguments: object) -> bool:
        if not isinstance(arguments, list) or len(arguments) != len(self.params):
            return False
        for value, kind in zip(arguments, self.params, strict=True):
            if kind is int:
                if isinstance(value, bool) or not isinstance(value, int) or not INT32[0] <= value <= INT32[1]:
                    return False
            elif not isinstance(value, kind):
                return False
        return True


class HubConnection:
    """One client WebSocket: its subscriptions, outbox, writer and keep-alive."""

    def __init__(
        self, hub: Hub, ws: web.WebSocketResponse, request: web.Request, claims: Claims, token: str
    ) -> None:
        self.id = next(_connection_ids)
        self.hub = hub
        self.user_id = int(claims.sub)
        self.token = token
        self.subscriptions: set[tuple[str, Any]] = set()
        self.primed: set[str] = set()  # market hub: contracts that got a complete quote
        self.handshaken = False
        self.closed = False
        self._ws = ws
        self._request = request
        self._reader = RecordReader()
        self.last_received = self.last_sent = time.monotonic()
        self._outbox: deque[tuple[bytes, str | None]] = deque()
        self._after_reply: list[tuple[bytes, str]] = []
        self._wake = asyncio.Event()
        self._writable = asyncio.Event()
        self._handshaken = asyncio.Event()
        self._close_after_flush = False

    # Sending ----------------------------------------------------------------------------------

    def send(self, record: bytes, target: str | None = None) -> None:
        """Queue one framed record; `target` marks hub events for the event log."""
        if self.closed or self._close_after_flush:
            return
        self._outbox.append((record, target))
        if len(self._outbox) > self.hub.config.max_outbox:
            log.warning(
                "dropping %s connection %d: %d records unsent", self.hub.name, self.id, len(self._outbox)
            )
            self.abort()
            return
        self._wake.set()

    def send_after_reply(self, record: bytes, target: str) -> None:
        """Queue an event behind the Completion of the invocation being handled (snapshots, replays)."""
        self._after_reply.append((record, target))

    def close(self, error: str | None = None, allow_reconnect: bool = False) -> None:
        """Send a Close message (type 7) after what is queued, then close the socket."""
        message: dict[str, Any] = {"type": CLOSE}
        if error is not None:
            message["error"] = error
        if allow_reconnect:
            message["allowReconnect"] = True
        self.send(message_record(message))
        self.finish()

    def finish(self) -> None:
        """Close the socket once everything queued so far has been sent."""
        self._close_after_flush = True
        self._wake.set()

    def abort(self) -> None:
        """Drop the TCP connection without any closing handshake (a network failure)."""
        self.closed = True
        transport = self._request.transport
        if transport is not None:
            transport.abort()
        self._wake.set()
        self._writable.set()

    async def wait_writable(self) -> None:
        while len(self._outbox) > LOW_WATER and not self.closed:
            self._writable.clear()
            await self._writable.wait()

    @property
    def queued(self) -> int:
        return len(self._outbox)

    async def write_loop(self) -> None:
        events = self.hub.events
        try:
            while not self.closed:
                if not self._outbox:
                    self._writable.set()
                    if self._close_after_flush:
                        break
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                frame: list[bytes] = []
                logged: list[tuple[str, bytes]] = []
                size = 0
                while self._outbox and size < MAX_FRAME_BYTES:
                    record, target = self._outbox.popleft()
                    frame.append(record)
                    size += len(record)
                    if target is not None:
                        logged.append((target, record))
                sent_ns = time.monotonic_ns()
                await self._ws.send_frame(b"".join(frame), WSMsgType.TEXT)
                self.last_sent = time.monotonic()
                for target, record in logged:
                    events.record(sent_ns, self.hub.name, self.id, target, record)
                if len(self._outbox) <= LOW_WATER:
                    self._writable.set()
            if not self.closed:
                await self._ws.close()
        except (ConnectionError, RuntimeError) as error:
            log.debug("%s connection %d: send failed: %s", self.hub.name, self.id, error)
            self.abort()

    async def keepalive(self) -> None:
        """Handshake timeout, then server pings when idle and the client timeout (§4.3)."""
        try:
            await asyncio.wait_for(self._handshaken.wait(), self.hub.config.handshake_timeout_s)
        except TimeoutError:
            self.finish()  # no hub messages before a handshake: just close
            return
        while not self.closed and not self._close_after_flush:
            config = self.hub.config
            now = time.monotonic()
            silent = now - self.last_received
            if silent >= config.client_timeout_s:
                self.close(error=TIMEOUT_ERROR)
                return
            if config.close_hubs_on_token_expiry and self.hub.tokens.verify(self.token) is None:
                self.close(error="The access token expired.", allow_reconnect=True)
                return
            idle = now - self.last_sent
            if idle >= config.ping_interval_s:
                self.send(PING_RECORD)
                idle = 0.0
            wait = min(config.ping_interval_s - idle, config.client_timeout_s - silent)
            await asyncio.sleep(min(max(wait, 0.01), 1.0))

    # Receiving --------------------------------------------------------------------------------

    def receive(self, text: str) -> None:
        self.last_received = time.monotonic()
        for record in self._reader.feed(text):
            if self.closed or self._close_after_flush:
                return
            if self.handshaken:
                self._message(record)
            else:
                self._handshake(record)
        if self._reader.pending > MAX_PARTIAL_RECORD:
            self.close(error="Message exceeds the maximum size.")

    def _handshake(self, record: str) -> None:
        try:
            request = orjson.loads(record)
        except orjson.JSONDecodeError:
            request = None
        if not isinstance(request, dict):
            request = {}
        protocol, version = request.get("protocol"), request.get("version")
        error: str | None = None
        if not isinstance(protocol, str):
            error = "Handshake request is missing required property 'protocol'."
        elif protocol != "json":
            error = f"The protocol '{protocol}' is not supported."
        elif isinstance(version, bool) or not isinstance(version, int):
            error = "Handshake request is missing required property 'version'."
        elif not 0 <= version <= JSON_PROTOCOL_VERSION:  # ASP.NET accepts any version up to its own
            error = f"The server does not support version {version} of the 'json' protocol."
        if error is not None:
            self.send(message_record({"error": error}))
            self.finish()
            return
        self.handshaken = True
        self._handshaken.set()
        self.send(HANDSHAKE_OK)

    def _message(self, record: str) -> None:
        try:
            message = orjson.loads(record)
        except orjson.JSONDecodeError:
            log.debug("%s connection %d: ignoring a record that is not JSON", self.hub.name, self.id)
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == INVOCATION:
            self._invocation(message)
        elif kind == CLOSE:
            self.finish()
        # Pings only refresh last_received; other and unknown types are ignored (§4.2).

    def _invocation(self, message: dict[str, Any]) -> None:
        invocation_id = message.get("invocationId")
        target = message.get("target")
        if invocation_id is not None and not isinstance(invocation_id, str):
            return
        error: str | None = None
        if not isinstance(target, str):
            error = "Invocation is missing required property 'target'."
        else:
            method = self.hub.methods.get(target)
            if method is None:
                error = f"Unknown hub method '{target}'"
            elif not method.binds(message.get("arguments")):
                error = BINDING_ERROR.format(target)
            else:
                method.handler(self, message["arguments"])
        if invocation_id is not None:
            completion: dict[str, Any] = {"type": COMPLETION, "invocationId": invocation_id}
            if error is not None:
                completion["error"] = error
            self.send(message_record(completion))
        for record, event_target in self._after_reply:
            self.send(record, event_target)
        self._after_reply.clear()

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "hub": self.hub.name,
            "userId": self.user_id,
            "handshaken": self.handshaken,
            "subscriptions": sorted(f"{kind}:{key}" for kind, key in self.subscriptions),
            "queued": self.queued,
        }


class Hub:
    """One hub path (`/hubs/user` or `/hubs/market`): connections, methods and the subscription index."""

    def __init__(self, name: str, config: SimConfig, tokens: TokenIssuer, events: EventLog) -> None:
        self.name = name
        self.config = config
        self.tokens = tokens
        self.events = events
        self.methods: dict[str, HubMethod] = {}
        self.connections: dict[int, HubConnection] = {}
        self._index: dict[tuple[str, Any], set[HubConnection]] = {}

    def method(self, name: str, params: tuple[type, ...], handler: Handler) -> None:
        self.methods[name] = HubMethod(name, params, handler)

    # Subscriptions ----------------------------------------------------------------------------

    def subscribe(self, connection: HubConnection, kind: str, key: Any) -> None:
        connection.subscriptions.add((kind, key))
        self._index.setdefault((kind, key), set()).add(connection)

    def unsubscribe(self, connection: HubConnection, kind: str, key: Any) -> None:
        connection.subscriptions.discard((kind, key))
        subscribers = self._index.get((kind, key))
        if subscribers is not None:
            subscribers.discard(connection)
            if not subscribers:
                del self._index[(kind, key)]

    def subscribers(self, kind: str, key: Any) -> set[HubConnection]:
        return self._index.get((kind, key), set())

    def broadcast(self, connections: Iterable[HubConnection], record: bytes, target: str) -> None:
        for connection in connections:
            connection.send(record, target)

    # Connections ------------------------------------------------------------------------------

    def authenticate(self, request: web.Request) -> tuple[Claims, str] | None:
        """Token from `?access_token=` or, when allowed, an `Authorization: Bearer` header."""
        token = request.query.get("access_token")
        if token is None and self.config.hub_bearer_auth:
            header = request.headers.get("Authorization", "")
            if header.startswith("Bearer "):
                token = header[len("Bearer ") :].strip()
        if not token:
            return None
        claims = self.tokens.verify(token)
        return None if claims is None else (claims, token)

    async def negotiate(self, request: web.Request) -> web.Response:
        if self.authenticate(request) is None:
            return web.Response(status=401)
        try:
            version = min(int(request.query.get("negotiateVersion", "0")), 1)
        except ValueError:
            version = 0
        body: dict[str, Any] = {
            "connectionId": secrets.token_urlsafe(16),
            "negotiateVersion": max(version, 0),
            "availableTransports": [{"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}],
        }
        if version >= 1:
            body["connectionToken"] = secrets.token_urlsafe(16)
        return web.json_response(body, dumps=lambda value: orjson.dumps(value).decode())

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket endpoint: 401 before the upgrade on a bad token, any or no `id` accepted."""
        auth = self.authenticate(request)
        if auth is None:
            return web.Response(status=401)
        ws = web.WebSocketResponse(autoping=True, compress=False, max_msg_size=MAX_PARTIAL_RECORD)
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="Connection ID required")
        await ws.prepare(request)
        connection = HubConnection(self, ws, request, *auth)
        self.connections[connection.id] = connection
        tasks = [
            asyncio.create_task(connection.write_loop()),
            asyncio.create_task(connection.keepalive()),
        ]
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    connection.receive(frame.data)
                elif frame.type == WSMsgType.BINARY:
                    try:
                        connection.receive(frame.data.decode("utf-8"))
                    except UnicodeDecodeError:
                        log.debug(
                            "%s connection %d: ignoring a binary frame that is not UTF-8",
                            self.name,
                            connection.id,
                        )
                elif frame.type == WSMsgType.ERROR:
                    break
        finally:
            connection.closed = True
            self.disconnected(connection)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.close()
        return ws

    def disconnected(self, connection: HubConnection) -> None:
        """Forget a closed connection and its subscriptions (they never survive a reconnect)."""
        self.connections.pop(connection.id, None)
        for kind, key in list(connection.subscriptions):
            self.unsubscribe(connection, kind, key)

    def select(self, user_id: int | None = None) -> list[HubConnection]:
        return [c for c in self.connections.values() if user_id is None or c.user_id == user_id]

    async def wait_writable(self) -> None:
        """Backpressure for bursts: wait until every subscriber's outbox is short again."""
        for connection in list(self.connections.values()):
            await connection.wait_writable()

    async def shutdown(self) -> None:
        for connection in list(self.connections.values()):
            connection.abort()
