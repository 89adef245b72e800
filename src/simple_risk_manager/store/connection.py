"""Connection settings of `storage.md` §1 and the one transaction shape every write uses.

Connections run in autocommit mode (`isolation_level=None`) so the driver never opens or commits a
transaction behind our back; every write is an explicit `BEGIN IMMEDIATE … COMMIT`.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WRITER_BUSY_TIMEOUT_MS = 5000
READER_BUSY_TIMEOUT_MS = 2000
FILE_MODE = 0o640
SIDE_FILE_SUFFIXES = ("-wal", "-shm")

_CORRUPTION_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


def connect_writer(path: Path) -> sqlite3.Connection:
    """The daemon's (or the stopped-daemon Admin CLI's) read-write connection; creates the file.

    WAL makes readers never block the writer; `synchronous=FULL` makes every commit survive a
    power cut (the write volume is tiny).
    """
    conn = sqlite3.connect(path, timeout=WRITER_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {WRITER_BUSY_TIMEOUT_MS}")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"{path}: could not switch to WAL journal mode (got {mode!r})")
        conn.execute("PRAGMA synchronous = FULL")
    except BaseException:
        conn.close()
        raise
    restrict_file_modes(path)
    return conn


def connect_reader(path: Path) -> sqlite3.Connection:
    """A read-only connection for the Trader CLI's fallback mode: it can never write the file."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no database here (has the daemon ever run?)")
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=READER_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {READER_BUSY_TIMEOUT_MS}")
    return conn


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` and re-raise: all or nothing."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # some errors (disk full, I/O) have already rolled back
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def read_snapshot(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One read transaction, so a multi-table load sees a single committed state."""
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def quick_check_problems(conn: sqlite3.Connection) -> list[str]:
    """`PRAGMA quick_check` findings; empty when the file is sound."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check")]
    return [] if rows == ["ok"] else rows


def is_corruption(exc: sqlite3.Error) -> bool:
    """True for "database disk image is malformed" and "file is not a database", not for busy/locked."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _CORRUPTION_CODES


def checkpoint_truncate(conn: sqlite3.Connection) -> None:
    """Fold the WAL into the database and empty it (clean shutdown, `storage.md` §7)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def side_files(path: Path) -> list[Path]:
    return [path.with_name(path.name + suffix) for suffix in SIDE_FILE_SUFFIXES]


def restrict_file_modes(path: Path) -> None:
    """Best effort 0640 on the database and its side files (group = viewer group); no-op on Windows."""
    if os.name == "nt":
        return
    for candidate in (path, *side_files(path)):
        try:
            os.chmod(candidate, FILE_MODE)
        except OSError:  # absent side file, or a file system without POSIX modes
            continue
