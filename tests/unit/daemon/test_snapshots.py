"""The daemon's `SnapshotProvider`: what `hello`, `snapshot` and quote routing read (broadcast-api.md §4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.config import load_config_dir
from simple_risk_manager.daemon.history import RecentHistory
from simple_risk_manager.daemon.snapshots import DaemonSnapshots
from simple_risk_manager.daemon.status import StatusBoard
from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.models import Account, ContractMetadata, Order, Position, Quote, Trade
from simple_risk_manager.engine.views import build_trackers, monitored_accounts
from simple_risk_manager.state.reset_schedule import ResetScheduler

from .test_wiring import config_dir

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MES, MNQ, M2K = "CON.F.US.MES.H25", "CON.F.US.MNQ.H25", "CON.F.US.M2K.H25"


def build(tmp_path: Path) -> tuple[DaemonSnapshots, object]:
    config = load_config_dir(config_dir(tmp_path, {}), env={})
    trackers = build_trackers(config)
    scheduler = ResetScheduler()
    for account_id, settings in monitored_accounts(config).items():
        scheduler.restore(account_id, settings.reset, None, NOW)
        trackers.pnl.start_day(scheduler.schedule(account_id), NOW)
        trackers.counter.reset_session(account_id, scheduler.schedule(account_id).last_reset_at)
    clock = ManualClock(NOW)
    board = StatusBoard({1: "shared", 2: "own"}, clock, can_trade=lambda a: True)
    history = RecentHistory()
    snapshots = DaemonSnapshots(config, trackers, scheduler, history, board, clock=clock,
                                memory=lambda a: {}, is_own_order=lambda o: False)
    return snapshots, (trackers, board, history)


def test_accounts_use_the_nickname_else_the_brokers_name(tmp_path: Path) -> None:
    snapshots, (trackers, _, _) = build(tmp_path)  # type: ignore[misc]
    assert [(a.account_id, a.nickname) for a in snapshots.accounts()] == [(1, None), (2, None)]
    trackers.state.apply_account(Account(id=2, name="SIM-150K", balance=Decimal(150000), can_trade=True))
    assert [a.nickname for a in snapshots.accounts()] == [None, "SIM-150K"]  # 3 is disabled: absent


def position(account_id: int, side: PositionType, size: int) -> Position:
    return Position(id=9, account_id=account_id, contract_id=MES, type=side, size=size,
                    average_price=Decimal(6000), created_at=NOW, updated_at=NOW)


def test_the_snapshot_of_an_account(tmp_path: Path) -> None:
    snapshots, (trackers, board, history) = build(tmp_path)  # type: ignore[misc]
    trackers.contracts.put(ContractMetadata(contract_id=MES, symbol_id="F.US.MES", tick_size=Decimal("0.25"),
                                            tick_value=Decimal("1.25"), cached_at=NOW, name="MESH5"))
    trackers.state.apply_position(position(1, PositionType.LONG, 2), NOW)
    trackers.state.apply_order(Order(id=5, account_id=1, contract_id=MNQ, type=OrderType.LIMIT,
                                     side=OrderSide.BUY, size=1, status=OrderStatus.OPEN, created_at=NOW,
                                     updated_at=NOW, limit_price=Decimal(20000)))
    trackers.quotes.sync_subscriptions({MES, MNQ, M2K})
    for contract_id, last in ((MES, "6010"), (MNQ, "21000"), (M2K, "2400")):
        trackers.quotes.update(Quote(contract_id=contract_id, received_at=NOW, last=Decimal(last)))
    fill = Trade(id=77, account_id=1, contract_id=MES, side=OrderSide.BUY, size=2, price=Decimal(6000),
                 execution_time=NOW - timedelta(minutes=5), received_at=NOW, fees=Decimal("0.74"), order_id=4)
    trackers.pnl.apply_fill(fill)
    history.add_trade(fill)
    history.add_trade(Trade(id=1, account_id=1, contract_id=MES, side=OrderSide.SELL, size=1,
                            price=Decimal(5900), execution_time=NOW - timedelta(days=2), received_at=NOW))

    (account,) = [s.to_dict() for s in snapshots.account_snapshots([1])]

    assert (account["trading_date"], account["next_reset_at"]) == ("2025-03-04", "2025-03-04T23:00:00.000Z")
    assert (account["realized_pnl"], account["fees"], account["unrealized_pnl"]) == (-0.74, 0.74, 100)
    assert account["positions"] == [{**account["positions"][0], "position_id": 9, "unrealized_pnl": 100,
                                     "has_stop": False, "no_stop_deadline": None}]
    assert [o["order_id"] for o in account["orders"]] == [5]
    assert sorted(account["quotes"]) == [MES, MNQ]  # held or worked; M2K is not this account's
    assert list(account["contracts"]) == [MES]  # metadata known only for MES
    assert [t["trade_id"] for t in account["recent_trades"]] == [77]  # the trading day's fills only
    assert len(account["rules"]) == 12 and account["lockouts"] == []
    assert account["stale"] is True  # never reconciled
    board.reconciled(1, found=True)
    assert snapshots.account_snapshots([1])[0].stale is True  # …and its user hub has not connected


def test_quotes_go_to_the_accounts_holding_or_working_the_contract(tmp_path: Path) -> None:
    snapshots, (trackers, _, _) = build(tmp_path)  # type: ignore[misc]
    trackers.state.apply_position(position(1, PositionType.SHORT, 1), NOW)
    trackers.state.apply_order(Order(id=5, account_id=2, contract_id=MES, type=OrderType.LIMIT,
                                     side=OrderSide.BUY, size=1, status=OrderStatus.OPEN, created_at=NOW,
                                     updated_at=NOW, limit_price=Decimal(5000)))
    assert list(snapshots.accounts_holding(MES)) == [1, 2]
    assert list(snapshots.accounts_holding(MNQ)) == []
    assert snapshots.daemon_status().status == "STARTING"
