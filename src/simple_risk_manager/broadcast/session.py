"""One connected client: its subscription, inbound limits, quote pacing and bounded outbound queue,
drained by its own sender task so a stalled client never delays the dispatcher or the others (§7).

`enqueue` is synchronous and O(1). A queue already holding 1000 frames means the client is not keeping
up: the queue is dropped and the connection closed with 4000 (B10); the client reconnects and gets a
fresh snapshot. Every other close (4001, 1011, 1001) lets the frames already queued go out first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from simple_risk_manager.broadcast.inbound_guard import InboundGuard
from simple_risk_manager.broadcast.protocol import CLOSE_TIMEOUT_S, OUTBOUND_QUEUE_FRAMES, CloseCode
from simple_risk_manager.broadcast.quote_throttle import QuoteData, QuoteThrottle
from simple_risk_manager.broadcast.subscription import Subscription

log = logging.getLogger(__name__)


class ClientSession:
    def __init__(self, connection: ServerConnection, *, quote_max_hz: int,
                 quote_frame: Callable[[QuoteData], bytes | None]) -> None:
        self.connection = connection
        self.subscription = Subscription.nothing()
        self.guard = InboundGuard()
        self.quotes = QuoteThrottle(quote_max_hz, self._release_quote)
        self._quote_frame = quote_frame
        # (frame, contract id when the frame is a MarketQuote)
        self._queue: deque[tuple[bytes, str | None]] = deque()
        self._wake = asyncio.Event()
        self._close_code: CloseCode | None = None
        self._close_reason = ""
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def closing(self) -> bool:
        """A close has been decided: nothing more is queued and inbound frames are ignored."""
        return self._close_code is not None

    def start(self) -> None:
        self._sender = asyncio.create_task(self._send_loop(), name="broadcast-client-sender")

    def enqueue(self, frame: bytes, quote_contract: str | None = None) -> None:
        if self.closing:
            return
        if len(self._queue) >= OUTBOUND_QUEUE_FRAMES:
            self.drop_slow_consumer()
            return
        self._queue.append((frame, quote_contract))
        self._wake.set()

    def offer_quote(self, contract_id: str, data: QuoteData, frame: bytes) -> None:
        """Enqueue the quote now (`frame` is shared by every client) or let the throttle hold `data`."""
        if not self.closing and self.quotes.offer(contract_id, data):
            self.enqueue(frame, contract_id)

    def close_after_pending(self, code: CloseCode, reason: str) -> None:
        """Close once the frames already queued are sent."""
        if self.closing:
            return
        self._close_code, self._close_reason = code, reason
        self.quotes.clear()
        self._wake.set()

    def drop_slow_consumer(self) -> None:
        """§7 overflow: discard the queue and close with 4000 at once, even mid-send."""
        if self.closing:
            return
        self._close_code = CloseCode.SLOW_CONSUMER
        self._close_reason = "slow consumer: outbound queue overflow"
        log.warning("broadcast: client %s dropped: %d frames waiting (slow consumer, 4000)",
                    self.connection.remote_address, len(self._queue))
        self._queue.clear()
        self.quotes.clear()
        if self._sender is not None:
            self._sender.cancel()
        self._closer = asyncio.create_task(self._close(), name="broadcast-client-close")

    def abort(self) -> None:
        """Drop the TCP connection without a closing handshake (shutdown grace exhausted)."""
        self.connection.transport.abort()

    async def finish(self) -> None:
        """After the connection ended: stop the sender and any close still in progress."""
        self.quotes.clear()
        self._queue.clear()
        for task in (self._sender, self._closer):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def _release_quote(self, contract_id: str, data: QuoteData) -> None:
        frame = self._quote_frame(data)
        if frame is None:
            self.quotes.sent(contract_id)  # nothing went into the queue: free the lane
        else:
            self.enqueue(frame, contract_id)

    async def _send_loop(self) -> None:
        try:
            while True:
                while self._queue:
                    frame, quote_contract = self._queue.popleft()
                    await self.connection.send(frame, text=True)
                    if quote_contract is not None:
                        self.quotes.sent(quote_contract)
                if self._close_code is not None:
                    await self._close()
                    return
                self._wake.clear()
                await self._wake.wait()
        except ConnectionClosed:
            return
        except Exception:
            log.exception("broadcast: sending to client %s failed", self.connection.remote_address)
            self.connection.transport.abort()

    async def _close(self) -> None:
        code = self._close_code or CloseCode.NORMAL
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.connection.close(code, self._close_reason)
        except TimeoutError:
            self.connection.transport.abort()
