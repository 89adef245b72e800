"""The write transactions of `storage.md` §4, each a function of one connection.

Each function is one `BEGIN IMMEDIATE … COMMIT`: an immediate write (lockouts, daily P&L,
enforcement log, reset schedule, session state) or one whole batched flush. The store runs them on
its DB thread; the Admin CLI runs `admin.py`'s on its own connection while the daemon is stopped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TypeVar

from simple_risk_manager.domain.models import (
    DailyPnl,
    EnforcementLog,
    Lockout,
    ResetSchedule,
    SessionState,
)
from simple_risk_manager.store import codecs, tables
from simple_risk_manager.store.batch import Batch
from simple_risk_manager.store.connection import transaction

T = TypeVar("T")


def save_lockouts(conn: sqlite3.Connection, lockouts: Iterable[Lockout]) -> None:
    """Upsert lockout records by `lockout_id`, in the given order, in one transaction.

    Order matters: a record that is over but not yet cleared must be cleared before a new record of
    the same account and rule is created, or the partial unique index refuses the new one.
    """
    rows = [codecs.encode_lockout(lockout) for lockout in lockouts]
    with transaction(conn):
        conn.executemany(tables.LOCKOUTS.upsert_sql(), rows)


def save_daily_pnl(conn: sqlite3.Connection, pnl: DailyPnl) -> None:
    with transaction(conn):
        conn.execute(tables.DAILY_PNL.upsert_sql(), codecs.encode_daily_pnl(pnl))


def insert_enforcement_log(conn: sqlite3.Connection, entry: EnforcementLog) -> int:
    """Append one audit row; returns its id (`entry.id` must be None: rows are never rewritten)."""
    if entry.id is not None:
        raise ValueError(f"enforcement log entry already has id {entry.id}; audit rows are append-only")
    with transaction(conn):
        return insert_enforcement_row(conn, entry)


def insert_enforcement_row(conn: sqlite3.Connection, entry: EnforcementLog) -> int:
    """The audit insert inside a transaction the caller holds (also used by the Admin CLI's clear)."""
    cursor = conn.execute(tables.ENFORCEMENT_LOG.insert_sql(), codecs.encode_enforcement_log(entry))
    row_id = cursor.lastrowid
    if row_id is None:
        raise sqlite3.DatabaseError("enforcement_log insert returned no row id")
    return row_id


def save_reset_schedule(conn: sqlite3.Connection, schedule: ResetSchedule, updated_at: datetime) -> None:
    with transaction(conn):
        conn.execute(tables.RESET_SCHEDULE.upsert_sql(), codecs.encode_reset_schedule(schedule, updated_at))


def save_session_state(conn: sqlite3.Connection, state: SessionState) -> None:
    with transaction(conn):
        conn.execute(tables.SESSION_STATE.upsert_sql(), codecs.encode_session_state(state))


def write_batch(conn: sqlite3.Connection, batch: Batch) -> int:
    """Write one flush in one transaction: a crash leaves the previous batch or this one, never half."""
    if not len(batch):
        return 0
    position_upserts, position_deletes = _split(batch.positions, codecs.encode_position)
    order_upserts, order_deletes = _split(batch.orders, codecs.encode_order)
    trade_rows = [codecs.encode_trade(trade) for trade in batch.trades.values()]
    contract_rows = [codecs.encode_contract(contract) for contract in batch.contracts.values()]
    with transaction(conn):
        conn.executemany(tables.POSITIONS.upsert_sql(), position_upserts)
        conn.executemany(tables.POSITIONS.delete_sql(), position_deletes)
        conn.executemany(tables.ORDERS.upsert_sql(), order_upserts)
        conn.executemany(tables.ORDERS.delete_sql(), order_deletes)
        conn.executemany(tables.TRADE_HISTORY.upsert_sql(), trade_rows)
        conn.executemany(tables.CONTRACT_CACHE.upsert_sql(), contract_rows)
    return len(batch)


def _split(items: Mapping[int, T | None], encode: Callable[[T], codecs.Row]) -> tuple[list[codecs.Row],
                                                                                        list[tuple[int]]]:
    """Marked items → (rows to upsert, ids to delete)."""
    upserts = [encode(item) for item in items.values() if item is not None]
    deletes = [(key,) for key, item in items.items() if item is None]
    return upserts, deletes
