"""The baseline schema of `storage.md` §3: tables, columns, STRICT, CHECKs, defaults, indexes."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from simple_risk_manager.store import MIGRATIONS, Migration, open_database
from simple_risk_manager.store.schema import BASELINE_SQL

from .factories import T0

TABLE_COLUMNS = {
    "schema_version": ["version", "applied_at", "description", "checksum"],
    "lockouts": [
        "lockout_id",
        "account_id",
        "rule_id",
        "kind",
        "reason",
        "locked_at",
        "locked_until",
        "cleared_at",
        "cleared_by",
        "created_at",
        "updated_at",
    ],
    "daily_pnl": ["account_id", "date", "realized_pnl", "gross_pnl", "fees", "trade_count", "last_updated"],
    "contract_cache": ["contract_id", "symbol_id", "name", "tick_size", "tick_value", "cached_at"],
    "trade_history": [
        "id",
        "trade_id",
        "account_id",
        "contract_id",
        "timestamp",
        "side",
        "size",
        "price",
        "pnl",
        "fees",
        "voided",
        "order_id",
        "created_at",
    ],
    "session_state": ["account_id", "session_start", "updated_at"],
    "positions": [
        "id",
        "account_id",
        "contract_id",
        "type",
        "size",
        "average_price",
        "created_at",
        "updated_at",
    ],
    "orders": [
        "id",
        "account_id",
        "contract_id",
        "type",
        "side",
        "size",
        "limit_price",
        "stop_price",
        "status",
        "filled_size",
        "created_at",
        "updated_at",
    ],
    "enforcement_log": [
        "id",
        "timestamp",
        "account_id",
        "rule_id",
        "action",
        "reason",
        "success",
        "outcome",
        "details",
        "execution_time_ms",
    ],
    "reset_schedule": [
        "account_id",
        "trading_date",
        "last_reset_at",
        "next_reset_at",
        "reset_time_config",
        "timezone",
        "updated_at",
    ],
}
INDEXES = {
    "idx_lockouts_active": ("lockouts", ["account_id", "rule_id"]),
    "idx_daily_pnl_date": ("daily_pnl", ["date"]),
    "idx_trade_history_account_time": ("trade_history", ["account_id", "timestamp"]),
    "idx_trade_history_time": ("trade_history", ["timestamp"]),
    "idx_positions_account": ("positions", ["account_id"]),
    "idx_orders_account": ("orders", ["account_id"]),
    "idx_enforcement_account_time": ("enforcement_log", ["account_id", "timestamp"]),
    "idx_enforcement_time": ("enforcement_log", ["timestamp"]),
}
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    opened = open_database(tmp_path / "state.db", T0)
    yield opened.connection
    opened.connection.close()


def test_fresh_database_is_version_1_with_every_table_and_index(conn: sqlite3.Connection) -> None:
    tables = {
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    indexes = {
        name: table
        for name, table in conn.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'"
        )
    }
    assert tables == set(TABLE_COLUMNS)
    assert indexes == {name: table for name, (table, _) in INDEXES.items()}
    rows = conn.execute("SELECT version, applied_at, description, checksum FROM schema_version").fetchall()
    assert rows == [(1, "2025-03-04T15:02:11.480Z", MIGRATIONS[0].description, MIGRATIONS[0].checksum)]


@pytest.mark.parametrize("table", sorted(TABLE_COLUMNS))
def test_table_has_exact_columns_and_is_strict(conn: sqlite3.Connection, table: str) -> None:
    assert [row[1] for row in conn.execute(f"PRAGMA table_info({table})")] == TABLE_COLUMNS[table]
    strict = conn.execute("SELECT strict FROM pragma_table_list WHERE name = ?", (table,)).fetchone()[0]
    assert strict == 1


@pytest.mark.parametrize("index", sorted(INDEXES))
def test_index_covers_the_documented_columns(conn: sqlite3.Connection, index: str) -> None:
    assert [row[2] for row in conn.execute(f"PRAGMA index_info({index})")] == INDEXES[index][1]


def test_lockouts_index_is_unique_and_partial_on_uncleared_records(conn: sqlite3.Connection) -> None:
    sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'idx_lockouts_active'").fetchone()[0]
    assert "UNIQUE" in sql
    assert sql.endswith("WHERE cleared_at IS NULL")
    insert = (
        "INSERT INTO lockouts (lockout_id, account_id, rule_id, kind, reason, locked_at, locked_until, "
        "cleared_at, cleared_by) VALUES (?, 1, 'RULE-003', 'reset', 'r', 't', 'u', ?, ?)"
    )
    conn.execute(insert, (1, "c", "DAILY_RESET"))
    conn.execute(insert, (2, None, None))
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(insert, (3, None, None))


def test_trade_id_is_unique(conn: sqlite3.Connection) -> None:
    insert = (
        "INSERT INTO trade_history (trade_id, account_id, contract_id, timestamp, side, size, price) "
        "VALUES (7, 1, 'C', 't', 0, 1, '1')"
    )
    conn.execute(insert)
    with pytest.raises(sqlite3.IntegrityError, match="UNIQUE"):
        conn.execute(insert)


_LOCKOUT = "lockouts (lockout_id, account_id, rule_id, kind, reason, locked_at"
_TRADE = "trade_history (trade_id, account_id, contract_id, timestamp, side, size, price"
_POSITION = "positions (id, account_id, contract_id, type, size, average_price, created_at)"
_ORDER = "orders (id, account_id, contract_id, type, side, size, status"
_ENFORCEMENT = "enforcement_log (timestamp, account_id, rule_id, action, reason, success, outcome)"
REJECTED_ROWS = {
    "bad lockout kind": f"{_LOCKOUT}, locked_until) VALUES (1, 1, 'R', 'forever', 'r', 't', 'u')",
    "non-condition lockout without locked_until": f"{_LOCKOUT}) VALUES (1, 1, 'R', 'duration', 'r', 't')",
    "bad cleared_by": f"{_LOCKOUT}, cleared_at, cleared_by) VALUES (1, 1, 'R', 'condition', '', '', 'c', '')",
    "cleared_at alone": f"{_LOCKOUT}, cleared_at) VALUES (1, 1, 'R', 'condition', 'r', 't', 'c')",
    "negative trade_count": "daily_pnl (account_id, date, trade_count) VALUES (1, '2025-03-04', -1)",
    "trade side outside 0/1": f"{_TRADE}) VALUES (1, 1, 'C', 't', 2, 1, '1')",
    "trade size 0": f"{_TRADE}) VALUES (1, 1, 'C', 't', 0, 0, '1')",
    "voided not a boolean": f"{_TRADE}, voided) VALUES (1, 1, 'C', 't', 0, 1, '1', 2)",
    "position type UNDEFINED": f"{_POSITION} VALUES (1, 1, 'C', 0, 1, '1', 't')",
    "position size 0": f"{_POSITION} VALUES (1, 1, 'C', 1, 0, '1', 't')",
    "terminal order status (FILLED)": f"{_ORDER}, created_at) VALUES (1, 1, 'C', 4, 1, 1, 2, 't')",
    "filled_size > size": f"{_ORDER}, filled_size, created_at) VALUES (1, 1, 'C', 4, 1, 1, 1, 2, 't')",
    "enforcement outcome outside the four": f"{_ENFORCEMENT} VALUES ('t', 1, 'R', 'ALERT', 'r', 0, 'MAYBE')",
    "success=1 on a failed enforcement": f"{_ENFORCEMENT} VALUES ('t', 1, 'R', 'ALERT', 'r', 1, 'FAILED')",
    "STRICT: text in an INTEGER column": "session_state (account_id, session_start) VALUES ('one', 't')",
}


@pytest.mark.parametrize("insert", list(REJECTED_ROWS.values()), ids=list(REJECTED_ROWS))
def test_constraints_reject_bad_rows(conn: sqlite3.Connection, insert: str) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(f"INSERT INTO {insert}")


def test_defaults_are_zero_decimal_text_and_utc_millisecond_timestamps(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO daily_pnl (account_id, date) VALUES (1, '2025-03-04')")
    realized, gross, fees, count, last_updated = conn.execute(
        "SELECT realized_pnl, gross_pnl, fees, trade_count, last_updated FROM daily_pnl"
    ).fetchone()
    assert (realized, gross, fees, count) == ("0", "0", "0", 0)
    assert TIMESTAMP.match(last_updated)


def test_migration_statements_split_like_sqlite_does() -> None:
    migration = Migration(
        2,
        "with a semicolon in a string",
        "CREATE TABLE t (x TEXT DEFAULT ';');\nINSERT INTO t VALUES ('a;b');\n",
    )
    assert migration.statements() == ["CREATE TABLE t (x TEXT DEFAULT ';');", "INSERT INTO t VALUES ('a;b');"]
    assert len(MIGRATIONS[0].statements()) == BASELINE_SQL.count("CREATE ")


def test_migration_with_an_unfinished_statement_is_refused() -> None:
    with pytest.raises(ValueError, match="migration 2: incomplete SQL statement"):
        Migration(2, "broken", "CREATE TABLE t (x TEXT)").statements()
