"""The snapshot's `recent_trades` (≤ 200, trading day, newest first) and `recent_enforcement` (≤ 50)."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from simple_risk_manager.daemon.history import RecentHistory, RecordingJournal
from simple_risk_manager.domain.enums import OrderSide
from simple_risk_manager.domain.models import EnforcementLog, Trade
from simple_risk_manager.store.batch import PendingWrites

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MES = "CON.F.US.MES.H25"


def trade(trade_id: int, seconds: float, account_id: int = 1, voided: bool = False) -> Trade:
    at = T0 + timedelta(seconds=seconds)
    return Trade(id=trade_id, account_id=account_id, contract_id=MES, side=OrderSide.BUY, size=1,
                 price=Decimal("6000"), execution_time=at, received_at=at, voided=voided)


def audit(n: int, account_id: int = 1) -> EnforcementLog:
    return EnforcementLog(timestamp=T0 + timedelta(seconds=n), account_id=account_id, rule_id="RULE-001",
                          action="CLOSE_ALL_POSITIONS", reason=f"#{n}", success=True, outcome="SUCCESS")


def test_trades_keep_the_newest_per_account_and_one_entry_per_id() -> None:
    history = RecentHistory(trades=3)
    for n in range(5):
        history.add_trade(trade(100 + n, n))
    history.add_trade(trade(103, 3, voided=True))  # a later copy replaces the earlier one
    history.add_trade(trade(900, 0, account_id=2))

    assert [(t.id, t.voided) for t in history.trades(1, T0)] == [(104, False), (103, True), (102, False)]
    assert [t.id for t in history.trades(1, T0 + timedelta(seconds=3))] == [104, 103]  # the day's only
    assert [t.id for t in history.trades(2, T0)] == [900]
    assert history.trades(3, T0) == []


def test_enforcement_rows_keep_the_newest_first() -> None:
    history = RecentHistory(enforcement=2)
    history.seed([], [audit(1), audit(2), audit(3)])
    assert [e.reason for e in history.enforcement(1)] == ["#3", "#2"]
    assert history.enforcement(2) == []


class _Store:
    """The journal port, recording what reached it."""

    def __init__(self) -> None:
        self.pending = PendingWrites()
        self.logged: list[EnforcementLog] = []

    def add_enforcement_log(self, entry: EnforcementLog) -> Future[int]:
        self.logged.append(entry)
        done: Future[int] = Future()
        done.set_result(len(self.logged))
        return done


def test_the_recording_journal_forwards_and_remembers() -> None:
    store = _Store()
    history = RecentHistory()
    journal = RecordingJournal(store, history)  # type: ignore[arg-type]
    journal.pending.mark_trade(trade(7, 1))
    assert journal.add_enforcement_log(audit(1)).result() == 1

    assert len(store.pending) == 1 and store.logged == [audit(1)]
    assert [t.id for t in history.trades(1, T0)] == [7]
    assert history.enforcement(1) == [audit(1)]
