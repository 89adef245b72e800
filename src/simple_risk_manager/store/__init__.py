"""SQLite persistence (`storage.md`): schema and migrations, codecs, the DB-thread writer, the startup
load, retention, backups and the Admin CLI's offline writes.

The daemon uses `StateStore`; the Trader CLI reads through `connect_reader` and the `loader` functions;
the Admin CLI uses `admin`, `backups` and `connect_writer` while the daemon is stopped.
"""

from simple_risk_manager.store.admin import RecreateResult, clear_lockouts_as_admin, recreate_database
from simple_risk_manager.store.backups import backup_database, list_backups
from simple_risk_manager.store.batch import Batch, PendingWrites
from simple_risk_manager.store.connection import connect_reader, connect_writer, quick_check_problems
from simple_risk_manager.store.database import OpenedDatabase, open_database
from simple_risk_manager.store.errors import (
    MigrationFailedError,
    SchemaError,
    SchemaIncompleteError,
    SchemaTooNewError,
    StoreError,
    UnversionedDatabaseError,
)
from simple_risk_manager.store.loader import (
    LoadedState,
    load_state,
    read_daily_pnl,
    read_enforcement_log,
    read_lockouts,
    read_trades,
)
from simple_risk_manager.store.migrator import MigrationResult, current_version, migrate
from simple_risk_manager.store.retention import RetentionPolicy, RetentionResult, apply_retention
from simple_risk_manager.store.schema import MIGRATIONS, Migration
from simple_risk_manager.store.state_store import StateStore

__all__ = [
    "MIGRATIONS",
    "Batch",
    "LoadedState",
    "Migration",
    "MigrationFailedError",
    "MigrationResult",
    "OpenedDatabase",
    "PendingWrites",
    "RecreateResult",
    "RetentionPolicy",
    "RetentionResult",
    "SchemaError",
    "SchemaIncompleteError",
    "SchemaTooNewError",
    "StateStore",
    "StoreError",
    "UnversionedDatabaseError",
    "apply_retention",
    "backup_database",
    "clear_lockouts_as_admin",
    "connect_reader",
    "connect_writer",
    "current_version",
    "list_backups",
    "load_state",
    "migrate",
    "open_database",
    "quick_check_problems",
    "read_daily_pnl",
    "read_enforcement_log",
    "read_lockouts",
    "read_trades",
    "recreate_database",
]
