"""Open `state.db` for the daemon (`daemon.md` §2 step 4): settings, `quick_check`, migrations.

A corrupt file is moved aside with its side files as `state.db.corrupt-<UTC stamp>` and an empty
database takes its place, so the daemon still enforces (DEGRADED): positions, orders, trades and P&L
are rebuilt from the broker and the post-reconcile sweep re-creates lockouts that still apply.
Schema problems are not corruption: they raise `SchemaError` (exit 78) and the file is left alone.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from simple_risk_manager.store.backups import backup_database, utc_stamp
from simple_risk_manager.store.connection import (
    connect_writer,
    is_corruption,
    quick_check_problems,
    restrict_file_modes,
    side_files,
)
from simple_risk_manager.store.migrator import MigrationResult, migrate
from simple_risk_manager.store.schema import MIGRATIONS, Migration

_SQLITE_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True, slots=True)
class OpenedDatabase:
    connection: sqlite3.Connection
    migration: MigrationResult
    #: Set when the file failed `quick_check` and was replaced by an empty one (daemon: DEGRADED, CRITICAL).
    quarantined_to: Path | None = None
    problems: tuple[str, ...] = ()

    @property
    def degraded(self) -> bool:
        return self.quarantined_to is not None


class _CorruptError(Exception):
    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def default_backups_dir(db_path: Path) -> Path:
    """`<data_dir>/backups/`, beside `state.db`."""
    return db_path.parent / "backups"


def open_database(db_path: Path, now: datetime, *, backups_dir: Path | None = None,
                  migrations: Sequence[Migration] = MIGRATIONS) -> OpenedDatabase:
    """Open (creating if missing), check and migrate the database; the caller owns the connection.

    Raises `SchemaError` for an unversioned or newer file, a failed migration or a missing object.
    """
    db_path.parent.mkdir(parents=True, exist_ok=True)
    quarantined_to: Path | None = None
    problems: tuple[str, ...] = ()
    try:
        conn = _open_checked(db_path)
    except _CorruptError as corrupt:
        problems = corrupt.problems
        quarantined_to = quarantine(db_path, now)
        conn = connect_writer(db_path)
    backups = backups_dir or default_backups_dir(db_path)
    try:
        result = migrate(conn, now, lambda: backup_database(conn, backups, now), migrations)
    except BaseException:
        conn.close()
        raise
    restrict_file_modes(db_path)
    return OpenedDatabase(conn, result, quarantined_to, problems)


def _open_checked(db_path: Path) -> sqlite3.Connection:
    if not _has_sqlite_header(db_path):
        # Never hand such a file to SQLite: closing it would delete the -wal/-shm files we keep.
        raise _CorruptError([f"{db_path.name}: not an SQLite database (bad file header)"])
    try:
        conn = connect_writer(db_path)
    except sqlite3.DatabaseError as exc:
        if is_corruption(exc):
            raise _CorruptError([str(exc)]) from exc
        raise
    try:
        problems = quick_check_problems(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if is_corruption(exc):
            raise _CorruptError([str(exc)]) from exc
        raise
    if problems:
        conn.close()
        raise _CorruptError(problems)
    return conn


def _has_sqlite_header(db_path: Path) -> bool:
    """True for a missing or empty file (SQLite creates it) or one that starts with SQLite's magic."""
    try:
        with db_path.open("rb") as file:
            head = file.read(len(_SQLITE_MAGIC))
    except FileNotFoundError:
        return True
    return head in (b"", _SQLITE_MAGIC)


def quarantine(db_path: Path, now: datetime) -> Path:
    """Move the file and its -wal/-shm side files to `<name>.corrupt-<stamp>[-wal|-shm]`."""
    target = db_path.with_name(f"{db_path.name}.corrupt-{utc_stamp(now)}")
    for source, dest in zip((db_path, *side_files(db_path)), (target, *side_files(target)), strict=True):
        if source.exists():
            os.replace(source, dest)
    return target
