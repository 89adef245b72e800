"""Sliding-window rate limiter per token (§1.6: 200 requests / 60 s; 50 / 30 s for retrieveBars).

The live service documents the numbers but not the window type or scope; the simulator's reading
(spec/README.md item 8) is a sliding window per token, separate buckets for bars and everything else.
Limits are read from the config on every call, so a switch applies at once.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def check(self, key: str, bucket: str, limit: int, window_s: float) -> float | None:
        """Record a request and return None, or return the seconds until one would be allowed."""
        now = self._clock()
        hits = self._hits.setdefault((key, bucket), deque())
        while hits and hits[0] <= now - window_s:
            hits.popleft()
        if len(hits) >= limit:
            return max(hits[0] + window_s - now, 0.0) if hits else window_s
        hits.append(now)
        return None

    def clear(self) -> None:
        self._hits.clear()


def retry_after_header(wait_s: float) -> str:
    """Retry-After in whole seconds, rounded up so a client that obeys it is never early."""
    return str(max(math.ceil(wait_s), 1))
