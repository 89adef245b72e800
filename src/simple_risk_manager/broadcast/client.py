"""A small client of the broadcast feed for the Trader CLI and scripts (§8).

    client = BroadcastClient("ws://127.0.0.1:8765/", account_ids=[4411])
    async for item in client.stream():
        if isinstance(item, Disconnected): ...   # show the SQLite fallback until the next `hello`
        elif item.type == "snapshot": ...        # rebuild; then apply events with seq > snapshot seq

Every connection goes hello → subscribe → snapshot → events; a lost connection yields `Disconnected`
and is retried forever on the 1, 2, 4, 8, 10 s ladder (±20 %), restarting at 1 s after a connection that
lasted 30 s. Frames for accounts outside the subscription are dropped (§8 "validate defensively").
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from simple_risk_manager.broadcast.frames import Message, decode_message, encode_request
from simple_risk_manager.broadcast.protocol import DEFAULT_URL, HELLO, SNAPSHOT_REQUEST, SUBSCRIBE
from simple_risk_manager.clock import Clock, SystemClock
from simple_risk_manager.gateway.backoff import hub_reconnect_delay

#: §8: the longest reconnect delay, and how long a connection must last to restart the ladder.
MAX_DELAY_S: Final = 10.0
STABLE_CONNECTION_S: Final = 30.0
_OPEN_TIMEOUT_S: Final = 10.0


def reconnect_delay(attempt: int, rng: random.Random | None = None) -> float:
    """Delay before reconnect number `attempt` (0 = first): 1, 2, 4, 8, then 10 s, each ±20 % (B8)."""
    return hub_reconnect_delay(attempt, cap=MAX_DELAY_S, rng=rng)


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The connection is gone (or could not be made); the next try starts in `retry_in_s`."""

    reason: str
    retry_in_s: float


class BroadcastClient:
    """`account_ids` None subscribes to every enabled account. `delay` maps the attempt number to the
    wait before it (tests pass a fast one)."""

    def __init__(self, url: str = DEFAULT_URL, account_ids: Sequence[int] | None = None, *,
                 clock: Clock | None = None, delay: Callable[[int], float] = reconnect_delay) -> None:
        self.url = url
        self.account_ids = None if account_ids is None else tuple(dict.fromkeys(account_ids))
        self._clock = clock or SystemClock()
        self._delay = delay
        self._connection: ClientConnection | None = None
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._connection is not None

    async def stream(self) -> AsyncIterator[Message | Disconnected]:
        """Messages of every connection in turn, with a `Disconnected` between them; ends on `close()`."""
        attempt = 0
        while not self._stopped():
            connected_at: float | None = None
            try:
                async with connect(self.url, compression=None, open_timeout=_OPEN_TIMEOUT_S) as connection:
                    self._connection = connection
                    connected_at = self._clock.monotonic()
                    async for message in self._messages(connection):
                        yield message
                reason = _close_text(connection)
            except ConnectionClosed as exc:
                reason = f"connection lost ({exc})"
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                reason = f"cannot connect to {self.url} ({exc or type(exc).__name__})"
            finally:
                self._connection = None
            if self._stopped():
                return
            if connected_at is not None and self._clock.monotonic() - connected_at >= STABLE_CONNECTION_S:
                attempt = 0
            wait = self._delay(attempt)
            attempt += 1
            yield Disconnected(reason, wait)
            await asyncio.sleep(wait)

    async def request_snapshot(self, account_ids: Sequence[int] | None = None) -> bool:
        """Ask for a fresh snapshot (default: the subscription); False while disconnected."""
        connection = self._connection
        if connection is None:
            return False
        data = {} if account_ids is None else {"account_ids": list(account_ids)}
        try:
            await connection.send(encode_request(SNAPSHOT_REQUEST, self._clock.now(), data))
        except ConnectionClosed:
            return False
        return True

    async def close(self) -> None:
        """Stop reconnecting and close the connection (normal closure)."""
        self._closed = True
        if self._connection is not None:
            await self._connection.close()

    async def _messages(self, connection: ClientConnection) -> AsyncIterator[Message]:
        subscribed = False
        async for raw in connection:
            message = decode_message(raw)
            if message is None or not self._wanted(message):
                continue
            yield message
            if message.type == HELLO and not subscribed:
                subscribed = True
                ids = None if self.account_ids is None else list(self.account_ids)
                await connection.send(encode_request(SUBSCRIBE, self._clock.now(), {"account_ids": ids}))

    def _stopped(self) -> bool:
        """Read through a call: `close()` runs in another task while `stream` awaits."""
        return self._closed

    def _wanted(self, message: Message) -> bool:
        return (self.account_ids is None or message.account_id is None
                or message.account_id in self.account_ids)


def _close_text(connection: ClientConnection) -> str:
    code, reason = connection.close_code, connection.close_reason
    return f"closed by the daemon (code {code}{': ' + reason if reason else ''})"

