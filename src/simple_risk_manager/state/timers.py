"""MOD-003 Timer Manager: named one-shot deadlines that the dispatcher turns into internal events.

Plain object without I/O and without its own clock: the expiry task asks `due(now)` every second (or
sleeps `wait_seconds(now)`) and only enqueues what comes back, so no rule or module logic runs in the
timer task. Deadlines are UTC instants: DST never moves them, a clock jumping forward fires what is due
at the next check, a clock jumping back makes them wait. Nothing is persisted (D-37).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from simple_risk_manager.domain.enums import TimerKind
from simple_risk_manager.domain.models import Timer
from simple_risk_manager.domain.times import ensure_utc


def grace_timer_name(account_id: int, contract_id: str) -> str:
    """RULE-008 deadline: keyed by contract, since position ids may not survive a re-open."""
    return f"grace:{account_id}:{contract_id}"


def session_end_timer_name(account_id: int) -> str:
    return f"session_end:{account_id}"


def lockout_timer_name(lockout_id: int) -> str:
    return f"lockout:{lockout_id}"


def reset_timer_name(account_id: int) -> str:
    return f"reset:{account_id}"


def _deadline_order(entry: tuple[int, Timer]) -> tuple[datetime, int]:
    return entry[1].fire_at, entry[0]


class TimerManager:
    """At most one timer per name; starting a name again replaces its deadline."""

    def __init__(self) -> None:
        self._timers: dict[str, tuple[int, Timer]] = {}
        self._started = 0  # start order breaks ties between timers with the same deadline

    def start(self, name: str, kind: TimerKind, fire_at: datetime, account_id: int | None = None,
              payload: Mapping[str, Any] | None = None) -> Timer:
        if not name:
            raise ValueError("timer name: must be a non-empty string")
        timer = Timer(name=name, kind=TimerKind(kind), fire_at=ensure_utc(fire_at), account_id=account_id,
                      payload=dict(payload or {}))
        self._started += 1
        self._timers[name] = (self._started, timer)
        return timer

    def cancel(self, name: str) -> bool:
        """Remove the timer; False when there was none (cancelling twice is harmless)."""
        return self._timers.pop(name, None) is not None

    def get(self, name: str) -> Timer | None:
        entry = self._timers.get(name)
        return None if entry is None else entry[1]

    def remaining(self, name: str, now: datetime) -> float | None:
        """Seconds until the timer fires (never negative); None when no such timer is armed."""
        timer = self.get(name)
        if timer is None:
            return None
        return max(0.0, (timer.fire_at - ensure_utc(now)).total_seconds())

    def due(self, now: datetime) -> list[Timer]:
        """Remove and return every timer with `fire_at ≤ now`, earliest deadline first."""
        instant = ensure_utc(now)
        fired = sorted((entry for entry in self._timers.values() if entry[1].fire_at <= instant),
                       key=_deadline_order)
        for _, timer in fired:
            del self._timers[timer.name]
        return [timer for _, timer in fired]

    def next_fire_at(self) -> datetime | None:
        return min((timer.fire_at for _, timer in self._timers.values()), default=None)

    def wait_seconds(self, now: datetime, cap: float = 1.0) -> float:
        """How long the expiry task may sleep: until the next deadline, at most `cap` (the 1 s check)."""
        upcoming = self.next_fire_at()
        if upcoming is None:
            return cap
        return min(cap, max(0.0, (upcoming - ensure_utc(now)).total_seconds()))

    def timers(self) -> list[Timer]:
        """Every armed timer, earliest deadline first (for status views and tests)."""
        return [timer for _, timer in sorted(self._timers.values(), key=_deadline_order)]

    def __len__(self) -> int:
        return len(self._timers)

    def __contains__(self, name: object) -> bool:
        return name in self._timers
