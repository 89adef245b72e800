"""Admin-side lockout clear while the daemon is stopped (`storage.md` §5, `cli.md` §2.8)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from simple_risk_manager.store import (
    clear_lockouts_as_admin,
    connect_writer,
    read_enforcement_log,
    read_lockouts,
)

from .factories import T0, at, lockout, open_store

NOW = at(120)


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    store = open_store(tmp_path)
    store.save_lockouts(
        lockout(1, rule_id="RULE-003", kind="reset", until=at(3600)),
        lockout(2, rule_id="RULE-010", kind="condition"),
        lockout(3, rule_id="RULE-007", kind="duration", until=at(60)),  # expired while down, not cleared yet
        lockout(4, account_id=2002, rule_id="RULE-003"),
    ).result(timeout=5)
    store.close()  # the daemon is stopped
    conn = connect_writer(tmp_path / "state.db")
    yield conn
    conn.close()


def test_clear_sets_admin_on_active_records_and_logs_one_unlock_each(conn: sqlite3.Connection) -> None:
    cleared = clear_lockouts_as_admin(conn, 1001, "Broker confirmed the loss was a data error", NOW)

    assert [x.lockout_id for x in cleared] == [1, 2]
    by_id = {x.lockout_id: x for x in read_lockouts(conn, include_cleared=True)}
    for lockout_id in (1, 2):
        assert by_id[lockout_id].cleared_at == NOW
        assert by_id[lockout_id].cleared_by == "ADMIN"
        assert by_id[lockout_id].updated_at == NOW
    assert by_id[3].cleared_at is None  # the daemon clears it at startup as TIMER_EXPIRY
    assert by_id[4].cleared_at is None  # another account
    unlocks = read_enforcement_log(conn, T0 - timedelta(days=1))
    assert [(u.rule_id, u.action, u.outcome, u.success, u.cleared_by) for u in unlocks] == [
        ("RULE-003", "UNLOCK", "SUCCESS", True, "ADMIN"),
        ("RULE-010", "UNLOCK", "SUCCESS", True, "ADMIN"),
    ]
    assert {u.reason for u in unlocks} == {"Broker confirmed the loss was a data error"}
    assert {u.timestamp for u in unlocks} == {NOW}


def test_clear_can_target_one_rule(conn: sqlite3.Connection) -> None:
    cleared = clear_lockouts_as_admin(conn, 1001, "only the canTrade lock", NOW, rule_id="RULE-010")
    assert [x.lockout_id for x in cleared] == [2]
    assert [x.lockout_id for x in read_lockouts(conn, 1001)] == [1, 3]
    assert len(read_enforcement_log(conn, T0)) == 1


def test_nothing_locked_clears_nothing_and_logs_nothing(conn: sqlite3.Connection) -> None:
    assert clear_lockouts_as_admin(conn, 3003, "no such lock", NOW) == []
    assert read_enforcement_log(conn, T0) == []


def test_clear_requires_a_reason(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError, match="reason"):
        clear_lockouts_as_admin(conn, 1001, "  ", NOW)
    assert len(read_lockouts(conn, 1001)) == 3


def test_clear_and_its_unlock_rows_are_one_transaction(conn: sqlite3.Connection) -> None:
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    clear_lockouts_as_admin(conn, 1001, "one transaction", NOW)
    kinds = [s.split()[0] for s in statements]
    assert kinds[0] == "BEGIN"
    assert kinds[-1] == "COMMIT"
    assert kinds.count("BEGIN") == 1
    assert kinds.count("INSERT") == 4  # two lockout upserts, two UNLOCK rows
