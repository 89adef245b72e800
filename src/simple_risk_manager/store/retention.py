"""Retention cleanup (`storage.md` §5): run at startup and after each daily reset.

A plain `DELETE … WHERE column < cutoff` per table, in one transaction. No `VACUUM`: the file stays
small and SQLite reuses freed pages.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from simple_risk_manager.domain.times import ensure_utc, format_date, format_utc
from simple_risk_manager.store.connection import transaction

#: Cleared lockout records are kept this long (fixed, not configurable).
CLEARED_LOCKOUT_DAYS = 7


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """`daemon.yaml` `retention.*` (`daemon.md` §10)."""

    trade_history_days: int = 7
    enforcement_log_days: int = 7
    daily_pnl_days: int = 90

    def __post_init__(self) -> None:
        for name in ("trade_history_days", "enforcement_log_days", "daily_pnl_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"retention.{name}: must be >= 1 (got {getattr(self, name)})")


@dataclass(frozen=True, slots=True)
class RetentionResult:
    """Rows deleted per table."""

    trade_history: int
    enforcement_log: int
    daily_pnl: int
    lockouts: int


def apply_retention(conn: sqlite3.Connection, now: datetime, policy: RetentionPolicy) -> RetentionResult:
    """Delete rows older than their retention; a row exactly at the cutoff is kept.

    `daily_pnl` compares trading dates: the cutoff is the UTC date `daily_pnl_days` before `now`.
    """
    now = ensure_utc(now)
    trades_cutoff = format_utc(now - timedelta(days=policy.trade_history_days))
    log_cutoff = format_utc(now - timedelta(days=policy.enforcement_log_days))
    pnl_cutoff = format_date((now - timedelta(days=policy.daily_pnl_days)).date())
    lockout_cutoff = format_utc(now - timedelta(days=CLEARED_LOCKOUT_DAYS))
    with transaction(conn):
        trades = conn.execute("DELETE FROM trade_history WHERE timestamp < ?", (trades_cutoff,)).rowcount
        logs = conn.execute("DELETE FROM enforcement_log WHERE timestamp < ?", (log_cutoff,)).rowcount
        pnl = conn.execute("DELETE FROM daily_pnl WHERE date < ?", (pnl_cutoff,)).rowcount
        lockouts = conn.execute("DELETE FROM lockouts WHERE cleared_at IS NOT NULL AND cleared_at < ?",
                                (lockout_cutoff,)).rowcount
    return RetentionResult(trade_history=trades, enforcement_log=logs, daily_pnl=pnl, lockouts=lockouts)
