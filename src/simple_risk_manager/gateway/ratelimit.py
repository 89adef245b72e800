"""Client-side request budget: at most `limit` requests in any `window` seconds (200 / 60 s).

A sliding log of send times rather than a refilling bucket: a bucket lets a full burst plus a full
refill through within one window (up to 2 × limit), which a sliding-window server would answer with
429. Ordinary calls wait for room; enforcement calls are recorded without waiting (`rules.md` D-52),
so they still use up budget that later ordinary calls then wait for.
"""

from __future__ import annotations

import asyncio
from collections import deque

from simple_risk_manager.clock import Clock


class RequestBudget:
    def __init__(self, clock: Clock, limit: int = 200, window: float = 60.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"RequestBudget: limit must be >= 1 and window > 0 (got {limit}, {window})")
        self._clock = clock
        self.limit = limit
        self.window = window
        self._sent: deque[float] = deque()
        self._turn = asyncio.Lock()  # waiters get their slot in arrival order

    def _prune(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()

    def in_window(self) -> int:
        """Requests sent within the last `window` seconds."""
        self._prune(self._clock.monotonic())
        return len(self._sent)

    def wait_time(self) -> float:
        """Seconds until an ordinary request may be sent (0 when there is room now)."""
        now = self._clock.monotonic()
        self._prune(now)
        if len(self._sent) < self.limit:
            return 0.0
        # Room appears when enough of the oldest sends leave the window to get below the limit.
        oldest_blocking = self._sent[len(self._sent) - self.limit]
        return max(0.0, oldest_blocking + self.window - now)

    def record(self) -> None:
        """Count a request that does not wait (enforcement)."""
        now = self._clock.monotonic()
        self._prune(now)
        self._sent.append(now)

    async def acquire(self) -> None:
        """Wait for room, then count the request."""
        async with self._turn:
            # Time-based wait: nothing signals "room", the window just moves on.
            while (delay := self.wait_time()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(delay)
            self.record()
