"""Slow-operation warnings (`daemon.md` §8, ``logging.yaml`` ``slow_operation_ms``, default 100 ms).

Work on the event loop that takes longer than the threshold (a DB job awaited, a rule pass, a
broadcast fan-out) is logged as a WARNING in ``daemon.log``, so a latency problem shows up in the logs
before it shows up as a late enforcement. Durations come from the injected clock's monotonic reading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from simple_risk_manager.clock import Clock

log = logging.getLogger(__name__)


class SlowOperationMonitor:
    def __init__(self, threshold_ms: float, clock: Clock, logger: logging.Logger = log) -> None:
        if threshold_ms <= 0:
            raise ValueError(f"slow operation threshold must be positive (got {threshold_ms} ms)")
        self.threshold_ms = threshold_ms
        self._clock = clock
        self._log = logger

    @contextmanager
    def watch(self, operation: str, *, account_id: int | None = None,
              seq: int | None = None) -> Iterator[None]:
        """Time the block (also when it raises) and warn when it ran longer than the threshold."""
        started = self._clock.monotonic()
        try:
            yield
        finally:
            self.check(operation, (self._clock.monotonic() - started) * 1000, account_id=account_id, seq=seq)

    def check(self, operation: str, elapsed_ms: float, *, account_id: int | None = None,
              seq: int | None = None) -> bool:
        """Warn when `elapsed_ms`, measured by the caller, is over the threshold; True when it was."""
        if elapsed_ms <= self.threshold_ms:
            return False
        fields = (("account_id", account_id), ("seq", seq))
        context = {key: value for key, value in fields if value is not None}
        self._log.warning("slow operation: %s took %.1f ms (threshold %g ms)", operation, elapsed_ms,
                          self.threshold_ms, extra=context)
        return True
