"""Orders and paces the user events of one state change before they reach the user hub.

The live service does not document the order of the order/trade/position/account events of one fill
(gateway-api.md §4.7, §8 item 4), so the order is a switch (`event_order`) and an optional delay
(`event_delay_s`) spaces the events out. Delayed events go through one queue, so batches never
interleave and every client sees the same sequence.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from projectx_sim.config import SimConfig
from projectx_sim.exchange import UserEvent


class EventDispatcher:
    def __init__(self, config: SimConfig, publish: Callable[[UserEvent], None]) -> None:
        self._config = config
        self._publish = publish
        self._queue: deque[UserEvent] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit(self, batch: list[UserEvent]) -> None:
        rank = {kind: index for index, kind in enumerate(self._config.event_order)}
        ordered = sorted(batch, key=lambda event: rank.get(event.kind.value, len(rank)))
        if self._config.event_delay_s <= 0 and not self._queue:
            for event in ordered:
                self._publish(event)
            return
        self._queue.extend(ordered)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        """Publish queued events one by one, `event_delay_s` before each."""
        while self._queue:
            await asyncio.sleep(self._config.event_delay_s)
            self._publish(self._queue.popleft())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._queue.clear()
