"""The write transactions of `storage.md` §4, each a function of one connection.

Each function is one `BEGIN IMMEDIATE … COMMIT`: an immediate write (lockouts, daily P&L,
enforcement log, reset schedule, session state) or one whole batched flush. The store runs them on
its DB thread; the Admin CLI runs `admin.py`'s on its own connection while the daemon is stopped.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

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
    with transaction(conn):
        for table, rows in ((tables.POSITIONS, batch.positions), (tables.ORDERS, batch.orders)):
            conn.executemany(table.upsert_sql(), [row for row in rows.values() if row is not None])
            conn.executemany(table.delete_sql(), [(key,) for key, row in rows.items() if row is None])
        conn.executemany(tables.TRADE_HISTORY.upsert_sql(), list(batch.trades.values()))
        conn.executemany(tables.CONTRACT_CACHE.upsert_sql(), list(batch.contracts.values()))
    return len(batch)
