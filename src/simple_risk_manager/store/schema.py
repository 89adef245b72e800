"""The shipped migrations (`storage.md` §3, §6): migration 1 is the full baseline schema.

Adding a schema change later is one more `Migration` appended to `MIGRATIONS`; the migrator, the
backup before it and the post-migration verification need no other edit.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass

_NOW = "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step. `sql` is the text that is checksummed; it is run statement by statement."""

    version: int
    description: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def statements(self) -> list[str]:
        """Split on statement boundaries as SQLite sees them (a `;` inside a string is not one)."""
        statements: list[str] = []
        pending = ""
        for line in self.sql.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                statements.append(pending.strip())
                pending = ""
        if pending.strip():
            raise ValueError(f"migration {self.version}: incomplete SQL statement at the end: "
                             f"{pending.strip()!r}")
        return statements


BASELINE_SQL = f"""
CREATE TABLE schema_version (
    version     INTEGER PRIMARY KEY,
    applied_at  TEXT NOT NULL,
    description TEXT NOT NULL,
    checksum    TEXT NOT NULL
) STRICT;

CREATE TABLE lockouts (
    lockout_id   INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL,
    rule_id      TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('reset', 'session', 'duration', 'condition')),
    reason       TEXT NOT NULL,
    locked_at    TEXT NOT NULL,
    locked_until TEXT,
    cleared_at   TEXT,
    cleared_by   TEXT CHECK (cleared_by IN ('TIMER_EXPIRY', 'DAILY_RESET', 'CAN_TRADE_RESTORED', 'ADMIN')),
    created_at   TEXT NOT NULL DEFAULT {_NOW},
    updated_at   TEXT NOT NULL DEFAULT {_NOW},
    CHECK (locked_until IS NOT NULL OR kind = 'condition'),
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL))
) STRICT;

CREATE UNIQUE INDEX idx_lockouts_active ON lockouts (account_id, rule_id) WHERE cleared_at IS NULL;

CREATE TABLE daily_pnl (
    account_id   INTEGER NOT NULL,
    date         TEXT NOT NULL,
    realized_pnl TEXT NOT NULL DEFAULT '0',
    gross_pnl    TEXT NOT NULL DEFAULT '0',
    fees         TEXT NOT NULL DEFAULT '0',
    trade_count  INTEGER NOT NULL DEFAULT 0 CHECK (trade_count >= 0),
    last_updated TEXT NOT NULL DEFAULT {_NOW},
    PRIMARY KEY (account_id, date)
) STRICT;

CREATE INDEX idx_daily_pnl_date ON daily_pnl (date);

CREATE TABLE contract_cache (
    contract_id TEXT PRIMARY KEY,
    symbol_id   TEXT NOT NULL,
    name        TEXT,
    tick_size   TEXT NOT NULL,
    tick_value  TEXT NOT NULL,
    cached_at   TEXT NOT NULL DEFAULT {_NOW}
) STRICT;

CREATE TABLE trade_history (
    id          INTEGER PRIMARY KEY,
    trade_id    INTEGER NOT NULL UNIQUE,
    account_id  INTEGER NOT NULL,
    contract_id TEXT NOT NULL,
    timestamp   TEXT NOT NULL,
    side        INTEGER NOT NULL CHECK (side IN (0, 1)),
    size        INTEGER NOT NULL CHECK (size > 0),
    price       TEXT NOT NULL,
    pnl         TEXT,
    fees        TEXT NOT NULL DEFAULT '0',
    voided      INTEGER NOT NULL DEFAULT 0 CHECK (voided IN (0, 1)),
    order_id    INTEGER,
    created_at  TEXT NOT NULL DEFAULT {_NOW}
) STRICT;

CREATE INDEX idx_trade_history_account_time ON trade_history (account_id, timestamp);

CREATE INDEX idx_trade_history_time ON trade_history (timestamp);

CREATE TABLE session_state (
    account_id    INTEGER PRIMARY KEY,
    session_start TEXT NOT NULL,
    updated_at    TEXT NOT NULL DEFAULT {_NOW}
) STRICT;

CREATE TABLE positions (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL,
    contract_id   TEXT NOT NULL,
    type          INTEGER NOT NULL CHECK (type IN (1, 2)),
    size          INTEGER NOT NULL CHECK (size > 0),
    average_price TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL DEFAULT {_NOW}
) STRICT;

CREATE INDEX idx_positions_account ON positions (account_id);

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    contract_id TEXT NOT NULL,
    type        INTEGER NOT NULL,
    side        INTEGER NOT NULL CHECK (side IN (0, 1)),
    size        INTEGER NOT NULL CHECK (size > 0),
    limit_price TEXT,
    stop_price  TEXT,
    status      INTEGER NOT NULL CHECK (status NOT IN (2, 3, 4, 5)),
    filled_size INTEGER NOT NULL DEFAULT 0 CHECK (filled_size BETWEEN 0 AND size),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL DEFAULT {_NOW}
) STRICT;

CREATE INDEX idx_orders_account ON orders (account_id);

CREATE TABLE enforcement_log (
    id                INTEGER PRIMARY KEY,
    timestamp         TEXT NOT NULL,
    account_id        INTEGER NOT NULL,
    rule_id           TEXT NOT NULL,
    action            TEXT NOT NULL,
    reason            TEXT NOT NULL,
    success           INTEGER NOT NULL CHECK (success IN (0, 1)),
    outcome           TEXT NOT NULL CHECK (outcome IN ('SUCCESS', 'FAILED', 'SUPERSEDED', 'DRY_RUN')),
    details           TEXT,
    execution_time_ms INTEGER CHECK (execution_time_ms >= 0),
    CHECK (success = 0 OR outcome = 'SUCCESS')
) STRICT;

CREATE INDEX idx_enforcement_account_time ON enforcement_log (account_id, timestamp);

CREATE INDEX idx_enforcement_time ON enforcement_log (timestamp);

CREATE TABLE reset_schedule (
    account_id        INTEGER PRIMARY KEY,
    trading_date      TEXT NOT NULL,
    last_reset_at     TEXT NOT NULL,
    next_reset_at     TEXT NOT NULL,
    reset_time_config TEXT NOT NULL,
    timezone          TEXT NOT NULL,
    updated_at        TEXT NOT NULL DEFAULT {_NOW}
) STRICT;
"""

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: nine tables and their indexes", BASELINE_SQL),
)
