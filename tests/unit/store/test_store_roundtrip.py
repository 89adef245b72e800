"""Every table round-trips its domain objects exactly (`storage.md` §2, §3, §9)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.domain import ClearedBy, EnforcementLog, OrderStatus, OrderType, PositionType
from simple_risk_manager.store import (
    LoadedState,
    StateStore,
    StoreError,
    read_daily_pnl,
    read_enforcement_log,
    read_lockouts,
    read_trades,
)

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

EXACT_DECIMALS = ["21000.125", "-193.32", "0.000000001", "0", "-0.5", "123456789012345678.987654321"]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StateStore]:
    store = open_store(tmp_path)
    yield store
    store.close()


def _raw(store: StateStore, sql: str) -> list[tuple[object, ...]]:
    return store.submit("raw", lambda conn: conn.execute(sql).fetchall()).result(timeout=5)


def _load(store: StateStore) -> LoadedState:
    return store.load({1001: date(2025, 3, 4)}, T0).result(timeout=5)


@pytest.mark.parametrize("kind", ["reset", "session", "duration", "condition"])
def test_lockout_round_trip_for_every_kind(store: StateStore, kind: str) -> None:
    record = lockout(kind=kind)
    store.save_lockouts(record).result(timeout=5)
    assert store.load({}, T0).result(timeout=5).lockouts == (record,)


def test_cleared_lockout_round_trip(store: StateStore) -> None:
    record = lockout(cleared_at=at(10), cleared_by=ClearedBy.TIMER_EXPIRY.value, updated_at=at(10))
    store.save_lockouts(record).result(timeout=5)
    got = store.submit("read", lambda conn: read_lockouts(conn, include_cleared=True)).result(timeout=5)
    assert got == [record]
    assert store.load({}, T0).result(timeout=5).lockouts == ()  # cleared records are not reloaded


def test_lockout_extend_and_clear_update_the_same_row(store: StateStore) -> None:
    first = lockout(until=at(600))
    store.save_lockouts(first).result(timeout=5)
    extended = replace(first, locked_until=at(1200), updated_at=at(5))
    store.save_lockouts(extended).result(timeout=5)
    cleared = replace(extended, cleared_at=at(1200), cleared_by="TIMER_EXPIRY", updated_at=at(1200))
    renewed = lockout(
        lockout_id=2, until=at(5000)
    )  # same account and rule: allowed once the first is cleared
    store.save_lockouts(cleared, renewed).result(timeout=5)
    got = store.submit("read", lambda conn: read_lockouts(conn, include_cleared=True)).result(timeout=5)
    assert got == [cleared, renewed]


def test_lockout_without_id_is_refused(store: StateStore) -> None:
    with pytest.raises(ValueError, match="lockout_id is None"):
        store.save_lockouts(lockout(lockout_id=None)).result(timeout=5)


@pytest.mark.parametrize("text", EXACT_DECIMALS)
def test_daily_pnl_decimals_round_trip_exactly(store: StateStore, text: str) -> None:
    row = daily_pnl(realized=text)
    store.save_daily_pnl(row).result(timeout=5)
    assert _load(store).daily_pnl == {1001: row}
    assert _raw(store, "SELECT realized_pnl FROM daily_pnl") == [(text,)]


def test_daily_pnl_upsert_replaces_the_days_totals(store: StateStore) -> None:
    store.save_daily_pnl(daily_pnl(realized="-100")).result(timeout=5)
    latest = replace(daily_pnl(realized="-250.5"), trade_count=7, last_updated=at(30))
    store.save_daily_pnl(latest).result(timeout=5)
    got = store.submit("read", lambda conn: read_daily_pnl(conn, 1001, date(2025, 3, 4))).result(timeout=5)
    assert got == latest
    assert _raw(store, "SELECT COUNT(*) FROM daily_pnl") == [(1,)]


def test_contract_round_trip(store: StateStore) -> None:
    record = replace(contract(), tick_size=Decimal("0.000000001"), tick_value=Decimal("21000.125"))
    store.pending.mark_contract(record)
    assert store.flush().result(timeout=5) == 1
    assert _load(store).contracts == {record.contract_id: record}
    assert _raw(store, "SELECT tick_size, tick_value, cached_at FROM contract_cache") == [
        ("0.000000001", "21000.125", "2025-03-04T15:02:11.480Z")
    ]


@pytest.mark.parametrize("pnl", ["-193.32", None])
def test_trade_round_trip_with_and_without_pnl(store: StateStore, pnl: str | None) -> None:
    record = trade(pnl=pnl, voided=True, price=Decimal("0.000000001"))
    store.pending.mark_trade(record)
    store.flush().result(timeout=5)
    assert _load(store).trades == (record,)


def test_trade_upsert_on_trade_id_keeps_one_row(store: StateStore) -> None:
    store.pending.mark_trade(trade())
    store.flush().result(timeout=5)
    voided = trade(voided=True)
    store.pending.mark_trade(voided)
    store.flush().result(timeout=5)
    got = store.submit("read", lambda conn: read_trades(conn, T0, account_id=1001)).result(timeout=5)
    assert got == [voided]


def test_session_state_and_reset_schedule_round_trip(store: StateStore) -> None:
    store.save_session_state(session_state()).result(timeout=5)
    store.save_reset_schedule(reset_schedule()).result(timeout=5)
    loaded = _load(store)
    assert loaded.session_states == {1001: session_state()}
    assert loaded.reset_schedules == {1001: reset_schedule()}
    assert _raw(store, "SELECT trading_date, updated_at FROM reset_schedule") == [
        ("2025-03-05", "2025-03-04T15:02:11.480Z")
    ]


@pytest.mark.parametrize("ptype", [PositionType.LONG, PositionType.SHORT])
def test_position_round_trip(store: StateStore, ptype: PositionType) -> None:
    record = position(type=ptype, price="-0.000000001")
    store.pending.mark_position(record)
    store.flush().result(timeout=5)
    assert _load(store).positions == (record,)


def test_position_unrealized_pnl_is_not_stored(store: StateStore) -> None:
    store.pending.mark_position(position(unrealized_pnl=Decimal("12.5")))
    store.flush().result(timeout=5)
    assert _load(store).positions == (position(),)


@pytest.mark.parametrize(
    ("status", "otype"),
    [
        (OrderStatus.OPEN, OrderType.STOP),
        (OrderStatus.PENDING, OrderType.LIMIT),
        (OrderStatus.PENDING_CANCELLATION, OrderType.TRAILING_STOP),
        (OrderStatus.SUSPENDED, OrderType.STOP_LIMIT),
        (42, OrderType.STOP),
        (OrderStatus.OPEN, 99),
        (77, 88),
    ],
    ids=["open", "pending", "pending-cancel", "suspended", "unknown-status", "unknown-type", "both-unknown"],
)
def test_order_round_trip_keeps_unknown_codes_raw(
    store: StateStore, status: OrderStatus | int, otype: OrderType | int
) -> None:
    record = order(status=status, otype=otype, limit_price=Decimal("21000.125"))
    store.pending.mark_order(record)
    store.flush().result(timeout=5)
    (got,) = _load(store).orders
    assert got == record
    assert type(got.status) is type(status)
    assert type(got.type) is type(otype)


def test_order_memory_only_fields_are_not_stored(store: StateStore) -> None:
    store.pending.mark_order(order(fill_price=Decimal("1.5"), custom_tag="RM-1", is_stop_loss=True))
    store.flush().result(timeout=5)
    assert _load(store).orders == (order(),)


@pytest.mark.parametrize(
    "entry",
    [
        enforcement(),
        enforcement(
            success=False,
            outcome="FAILED",
            error_message="HTTP 503 from Position/closeContract",
            lockout_until=None,
            execution_time_ms=None,
        ),
        enforcement(
            success=False,
            outcome="SUPERSEDED",
            superseded_by="RULE-004 CLOSE_ALL_POSITIONS",
            positions_closed=0,
            orders_cancelled=0,
        ),
        enforcement(
            action="UNLOCK", cleared_by="ADMIN", positions_closed=0, orders_cancelled=0, lockout_until=None
        ),
        enforcement(success=False, outcome="DRY_RUN"),
    ],
    ids=["success", "failed", "superseded", "unlock", "dry-run"],
)
def test_enforcement_log_round_trip_with_details_json(store: StateStore, entry: EnforcementLog) -> None:
    new_id = store.add_enforcement_log(entry).result(timeout=5)
    got = store.submit("read", lambda conn: read_enforcement_log(conn, T0)).result(timeout=5)
    assert got == [replace(entry, id=new_id)]


def test_enforcement_log_ids_increase_and_rows_are_append_only(store: StateStore) -> None:
    ids = [store.add_enforcement_log(enforcement(timestamp=at(i))).result(timeout=5) for i in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3
    with pytest.raises(ValueError, match="append-only"):
        store.add_enforcement_log(enforcement(id=ids[0])).result(timeout=5)


def test_enforcement_details_column_is_the_documented_json(store: StateStore) -> None:
    store.add_enforcement_log(enforcement()).result(timeout=5)
    assert _raw(store, "SELECT details, success FROM enforcement_log") == [
        (
            '{"cleared_by":null,"error":null,"lockout_until":"2025-03-04T16:02:11.480Z","orders_cancelled":1,'
            '"positions_closed":2,"superseded_by":null}',
            1,
        )
    ]


def test_timestamps_are_stored_as_utc_millisecond_text(store: StateStore) -> None:
    store.save_lockouts(lockout()).result(timeout=5)
    assert _raw(store, "SELECT locked_at, locked_until FROM lockouts") == [
        ("2025-03-04T15:02:11.480Z", "2025-03-04T16:02:11.480Z")
    ]


def test_a_row_the_codecs_cannot_read_is_a_clear_error(store: StateStore, tmp_path: Path) -> None:
    store.save_lockouts(lockout()).result(timeout=5)
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("UPDATE lockouts SET locked_at = 'yesterday'")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match=r"lockouts: cannot read row \(1, 1001"):
        store.load({}, T0).result(timeout=5)
