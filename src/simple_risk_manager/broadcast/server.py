"""The daemon's `broadcast-server` task: the local, read-only WebSocket feed of `broadcast-api.md`.

    server = BroadcastServer(settings.broadcast, provider, clock)
    await server.start()            # listens, or retries every 30 s in the background; never raises
    server.publish("GatewayUserTrade", 4411, data)   # the engine's Broadcaster port
    await server.stop()             # every client gets 1001

The server owns the envelope `seq`: every published event takes the next number, and control frames
(`hello`, `snapshot`, `error`) carry the latest one, so a snapshot's `seq` is exactly the last event it
reflects. That holds because the snapshot is built and enqueued in one synchronous step on the loop
(§6). `publish` serialises an event once and only appends it to the queues of the clients that want it;
each client has its own sender task (`session`), so the dispatcher never waits for a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from simple_risk_manager import __version__
from simple_risk_manager.broadcast.admission import origin_allowed
from simple_risk_manager.broadcast.frames import encode_frame
from simple_risk_manager.broadcast.protocol import (
    ACCOUNTLESS_EVENTS,
    BIND_RETRY_S,
    CLOSE_TIMEOUT_S,
    DAEMON_STATUS,
    ERROR,
    EVENT_TYPES,
    HELLO,
    INBOUND_MESSAGES_PER_SECOND,
    MARKET_QUOTE,
    MAX_INBOUND_FRAME_BYTES,
    PING_INTERVAL_S,
    PING_TIMEOUT_S,
    PROTOCOL_VERSION,
    SHUTDOWN_GRACE_S,
    SNAPSHOT,
    SNAPSHOT_REQUEST,
    SUBSCRIBE,
    CloseCode,
    ErrorCode,
)
from simple_risk_manager.broadcast.provider import SnapshotProvider
from simple_risk_manager.broadcast.quote_throttle import QuoteData
from simple_risk_manager.broadcast.requests import RequestError, SnapshotRequest, Subscribe, parse_request
from simple_risk_manager.broadcast.session import ClientSession
from simple_risk_manager.broadcast.subscription import Subscription
from simple_risk_manager.clock import Clock
from simple_risk_manager.config.daemon_settings import BroadcastSettings
from simple_risk_manager.domain.times import format_utc

log = logging.getLogger(__name__)


class BroadcastServer:
    """`port` overrides `settings.port` (0 = any free port, for tests); `bind_retry_s` is the §2 step 8
    retry period."""

    def __init__(self, settings: BroadcastSettings, provider: SnapshotProvider, clock: Clock, *,
                 port: int | None = None, bind_retry_s: float = BIND_RETRY_S) -> None:
        self._host = settings.host
        self._wanted_port = settings.port if port is None else port
        self._max_clients = settings.max_clients
        self._quote_max_hz = settings.quote_max_hz
        self._heartbeat_s = settings.heartbeat_seconds
        self._bind_retry_s = bind_retry_s
        self._provider = provider
        self._clock = clock
        self.run_id = secrets.token_hex(4)
        self._seq = 0
        self._server: Server | None = None
        self._port: int | None = None
        self._sessions: dict[ServerConnection, ClientSession] = {}
        # Handshakes let in and not yet finished: what max_clients counts (§1).
        self._admitted: set[ServerConnection] = set()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def port(self) -> int | None:
        """The port listened on, None while not listening."""
        return self._port

    @property
    def client_count(self) -> int:
        return len(self._sessions)

    @property
    def last_seq(self) -> int:
        return self._seq

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; on failure log ERROR and keep retrying in the background (the daemon goes on)."""
        if self._tasks:
            raise RuntimeError("broadcast server already started")
        if not await self._listen():
            self._tasks.append(asyncio.create_task(self._listen_until_serving(), name="broadcast-bind"))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="broadcast-heartbeat"))

    async def stop(self) -> None:
        """Stop listening; clients get what is queued, then 1001 (dropped after a short grace)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        server, self._server, self._port = self._server, None, None
        if server is None:
            return
        sessions = list(self._sessions.values())
        for session in sessions:
            session.close_after_pending(CloseCode.GOING_AWAY, "daemon shutting down")
        server.close(close_connections=False)
        if sessions:
            closed = [asyncio.ensure_future(s.connection.wait_closed()) for s in sessions]
            await asyncio.wait(closed, timeout=SHUTDOWN_GRACE_S)
            for session, waiter in zip(sessions, closed, strict=True):
                if not waiter.done():
                    session.abort()
        await server.wait_closed()
        log.info("broadcast: stopped")

    async def _listen(self) -> bool:
        try:
            server = await serve(
                self._handle, self._host, self._wanted_port, process_request=self._admit,
                compression=None, max_size=MAX_INBOUND_FRAME_BYTES, ping_interval=PING_INTERVAL_S,
                ping_timeout=PING_TIMEOUT_S, close_timeout=CLOSE_TIMEOUT_S)
        except OSError as exc:
            log.error("broadcast: cannot listen on %s:%d (%s); retrying every %g s, enforcement goes on "
                      "without dashboards", self._host, self._wanted_port, exc, self._bind_retry_s)
            return False
        self._server = server
        self._port = int(server.sockets[0].getsockname()[1])
        log.info("broadcast: listening on ws://%s:%d/ (run %s)", self._host, self._port, self.run_id)
        return True

    async def _listen_until_serving(self) -> None:
        while True:
            await asyncio.sleep(self._bind_retry_s)
            if await self._listen():
                return

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            self.publish_status()

    # --- publishing -----------------------------------------------------------------------------

    def publish(self, message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None:
        """The engine's `Broadcaster` port: never blocks, never raises. `data` must not be changed
        afterwards (a paced `MarketQuote` keeps it until it is sent)."""
        try:
            self._publish(message_type, account_id, data)
        except Exception:
            log.exception("broadcast: %s could not be published", message_type)

    def publish_status(self) -> None:
        """`daemon_status` from the provider: the heartbeat, and whenever the client count changes."""
        try:
            status = self._provider.daemon_status()
        except Exception:
            log.exception("broadcast: the daemon status could not be read")
            return
        self.publish(DAEMON_STATUS, None, status.to_dict())

    def _publish(self, message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None:
        if message_type not in EVENT_TYPES:
            log.error("broadcast: %r is not one of the nine event types; not sent", message_type)
            return
        accountless = message_type in ACCOUNTLESS_EVENTS
        if accountless != (account_id is None):
            log.error("broadcast: %s %s; not sent", message_type,
                      "has no account (account_id must be None)" if accountless else "needs its account id")
            return
        seq = self._next_seq()
        if message_type == MARKET_QUOTE:
            self._route_quote(seq, data)
            return
        if message_type == DAEMON_STATUS:
            data = {**data, "clients": len(self._sessions)}
        frame: bytes | None = None
        for session in self._sessions.values():
            if account_id is not None and not session.subscription.covers(account_id):
                continue
            if frame is None:
                frame = self._frame(message_type, seq, account_id, data)
                if frame is None:
                    return
            session.enqueue(frame)

    def _route_quote(self, seq: int, data: QuoteData) -> None:
        """§5.4: only to clients following an account that holds the contract, paced per client."""
        contract_id = data.get("contract_id")
        if not isinstance(contract_id, str) or not contract_id:
            log.error("broadcast: MarketQuote without a contract_id; not sent")
            return
        if not self._sessions:
            return  # nobody to send it to: the holders are not worth looking up
        holders = self._provider.accounts_holding(contract_id)
        if not holders:
            return
        targets = [s for s in self._sessions.values() if s.subscription.covers_any(holders)]
        if not targets:
            return
        frame = self._frame(MARKET_QUOTE, seq, None, data)
        if frame is None:
            return
        for session in targets:
            session.offer_quote(contract_id, data, frame)

    def _released_quote_frame(self, data: QuoteData) -> bytes | None:
        return self._frame(MARKET_QUOTE, self._next_seq(), None, data)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _frame(self, message_type: str, seq: int, account_id: int | None,
               data: Mapping[str, Any]) -> bytes | None:
        try:
            return encode_frame(message_type, seq, self._clock.now(), account_id, data)
        except TypeError as exc:
            log.error("broadcast: %s has data with no JSON form (%s); not sent", message_type, exc)
            return None

    # --- connections ----------------------------------------------------------------------------

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """§9 Origin check (403), then §1 capacity (503)."""
        origins = request.headers.get_all("Origin")
        if self._port is None or not origin_allowed(origins, self._port):
            log.warning("broadcast: refused a handshake from %s with Origin %.100s (403)",
                        connection.remote_address, ", ".join(origins))
            return connection.respond(HTTPStatus.FORBIDDEN, "Origin not allowed\n")
        self._admitted = {c for c in self._admitted if c.state is not State.CLOSED}
        if len(self._admitted) >= self._max_clients:
            log.warning("broadcast: refused a client from %s: %d clients connected (503)",
                        connection.remote_address, len(self._admitted))
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Too many clients\n")
        self._admitted.add(connection)
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        session = ClientSession(connection, quote_max_hz=self._quote_max_hz,
                                quote_frame=self._released_quote_frame)
        self._sessions[connection] = session
        log.info("broadcast: client %s connected (%d clients)", connection.remote_address,
                 len(self._sessions))
        session.start()
        try:
            self._greet(session)
            async for raw in connection:
                self._on_frame(session, raw)
        except ConnectionClosed:
            pass
        finally:
            del self._sessions[connection]
            self._admitted.discard(connection)
            await session.finish()
            log.info("broadcast: client %s disconnected (close code %s, %d clients)",
                     connection.remote_address, connection.close_code, len(self._sessions))
            self.publish_status()

    def _greet(self, session: ClientSession) -> None:
        """`hello` first (§4.1), then the `daemon_status` that counts the new client."""
        try:
            status = self._provider.daemon_status()
            accounts = [{"account_id": a.account_id, "nickname": a.nickname}
                        for a in self._provider.accounts()]
        except Exception:
            log.exception("broadcast: hello could not be built")
            session.close_after_pending(CloseCode.SERVER_ERROR, "unexpected server error")
            return
        hello = self._frame(HELLO, self._seq, None, {
            "protocol": PROTOCOL_VERSION, "daemon_version": __version__, "run_id": self.run_id,
            "started_at": format_utc(status.started_at), "accounts": accounts,
            "quote_max_hz": self._quote_max_hz})
        if hello is None:
            session.close_after_pending(CloseCode.SERVER_ERROR, "unexpected server error")
            return
        session.enqueue(hello)
        self.publish_status()

    def _on_frame(self, session: ClientSession, raw: str | bytes) -> None:
        """One inbound frame. Nothing here can change daemon state: at most this client's subscription."""
        if session.closing:
            return
        try:
            now = self._clock.monotonic()
            if not session.guard.admit(now):
                self._reply_error(session, RequestError(
                    ErrorCode.RATE_LIMITED,
                    f"more than {INBOUND_MESSAGES_PER_SECOND} messages per second; this one was ignored",
                    None), now)
                return
            request = parse_request(raw)
            if isinstance(request, RequestError):
                self._reply_error(session, request, now)
            elif isinstance(request, Subscribe):
                self._subscribe(session, request, now)
            else:
                self._snapshot_request(session, request, now)
        except Exception:
            log.exception("broadcast: request from client %s failed", session.connection.remote_address)
            session.close_after_pending(CloseCode.SERVER_ERROR, "unexpected server error")

    def _subscribe(self, session: ClientSession, request: Subscribe, now: float) -> None:
        if request.account_ids is None:
            session.subscription = Subscription.all_accounts()
            targets = self._known_accounts()
        else:
            targets = self._resolve(session, request.account_ids, SUBSCRIBE, now)
            session.subscription = Subscription.of(targets)
        session.quotes.clear()
        self._send_snapshot(session, targets)

    def _snapshot_request(self, session: ClientSession, request: SnapshotRequest, now: float) -> None:
        if request.use_subscription:
            subscription = session.subscription
            targets = [a for a in self._known_accounts() if subscription.covers(a)]
        elif request.account_ids is None:
            targets = self._known_accounts()
        else:
            targets = self._resolve(session, request.account_ids, SNAPSHOT_REQUEST, now)
        self._send_snapshot(session, targets)

    def _known_accounts(self) -> list[int]:
        return [a.account_id for a in self._provider.accounts()]

    def _resolve(self, session: ClientSession, account_ids: Sequence[int], request_type: str,
                 now: float) -> list[int]:
        """The requested ids that are monitored; the others are reported in one `unknown_account`."""
        known = set(self._known_accounts())
        unknown = [a for a in account_ids if a not in known]
        if unknown:
            listed = ", ".join(str(a) for a in unknown)
            subject = f"account {listed} is" if len(unknown) == 1 else f"accounts {listed} are"
            self._reply_error(session, RequestError(
                ErrorCode.UNKNOWN_ACCOUNT, f"{subject} not configured (or not enabled)", request_type), now)
        return [a for a in account_ids if a in known]

    def _send_snapshot(self, session: ClientSession, account_ids: Sequence[int]) -> None:
        status = {**self._provider.daemon_status().to_dict(), "clients": len(self._sessions)}
        accounts = [s.to_dict() for s in self._provider.account_snapshots(account_ids)]
        frame = self._frame(SNAPSHOT, self._seq, None, {"daemon": status, "accounts": accounts})
        if frame is None:
            session.close_after_pending(CloseCode.SERVER_ERROR, "unexpected server error")
            return
        session.enqueue(frame)

    def _reply_error(self, session: ClientSession, error: RequestError, now: float) -> None:
        """§4.5; the eleventh error within 60 s closes the connection with 4001 (§2)."""
        frame = self._frame(ERROR, self._seq, None, {
            "code": error.code.value, "message": error.message, "request_type": error.request_type})
        if frame is not None:
            session.enqueue(frame)
        if session.guard.note_error(now):
            log.warning("broadcast: client %s closed after repeated protocol violations (4001)",
                        session.connection.remote_address)
            session.close_after_pending(CloseCode.PROTOCOL_VIOLATIONS, "repeated protocol violations")
