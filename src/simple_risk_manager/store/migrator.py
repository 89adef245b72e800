"""Bring a database to the code's schema version (`storage.md` §6).

One code path for new and old files: a new file is version 0 and runs every migration. Each pending
migration runs in its own `BEGIN IMMEDIATE` transaction, one statement at a time (`executescript`
would commit implicitly), and is recorded in `schema_version` only when it commits.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.store.connection import transaction
from simple_risk_manager.store.errors import (
    MigrationFailedError,
    SchemaIncompleteError,
    SchemaTooNewError,
    UnversionedDatabaseError,
)
from simple_risk_manager.store.schema import MIGRATIONS, Migration

log = logging.getLogger(__name__)

_OBJECTS_SQL = ("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') "
                "AND name NOT LIKE 'sqlite_%'")


@dataclass(frozen=True, slots=True)
class MigrationResult:
    from_version: int
    to_version: int

    @property
    def applied(self) -> range:
        return range(self.from_version + 1, self.to_version + 1)


def current_version(conn: sqlite3.Connection) -> int:
    """`MAX(version)` of `schema_version`; 0 for a file without tables; refuses an unversioned file."""
    objects = set(conn.execute(_OBJECTS_SQL).fetchall())
    if ("table", "schema_version") in objects:
        version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        if version is not None:
            return int(version)
    if any(kind == "table" for kind, _ in objects):
        raise UnversionedDatabaseError(
            "the database has tables but no schema version (an older prototype file?); "
            "run `srm admin db init` to back it up and create a fresh database")
    return 0


def migrate(conn: sqlite3.Connection, now: datetime, backup: Callable[[], object],
            migrations: Sequence[Migration] = MIGRATIONS) -> MigrationResult:
    """Apply the pending migrations; `backup` runs first when an existing versioned file changes."""
    _check_sequence(migrations)
    target = len(migrations)
    current = current_version(conn)
    if current > target:
        raise SchemaTooNewError(
            f"the database is at schema version {current} but this code knows only up to {target}: "
            "it belongs to a newer release (restore a backup or upgrade)")
    _warn_on_edited(conn, migrations[:current])
    pending = migrations[current:]
    if pending and current >= 1:
        backup()
    for migration in pending:
        _apply(conn, migration, now)
    verify_schema(conn, migrations)
    return MigrationResult(current, target)


def _check_sequence(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(migrations) + 1)):
        raise ValueError(f"migrations must be numbered 1..N in order (got {versions})")


def _warn_on_edited(conn: sqlite3.Connection, applied: Sequence[Migration]) -> None:
    if not applied:
        return
    recorded = dict(conn.execute("SELECT version, checksum FROM schema_version").fetchall())
    for migration in applied:
        stored = recorded.get(migration.version)
        if stored is not None and stored != migration.checksum:
            log.warning("schema migration %d (%s): checksum differs from the one applied to this database; "
                        "a shipped migration was edited", migration.version, migration.description)


def _apply(conn: sqlite3.Connection, migration: Migration, now: datetime) -> None:
    try:
        with transaction(conn):
            for statement in migration.statements():
                conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version, applied_at, description, checksum) "
                         "VALUES (?, ?, ?, ?)",
                         (migration.version, format_utc(now), migration.description, migration.checksum))
    except sqlite3.Error as exc:
        raise MigrationFailedError(
            f"schema migration {migration.version} ({migration.description}) failed and was rolled back: "
            f"{exc}; restore the latest file from the backups directory if the database is unusable") from exc
    log.info("applied schema migration %d (%s)", migration.version, migration.description)


def expected_objects(migrations: Sequence[Migration]) -> set[tuple[str, str]]:
    """(type, name) of every table and index the migrations create, from a scratch in-memory run."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in migrations:
            for statement in migration.statements():
                scratch.execute(statement)
        return set(scratch.execute(_OBJECTS_SQL).fetchall())
    finally:
        scratch.close()


def verify_schema(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> None:
    """Every table and index the migrations define must exist in `conn`'s database."""
    missing = expected_objects(migrations) - set(conn.execute(_OBJECTS_SQL).fetchall())
    if missing:
        names = ", ".join(f"{kind} {name}" for kind, name in sorted(missing))
        raise SchemaIncompleteError(f"the database lacks {names} after migrating; "
                                    "run `srm admin db init` (it backs the file up first)")
