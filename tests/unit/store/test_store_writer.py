"""The DB thread: FIFO jobs, immediate writes, coalesced batched flushes, failures that never kill
the thread, the asyncio bridge, and the startup load (`storage.md` §4, §8; `daemon.md` §4)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain import OrderStatus
from simple_risk_manager.store import StateStore

from .factories import (
    T0,
    at,
    contract,
    daily_pnl,
    enforcement,
    lockout,
    open_store,
    order,
    position,
    reset_schedule,
    session_state,
    trade,
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    store = open_store(tmp_path)
    yield store
    store.close()


def _count(store: StateStore, table: str) -> int:
    return store.submit(
        "count", lambda conn: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    ).result(timeout=5)


def _gate(store: StateStore) -> threading.Event:
    """Hold the DB thread until the returned event is set, so the test can queue jobs behind it."""
    release = threading.Event()
    store.submit("gate", lambda conn: release.wait(timeout=10))
    return release


def test_an_immediate_write_queued_after_a_flush_commits_after_it(store: StateStore) -> None:
    statements: list[str] = []
    store.submit("trace", lambda conn: conn.set_trace_callback(statements.append)).result(timeout=5)
    release = _gate(store)
    store.pending.mark_position(position())
    flushed = store.flush()
    saved = store.save_lockouts(lockout())
    store.pending.mark_position(position(size=5))  # marked after the lockout: goes into the next flush
    release.set()
    saved.result(timeout=5)
    assert flushed.done()
    assert flushed.result() == 1
    kinds = [
        s.split()[0] + (" " + s.split()[2] if s.startswith(("INSERT", "DELETE")) else "") for s in statements
    ]
    assert kinds == ["BEGIN", "INSERT positions", "COMMIT", "BEGIN", "INSERT lockouts", "COMMIT"]
    store.flush().result(timeout=5)
    assert store.load({}, T0).result(timeout=5).positions == (position(size=5),)


def test_jobs_complete_in_submission_order(store: StateStore) -> None:
    release = _gate(store)
    futures = [store.save_daily_pnl(daily_pnl(realized=str(i))) for i in range(20)]
    finished: list[int] = []
    for i, future in enumerate(futures):
        future.add_done_callback(lambda _f, i=i: finished.append(i))
    release.set()
    futures[-1].result(timeout=5)
    assert finished == list(range(20))
    assert store.load({1001: date(2025, 3, 4)}, T0).result(timeout=5).daily_pnl[1001].realized_pnl == 19


def test_ten_updates_of_one_position_write_one_row_with_the_last_state(store: StateStore) -> None:
    for size in range(1, 11):
        store.pending.mark_position(position(size=size, updated_at=at(size)))
    assert len(store.pending) == 1
    assert store.flush().result(timeout=5) == 1
    assert store.load({}, T0).result(timeout=5).positions == (position(size=10, updated_at=at(10)),)


@pytest.mark.parametrize("close", ["size-0 update", "remove"])
def test_delete_wins_over_earlier_updates_in_the_same_batch(store: StateStore, close: str) -> None:
    store.pending.mark_position(position(size=1))
    store.flush().result(timeout=5)
    for size in (2, 3, 4):
        store.pending.mark_position(position(size=size))
    if close == "remove":
        store.pending.remove_position(501)
    else:
        store.pending.mark_position(position(size=0))
    store.flush().result(timeout=5)
    assert _count(store, "positions") == 0


@pytest.mark.parametrize(
    "status", [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED]
)
def test_a_terminal_order_status_deletes_the_row(store: StateStore, status: OrderStatus) -> None:
    store.pending.mark_order(order())
    store.flush().result(timeout=5)
    store.pending.mark_order(order(status=status, filled_size=3))
    store.flush().result(timeout=5)
    assert _count(store, "orders") == 0


def test_order_removed_by_reconcile_deletes_the_row(store: StateStore) -> None:
    store.pending.mark_order(order())
    store.flush().result(timeout=5)
    store.pending.remove_order(9001)
    store.flush().result(timeout=5)
    assert _count(store, "orders") == 0


def test_one_flush_writes_every_kind_in_one_transaction(store: StateStore) -> None:
    statements: list[str] = []
    store.submit("trace", lambda conn: conn.set_trace_callback(statements.append)).result(timeout=5)
    store.pending.mark_position(position())
    store.pending.mark_order(order())
    store.pending.mark_trade(trade())
    store.pending.mark_contract(contract())
    assert store.flush().result(timeout=5) == 4
    assert [s.split()[0] for s in statements].count("BEGIN") == 1
    assert [s.split()[0] for s in statements].count("COMMIT") == 1
    assert len(store.pending) == 0


def test_an_empty_flush_does_not_touch_the_database(store: StateStore) -> None:
    statements: list[str] = []
    store.submit("trace", lambda conn: conn.set_trace_callback(statements.append)).result(timeout=5)
    assert store.flush().result(timeout=5) == 0
    assert statements == []


def test_a_bad_object_is_refused_when_marked(store: StateStore) -> None:
    naive = datetime(2025, 3, 4, 15, 0)  # naive: the bug under test
    with pytest.raises(ValueError, match="naive datetime"):
        store.pending.mark_position(position(created_at=naive))
    assert len(store.pending) == 0


def test_a_failed_write_is_logged_raised_on_its_future_and_the_thread_goes_on(
    store: StateStore, caplog: pytest.LogCaptureFixture
) -> None:
    store.save_lockouts(lockout(1)).result(timeout=5)
    with caplog.at_level(logging.ERROR, logger="simple_risk_manager.store"):
        duplicate_active = store.save_lockouts(lockout(2))  # same account and rule, both active
        with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
            duplicate_active.result(timeout=5)
    assert any("save_lockouts failed" in r.getMessage() for r in caplog.records)
    store.save_daily_pnl(daily_pnl()).result(timeout=5)  # the DB thread still serves jobs
    assert [x.lockout_id for x in store.load({}, T0).result(timeout=5).lockouts] == [1]


def test_a_failed_flush_puts_its_items_back_without_overwriting_newer_ones(
    store: StateStore, tmp_path: Path
) -> None:
    store.submit("short busy timeout", lambda conn: conn.execute("PRAGMA busy_timeout = 20")).result(
        timeout=5
    )
    blocker = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: the flush gets SQLITE_BUSY
    store.pending.mark_position(position(size=1))
    store.pending.mark_trade(trade())
    release = _gate(store)
    failing = store.flush()
    store.pending.mark_position(position(size=7))  # newer than the batch in flight
    release.set()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        failing.result(timeout=5)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert store.flush().result(timeout=5) == 2
    loaded = store.load({}, T0).result(timeout=5)
    assert loaded.positions == (position(size=7),)
    assert loaded.trades == (trade(),)


async def test_asyncio_callers_await_the_commit(store: StateStore) -> None:
    await asyncio.wrap_future(store.save_lockouts(lockout()))
    entry_id = await asyncio.wrap_future(store.add_enforcement_log(enforcement()))
    loaded = await asyncio.wrap_future(store.load({}, T0))
    assert [x.lockout_id for x in loaded.lockouts] == [1]
    assert entry_id == 1


async def test_periodic_flush_writes_marked_items_every_interval(store: StateStore) -> None:
    naps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            raise asyncio.CancelledError  # the daemon cancels the task at shutdown

    store.pending.mark_position(position())
    with pytest.raises(asyncio.CancelledError):
        await store.run_periodic_flush(5, sleep=fake_sleep)
    assert naps == [5, 5, 5]
    assert len(store.pending) == 0
    assert _count(store, "positions") == 1


async def test_periodic_flush_survives_a_failed_flush(store: StateStore, tmp_path: Path) -> None:
    store.submit("short busy timeout", lambda conn: conn.execute("PRAGMA busy_timeout = 20")).result(
        timeout=5
    )
    blocker = sqlite3.connect(tmp_path / "state.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    naps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            blocker.execute("ROLLBACK")  # the lock goes away before the second flush
        if len(naps) == 3:
            raise asyncio.CancelledError

    store.pending.mark_position(position())
    with pytest.raises(asyncio.CancelledError):
        await store.run_periodic_flush(1.5, sleep=fake_sleep)
    blocker.close()
    assert _count(store, "positions") == 1


async def test_periodic_flush_refuses_a_non_positive_interval(store: StateStore) -> None:
    with pytest.raises(ValueError, match="flush_interval_seconds"):
        await store.run_periodic_flush(0)


def test_close_runs_a_final_flush(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.pending.mark_trade(trade())
    store.close()
    reopened = open_store(tmp_path)
    try:
        assert reopened.load({}, T0).result(timeout=5).trades == (trade(),)
    finally:
        reopened.close()


def test_load_returns_the_startup_state(store: StateStore) -> None:
    expired = lockout(
        1, rule_id="RULE-007", kind="duration", until=at(-60)
    )  # expired while down: still loaded
    active = lockout(2, rule_id="RULE-003")
    cleared = lockout(3, rule_id="RULE-009", kind="session", cleared_at=at(-5), cleared_by="TIMER_EXPIRY")
    store.save_lockouts(expired, active, cleared).result(timeout=5)
    store.save_reset_schedule(reset_schedule(1001)).result(timeout=5)
    store.save_session_state(session_state(1001)).result(timeout=5)
    today, yesterday = date(2025, 3, 4), date(2025, 3, 3)
    store.save_daily_pnl(daily_pnl(1001, today, "-50")).result(timeout=5)
    store.save_daily_pnl(daily_pnl(1001, yesterday, "-900")).result(timeout=5)
    store.save_daily_pnl(daily_pnl(2002, yesterday, "10")).result(timeout=5)
    since = T0 - timedelta(hours=1)
    old, boundary, recent = trade(1, since - timedelta(milliseconds=1)), trade(2, since), trade(3, T0)
    for item in (recent, old, boundary):
        store.pending.mark_trade(item)
    store.pending.mark_position(position())
    store.pending.mark_order(order())
    store.pending.mark_contract(contract())
    store.flush().result(timeout=5)

    loaded = store.load({1001: today, 2002: today}, since).result(timeout=5)

    assert loaded.reset_schedules == {1001: reset_schedule(1001)}
    assert loaded.lockouts == (expired, active)
    assert loaded.last_lockout_id == 3  # the cleared record counts: new ids must never reuse it
    assert loaded.daily_pnl == {1001: daily_pnl(1001, today, "-50")}
    assert loaded.session_states == {1001: session_state(1001)}
    assert loaded.contracts == {contract().contract_id: contract()}
    assert loaded.trades == (boundary, recent)
    assert loaded.positions == (position(),)
    assert loaded.orders == (order(),)


def test_reset_schedule_updated_at_comes_from_the_injected_clock(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    store = open_store(tmp_path, clock)
    clock.advance(90)
    store.save_reset_schedule(replace(reset_schedule(), timezone="Europe/London")).result(timeout=5)
    stamp = store.submit("read", lambda c: c.execute("SELECT updated_at FROM reset_schedule").fetchone()[0])
    assert stamp.result(timeout=5) == "2025-03-04T15:03:41.480Z"
    store.close()
