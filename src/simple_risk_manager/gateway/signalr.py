"""A small client of the SignalR JSON hub protocol over a WebSocket (`gateway-api.md` §4.1–4.3, §6.1).

Why our own: the daemon must never give up reconnecting and must take a fresh token for every
connect, and pysignalr neither skips negotiation nor rebuilds its URL. The subset used here:
skip negotiation, `?access_token=` on the hub URL, the JSON handshake, `0x1E` record framing,
invocations with and without `invocationId`, Completion, Ping and Close. Reconnects follow
`daemon.md` §7 (1, 2, 4 … 30 s ±20 %, forever); after every connect the owner's `on_connected`
resubscribes before anything is announced.

The socket is `hub_transport.WebSocketClient` (websockets' Sans-I/O protocol on an
`asyncio.Protocol`): records are dispatched inside the socket's read callback, with no task
wake-up between a frame's arrival and `on_invocation` — the event → enforcement latency budget
(`daemon.md` §9) has no room for one. Liveness is a receive-time stamp checked by the keep-alive
task, not a timer per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from simple_risk_manager.gateway.backoff import hub_reconnect_delay
from simple_risk_manager.gateway.base import GatewayError, GatewayUnavailable, HubInvocationFailed
from simple_risk_manager.gateway.hub_transport import WebSocketClient
from simple_risk_manager.gateway.redact import RedactingFilter, loggable, redact

log = logging.getLogger(__name__)
api_log = logging.getLogger("simple_risk_manager.gateway.api")
_ws_log = logging.getLogger("simple_risk_manager.gateway.websocket")
_ws_log.addFilter(RedactingFilter())

RECORD_SEPARATOR = "\x1e"
HANDSHAKE = '{"protocol":"json","version":1}' + RECORD_SEPARATOR
PING = '{"type":6}' + RECORD_SEPARATOR
INVOCATION, COMPLETION, PING_TYPE, CLOSE = 1, 3, 6, 7
#: Depth frames can be large; SDKs raise the limit to 1 MiB or more.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: How long the server gets to finish the closing handshake before the socket is dropped.
CLOSE_TIMEOUT_S = 2.0
#: An attempt number past the cap: after a Close without allowReconnect the longest delay is used.
_LONGEST = 64

_SCHEMES = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}


def hub_socket_url(hub_url: str, token: str) -> str:
    """`https://host/hubs/user` + token → `wss://host/hubs/user?access_token=<url-encoded token>`."""
    parts = urlsplit(hub_url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ValueError(f"hub url: must be an http(s) or ws(s) URL (got {redact(hub_url)!r})")
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"]
    query.append(("access_token", token))
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), ""))


class RecordBuffer:
    """Splits frames into `0x1E`-terminated records; keeps a partial record until its end arrives."""

    def __init__(self) -> None:
        self._partial = ""

    def feed(self, frame: str | bytes) -> list[str]:
        text = frame.decode("utf-8", errors="replace") if isinstance(frame, bytes) else frame
        *records, self._partial = (self._partial + text).split(RECORD_SEPARATOR)
        return [r for r in records if r]


class HandshakeRefused(GatewayError):  # noqa: N818 (reads as an event, like the other gateway errors)
    def __init__(self, hub: str, error: str) -> None:
        super().__init__(hub, f"hub handshake refused: {error}")


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode() + RECORD_SEPARATOR


def _handshake_error(reply: str) -> str | None:
    """Why the handshake reply refuses the connection, or None when it accepts it (`{}`)."""
    try:
        message = orjson.loads(reply)
    except orjson.JSONDecodeError:
        message = None
    if not isinstance(message, dict):
        return f"unreadable reply {loggable(reply, 200)}"
    return str(message["error"]) if message.get("error") else None


class _Link:
    """One WebSocket connection of a hub: its socket, record buffer, handshake and how it ended.

    `_on_message` runs inside the socket's read callback: it stamps the receive time (the
    keep-alive task compares it with the server timeout), waits for the handshake reply, then
    dispatches every record at once — no task hop between the socket and `on_invocation`.
    """

    def __init__(self, hub: HubConnection, url: str) -> None:
        self._hub = hub
        self._buffer = RecordBuffer()
        self._accepted: bool | None = None  # the handshake reply: not yet / accepted / refused
        self.reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.last_received = time.monotonic()
        self.reason: str | None = None  # set when the hub protocol ends it (Close message, timeout)
        self.allow_reconnect = True
        self.close_received = False
        self.socket = WebSocketClient(url, self._on_message, on_close=self._on_close,
                                      max_size=MAX_MESSAGE_BYTES, close_timeout_s=CLOSE_TIMEOUT_S,
                                      logger=_ws_log)

    @property
    def ending(self) -> str:
        """The reason reported for the end of this connection."""
        if self.reason is not None:
            return self.reason
        rcvd = self.socket.close_received
        return f"connection closed (code {rcvd.code if rcvd else 'none'})"

    def _on_message(self, data: str | bytes) -> None:
        self.last_received = time.monotonic()
        records = self._buffer.feed(data)
        if self._accepted is not True:
            if self._accepted is False or not records:
                return
            records = self._take_reply(records)
        hub = self._hub
        try:
            for record in records:
                if self.close_received:
                    return
                hub._dispatch(record, self)
        finally:
            hub._frame_ended()

    def _take_reply(self, records: list[str]) -> list[str]:
        """Settle the handshake with the first record; the records after it are hub messages."""
        error = _handshake_error(records[0])
        self._accepted = error is None
        if not self.reply.done():
            if error is None:
                self.reply.set_result(None)
            else:
                self.reply.set_exception(HandshakeRefused(self._hub.name, error))
        return records[1:] if error is None else []

    def _on_close(self) -> None:
        if not self.reply.done():
            self.reply.set_exception(self.socket.close_exc)


class HubConnection:
    """One hub, kept connected until `run()` is cancelled.

    `on_invocation(target, arguments)` receives every server event, synchronously inside the
    socket's read callback (it must not block; exceptions are logged). `on_connected(reconnect,
    reason)` runs after every handshake with records already flowing, so it can `invoke` the
    Subscribe methods. `on_disconnected(reason)` reports an unplanned loss of an announced
    connection. `on_unauthorized(token)` is awaited when the upgrade is refused with 401, so the
    owner can log in again before the next attempt. `on_frame_end()`, when given, runs after the
    records of each frame (an owner may collect records and act on them per frame).
    """

    def __init__(self, name: str, url: str, token: Callable[[], Awaitable[str]], *,
                 on_invocation: Callable[[str, Any], None],
                 on_connected: Callable[[bool, str | None], Awaitable[None]],
                 on_disconnected: Callable[[str], None],
                 on_unauthorized: Callable[[str], Awaitable[object]],
                 on_frame_end: Callable[[], None] | None = None,
                 backoff_cap_s: float = 30.0, ping_interval_s: float = 10.0, server_timeout_s: float = 30.0,
                 invoke_timeout_s: float = 10.0, open_timeout_s: float = 10.0,
                 rng: random.Random | None = None) -> None:
        hub_socket_url(url, "x")  # validate now, not on the first connect
        self.name = name
        self._url = url
        self._token = token
        self._on_invocation = on_invocation
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._on_unauthorized = on_unauthorized
        self._on_frame_end = on_frame_end
        self._backoff_cap = backoff_cap_s
        self._ping_interval = ping_interval_s
        self._server_timeout = server_timeout_s
        self._invoke_timeout = invoke_timeout_s
        self._open_timeout = open_timeout_s
        self._rng = rng or random.Random()
        self._link: _Link | None = None
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._next_id = 0
        self._planned: str | None = None
        self._wake = asyncio.Event()
        self._ever_announced = False
        self._announced = False
        self._last_reason: str | None = None
        self.token_in_use: str | None = None

    @property
    def connected(self) -> bool:
        """True once `on_connected` has finished for the current connection."""
        return self._announced

    # --- public operations ---------------------------------------------------------------------

    async def invoke(self, target: str, *arguments: Any) -> Any:
        """Invoke with an `invocationId` and wait for its Completion (error → `HubInvocationFailed`)."""
        link = self._link
        if link is None:
            raise GatewayUnavailable(target, f"{self.name} hub is not connected")
        self._next_id += 1
        invocation_id = str(self._next_id)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[invocation_id] = (target, future)
        try:
            link.socket.send_text(encode({"type": INVOCATION, "invocationId": invocation_id, "target": target,
                                          "arguments": list(arguments)}))
            async with asyncio.timeout(self._invoke_timeout):
                return await future
        except ConnectionClosed:
            raise GatewayUnavailable(target, f"{self.name} hub connection closed") from None
        except TimeoutError:
            raise GatewayUnavailable(target, f"no completion within {self._invoke_timeout:g} s") from None
        finally:
            self._pending.pop(invocation_id, None)

    async def send(self, target: str, *arguments: Any) -> None:
        """Fire-and-forget invocation (no `invocationId`: the server never answers it); written at once."""
        link = self._link
        if link is None:
            raise GatewayUnavailable(target, f"{self.name} hub is not connected")
        record = encode({"type": INVOCATION, "target": target, "arguments": list(arguments)})
        try:
            link.socket.send_text(record)
        except ConnectionClosed:
            raise GatewayUnavailable(target, f"{self.name} hub connection closed") from None

    def reconnect_now(self, reason: str) -> None:
        """Planned reconnect (new token, logout): drop the connection and connect again at once."""
        self._planned = reason
        self._wake.set()
        link = self._link
        if link is not None:
            link.socket.close()

    async def run(self) -> None:
        """Connect, serve, reconnect — until cancelled. Never raises for network or server trouble."""
        failures = 0  # consecutive attempts that did not reach an announced connection
        retry_401_at_once = True
        try:
            while True:
                token: str | None = None
                try:
                    token = await self._token()
                    self.token_in_use = token
                    link = await self._open(token)
                except InvalidStatus as exc:
                    status = exc.response.status_code
                    log.warning("%s hub: upgrade refused with HTTP %d", self.name, status)
                    if status == 401 and token is not None:
                        await self._relogin(token)
                        if retry_401_at_once:
                            retry_401_at_once = False
                            continue
                except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed, GatewayError) as exc:
                    reason = redact(str(exc)) or type(exc).__name__
                    log.warning("%s hub: connect failed: %s", self.name, reason)
                else:
                    retry_401_at_once = True
                    allow_reconnect, announced = await self._serve(link)
                    if announced:
                        failures = 0
                    if self._planned is not None:
                        continue
                    if not allow_reconnect:
                        log.error("%s hub: server closed without allowReconnect; waiting the longest delay",
                                  self.name)
                        failures = max(failures, _LONGEST)
                await self._pause(hub_reconnect_delay(failures, self._backoff_cap, self._rng))
                failures += 1
        finally:
            self._fail_pending("hub client closed")

    # --- connection lifecycle ------------------------------------------------------------------

    async def _relogin(self, token: str) -> None:
        try:
            await self._on_unauthorized(token)
        except GatewayError as exc:
            log.error("%s hub: login after HTTP 401 failed: %s", self.name, exc)

    async def _pause(self, delay: float) -> None:
        """Sleep before the next attempt; `reconnect_now` cuts it short."""
        log.info("%s hub: reconnecting in %.2f s", self.name, delay)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
        finally:
            self._wake.clear()

    async def _open(self, token: str) -> _Link:
        """TCP, upgrade and hub handshake, all within `open_timeout_s`."""
        link = _Link(self, hub_socket_url(self._url, token))
        try:
            async with asyncio.timeout(self._open_timeout):
                await link.socket.connect()
                link.socket.send_text(HANDSHAKE)
                await link.reply
        except BaseException:
            link.reply.cancel()  # nobody waits for the reply any more
            await link.socket.aclose()
            raise
        return link

    async def _serve(self, link: _Link) -> tuple[bool, bool]:
        """Run one connection to its end; returns (allowReconnect, whether it was announced)."""
        self._link = link
        reconnect = self._ever_announced
        reason_before, self._planned = self._planned, None
        keepalive = asyncio.create_task(self._keepalive(link), name=f"{self.name}-hub-keepalive")
        announced = False
        try:
            log.info("%s hub: connected%s", self.name, " again" if reconnect else "")
            try:
                reason = (reason_before or self._last_reason) if reconnect else None
                await self._on_connected(reconnect, reason)
            except GatewayError as exc:
                log.warning("%s hub: resubscribe failed (%s); reconnecting", self.name, exc)
                link.socket.close()
            else:
                announced = self._announced = self._ever_announced = True
            await link.socket.wait_closed()
        finally:
            self._announced = False
            keepalive.cancel()
            self._link = None
            self._fail_pending("hub connection lost")
            await link.socket.aclose()
        self._last_reason = ending = link.ending
        if announced and self._planned is None:
            log.warning("%s hub: disconnected: %s", self.name, ending)
            self._on_disconnected(ending)
        return link.allow_reconnect, announced

    async def _keepalive(self, link: _Link) -> None:
        """Ping every `ping_interval_s`; end the connection after `server_timeout_s` of silence.

        Receiving only stamps `link.last_received`: this task sleeps to whichever is due first and
        checks the stamp then, so no timer is armed or cancelled per message.
        """
        next_ping = time.monotonic() + self._ping_interval
        while link.socket.is_open:
            now = time.monotonic()
            silent_until = link.last_received + self._server_timeout
            if now >= silent_until:
                link.reason = f"no message from the server for {self._server_timeout:g} s"
                link.socket.close()
                return
            if now >= next_ping:
                link.socket.send_text(PING)
                next_ping = now + self._ping_interval
            await asyncio.sleep(min(next_ping, silent_until) - now)

    # --- records -------------------------------------------------------------------------------

    def _dispatch(self, record: str, link: _Link) -> None:
        try:
            message = orjson.loads(record)
        except orjson.JSONDecodeError:
            log.error("%s hub: unreadable record skipped: %s", self.name, loggable(record))
            return
        if not isinstance(message, dict):
            log.error("%s hub: record is not an object, skipped: %s", self.name, loggable(record))
            return
        kind = message.get("type")
        if kind == INVOCATION:
            target = message.get("target")
            if not isinstance(target, str):
                log.error("%s hub: invocation without a target skipped: %s", self.name, loggable(record))
                return
            if api_log.isEnabledFor(logging.DEBUG):
                api_log.debug("%s hub <- %s", self.name, loggable(record))
            try:
                self._on_invocation(target, message.get("arguments"))
            except Exception:  # the connection must survive any consumer bug
                log.exception("%s hub: handler for %s failed", self.name, target)
        elif kind == COMPLETION:
            self._complete(message)
        elif kind == CLOSE:
            error = message.get("error")
            link.reason = f"server sent Close{f': {error}' if error else ''}"
            link.allow_reconnect = message.get("allowReconnect") is True
            link.close_received = True
            link.socket.close()
        # Ping (6) only proves the server is alive; other types are ignored (§4.2).

    def _frame_ended(self) -> None:
        if self._on_frame_end is None:
            return
        try:
            self._on_frame_end()
        except Exception:  # the connection must survive any consumer bug
            log.exception("%s hub: frame-end handler failed", self.name)

    def _complete(self, message: dict[str, Any]) -> None:
        pending = self._pending.get(str(message.get("invocationId")))
        if pending is None or pending[1].done():
            return
        target, future = pending
        error = message.get("error")
        if error:
            future.set_exception(HubInvocationFailed(target, str(error)))
        else:
            future.set_result(message.get("result"))

    def _fail_pending(self, reason: str) -> None:
        for target, future in self._pending.values():
            if not future.done():
                future.set_exception(GatewayUnavailable(target, reason))
        self._pending.clear()
