"""The read-only SQLite fallback (broadcast-api.md §8) on a database written by the daemon's own store
functions: what it reads, when the day has rolled, what fails, and that it never writes."""

from __future__ import annotations

import os
import sqlite3
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.trader.account_view import AccountStatus, DataSource
from simple_risk_manager.trader.fallback import SavedStateUnavailableError, open_read_only, read_saved_state

from .harness import A1, MES, NOW, RESET_AT, file_digest, write_saved_state


def test_the_saved_state_of_an_account(db_path: Path) -> None:
    write_saved_state(db_path)
    saved = read_saved_state(db_path, NOW)
    assert list(saved.accounts) == [A1] and saved.written_at == NOW
    view = saved.accounts[A1]
    assert view.source is DataSource.SAVED and view.nickname is None
    assert (view.trading_date, view.next_reset_at, view.day_rolled) == (date(2025, 3, 4), RESET_AT, False)
    assert (view.realized_pnl, view.fees, view.trade_count) == (Decimal("-512.50"), Decimal("22.20"), 11)
    assert view.status(NOW) is AccountStatus.LOCKED
    assert [r.rule_id for r in view.active_lockouts(NOW)] == ["RULE-003"]
    assert view.positions[MES].position.size == 2 and view.positions[MES].has_stop is None
    assert list(view.orders) == [771203]
    assert [t.id for t in view.trades] == [310002, 310001, 310000]
    assert [(e.rule_id, e.action, e.from_log) for e in view.history] == [
        ("RULE-003", "CLOSE_ALL_AND_LOCKOUT", True)]
    assert view.contract_name(MES) == "MESH5" and view.rules == {} and view.trade_counts == {}


def test_a_day_that_rolled_while_the_daemon_was_down_starts_from_zero(db_path: Path) -> None:
    write_saved_state(db_path)
    view = read_saved_state(db_path, RESET_AT + timedelta(minutes=5)).accounts[A1]
    assert view.day_rolled and view.trading_date is None
    assert (view.realized_pnl, view.trade_count, view.trades) == (0, 0, [])
    assert view.status(RESET_AT + timedelta(minutes=5)) is AccountStatus.OK  # the reset lockout ended


def test_no_database_says_so(tmp_path: Path) -> None:
    with pytest.raises(SavedStateUnavailableError, match="does not exist"):
        read_saved_state(tmp_path / "state.db", NOW)


def test_a_file_that_is_not_a_database_says_so(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(SavedStateUnavailableError, match=r"state\.db"):
        read_saved_state(db_path, NOW)


def test_the_fallback_opens_read_only_and_never_writes(db_path: Path) -> None:
    write_saved_state(db_path)
    before = file_digest(db_path)
    for _ in range(5):
        read_saved_state(db_path, NOW)
    conn = open_read_only(db_path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("DELETE FROM lockouts")
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("CREATE TABLE intruder (x)")
    finally:
        conn.close()
    assert file_digest(db_path) == before
    wal = db_path.with_name("state.db-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # SQLite may create its side files; nothing is logged
    assert {p.name for p in db_path.parent.iterdir()} <= {
        "state.db", "state.db-wal", "state.db-shm", "backups"}


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs a directory this user cannot write (root can write any)")
def test_a_read_only_directory_without_side_files_is_read_as_immutable(db_path: Path) -> None:
    write_saved_state(db_path)
    db_path.parent.chmod(0o555)
    try:
        saved = read_saved_state(db_path, NOW)
    finally:
        db_path.parent.chmod(0o755)
    assert saved.accounts[A1].realized_pnl == Decimal("-512.50")
