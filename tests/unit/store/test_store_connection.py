"""Connection settings, read-only readers, corruption quarantine and clean shutdown
(`storage.md` §1, §7; `daemon.md` §2 step 4, §3.1 step 7)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.store import (
    StateStore,
    UnversionedDatabaseError,
    connect_reader,
    current_version,
    list_backups,
    open_database,
    read_lockouts,
    recreate_database,
)

from .factories import T0, at, lockout, open_store


def _write_garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database, it is garbage " * 200)


def test_writer_connection_uses_wal_full_sync_and_a_5s_busy_timeout(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "state.db", T0).connection
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (5000,)
    finally:
        conn.close()


def test_reader_connection_has_a_2s_busy_timeout_and_cannot_write(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.save_lockouts(lockout()).result(timeout=5)
    reader = connect_reader(tmp_path / "state.db")
    try:
        assert reader.execute("PRAGMA busy_timeout").fetchone() == (2000,)
        assert [x.lockout_id for x in read_lockouts(reader)] == [1]  # sees the daemon's committed rows
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM lockouts")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("CREATE TABLE sneaky (x INTEGER)")
    finally:
        reader.close()
        store.close()
    conn = sqlite3.connect(tmp_path / "state.db")
    assert conn.execute("SELECT COUNT(*) FROM lockouts").fetchone() == (1,)
    conn.close()


def test_reader_never_creates_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no database here"):
        connect_reader(tmp_path / "state.db")
    assert not (tmp_path / "state.db").exists()


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_database_file_is_mode_0640(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.save_lockouts(lockout()).result(timeout=5)
    for path in (tmp_path / "state.db", tmp_path / "state.db-wal"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o640, path
    store.close()


def test_garbage_file_is_quarantined_and_replaced_by_an_empty_database(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _write_garbage(db)
    (tmp_path / "state.db-wal").write_bytes(b"stale wal")
    store = StateStore.open(db, _clock())
    try:
        assert store.degraded
        quarantined = tmp_path / "state.db.corrupt-20250304T150211480Z"
        assert store.opened.quarantined_to == quarantined
        assert quarantined.read_bytes().startswith(b"this is not a database")
        assert (tmp_path / "state.db.corrupt-20250304T150211480Z-wal").read_bytes() == b"stale wal"
        assert store.opened.problems
        store.save_lockouts(lockout()).result(timeout=5)  # the fresh file works
    finally:
        store.close()
    conn = sqlite3.connect(db)
    assert current_version(conn) == 1
    assert conn.execute("PRAGMA quick_check").fetchone() == ("ok",)
    conn.close()


def test_damaged_pages_fail_quick_check_and_are_quarantined(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    store = open_store(tmp_path)
    store.save_lockouts(*(lockout(i, rule_id=f"RULE-{i}") for i in range(1, 400))).result(timeout=5)
    store.close()
    data = bytearray(db.read_bytes())
    page_size = 4096
    assert len(data) > 4 * page_size
    data[2 * page_size : len(data)] = b"\xa5" * (len(data) - 2 * page_size)  # header intact, pages wrecked
    db.write_bytes(bytes(data))
    reopened = StateStore.open(db, _clock())
    try:
        assert reopened.degraded
        assert reopened.opened.quarantined_to is not None
        assert reopened.opened.quarantined_to.exists()
        assert read_lockouts_count(reopened) == 0
    finally:
        reopened.close()


def read_lockouts_count(store: StateStore) -> int:
    return store.submit("count", lambda conn: len(read_lockouts(conn, include_cleared=True))).result(
        timeout=5
    )


def test_healthy_file_is_not_degraded(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert not store.degraded
    assert store.opened.quarantined_to is None
    store.close()


def test_clean_close_checkpoints_the_wal_to_empty(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.save_lockouts(lockout()).result(timeout=5)
    wal = tmp_path / "state.db-wal"
    assert wal.exists()
    assert wal.stat().st_size > 0
    store.close()
    assert not wal.exists() or wal.stat().st_size == 0
    store.close()  # idempotent
    with pytest.raises(RuntimeError, match="store is closed"):
        store.save_lockouts(lockout())


def test_recreate_backs_up_a_prototype_file_then_starts_fresh(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE lockouts (account_id INTEGER PRIMARY KEY, is_locked INTEGER)")
    conn.execute("INSERT INTO lockouts VALUES (1001, 1)")
    conn.commit()
    conn.close()
    with pytest.raises(UnversionedDatabaseError):
        open_database(db, T0)
    result = recreate_database(db, at(60))
    assert result.quarantined_to is None
    assert result.backup is not None
    assert list_backups(tmp_path / "backups") == [result.backup]
    old = sqlite3.connect(result.backup)
    assert old.execute("SELECT * FROM lockouts").fetchall() == [(1001, 1)]
    old.close()
    store = StateStore.open(db, _clock())  # opens without complaint now
    assert read_lockouts_count(store) == 0
    store.close()


def test_recreate_moves_an_unreadable_file_aside(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _write_garbage(db)
    result = recreate_database(db, at(60))
    assert result.backup is None
    assert result.quarantined_to == tmp_path / "state.db.corrupt-20250304T150311480Z"
    assert result.quarantined_to.read_bytes().startswith(b"this is not a database")
    conn = sqlite3.connect(db)
    assert current_version(conn) == 1
    conn.close()


def test_store_backup_copies_committed_state_and_keeps_five(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    store.save_lockouts(lockout()).result(timeout=5)
    paths = [store.backup().result(timeout=5) for _ in range(7)]
    store.close()
    kept = list_backups(tmp_path / "backups")
    assert kept == paths[2:]
    assert kept[0].name == "state-20250304T150211480Z-2.db"
    copy = sqlite3.connect(kept[-1])
    assert copy.execute("SELECT lockout_id FROM lockouts").fetchall() == [(1,)]
    copy.close()


def _clock() -> ManualClock:
    return ManualClock(T0)
