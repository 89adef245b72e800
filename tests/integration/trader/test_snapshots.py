"""Snapshot tests of the main screens (pytest-textual-snapshot): the dashboard live, locked with its
flash alert, in cooldown, with stale quotes, offline, each tab, account selection and help.

The app runs without a feed; each test hands it the frames a daemon would send, with a `ManualClock`,
so every picture is exact. Update the pictures with `pytest --snapshot-update` after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot

from simple_risk_manager.broadcast.client import Disconnected
from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain.models import AccountSnapshot
from simple_risk_manager.trader.app import DashboardOptions, TraderApp
from simple_risk_manager.trader.fallback import read_saved_state

from .harness import (
    A1,
    A2,
    NOW,
    FakeDaemon,
    account_snapshot,
    enforcement_data,
    lockout,
    position,
    quote,
    stop_order,
    write_saved_state,
)

pytest.importorskip("pytest_textual_snapshot", reason="pytest-textual-snapshot is not installed "
                    "(dev dependency `pytest-textual-snapshot>=1.1`)")

SIZE = (100, 30)
SnapCompare = Callable[..., bool]


def hello(*snapshots: AccountSnapshot) -> Message:
    accounts = [{"account_id": s.account_id, "nickname": s.nickname} for s in snapshots]
    return Message("hello", 1, "2025-03-04T15:02:11.480Z", None, {
        "protocol": 1, "daemon_version": "1.0.0", "run_id": "6f1c2e9a",
        "started_at": "2025-03-04T13:30:02.114Z", "accounts": accounts, "quote_max_hz": 4})


def snapshot(*snapshots: AccountSnapshot, seq: int = 1) -> Message:
    daemon = FakeDaemon(*snapshots)
    return Message("snapshot", seq, "2025-03-04T15:02:11.507Z", None, {
        "daemon": daemon.status.to_dict(), "accounts": [s.to_dict() for s in snapshots]})


def event(message_type: str, data: dict[str, Any], seq: int, account_id: int | None = A1) -> Message:
    return Message(message_type, seq, "2025-03-04T15:02:12.000Z", account_id, data)


def dashboard(clock: ManualClock, account_id: int | None = A1, db_path: Path = Path("state.db")) -> TraderApp:
    options = DashboardOptions(account_id=account_id, db_path=db_path, zone=ZoneInfo("UTC"))
    return TraderApp(options, clock=clock, connect=False)


def feeding(app: TraderApp, items: Sequence[Any], then: Callable[[], None] | None = None,
            ) -> Callable[[Pilot[Any]], Awaitable[None]]:
    async def run_before(pilot: Pilot[Any]) -> None:
        while not app.ready:
            await pilot.pause()
        for item in items:
            app.deliver(item)
        if then is not None:
            then()
        app.refresh_view()
        await pilot.pause()

    return run_before


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


def live_account() -> AccountSnapshot:
    return account_snapshot(positions=[position()], orders=[stop_order()], quotes=[quote()])


def test_dashboard_live(snap_compare: SnapCompare, clock: ManualClock) -> None:
    app = dashboard(clock)
    account = live_account()
    assert snap_compare(app, terminal_size=SIZE, run_before=feeding(app, [hello(account), snapshot(account)]))


def test_dashboard_locked_with_its_flash_alert(snap_compare: SnapCompare, clock: ManualClock) -> None:
    app = dashboard(clock)
    account = live_account()
    closed = {**position(size=0).to_dict(), "has_stop": False, "no_stop_deadline": None}
    items = [hello(account), snapshot(account), event("lockout_set", lockout().to_dict(), 2),
             event("GatewayUserPosition", closed, 3),
             event("GatewayUserOrder", {**stop_order().to_dict(), "status": "CANCELLED"}, 4),
             event("enforcement_action", enforcement_data(), 5)]
    assert snap_compare(app, terminal_size=SIZE, run_before=feeding(app, items))


def test_dashboard_cooldown(snap_compare: SnapCompare, clock: ManualClock) -> None:
    app = dashboard(clock)
    account = account_snapshot(lockouts=[lockout(kind="duration", until=NOW + timedelta(seconds=252),
                                                 rule_id="RULE-007", reason="single-trade loss 120.00")])
    assert snap_compare(app, terminal_size=SIZE, run_before=feeding(app, [hello(account), snapshot(account)]))


def test_dashboard_stale_quotes(snap_compare: SnapCompare, clock: ManualClock) -> None:
    app = dashboard(clock)
    account = live_account()
    assert snap_compare(app, terminal_size=SIZE, run_before=feeding(app, [hello(account), snapshot(account)],
                                                                     then=lambda: clock.advance(7)))


def test_dashboard_offline_with_saved_state(snap_compare: SnapCompare, clock: ManualClock,
                                            tmp_path: Path) -> None:
    db_path = tmp_path / "state.db"
    write_saved_state(db_path, NOW - timedelta(minutes=3))
    app = dashboard(clock, db_path=db_path)
    items = [Disconnected("cannot connect to ws://127.0.0.1:8765/ (refused)", 1.0),
             read_saved_state(db_path, NOW)]
    assert snap_compare(app, terminal_size=SIZE, run_before=feeding(app, items))


@pytest.mark.parametrize("keys", [("2",), ("3",), ("3", "t"), ("4",)], ids=["orders", "trades", "enforcement",
                                                                          "stats"])
def test_dashboard_tabs(snap_compare: SnapCompare, clock: ManualClock, keys: tuple[str, ...]) -> None:
    app = dashboard(clock)
    account = live_account()
    fill = {"trade_id": 310045, "contract_id": "CON.F.US.MES.H25", "side": "SELL", "size": 1, "price": 5924.0,
            "profit_and_loss": 3.75, "fees": 0.74, "voided": False, "order_id": 771240,
            "execution_time": "2025-03-04T15:02:00.000Z", "daily_realized_pnl": -190.31, "daily_fees": 14.06,
            "trade_count": 7, "trade_counts": {"minute": 1, "hour": 3, "session": 7}}
    items = [hello(account), snapshot(account), event("GatewayUserTrade", fill, 2),
             event("enforcement_action", enforcement_data(action="ALERT"), 3)]
    assert snap_compare(app, press=keys, terminal_size=SIZE, run_before=feeding(app, items))


def test_account_selection(snap_compare: SnapCompare, clock: ManualClock) -> None:
    app = dashboard(clock, account_id=None)
    first = live_account()
    second = account_snapshot(A2, None, realized="0", lockouts=[
        lockout(kind="duration", until=NOW + timedelta(minutes=5), rule_id="RULE-007", account_id=A2)])
    assert snap_compare(app, terminal_size=SIZE, run_before=feeding(app, [hello(first, second),
                                                                          snapshot(first, second)]))


def test_help(snap_compare: SnapCompare, clock: ManualClock) -> None:
    app = dashboard(clock)
    account = live_account()
    assert snap_compare(app, press=("question_mark",), terminal_size=SIZE,
                        run_before=feeding(app, [hello(account), snapshot(account)]))
