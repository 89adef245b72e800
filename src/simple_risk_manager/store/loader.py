"""Read persisted state back as domain objects: the startup load of `storage.md` §8, and the reads
the Trader CLI's offline fallback needs. Works on the daemon's connection or a read-only one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import InvalidOperation
from typing import Any, TypeVar

from simple_risk_manager.domain.models import (
    ContractMetadata,
    DailyPnl,
    EnforcementLog,
    Lockout,
    Order,
    Position,
    ResetSchedule,
    SessionState,
    Trade,
)
from simple_risk_manager.domain.times import format_date, format_utc
from simple_risk_manager.store import codecs, tables
from simple_risk_manager.store.connection import read_snapshot
from simple_risk_manager.store.errors import StoreError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class LoadedState:
    """Everything reloaded at startup, in the order the trackers consume it."""

    reset_schedules: Mapping[int, ResetSchedule]
    lockouts: tuple[Lockout, ...]
    #: Highest `lockout_id` in the table, cleared rows included: the lockout manager continues after it,
    #: so a new record never reuses the id of a cleared one still kept for retention.
    last_lockout_id: int
    daily_pnl: Mapping[int, DailyPnl]
    session_states: Mapping[int, SessionState]
    contracts: Mapping[str, ContractMetadata]
    trades: tuple[Trade, ...]
    positions: tuple[Position, ...]
    orders: tuple[Order, ...]


def load_state(conn: sqlite3.Connection, trading_dates: Mapping[int, date],
               trades_since: datetime) -> LoadedState:
    """One consistent read of the startup state (`storage.md` §8).

    `trading_dates` gives each account's current trading date (its `daily_pnl` row is loaded, if any);
    `trades_since` is the earlier of the session start and now − 1 h (RULE-006's window).
    Uncleared lockouts are returned whether or not they have expired: clearing them is the daemon's
    step 6–7, after the catch-up reset.
    """
    with read_snapshot(conn):
        schedules = _read(conn, tables.RESET_SCHEDULE, codecs.decode_reset_schedule)
        lockouts = _read(conn, tables.LOCKOUTS, codecs.decode_lockout, "cleared_at IS NULL")
        max_id_sql = f"SELECT COALESCE(MAX(lockout_id), 0) FROM {tables.LOCKOUTS.name}"
        (last_lockout_id,) = conn.execute(max_id_sql).fetchone()
        pnl = [row for account_id, day in sorted(trading_dates.items())
               if (row := read_daily_pnl(conn, account_id, day)) is not None]
        sessions = _read(conn, tables.SESSION_STATE, codecs.decode_session_state)
        contracts = _read(conn, tables.CONTRACT_CACHE, codecs.decode_contract)
        trades = _read(conn, tables.TRADE_HISTORY, codecs.decode_trade, "timestamp >= ?",
                       (format_utc(trades_since),), order_by="timestamp, trade_id")
        positions = _read(conn, tables.POSITIONS, codecs.decode_position)
        orders = _read(conn, tables.ORDERS, codecs.decode_order)
    return LoadedState(
        reset_schedules={s.account_id: s for s in schedules},
        lockouts=tuple(lockouts),
        last_lockout_id=int(last_lockout_id),
        daily_pnl={p.account_id: p for p in pnl},
        session_states={s.account_id: s for s in sessions},
        contracts={c.contract_id: c for c in contracts},
        trades=tuple(trades),
        positions=tuple(positions),
        orders=tuple(orders),
    )


def read_lockouts(conn: sqlite3.Connection, account_id: int | None = None,
                  include_cleared: bool = False) -> list[Lockout]:
    """Lockout records, uncleared only unless asked (Admin `lockout list`, Trader fallback)."""
    where = [] if include_cleared else ["cleared_at IS NULL"]
    params: list[Any] = []
    if account_id is not None:
        where.append("account_id = ?")
        params.append(account_id)
    return _read(conn, tables.LOCKOUTS, codecs.decode_lockout, " AND ".join(where), params)


def read_daily_pnl(conn: sqlite3.Connection, account_id: int, day: date) -> DailyPnl | None:
    rows = _read(conn, tables.DAILY_PNL, codecs.decode_daily_pnl, "account_id = ? AND date = ?",
                 (account_id, format_date(day)))
    return rows[0] if rows else None


def read_trades(conn: sqlite3.Connection, since: datetime, account_id: int | None = None) -> list[Trade]:
    where, params = _since("timestamp", since, account_id)
    return _read(conn, tables.TRADE_HISTORY, codecs.decode_trade, where, params,
                 order_by="timestamp, trade_id")


def read_enforcement_log(conn: sqlite3.Connection, since: datetime,
                         account_id: int | None = None) -> list[EnforcementLog]:
    """Audit rows at or after `since`, oldest first."""
    where, params = _since("timestamp", since, account_id)
    return _read(conn, tables.ENFORCEMENT_LOG, codecs.decode_enforcement_log, where, params,
                 order_by="timestamp, id")


def _since(column: str, since: datetime, account_id: int | None) -> tuple[str, list[Any]]:
    where = f"{column} >= ?"
    params: list[Any] = [format_utc(since)]
    if account_id is not None:
        where += " AND account_id = ?"
        params.append(account_id)
    return where, params


def _read(conn: sqlite3.Connection, table: tables.Table, decode: Callable[[Sequence[Any]], T],
          where: str = "", params: Sequence[Any] = (), *, order_by: str = "") -> list[T]:
    result: list[T] = []
    for row in conn.execute(table.select_sql(where, order_by), tuple(params)):
        try:
            result.append(decode(row))
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise StoreError(f"{table.name}: cannot read row {row!r}: {exc}") from exc
    return result
