"""A dispatcher on real parts for unit tests: the shipped `risk_config.yaml` loaded through the config
loader with a generated `accounts.yaml`, the real trackers, a real `StateStore` on a temporary directory
as the journal, and recording fakes only at the two outward ports (broadcaster, MOD-001 enforcer).

Time is a `ManualClock`; timers fire only when a test sends a `TimerTick`. Event builders make the
domain objects the gateway client would hand over.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.config import LoadedConfig, load_config_dir
from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.events import (
    AccountUpdated,
    OrderUpdated,
    PositionUpdated,
    QuoteUpdated,
    TradeReceived,
)
from simple_risk_manager.domain.models import (
    Account,
    ContractMetadata,
    EnforcementAction,
    Order,
    Position,
    Quote,
    Trade,
)
from simple_risk_manager.domain.money import to_decimal
from simple_risk_manager.engine.items import ContractFetched, Item, TimerTick
from simple_risk_manager.engine.pipeline import Dispatcher, StartupReport
from simple_risk_manager.engine.plan import EnforcementPlan
from simple_risk_manager.engine.views import build_trackers
from simple_risk_manager.state.calendar import trading_day_of
from simple_risk_manager.state.reset_schedule import ResetScheduler
from simple_risk_manager.state.timers import TimerManager
from simple_risk_manager.store import StateStore
from simple_risk_manager.store.loader import LoadedState

SHIPPED_RISK = Path(__file__).resolve().parents[3] / "config" / "risk_config.yaml"
LOGIN = "trader@example.com"
API_KEY = "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l"
A1, A2 = 7001, 7002

MNQ = "CON.F.US.MNQ.Z25"
MES = "CON.F.US.MES.Z25"
ES = "CON.F.US.EP.Z25"
RTY = "CON.F.US.RTY.Z25"
#: contract → (tick size, tick value)
TICKS: Mapping[str, tuple[str, str]] = {MNQ: ("0.25", "0.50"), MES: ("0.25", "1.25"), ES: ("0.25", "12.50"),
                                        RTY: ("0.10", "5.00")}

Number = int | str | Decimal


def chicago(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    local = datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo("America/Chicago"))
    return local.astimezone(UTC)


#: Monday 2025-11-24 09:00 CT: inside the shipped 08:30–15:00 session, trading day 2025-11-24.
NOW = chicago(2025, 11, 24, 9, 0)


def load_config(directory: Path, *, overrides: Mapping[int, Mapping[str, Any]] | None = None,
                accounts: tuple[int, ...] = (A1, A2),
                logins: Mapping[int, str] | None = None) -> LoadedConfig:
    """The shipped risk config plus a generated `accounts.yaml` (JSON is YAML), through the real loader.

    `overrides` become each account's `risk_overrides`; `logins` gives an account its own login.
    """
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED_RISK, directory / "risk_config.yaml")
    entries = []
    for account_id in accounts:
        entry: dict[str, Any] = {"account_id": account_id}
        if overrides and account_id in overrides:
            entry["risk_overrides"] = overrides[account_id]
        if logins and account_id in logins:
            entry["username"] = logins[account_id]
            entry["api_key"] = API_KEY[::-1]
        entries.append(entry)
    document = {"version": 1, "topstepx": {"username": LOGIN, "api_key": API_KEY}, "accounts": entries}
    path = directory / "accounts.yaml"
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    if os.name != "nt":
        path.chmod(0o600)
    return load_config_dir(directory, env={})


@dataclass
class RecordingBroadcaster:
    """The broadcast port: every message, in order."""

    messages: list[tuple[str, int | None, dict[str, Any]]] = field(default_factory=list)

    def publish(self, message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None:
        self.messages.append((message_type, account_id, dict(data)))

    def types(self) -> list[str]:
        return [m[0] for m in self.messages]

    def of(self, message_type: str) -> list[dict[str, Any]]:
        return [m[2] for m in self.messages if m[0] == message_type]

    def clear(self) -> None:
        self.messages.clear()


@dataclass
class RecordingEnforcer:
    """The MOD-001 port: plans as submitted (with the lockout write's future), and what it observed.

    At submit it records whether the lockout write had already committed, which a real enforcer waits
    for; `own` holds order ids to treat as the daemon's own besides `RM-` tags.
    """

    submitted: list[tuple[EnforcementPlan, Future[None] | None]] = field(default_factory=list)
    positions: list[Position] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    own: set[int] = field(default_factory=set)
    #: Called at submit time, before recording (to look at the state MOD-001 would start from).
    on_submit: Callable[[EnforcementPlan], None] | None = None
    fail: bool = False

    def submit(self, plan: EnforcementPlan, lockouts_written: Future[None] | None) -> None:
        if self.on_submit is not None:
            self.on_submit(plan)
        if self.fail:
            raise RuntimeError("enforcer broke")
        self.submitted.append((plan, lockouts_written))

    def is_own_order(self, order: Order) -> bool:
        return order.is_own or order.id in self.own

    def observe_position(self, position: Position) -> None:
        self.positions.append(position)

    def observe_order(self, order: Order) -> None:
        self.orders.append(order)

    @property
    def plans(self) -> list[EnforcementPlan]:
        return [plan for plan, _ in self.submitted]

    def clear(self) -> None:
        self.submitted.clear()


def _side(side: str) -> OrderSide:
    return OrderSide.BUY if side == "buy" else OrderSide.SELL


def summary(plan: EnforcementPlan) -> dict[str, Any]:
    """The parts of a plan most tests assert on: (rule, action[, contract/order]) per decision."""
    def brief(d: EnforcementAction) -> tuple[Any, ...]:
        return (d.rule_id, d.action.value, *([d.contract_id] if d.contract_id else []),
                *([d.order_id] if d.order_id is not None else []))

    return {"lockouts": [brief(d) for d in plan.lockouts],
            "flatten": None if plan.flatten is None else brief(plan.flatten),
            "contract_actions": [brief(d) for d in plan.contract_actions],
            "rejects": [brief(d) for d in plan.rejects],
            "unlocks": [brief(d) for d in plan.unlocks], "alerts": [brief(d) for d in plan.alerts],
            "superseded": [(brief(s.decision), brief(s.by)) for s in plan.superseded]}


class Harness:
    """The dispatcher and everything it was built with; builders send events through `handle`."""

    def __init__(self, config: LoadedConfig, store: StateStore, clock: ManualClock) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.broadcaster = RecordingBroadcaster()
        self.enforcer = RecordingEnforcer()
        self.wanted: list[frozenset[str]] = []
        self.fetches: list[str] = []
        self.retention_runs = 0
        self.trackers = build_trackers(config)
        self.dispatcher = Dispatcher(
            config, self.trackers, timers=TimerManager(), scheduler=ResetScheduler(), journal=store,
            broadcaster=self.broadcaster, enforcer=self.enforcer, clock=clock,
            set_wanted_contracts=self.wanted.append, fetch_contract=self.fetches.append,
            run_retention=self._retention)
        self._ids = itertools.count(500)

    def _retention(self) -> None:
        self.retention_runs += 1

    # --- lifecycle -------------------------------------------------------------------------------

    def stored_state(self) -> LoadedState:
        """What the daemon's startup load reads from the store now."""
        dates = {}
        for account_id in self.dispatcher.accounts:
            reset_time, zone = self.config.reset_time_and_zone(account_id)
            dates[account_id] = trading_day_of(self.clock.now(), reset_time, zone)
        return self.store.load(dates, datetime(2000, 1, 1, tzinfo=UTC)).result()

    def start(self, loaded: LoadedState | None = None) -> StartupReport:
        return self.dispatcher.startup(loaded or self.stored_state(), self.clock.now())

    def handle(self, item: Item) -> None:
        self.dispatcher.handle(item)

    def advance(self, seconds: float) -> datetime:
        return self.clock.advance(seconds)

    def tick(self) -> None:
        self.handle(TimerTick())

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows from the database, read on the DB thread after every write queued so far."""
        return self.store.submit("test query", lambda conn: conn.execute(query, params).fetchall()).result()

    # --- event builders --------------------------------------------------------------------------

    def metadata(self, *contracts: str) -> None:
        """Contract metadata arrives (as the daemon's fetch task would hand it back)."""
        for contract_id in contracts:
            tick_size, tick_value = TICKS[contract_id]
            self.handle(ContractFetched(ContractMetadata(
                contract_id=contract_id, symbol_id=contract_id.removeprefix("CON.").rsplit(".", 1)[0],
                tick_size=Decimal(tick_size), tick_value=Decimal(tick_value), cached_at=self.clock.now())))

    def position(self, contract_id: str, side: str, size: int, avg: Number = "21000", *,
                 account_id: int = A1, position_id: int | None = None) -> Position:
        held = self.trackers.state.position(account_id, contract_id)
        if position_id is None:
            position_id = held.id if held is not None else next(self._ids)
        now = self.clock.now()
        position = Position(id=position_id, account_id=account_id, contract_id=contract_id,
                            type=PositionType.LONG if side == "long" else PositionType.SHORT, size=size,
                            average_price=to_decimal(avg), created_at=now, updated_at=now)
        self.handle(PositionUpdated(position))
        return position

    def close(self, contract_id: str, *, account_id: int = A1) -> Position:
        held = self.trackers.state.position(account_id, contract_id)
        assert held is not None, f"no position in {contract_id}"
        side = "long" if held.type is PositionType.LONG else "short"
        return self.position(contract_id, side, 0, held.average_price, account_id=account_id)

    def order(self, contract_id: str, side: str, size: int = 1, *, account_id: int = A1,
              order_type: OrderType = OrderType.LIMIT, status: OrderStatus = OrderStatus.OPEN,
              limit_price: Number | None = None, stop_price: Number | None = None,
              order_id: int | None = None, custom_tag: str | None = None) -> Order:
        now = self.clock.now()
        order = Order(id=order_id if order_id is not None else next(self._ids), account_id=account_id,
                      contract_id=contract_id, type=order_type, side=_side(side), size=size, status=status,
                      created_at=now, updated_at=now,
                      limit_price=None if limit_price is None else to_decimal(limit_price),
                      stop_price=None if stop_price is None else to_decimal(stop_price),
                      custom_tag=custom_tag)
        self.handle(OrderUpdated(order))
        return order

    def fill(self, contract_id: str, side: str, size: int = 1, price: Number = "21000", *,
             pnl: Number | None = None, fees: Number = "0", account_id: int = A1, order_id: int | None = None,
             trade_id: int | None = None, voided: bool = False, at: datetime | None = None) -> Trade:
        now = self.clock.now()
        trade = Trade(id=trade_id if trade_id is not None else next(self._ids), account_id=account_id,
                      contract_id=contract_id, side=_side(side), size=size,
                      price=to_decimal(price), execution_time=at or now, received_at=now,
                      profit_and_loss=None if pnl is None else to_decimal(pnl), fees=to_decimal(fees),
                      voided=voided, order_id=order_id if order_id is not None else next(self._ids))
        self.handle(TradeReceived(trade))
        return trade

    def quote(self, contract_id: str, last: Number | None = None, bid: Number | None = None,
              ask: Number | None = None) -> None:
        self.handle(QuoteUpdated(Quote(contract_id=contract_id, received_at=self.clock.now(),
                                       last=None if last is None else to_decimal(last),
                                       bid=None if bid is None else to_decimal(bid),
                                       ask=None if ask is None else to_decimal(ask))))

    def account(self, can_trade: bool | None, *, account_id: int = A1) -> None:
        self.handle(AccountUpdated(Account(id=account_id, name=f"ACC-{account_id}", balance=Decimal("50000"),
                                           can_trade=can_trade)))


class HarnessFactory:
    """Builds harnesses on a temporary directory; `close_all` closes every store (fixture teardown)."""

    def __init__(self, tmp_path: Path) -> None:
        self._tmp_path = tmp_path
        self._stores: list[StateStore] = []

    def __call__(self, *, now: datetime = NOW, start: bool = True, **config: Any) -> Harness:
        directory = self._tmp_path / f"run{len(self._stores)}"
        loaded = load_config(directory / "config", **config)
        clock = ManualClock(now)
        store = StateStore.open(directory / "data" / "state.db", clock)
        self._stores.append(store)
        harness = Harness(loaded, store, clock)
        if start:
            harness.start()
        return harness

    def close_all(self) -> None:
        for store in self._stores:
            store.close()


def harness_factory(tmp_path: Path) -> Iterator[HarnessFactory]:
    """Body of a pytest fixture: a `HarnessFactory` whose stores are closed afterwards."""
    factory = HarnessFactory(tmp_path)
    try:
        yield factory
    finally:
        factory.close_all()
