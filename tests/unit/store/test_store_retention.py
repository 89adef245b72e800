"""Retention cleanup (`storage.md` §5): rows older than the cutoff go, the cutoff itself stays."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from simple_risk_manager.store import (
    RetentionPolicy,
    RetentionResult,
    StateStore,
    apply_retention,
    read_enforcement_log,
    read_lockouts,
    read_trades,
)

from .factories import T0, daily_pnl, enforcement, lockout, open_store, trade

MS = timedelta(milliseconds=1)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    store = open_store(tmp_path)
    yield store
    store.close()


def _retain(store: StateStore, policy: RetentionPolicy) -> RetentionResult:
    return store.submit("retention", lambda conn: apply_retention(conn, T0, policy)).result(timeout=5)


@pytest.mark.parametrize("days", [7, 1, 30])
def test_trade_history_and_enforcement_log_keep_rows_at_the_cutoff(store: StateStore, days: int) -> None:
    cutoff = T0 - timedelta(days=days)
    for trade_id, when in ((1, cutoff - MS), (2, cutoff), (3, T0)):
        store.pending.mark_trade(trade(trade_id, when))
        store.add_enforcement_log(enforcement(timestamp=when)).result(timeout=5)
    store.flush().result(timeout=5)

    result = _retain(store, RetentionPolicy(trade_history_days=days, enforcement_log_days=days))

    assert (result.trade_history, result.enforcement_log) == (1, 1)
    since = T0 - timedelta(days=365)
    trades = store.submit("read", lambda conn: read_trades(conn, since)).result(timeout=5)
    logs = store.submit("read", lambda conn: read_enforcement_log(conn, since)).result(timeout=5)
    assert [t.id for t in trades] == [2, 3]
    assert [e.timestamp for e in logs] == [cutoff, T0]


def test_daily_pnl_keeps_90_days_by_trading_date(store: StateStore) -> None:
    cutoff_day = (T0 - timedelta(days=90)).date()
    assert cutoff_day == date(2024, 12, 4)
    for day in (cutoff_day - timedelta(days=1), cutoff_day, T0.date()):
        store.save_daily_pnl(daily_pnl(day=day)).result(timeout=5)

    assert _retain(store, RetentionPolicy()).daily_pnl == 1

    days = store.submit(
        "read", lambda conn: conn.execute("SELECT date FROM daily_pnl ORDER BY date").fetchall()
    )
    assert days.result(timeout=5) == [("2024-12-04",), ("2025-03-04",)]


def test_cleared_lockouts_go_after_7_days_and_uncleared_ones_never(store: StateStore) -> None:
    cutoff = T0 - timedelta(days=7)
    ancient = T0 - timedelta(days=400)
    store.save_lockouts(
        lockout(1, rule_id="A", cleared_at=cutoff - MS, cleared_by="TIMER_EXPIRY"),
        lockout(2, rule_id="B", cleared_at=cutoff, cleared_by="DAILY_RESET"),
        lockout(3, rule_id="C", kind="condition", locked_at=ancient, created_at=ancient),
    ).result(timeout=5)

    assert _retain(store, RetentionPolicy(daily_pnl_days=1)).lockouts == 1

    left = store.submit("read", lambda conn: read_lockouts(conn, include_cleared=True)).result(timeout=5)
    assert [x.lockout_id for x in left] == [2, 3]


def test_retention_never_vacuums(store: StateStore) -> None:
    statements: list[str] = []
    store.submit("trace", lambda conn: conn.set_trace_callback(statements.append)).result(timeout=5)
    _retain(store, RetentionPolicy())
    assert statements[0] == "BEGIN IMMEDIATE"
    assert statements[-1] == "COMMIT"
    assert not [s for s in statements if "VACUUM" in s.upper()]


def test_store_retention_uses_the_injected_clock(store: StateStore) -> None:
    store.pending.mark_trade(trade(1, T0 - timedelta(days=7) - MS))
    store.flush().result(timeout=5)
    assert store.apply_retention(RetentionPolicy()).result(timeout=5).trade_history == 1


@pytest.mark.parametrize("field", ["trade_history_days", "enforcement_log_days", "daily_pnl_days"])
def test_retention_days_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=f"retention.{field}: must be >= 1"):
        RetentionPolicy(**{field: 0})


def test_retention_works_on_a_plain_connection(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    try:
        assert apply_retention(conn, T0, RetentionPolicy()) == RetentionResult(0, 0, 0, 0)
    finally:
        conn.close()
