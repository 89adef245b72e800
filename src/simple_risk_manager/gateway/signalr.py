"""A small client of the SignalR JSON hub protocol over `websockets` (`gateway-api.md` §4.1–4.3, §6.1).

Why our own: the daemon must never give up reconnecting and must take a fresh token for every
connect, and pysignalr neither skips negotiation nor rebuilds its URL. The subset used here:
skip negotiation, `?access_token=` on the hub URL, the JSON handshake, `0x1E` record framing,
invocations with and without `invocationId`, Completion, Ping and Close. Reconnects follow
`daemon.md` §7 (1, 2, 4 … 30 s ±20 %, forever); after every connect the owner's `on_connected`
resubscribes before anything is announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from simple_risk_manager.gateway.backoff import hub_reconnect_delay
from simple_risk_manager.gateway.base import GatewayError, GatewayUnavailable, HubInvocationFailed
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


@dataclass(slots=True)
class _Ending:
    """How one connection ended: the reason reported, and whether the server allows a reconnect."""

    reason: str = "connection closed"
    allow_reconnect: bool = True
    close_received: bool = False


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode() + RECORD_SEPARATOR


class HubConnection:
    """One hub, kept connected until `close()`.

    `on_invocation(target, arguments)` receives every server event (it must not raise; exceptions
    are logged). `on_connected(reconnect, reason)` runs after every handshake with the reader already
    running, so it can `invoke` the Subscribe methods. `on_disconnected(reason)` reports an
    unplanned loss of an announced connection. `on_unauthorized(token)` is awaited when the upgrade
    is refused with 401, so the owner can log in again before the next attempt.
    """

    def __init__(self, name: str, url: str, token: Callable[[], Awaitable[str]], *,
                 on_invocation: Callable[[str, Any], None],
                 on_connected: Callable[[bool, str | None], Awaitable[None]],
                 on_disconnected: Callable[[str], None],
                 on_unauthorized: Callable[[str], Awaitable[object]],
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
        self._backoff_cap = backoff_cap_s
        self._ping_interval = ping_interval_s
        self._server_timeout = server_timeout_s
        self._invoke_timeout = invoke_timeout_s
        self._open_timeout = open_timeout_s
        self._rng = rng or random.Random()
        self._ws: ClientConnection | None = None
        self._pending: dict[str, tuple[str, asyncio.Future[Any]]] = {}
        self._next_id = 0
        self._planned: str | None = None
        self._wake = asyncio.Event()
        self._ever_announced = False
        self._announced = False
        self._last_reason: str | None = None
        self._closer: asyncio.Task[None] | None = None
        self.token_in_use: str | None = None

    @property
    def connected(self) -> bool:
        """True once `on_connected` has finished for the current connection."""
        return self._announced

    # --- public operations ---------------------------------------------------------------------

    async def invoke(self, target: str, *arguments: Any) -> Any:
        """Invoke with an `invocationId` and wait for its Completion (error → `HubInvocationFailed`)."""
        ws = self._ws
        if ws is None:
            raise GatewayUnavailable(target, f"{self.name} hub is not connected")
        self._next_id += 1
        invocation_id = str(self._next_id)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[invocation_id] = (target, future)
        try:
            await ws.send(encode({"type": INVOCATION, "invocationId": invocation_id, "target": target,
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
        """Fire-and-forget invocation (no `invocationId`: the server never answers it)."""
        ws = self._ws
        if ws is None:
            raise GatewayUnavailable(target, f"{self.name} hub is not connected")
        try:
            await ws.send(encode({"type": INVOCATION, "target": target, "arguments": list(arguments)}))
        except ConnectionClosed:
            raise GatewayUnavailable(target, f"{self.name} hub connection closed") from None

    def reconnect_now(self, reason: str) -> None:
        """Planned reconnect (new token, logout): drop the connection and connect again at once."""
        self._planned = reason
        self._wake.set()
        ws = self._ws
        if ws is not None:
            self._closer = asyncio.get_running_loop().create_task(ws.close())

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
                    ws, buffer, leftover = await self._open(token)
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
                    allow_reconnect, announced = await self._serve(ws, buffer, leftover)
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

    async def _open(self, token: str) -> tuple[ClientConnection, RecordBuffer, list[str]]:
        ws = await connect(hub_socket_url(self._url, token), open_timeout=self._open_timeout,
                           ping_interval=None, close_timeout=2, max_size=MAX_MESSAGE_BYTES, max_queue=1024,
                           proxy=None, logger=_ws_log)
        try:
            buffer = RecordBuffer()
            await ws.send(HANDSHAKE)
            records: list[str] = []
            async with asyncio.timeout(self._open_timeout):
                while not records:
                    records = buffer.feed(await ws.recv())
            try:
                reply = orjson.loads(records[0])
            except orjson.JSONDecodeError:
                reply = None
            if not isinstance(reply, dict):
                raise HandshakeRefused(self.name, f"unreadable reply {loggable(records[0], 200)}")
            if reply.get("error"):
                raise HandshakeRefused(self.name, str(reply["error"]))
            return ws, buffer, records[1:]
        except BaseException:
            await ws.close()
            raise

    async def _serve(self, ws: ClientConnection, buffer: RecordBuffer,
                     leftover: list[str]) -> tuple[bool, bool]:
        """Run one connection to its end; returns (allowReconnect, whether it was announced)."""
        self._ws = ws
        reconnect = self._ever_announced
        reason_before, self._planned = self._planned, None
        ending = _Ending()
        reader = asyncio.create_task(self._read(ws, buffer, leftover, ending),
                                     name=f"{self.name}-hub-reader")
        pinger = asyncio.create_task(self._ping(ws), name=f"{self.name}-hub-ping")
        announced = False
        try:
            log.info("%s hub: connected%s", self.name, " again" if reconnect else "")
            try:
                reason = (reason_before or self._last_reason) if reconnect else None
                await self._on_connected(reconnect, reason)
            except GatewayError as exc:
                log.warning("%s hub: resubscribe failed (%s); reconnecting", self.name, exc)
                await ws.close()
            else:
                announced = self._announced = self._ever_announced = True
            await reader
        finally:
            self._announced = False
            pinger.cancel()
            reader.cancel()
            self._ws = None
            self._fail_pending("hub connection lost")
            await ws.close()
        self._last_reason = ending.reason
        if announced and self._planned is None:
            log.warning("%s hub: disconnected: %s", self.name, ending.reason)
            self._on_disconnected(ending.reason)
        return ending.allow_reconnect, announced

    async def _read(self, ws: ClientConnection, buffer: RecordBuffer, leftover: list[str],
                    ending: _Ending) -> None:
        for record in leftover:
            self._dispatch(record, ending)
        while not ending.close_received:
            try:
                async with asyncio.timeout(self._server_timeout):
                    frame = await ws.recv()
            except TimeoutError:
                ending.reason = f"no message from the server for {self._server_timeout:g} s"
                break
            except ConnectionClosed as exc:
                ending.reason = f"connection closed (code {exc.rcvd.code if exc.rcvd else 'none'})"
                break
            for record in buffer.feed(frame):
                self._dispatch(record, ending)
        await ws.close()

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self._ping_interval)
                await ws.send(PING)

    def _dispatch(self, record: str, ending: _Ending) -> None:
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
            except Exception:  # the reader must survive any consumer bug
                log.exception("%s hub: handler for %s failed", self.name, target)
        elif kind == COMPLETION:
            self._complete(message)
        elif kind == CLOSE:
            error = message.get("error")
            ending.reason = f"server sent Close{f': {error}' if error else ''}"
            ending.allow_reconnect = message.get("allowReconnect") is True
            ending.close_received = True
        # Ping (6) only proves the server is alive; other types are ignored (§4.2).

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
