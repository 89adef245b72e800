"""The engine end to end: simulator + real `ProjectXGateway` + real `Dispatcher` + real MOD-001 `Enforcer`.

Wired as the daemon wires them: a task pumps the gateway's event queue into `dispatcher.handle`;
contract metadata is fetched by tasks that hand `ContractFetched` back; each account is reconciled (and
swept) at start. The dispatcher and the enforcer share one `ManualClock` started at the real time, so a
test moves rule time (cooldowns, RULE-012's one modify per second) by advancing it and firing the due
timers, instead of sleeping; broker time and the wire stay real. The trader acts through the simulator's
control API, as a person at the platform would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from projectx_sim import Simulator
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.config import LoadedConfig, load_config_dir
from simple_risk_manager.config.daemon_settings import EnforcementSettings
from simple_risk_manager.domain.enums import OrderType
from simple_risk_manager.domain.events import GatewayEvent, OrderUpdated
from simple_risk_manager.domain.models import Order
from simple_risk_manager.engine.enforcement import Enforcer
from simple_risk_manager.engine.items import ContractFetched, ContractFetchFailed, Reconciled
from simple_risk_manager.engine.pipeline import Dispatcher
from simple_risk_manager.engine.views import build_trackers
from simple_risk_manager.gateway import GatewayError, ProjectXGateway, fetch_reconcile
from simple_risk_manager.state.calendar import trading_day_of
from simple_risk_manager.state.reset_schedule import ResetScheduler
from simple_risk_manager.state.timers import TimerManager
from simple_risk_manager.store import StateStore

from .conftest import Control, until

SHIPPED_RISK = Path(__file__).resolve().parents[3] / "config" / "risk_config.yaml"
#: Rules that would fire on their own in these scenarios (trade counts, wall-clock sessions, 30 s
#: grace timers) are switched off, so each test sees only the behaviour it is about.
QUIET = {"trade_frequency_limit": {"enabled": False}, "session_block_outside": {"enabled": False},
         "no_stop_loss_grace": {"enabled": False}}
#: A 3 s cooldown after any closing loss of at least $10 (RULE-007).
SHORT_COOLDOWN = {"cooldown_after_loss": {"loss_thresholds": [{"loss_amount": 10, "cooldown_duration": 3}]}}


class Broadcasts:
    """The broadcast port: every message, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None, dict[str, Any]]] = []

    def publish(self, message_type: str, account_id: int | None, data: Any) -> None:
        self.sent.append((message_type, account_id, dict(data)))

    def of(self, message_type: str) -> list[dict[str, Any]]:
        return [data for kind, _, data in self.sent if kind == message_type]

    def actions(self, rule_id: str | None = None) -> list[tuple[str, str, bool]]:
        return [(a["rule_id"], a["action"], a["success"]) for a in self.of("enforcement_action")
                if rule_id is None or a["rule_id"] == rule_id]


def write_config(directory: Path, account_ids: list[int], overrides: dict[str, Any]) -> LoadedConfig:
    """The shipped `risk_config.yaml`, and an `accounts.yaml` for the simulator's demo accounts."""
    directory.mkdir(parents=True)
    shutil.copy(SHIPPED_RISK, directory / "risk_config.yaml")
    accounts = [{"account_id": account_id, "risk_overrides": overrides} for account_id in account_ids]
    login = {"username": "trader", "api_key": "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l"}  # the gateway has its own
    document = {"version": 1, "topstepx": login, "accounts": accounts}
    path = directory / "accounts.yaml"
    path.write_text(json.dumps(document), encoding="utf-8")
    if os.name != "nt":
        path.chmod(0o600)
    return load_config_dir(directory, env={})


@dataclass
class Engine:
    sim: Simulator
    control: Control
    gateway: ProjectXGateway
    store: StateStore
    clock: ManualClock
    account: int
    broadcasts: Broadcasts
    enforcer: Enforcer
    dispatcher: Dispatcher = field(init=False)
    handled: list[GatewayEvent] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # --- the daemon's part ---------------------------------------------------------------------

    async def pump(self) -> None:
        while True:
            event = await self.gateway.events.get()
            self.handled.append(event)
            self.dispatcher.handle(event)

    def fetch_contract(self, contract_id: str) -> None:
        async def fetch() -> None:
            try:
                metadata = await self.gateway.get_contract(contract_id)
            except GatewayError as error:
                self.dispatcher.handle(ContractFetchFailed(contract_id, str(error)))
            else:
                self.dispatcher.handle(ContractFetched(metadata))

        self._spawn(fetch())

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def reconcile(self) -> None:
        for account_id in self.dispatcher.accounts:
            start = self.dispatcher.scheduler.schedule(account_id).last_reset_at
            result = await fetch_reconcile(self.gateway, account_id, start, self.clock.now())
            self.dispatcher.handle(Reconciled(result))

    def advance(self, seconds: float) -> None:
        """Rule time passes: the expiry task's check fires what fell due."""
        self.clock.advance(seconds)
        self.dispatcher.process_timers(self.clock.now())

    # --- what to look at -----------------------------------------------------------------------

    def contract(self, root: str) -> str:
        return next(c.id for c in self.sim.contracts.front if c.id.split(".")[3] == root)

    def locked(self) -> bool:
        return self.dispatcher.trackers.lockouts.is_locked(self.account, self.clock.now())

    def sim_positions(self, contract_id: str | None = None) -> list[Any]:
        account = self.sim.exchange.accounts[self.account]
        return [p for p in self.sim.exchange.open_positions(account)
                if contract_id is None or p.contract_id == contract_id]

    def flat(self) -> bool:
        """No position at the broker, nor in the dispatcher's mirror."""
        return not self.sim_positions() and not self.dispatcher.trackers.state.positions(self.account)

    def sim_orders(self) -> list[Any]:
        return self.sim.exchange.open_orders(self.sim.exchange.accounts[self.account])

    def sim_stops(self) -> list[Any]:
        return [o for o in self.sim_orders() if o.type == OrderType.STOP]

    def seen(self, order_id: int) -> bool:
        """The dispatcher has handled an event of this order."""
        return any(o.id == order_id for o in self.order_events())

    def order_events(self) -> list[Order]:
        return [e.order for e in self.handled
                if isinstance(e, OrderUpdated) and e.order.account_id == self.account]

    async def price(self, contract_id: str, price: str) -> None:
        """A one-price market (bid = ask = last): fills and stop levels are exact (quarter ticks are exact
        binary fractions, so the JSON number carries the decimal unchanged)."""
        value = float(price)
        await self.control.price(contract_id, last=value, bid=value, ask=value)

    async def settled(self) -> None:
        """Everything the dispatcher has handled so far has been enforced (no broker call left)."""
        await self.enforcer.drain()


@pytest.fixture
async def start_engine(sim: Simulator, control: Control,
                       make_gateway: Callable[..., Awaitable[ProjectXGateway]], account_ids: list[int],
                       tmp_path: Path) -> AsyncIterator[Callable[..., Awaitable[Engine]]]:
    engines: list[tuple[Engine, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> Engine:
        config = write_config(tmp_path / "config", account_ids, {**QUIET, **overrides})
        gateway = await make_gateway()
        clock = ManualClock(datetime.now(UTC))
        store = StateStore.open(tmp_path / "data" / "state.db", clock)
        broadcasts = Broadcasts()
        trackers = build_trackers(config)
        enforcer = Enforcer(gateway, store, broadcasts, EnforcementSettings(), clock=clock, run_id="E2E",
                            mirror=trackers.state)
        engine = Engine(sim, control, gateway, store, clock, account_ids[0], broadcasts, enforcer)
        engine.dispatcher = Dispatcher(
            config, trackers, timers=TimerManager(), scheduler=ResetScheduler(), journal=store,
            broadcaster=broadcasts, enforcer=enforcer, clock=clock,
            set_wanted_contracts=gateway.set_wanted_contracts, fetch_contract=engine.fetch_contract)
        dates = {a: trading_day_of(clock.now(), *config.reset_time_and_zone(a)) for a in account_ids}
        engine.dispatcher.startup(store.load(dates, clock.now()).result(), clock.now())
        pump = asyncio.create_task(engine.pump())
        engines.append((engine, pump))
        await engine.reconcile()
        await control.clear_requests()
        return engine

    yield start
    for engine, pump in engines:
        await engine.enforcer.close(timeout_s=1.0)
        pump.cancel()
        for task in (pump, *engine.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        engine.store.close()


async def test_activity_during_a_lockout_is_cancelled_or_flattened_until_it_clears(
        start_engine: Callable[..., Awaitable[Engine]]) -> None:
    engine = await start_engine(**SHORT_COOLDOWN)
    control, account = engine.control, engine.account
    mnq = engine.contract("MNQ")

    await engine.price(mnq, "21000")
    await control.market(account, mnq, 0, 1)
    await engine.price(mnq, "20990")
    await control.market(account, mnq, 1, 1)  # −$20 − fees on one trade → RULE-007 cooldown 3 s
    await until(engine.locked)
    assert engine.dispatcher.trackers.lockouts.effective(account, engine.clock.now()).rule_id == "RULE-007"

    resting_orders = []
    for _ in range(2):  # every time, not only the first
        resting_orders.append(await control.limit(account, mnq, 0, 1, Decimal("20900")))
        await until(lambda: engine.seen(resting_orders[-1]) and not engine.sim_orders())
        await control.market(account, mnq, 0, 1)
        await until(engine.flat)
        await engine.settled()

    gate_actions = engine.broadcasts.actions("RULE-007")
    assert gate_actions.count(("RULE-007", "CLOSE_ALL_POSITIONS", True)) >= 2
    assert all(success for _, _, success in gate_actions)
    requests = await control.requests()
    assert {r["body"]["orderId"] for r in requests if r["path"] == "/api/Order/cancel"} >= set(resting_orders)
    assert sum(r["path"] == "/api/Position/closeContract" for r in requests) >= 2

    engine.advance(3)
    assert not engine.locked()
    assert engine.broadcasts.of("lockout_cleared")[-1]["cleared_by"] == "TIMER_EXPIRY"
    resting = await control.limit(account, mnq, 0, 1, Decimal("20900"))
    await until(lambda: engine.seen(resting))
    await engine.settled()
    assert [o.id for o in engine.sim_orders()] == [resting]  # after the lockout, trading is allowed


async def test_blocked_symbol_order_is_cancelled_and_its_fill_closed(
        start_engine: Callable[..., Awaitable[Engine]]) -> None:
    engine = await start_engine()
    control, account = engine.control, engine.account
    rty = engine.contract("RTY")  # blocked in the shipped config
    await engine.price(rty, "2400")

    resting = await control.limit(account, rty, 0, 1, Decimal("2390"))
    await until(lambda: engine.seen(resting) and not engine.sim_orders())
    await control.market(account, rty, 0, 1)
    await until(lambda: not engine.sim_positions(rty))
    await engine.settled()

    actions = engine.broadcasts.actions("RULE-011")
    assert ("RULE-011", "REJECT_ORDER", True) in actions
    assert ("RULE-011", "CLOSE_POSITION", True) in actions
    assert not engine.locked()  # the block list is the lock; nothing is stored (D-28)
    cancels = [r["body"]["orderId"] for r in await control.requests() if r["path"] == "/api/Order/cancel"]
    assert resting in cancels


async def test_trade_management_places_moves_and_trails_the_stop_never_loosening_it(
        start_engine: Callable[..., Awaitable[Engine]]) -> None:
    engine = await start_engine(trade_management={"enabled": True})
    control, account = engine.control, engine.account
    mnq = engine.contract("MNQ")
    trackers = engine.dispatcher.trackers

    def stop_at(price: str) -> Callable[[], bool]:
        return lambda: [(s.stop_price, s.size) for s in engine.sim_stops()] == [(Decimal(price), 2)]

    await engine.price(mnq, "21000")
    await control.market(account, mnq, 0, 2)  # long 2 @ 21000.00
    await until(lambda: trackers.contracts.get(mnq) is not None)  # metadata fetched (MOD-007)
    await engine.price(mnq, "21000.25")  # the next event sees the metadata: initial stop, 10 ticks
    await until(stop_at("20997.50"))
    (stop,) = engine.sim_stops()
    assert stop.custom_tag.startswith("RM-E2E-")

    steps = [("21002.50", "21000.00"),   # +10 ticks: breakeven
             ("21005.00", "21002.50"),   # +20 ticks: trailing 10 ticks behind the water mark
             ("21006.00", "21003.50")]   # the trail follows the new high
    for price, expected in steps:
        engine.advance(1.1)  # at most one modify per order per second (D-29)
        await engine.price(mnq, price)
        await until(stop_at(expected))

    engine.advance(1.1)
    await engine.price(mnq, "21004.00")  # the price falls back: the stop stays
    await until(lambda: (q := trackers.quotes.get(mnq)) is not None and q.last == Decimal("21004.00"))
    await engine.settled()
    assert stop_at("21003.50")()

    engine.advance(1.1)  # the trader loosens the stop: it is tightened again at once
    await control.trader("Order/modify", accountId=account, orderId=stop.id, stopPrice=20990.0)
    await until(stop_at("21003.50"))
    assert [s.id for s in engine.sim_stops()] == [stop.id]

    engine.advance(1.1)
    await control.market(account, mnq, 1, 2)  # the trader closes: the stop must not outlive it
    await until(lambda: not engine.sim_positions() and not engine.sim_stops())
    await engine.settled()
    paths = [r["path"] for r in await control.requests()]
    assert paths.count("/api/Order/place") == 1
    assert paths.count("/api/Order/modify") == 4  # three moves up, one re-tightening; never a loosening
    assert paths.count("/api/Order/cancel") == 1  # the stop, once its position closed (D-50)


async def test_the_gate_never_cancels_the_daemons_own_closing_orders(
        start_engine: Callable[..., Awaitable[Engine]]) -> None:
    """`rules.md` §5, D-47: the flatten's market close orders show up working on the user hub while the
    account is locked; the gate must recognise them as the daemon's own and leave them alone."""
    engine = await start_engine(**SHORT_COOLDOWN)
    control, account = engine.control, engine.account
    mnq, mes = engine.contract("MNQ"), engine.contract("MES")
    await engine.price(mnq, "21000")
    await engine.price(mes, "6000")
    trader = {await control.market(account, mnq, 0, 1)}
    await engine.price(mnq, "20990")
    trader.add(await control.market(account, mnq, 1, 1))
    await until(engine.locked)
    await engine.settled()

    trader.add(await control.market(account, mnq, 0, 1))  # activity during the lockout
    trader.add(await control.market(account, mes, 1, 1))
    await until(lambda: not engine.sim_positions())
    await engine.settled()

    own = {o.id for o in engine.order_events() if o.id not in trader}
    seen_working = {o.id for o in engine.order_events() if o.id in own and o.is_working}
    assert own and seen_working == own  # every close order was seen while still working
    requests = await control.requests()
    cancelled = {r["body"]["orderId"] for r in requests if r["path"] == "/api/Order/cancel"}
    assert not cancelled & own
    closed = {r["body"]["contractId"] for r in requests if r["path"] == "/api/Position/closeContract"}
    assert closed == {mnq, mes}
    assert engine.locked()  # still inside the 3 s cooldown: the gate did the closing
