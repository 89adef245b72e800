"""MOD-004 Reset Scheduler: per-account trading day and the bookkeeping of the daily reset.

Plain object without I/O. It decides *when* an account resets and what the new day is; the daemon runs
the other modules' parts of the reset procedure (P&L, session count, `reset_clear`) with the
`ResetOutcome` it gets back, then persists `outcome.schedule` immediately. A reset runs once: after it,
`next_reset_at` lies in the future, so a second `ResetDue` (timer and 10 s poll both firing) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from simple_risk_manager.domain.models import ResetSchedule
from simple_risk_manager.domain.times import ensure_utc
from simple_risk_manager.state.calendar import (
    next_reset_after,
    parse_wall_time,
    reset_instant,
    session_start,
    trading_day_of,
    zone,
)

DEFAULT_RESET_TIME = "17:00"
DEFAULT_TIMEZONE = "America/Chicago"  # end of the CME daily halt (D-38)


@dataclass(frozen=True, slots=True)
class ResetConfig:
    """An account's trading-day boundary: wall time and IANA zone, validated on construction."""

    reset_time: str = DEFAULT_RESET_TIME
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        parse_wall_time(self.reset_time)
        zone(self.timezone)

    @classmethod
    def resolve(cls, *, account_reset_time: str | None = None, account_timezone: str | None = None,
                global_reset_time: str | None = None, global_timezone: str | None = None) -> ResetConfig:
        """Each value from the account if set, else from `global`, else the default 17:00 Chicago."""
        return cls(reset_time=account_reset_time or global_reset_time or DEFAULT_RESET_TIME,
                   timezone=account_timezone or global_timezone or DEFAULT_TIMEZONE)


@dataclass(frozen=True, slots=True)
class ResetOutcome:
    """One performed reset: the other modules reset with `reset_at` and `trading_date`."""

    account_id: int
    reset_at: datetime  # the reset instant: the new session start (latest reset instant ≤ now)
    previous_trading_date: date
    trading_date: date
    schedule: ResetSchedule  # to persist immediately


def _day_containing(account_id: int, now: datetime, reset_time: str, timezone: str) -> ResetSchedule:
    """The schedule of the trading day that contains `now`: begun at the last reset, ending at the next."""
    return ResetSchedule(
        account_id=account_id,
        trading_date=trading_day_of(now, reset_time, timezone),
        last_reset_at=session_start(now, reset_time, timezone),
        next_reset_at=next_reset_after(now, reset_time, timezone),
        reset_time_config=reset_time,
        timezone=timezone)


class ResetScheduler:
    def __init__(self) -> None:
        self._schedules: dict[int, ResetSchedule] = {}

    def restore(self, account_id: int, config: ResetConfig, stored: ResetSchedule | None,
                now: datetime) -> ResetSchedule:
        """Adopt the account's schedule at startup; persist the result when it differs from `stored`.

        - No stored row: the current trading day, begun at `session_start(now)`; no reset runs.
        - Same time and zone as stored: the stored row as is; if `now ≥ next_reset_at`, `check`
          reports the account and exactly one catch-up reset follows.
        - Time or zone changed: `next_reset_at` becomes the instant that ends the stored trading day
          under the new configuration — the first new reset after `now` in the normal case, and
          already due when the new calendar says that day is over, so the day label never repeats.
        """
        now = ensure_utc(now)
        if stored is None:
            schedule = _day_containing(account_id, now, config.reset_time, config.timezone)
        elif stored.account_id != account_id:
            raise ValueError(f"reset_schedule: stored row of account {stored.account_id} given for "
                             f"account {account_id}")
        elif (stored.reset_time_config, stored.timezone) == (config.reset_time, config.timezone):
            schedule = stored
        else:
            schedule = ResetSchedule(
                account_id=account_id,
                trading_date=stored.trading_date,
                last_reset_at=stored.last_reset_at,
                next_reset_at=reset_instant(stored.trading_date, config.reset_time, config.timezone),
                reset_time_config=config.reset_time,
                timezone=config.timezone)
        self._schedules[account_id] = schedule
        return schedule

    def schedule(self, account_id: int) -> ResetSchedule:
        try:
            return self._schedules[account_id]
        except KeyError:
            raise KeyError(f"reset schedule: account {account_id} was never restored") from None

    def accounts(self) -> list[int]:
        return sorted(self._schedules)

    def check(self, now: datetime) -> list[int]:
        """Accounts whose reset is due (`now ≥ next_reset_at`), in account order."""
        now = ensure_utc(now)
        return [account_id for account_id, schedule in sorted(self._schedules.items())
                if now >= schedule.next_reset_at]

    def next_due_at(self) -> datetime | None:
        """The earliest `next_reset_at` of all accounts (for the `reset` timers and the reset task)."""
        return min((s.next_reset_at for s in self._schedules.values()), default=None)

    def reset(self, account_id: int, now: datetime) -> ResetOutcome | None:
        """Perform this module's part of a due reset; None (ignored) when `now < next_reset_at`.

        The reset instant is the latest one at or before `now`, so after days down exactly one
        catch-up reset runs, for the current trading day, and the next one is scheduled after `now`.
        """
        now = ensure_utc(now)
        current = self.schedule(account_id)
        if now < current.next_reset_at:
            return None
        schedule = _day_containing(account_id, now, current.reset_time_config, current.timezone)
        self._schedules[account_id] = schedule
        return ResetOutcome(account_id=account_id, reset_at=schedule.last_reset_at,
                            previous_trading_date=current.trading_date, trading_date=schedule.trading_date,
                            schedule=schedule)
