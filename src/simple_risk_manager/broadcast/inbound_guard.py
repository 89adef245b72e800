"""Per-client abuse limits (§1, §2): at most 5 inbound messages per second, and more than 10 `error`
replies within 60 s ends the connection (4001). Counted on the injected clock's monotonic time."""

from __future__ import annotations

from collections import deque

from simple_risk_manager.broadcast.protocol import (
    ERROR_REPLY_LIMIT,
    ERROR_WINDOW_S,
    INBOUND_MESSAGES_PER_SECOND,
)


class InboundGuard:
    def __init__(self) -> None:
        self._accepted: deque[float] = deque()
        self._errors: deque[float] = deque()

    def admit(self, now: float) -> bool:
        """Whether a message arriving at `now` is within the rate; refused ones are not counted."""
        _forget_before(self._accepted, now - 1.0)
        if len(self._accepted) >= INBOUND_MESSAGES_PER_SECOND:
            return False
        self._accepted.append(now)
        return True

    def note_error(self, now: float) -> bool:
        """Record one `error` reply; True when this one is over the limit (close with 4001)."""
        _forget_before(self._errors, now - ERROR_WINDOW_S)
        self._errors.append(now)
        return len(self._errors) > ERROR_REPLY_LIMIT


def _forget_before(times: deque[float], cutoff: float) -> None:
    while times and times[0] <= cutoff:
        times.popleft()
