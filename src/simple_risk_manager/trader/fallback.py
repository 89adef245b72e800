"""The read-only SQLite fallback (`broadcast-api.md` §8): what the dashboard shows while the daemon is
unreachable, read from `data/state.db` without ever writing it.

Each poll opens the file with `mode=ro` (SQLite refuses every write on such a connection), reads in
short transactions and closes it again, so no read lock outlives the poll. When that open fails (WAL
side files gone after a clean stop, in a directory the trader cannot write), it retries with
`immutable=1`: SQLite then reads the main file only, best effort. Quotes, unrealized P&L, rule values,
hub states and nicknames do not exist here.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from simple_risk_manager.domain.models import ResetSchedule
from simple_risk_manager.domain.times import parse_utc
from simple_risk_manager.store import codecs, tables
from simple_risk_manager.store.connection import READER_BUSY_TIMEOUT_MS, connect_reader, read_snapshot
from simple_risk_manager.store.errors import StoreError
from simple_risk_manager.store.loader import LoadedState, load_state, read_enforcement_log
from simple_risk_manager.trader.account_view import AccountView, DataSource, enforcement_entry
from simple_risk_manager.trader.model import SavedState
from simple_risk_manager.trader.payloads import PositionLine

DB_FILE_NAME: Final = "state.db"
#: History → Enforcement offline: the latest 50 rows (§8), looked for within the retention window.
ENFORCEMENT_ROWS: Final = 50
_ENFORCEMENT_LOOKBACK: Final = timedelta(days=7)

#: Every table that names accounts the daemon has seen (§1.3: the offline selection list).
_ACCOUNT_IDS_SQL: Final = """
    SELECT account_id FROM reset_schedule UNION SELECT account_id FROM lockouts
    UNION SELECT account_id FROM daily_pnl UNION SELECT account_id FROM positions ORDER BY 1"""
#: The newest write time anywhere: how old the saved state is. Timestamps are uniform UTC text, so
#: text order is time order (`storage.md` §2).
_NEWEST_WRITE_SQL: Final = """
    SELECT MAX(t) FROM (
        SELECT MAX(updated_at) AS t FROM positions UNION ALL SELECT MAX(updated_at) FROM orders
        UNION ALL SELECT MAX(updated_at) FROM lockouts UNION ALL SELECT MAX(last_updated) FROM daily_pnl
        UNION ALL SELECT MAX(updated_at) FROM reset_schedule
        UNION ALL SELECT MAX(updated_at) FROM session_state
        UNION ALL SELECT MAX(created_at) FROM trade_history
        UNION ALL SELECT MAX(timestamp) FROM enforcement_log)"""


class SavedStateUnavailableError(Exception):
    """The database cannot be read; the message says why, for the screen."""


def database_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE_NAME


def open_read_only(path: Path) -> sqlite3.Connection:
    """`mode=ro`, else `mode=ro&immutable=1` when the plain read-only open cannot read (§8)."""
    conn = connect_reader(path)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.OperationalError:
        conn.close()
    uri = path.resolve().as_uri() + "?mode=ro&immutable=1"
    conn = sqlite3.connect(uri, uri=True, timeout=READER_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    return conn


def read_saved_state(path: Path, now: datetime) -> SavedState:
    """One poll: every account's saved state as of `now`. Raises `SavedStateUnavailableError`."""
    try:
        conn = open_read_only(path)
    except FileNotFoundError:
        raise SavedStateUnavailableError(
            f"no saved state: {path} does not exist (has the daemon ever run here?)") from None
    except sqlite3.Error as exc:
        raise SavedStateUnavailableError(f"cannot open {path} read-only: {exc}") from None
    try:
        return _read(conn, now)
    except (sqlite3.Error, StoreError) as exc:
        raise SavedStateUnavailableError(f"cannot read {path}: {exc}") from None
    finally:
        conn.close()


def _read(conn: sqlite3.Connection, now: datetime) -> SavedState:
    with read_snapshot(conn):
        account_ids = [int(row[0]) for row in conn.execute(_ACCOUNT_IDS_SQL)]
        (newest,) = conn.execute(_NEWEST_WRITE_SQL).fetchone()
        schedules = {s.account_id: s for s in (codecs.decode_reset_schedule(row) for row in
                                                conn.execute(tables.RESET_SCHEDULE.select_sql()))}
    trades_since = min((s.last_reset_at for s in schedules.values()), default=now - timedelta(days=1))
    loaded = load_state(conn, {a: s.trading_date for a, s in schedules.items()}, trades_since)
    accounts = {}
    for account_id in account_ids:
        view = _account(account_id, loaded, schedules.get(account_id), now)
        logs = read_enforcement_log(conn, now - _ENFORCEMENT_LOOKBACK, account_id)[-ENFORCEMENT_ROWS:]
        view.history = [enforcement_entry(log) for log in reversed(logs)]
        accounts[account_id] = view
    return SavedState(accounts=accounts, written_at=None if newest is None else parse_utc(newest))


def _account(account_id: int, loaded: LoadedState, schedule: ResetSchedule | None,
             now: datetime) -> AccountView:
    view = AccountView(account_id=account_id, source=DataSource.SAVED)
    view.lockouts = {record.lockout_id: record for record in loaded.lockouts
                     if record.account_id == account_id and record.lockout_id is not None
                     and record.is_active(now)}
    view.positions = {p.contract_id: PositionLine(p) for p in loaded.positions if p.account_id == account_id}
    view.orders = {o.id: o for o in loaded.orders if o.account_id == account_id}
    view.contracts = dict(loaded.contracts)
    if schedule is None:
        return view
    view.next_reset_at = schedule.next_reset_at
    if now >= schedule.next_reset_at:
        view.day_rolled = True  # the day ended while the daemon was down: today's values are 0
        view.trading_date = None
        return view
    view.trading_date = schedule.trading_date
    pnl = loaded.daily_pnl.get(account_id)
    if pnl is not None:
        view.realized_pnl, view.gross_pnl, view.fees = pnl.realized_pnl, pnl.gross_pnl, pnl.fees
        view.trade_count = pnl.trade_count
    view.trades = sorted((t for t in loaded.trades if t.account_id == account_id
                          and schedule.last_reset_at <= t.execution_time < schedule.next_reset_at),
                         key=lambda t: (t.execution_time, t.id), reverse=True)
    return view
