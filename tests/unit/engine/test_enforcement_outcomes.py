"""MOD-001's reporting: the `enforcement_log` row (real store), the `enforcement_action` broadcast
(`broadcast-api.md` §5.7) and the `enforcement.log` line, for every outcome."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain.enums import ClearedBy, EnforcementActionType
from simple_risk_manager.domain.models import EnforcementAction, EnforcementLog
from simple_risk_manager.engine.outcomes import ENFORCEMENT_ACTION, OutcomeRecorder, Tally
from simple_risk_manager.engine.plan import Superseded
from simple_risk_manager.store import StateStore
from simple_risk_manager.store.loader import read_enforcement_log

T0 = datetime(2025, 3, 4, 16, 40, 12, 721000, tzinfo=UTC)
A = EnforcementActionType
LOCKED_UNTIL = datetime(2025, 3, 4, 23, 0, tzinfo=UTC)


class Broadcasts:
    def __init__(self, fail: bool = False) -> None:
        self.sent: list[tuple[str, int | None, dict[str, Any]]] = []
        self.fail = fail

    def publish(self, message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None:
        if self.fail:
            raise RuntimeError("broadcast server gone")
        self.sent.append((message_type, account_id, dict(data)))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: ManualClock) -> Iterator[StateStore]:
    opened = StateStore.open(tmp_path / "state.db", clock)
    yield opened
    opened.close()


@pytest.fixture
def broadcasts() -> Broadcasts:
    return Broadcasts()


@pytest.fixture
def recorder(store: StateStore, broadcasts: Broadcasts, clock: ManualClock) -> OutcomeRecorder:
    return OutcomeRecorder(store, broadcasts, clock)


def decision(action: EnforcementActionType = A.CLOSE_ALL_AND_LOCKOUT, rule_id: str = "RULE-003",
             **fields: Any) -> EnforcementAction:
    return EnforcementAction(action=action, account_id=4411, rule_id=rule_id, created_at=T0,
                             reason="daily realized loss 512.50 reached limit 500.00", **fields)


def rows(store: StateStore) -> list[EnforcementLog]:
    return store.submit("read", lambda c: read_enforcement_log(c, T0 - timedelta(days=1))).result()


def test_a_success_matches_the_broadcast_example(recorder: OutcomeRecorder, store: StateStore,
                                                broadcasts: Broadcasts, clock: ManualClock) -> None:
    """The §5.7 example: flatten with lockout, 1 position closed, 2 orders cancelled, 184 ms."""
    tally = Tally(started=clock.monotonic(), positions_closed=1, orders_cancelled=2)
    clock.advance(0.184)
    tally.last_reply = clock.monotonic()
    clock.advance(0.05)  # journaling happens after the last reply: not part of the execution time
    recorder.executed(decision(lockout_kind="reset", lockout_until=LOCKED_UNTIL), tally)

    [(kind, account, data)] = broadcasts.sent
    assert (kind, account) == (ENFORCEMENT_ACTION, 4411)
    assert data == {"action": "CLOSE_ALL_AND_LOCKOUT", "rule_id": "RULE-003",
                    "reason": "daily realized loss 512.50 reached limit 500.00", "success": True,
                    "outcome": "SUCCESS", "timestamp": "2025-03-04T16:40:12.955Z", "execution_time_ms": 184,
                    "details": {"positions_closed": 1, "orders_cancelled": 2,
                                "lockout_until": "2025-03-04T23:00:00.000Z", "error": None}}
    [row] = rows(store)
    assert (row.outcome, row.success, row.positions_closed, row.orders_cancelled) == ("SUCCESS", True, 1, 2)
    assert (row.lockout_until, row.execution_time_ms) == (LOCKED_UNTIL, 184)


def test_a_failure_is_critical_broadcast_and_journaled_with_every_error(
        recorder: OutcomeRecorder, store: StateStore, broadcasts: Broadcasts, clock: ManualClock,
        caplog: pytest.LogCaptureFixture) -> None:
    tally = Tally(started=clock.monotonic())
    tally.fail("close CON.F.US.MNQ.Z25: server error HTTP 500")
    tally.fail("cancel order 9: AccountRejected")
    clock.advance(4.5)  # no broker reply at all: measured to the report
    with caplog.at_level(logging.INFO, logger="simple_risk_manager.enforcement"):
        recorder.executed(decision(A.CLOSE_POSITION, "RULE-004", contract_id="CON.F.US.MNQ.Z25"), tally)

    [row] = rows(store)
    assert (row.outcome, row.success, row.execution_time_ms) == ("FAILED", False, 4500)
    assert row.error_message == ("close CON.F.US.MNQ.Z25: server error HTTP 500; "
                                 "cancel order 9: AccountRejected")
    assert broadcasts.sent[0][2]["details"]["error"] == row.error_message
    [line] = caplog.records
    assert line.levelno == logging.CRITICAL and "FAILED" in line.getMessage()
    assert (getattr(line, "account_id", None), getattr(line, "rule_id", None)) == (4411, "RULE-004")


def test_superseded_decisions_are_journaled_but_never_broadcast(recorder: OutcomeRecorder, store: StateStore,
                                                                broadcasts: Broadcasts) -> None:
    """`rules.md` §3 example: RULE-001 superseded by RULE-009's flatten."""
    winner = decision(A.CLOSE_ALL_AND_LOCKOUT, "RULE-009", lockout_kind="session", lockout_until=LOCKED_UNTIL)
    recorder.superseded(Superseded(decision(A.CLOSE_ALL_POSITIONS, "RULE-001"), winner))
    [row] = rows(store)
    assert (row.rule_id, row.outcome, row.success) == ("RULE-001", "SUPERSEDED", False)
    assert row.superseded_by == "RULE-009 CLOSE_ALL_AND_LOCKOUT"
    assert broadcasts.sent == []


def test_unlock_and_alert_succeed_without_a_broker(recorder: OutcomeRecorder, store: StateStore,
                                                  broadcasts: Broadcasts) -> None:
    recorder.applied(decision(A.UNLOCK, "RULE-010"), cleared_by=ClearedBy.CAN_TRADE_RESTORED)
    recorder.applied(decision(A.ALERT, "RULE-010"))
    unlock, alert = rows(store)
    assert (unlock.action, unlock.outcome, unlock.success, unlock.cleared_by) == (
        "UNLOCK", "SUCCESS", True, "CAN_TRADE_RESTORED")
    assert (alert.action, alert.outcome, alert.cleared_by) == ("ALERT", "SUCCESS", None)
    assert [data["action"] for _, _, data in broadcasts.sent] == ["UNLOCK", "ALERT"]


def test_dry_run_is_reported_as_not_executed(recorder: OutcomeRecorder, store: StateStore,
                                             broadcasts: Broadcasts) -> None:
    recorder.dry_run(decision())
    [row] = rows(store)
    assert (row.outcome, row.success, row.positions_closed) == ("DRY_RUN", False, 0)
    assert broadcasts.sent[0][2]["outcome"] == "DRY_RUN"


def test_a_closed_store_or_a_failing_broadcaster_never_reach_the_enforcement(
        store: StateStore, clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    store.close()
    recorder = OutcomeRecorder(store, Broadcasts(fail=True), clock)
    with caplog.at_level(logging.ERROR, logger="simple_risk_manager.enforcement"):
        entry = recorder.executed(decision(), Tally(started=clock.monotonic()))
    assert entry.outcome == "SUCCESS"
    messages = [r.getMessage() for r in caplog.records]
    assert any("not queued" in m for m in messages) and any("broadcast" in m for m in messages)
