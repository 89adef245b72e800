"""The dashboard's inputs as one stream of items: the broadcast client's messages and disconnections,
a start-up connect timeout, and saved state polled from the database while the daemon is unreachable.

The feed decides nothing: the model says when it wants saved state (`wants_saved_state`), and the feed
polls once a second (and at once when asked) while it does. Live data comes through the project's one
`BroadcastClient`, which reconnects with backoff forever (`broadcast-api.md` §8).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, cast

from simple_risk_manager.broadcast.client import BroadcastClient, Disconnected, reconnect_delay
from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import Clock
from simple_risk_manager.trader.fallback import SavedStateUnavailableError, read_saved_state
from simple_risk_manager.trader.model import SavedState

#: `cli.md` §1.2: no `hello` within 2 s → show saved state while the client keeps trying.
CONNECT_TIMEOUT_S: Final = 2.0
#: `broadcast-api.md` §8: the fallback polls the database every second.
POLL_INTERVAL_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class ConnectTimeout:
    """The connection did not answer within `CONNECT_TIMEOUT_S`."""


@dataclass(frozen=True, slots=True)
class SavedStateError:
    """The database could not be read; `error` says why, for the screen."""

    error: str


FeedItem = Message | Disconnected | ConnectTimeout | SavedState | SavedStateError
SavedStateReader = Callable[[Path, datetime], SavedState]


ClientItems = AsyncGenerator[Message | Disconnected, None]


def client_items(client: BroadcastClient) -> contextlib.aclosing[ClientItems]:
    """The client's stream, closed when the block ends: its generator holds the connection open."""
    return contextlib.aclosing(cast(ClientItems, client.stream()))


class Feed:
    """`sink` receives every item on the event loop; `wants_saved_state` is asked before each poll."""

    def __init__(self, url: str, account_ids: Sequence[int] | None, sink: Callable[[FeedItem], None], *,
                 db_path: Path, clock: Clock, wants_saved_state: Callable[[], bool],
                 poll_interval_s: float = POLL_INTERVAL_S, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 delay: Callable[[int], float] = reconnect_delay,
                 read_saved: SavedStateReader = read_saved_state) -> None:
        self.url = url
        self.db_path = db_path
        self._account_ids = None if account_ids is None else tuple(account_ids)
        self._sink = sink
        self._clock = clock
        self._wants_saved_state = wants_saved_state
        self._poll_interval_s = poll_interval_s
        self._connect_timeout_s = connect_timeout_s
        self._delay = delay
        self._read_saved = read_saved
        self._client: BroadcastClient | None = None
        self._restart = asyncio.Event()
        self._wake_poll = asyncio.Event()
        self._stopped = False

    @property
    def account_ids(self) -> tuple[int, ...] | None:
        """The subscription: the followed account, or None for all accounts."""
        return self._account_ids

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def run(self) -> None:
        """Deliver items until `stop()`."""
        poller = asyncio.create_task(self._poll_loop(), name="trader-fallback-poll")
        try:
            while not self._stopped:
                self._restart.clear()
                client = BroadcastClient(self.url, self._account_ids, clock=self._clock, delay=self._delay)
                self._client = client
                consumer = asyncio.create_task(self._consume(client), name="trader-feed")
                restart = asyncio.create_task(self._restart.wait())
                await asyncio.wait({consumer, restart}, return_when=asyncio.FIRST_COMPLETED)
                await client.close()
                for task in (consumer, restart):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                self._client = None
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller

    def follow(self, account_ids: Sequence[int] | None) -> None:
        """Subscribe to other accounts: a new connection (hello → subscribe → snapshot)."""
        wanted = None if account_ids is None else tuple(account_ids)
        if wanted != self._account_ids:
            self._account_ids = wanted
            self._restart.set()

    async def request_snapshot(self, account_ids: Sequence[int] | None = None) -> bool:
        client = self._client
        return client is not None and await client.request_snapshot(account_ids)

    async def resync(self) -> None:
        """`r`: a fresh snapshot when connected, else an immediate database poll."""
        if not await self.request_snapshot():
            self.poll_now()

    def poll_now(self) -> None:
        self._wake_poll.set()

    def stop(self) -> None:
        self._stopped = True
        self._restart.set()

    async def _consume(self, client: BroadcastClient) -> None:
        loop = asyncio.get_running_loop()
        timeout = loop.call_later(self._connect_timeout_s, self._deliver, ConnectTimeout())
        try:
            async with client_items(client) as stream:
                async for item in stream:
                    if isinstance(item, Message):
                        timeout.cancel()
                    self._deliver(item)
        finally:
            timeout.cancel()

    def _deliver(self, item: FeedItem) -> None:
        self._sink(item)
        if not isinstance(item, SavedState | SavedStateError) and self._wants_saved_state():
            self._wake_poll.set()

    async def _poll_loop(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake_poll.wait(), self._poll_interval_s)
            self._wake_poll.clear()
            if not self._wants_saved_state():
                continue
            try:
                saved = await asyncio.to_thread(self._read_saved, self.db_path, self._clock.now())
            except SavedStateUnavailableError as exc:
                self._sink(SavedStateError(str(exc)))
            else:
                self._sink(saved)
