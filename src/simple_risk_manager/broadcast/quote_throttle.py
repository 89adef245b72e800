"""`MarketQuote` pacing for one client (§5.4, §7): at most `quote_max_hz` per contract, newest wins.

A contract's quote is enqueued at once when the contract's lane is free: no quote of it is waiting in
the client's outbound queue and the last one went in at least 1/`quote_max_hz` s ago. Otherwise the
quote is held, replacing any held one, and released when the lane frees up. So the queue never holds
more than one quote per contract, and a client that stops reading only fills up on events.

A released quote is handed to `release`, which stamps it with a fresh `seq`: it leaves after events
that were published while it was held, and `seq` must keep growing on the connection (§6).
Times are the event loop's, because the loop is what schedules the release.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

QuoteData = Mapping[str, Any]


@dataclass(slots=True)
class _Lane:
    next_at: float = float("-inf")
    in_queue: bool = False
    held: QuoteData | None = None
    timer: asyncio.TimerHandle | None = None


class QuoteThrottle:
    def __init__(self, max_hz: int, release: Callable[[str, QuoteData], None]) -> None:
        if max_hz < 1:
            raise ValueError(f"quote_max_hz: must be at least 1 (got {max_hz})")
        self._interval = 1.0 / max_hz
        self._release = release
        self._loop = asyncio.get_running_loop()
        self._lanes: dict[str, _Lane] = {}

    def offer(self, contract_id: str, data: QuoteData) -> bool:
        """True: the caller enqueues this quote now. False: it is held for a later release."""
        lane = self._lanes.setdefault(contract_id, _Lane())
        now = self._loop.time()
        if lane.in_queue or now < lane.next_at or lane.held is not None:
            lane.held = data
            self._arm(contract_id, lane, now)
            return False
        self._enqueued(lane, now)
        return True

    def sent(self, contract_id: str) -> None:
        """The contract's queued quote has been written to the socket."""
        lane = self._lanes.get(contract_id)
        if lane is None:
            return
        lane.in_queue = False
        if lane.held is not None:
            self._arm(contract_id, lane, self._loop.time())

    def clear(self) -> None:
        """Forget held quotes and pending releases (new subscription, closing connection)."""
        for lane in self._lanes.values():
            if lane.timer is not None:
                lane.timer.cancel()
        self._lanes.clear()

    def _enqueued(self, lane: _Lane, now: float) -> None:
        lane.in_queue = True
        lane.next_at = now + self._interval

    def _arm(self, contract_id: str, lane: _Lane, now: float) -> None:
        if lane.in_queue or lane.timer is not None:
            return
        if now >= lane.next_at:
            self._release_held(contract_id, lane, now)
        else:
            lane.timer = self._loop.call_at(lane.next_at, self._on_timer, contract_id)

    def _on_timer(self, contract_id: str) -> None:
        lane = self._lanes.get(contract_id)
        if lane is None:
            return
        lane.timer = None
        if lane.held is not None and not lane.in_queue:
            self._release_held(contract_id, lane, self._loop.time())

    def _release_held(self, contract_id: str, lane: _Lane, now: float) -> None:
        data, lane.held = lane.held, None
        if data is None:
            return
        self._enqueued(lane, now)
        try:
            self._release(contract_id, data)
        except Exception:
            log.exception("broadcast: a held MarketQuote for %s could not be released", contract_id)
