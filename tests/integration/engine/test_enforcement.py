"""MOD-001 against the simulator over real sockets with the real `ProjectXGateway`.

Each test wires the `Enforcer` as the daemon does: the real state mirror (`StateManager`) fed from the
gateway's hub events, which are also forwarded to `observe_position`/`observe_order`; a real `StateStore`
on a temporary file as the journal; a recording broadcaster. Waits are compressed by an injected sleep
(which also records every requested delay); everything else is real, the simulator's request log included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from projectx_sim import Simulator
from projectx_sim.faults import FaultKind, RestFault
from simple_risk_manager.clock import Clock, ManualClock, SystemClock
from simple_risk_manager.config.daemon_settings import EnforcementSettings
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind, OrderType
from simple_risk_manager.domain.events import AccountUpdated, OrderUpdated, PositionUpdated
from simple_risk_manager.domain.models import EnforcementAction, EnforcementLog, Lockout
from simple_risk_manager.engine.enforcement import READ_WAIT_S, Enforcer
from simple_risk_manager.engine.plan import EnforcementPlan, Superseded
from simple_risk_manager.gateway import ProjectXGateway
from simple_risk_manager.state.positions import StateManager
from simple_risk_manager.store import StateStore
from simple_risk_manager.store.loader import read_enforcement_log

from .conftest import Control, until, until_async

#: Real seconds per second the enforcer asks to wait (2 s confirmation → 0.2 s).
TIME_SCALE = 0.1
#: Distinct from the 2 s confirmation wait, so the recorded delays show which was which.
RETRY_DELAY_S = 3
ENFORCEMENT_PATHS = ("/api/Order/cancel", "/api/Order/place", "/api/Order/modify",
                     "/api/Position/closeContract", "/api/Position/partialCloseContract")

A = EnforcementActionType


class Broadcasts:
    """A `Broadcaster` that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None, dict[str, Any]]] = []

    def publish(self, message_type: str, account_id: int | None, data: Any) -> None:
        self.sent.append((message_type, account_id, dict(data)))

    def actions(self) -> list[dict[str, Any]]:
        return [data for kind, _, data in self.sent if kind == "enforcement_action"]


@dataclass
class Rig:
    sim: Simulator
    control: Control
    gateway: ProjectXGateway
    store: StateStore
    account: int
    mirror: StateManager = field(default_factory=StateManager)
    broadcasts: Broadcasts = field(default_factory=Broadcasts)
    delays: list[float] = field(default_factory=list)
    forward_orders: bool = True
    #: Called with each requested delay before it is slept (a test's hook into the enforcer's timing).
    on_sleep: Callable[[float], Awaitable[None]] | None = None
    enforcer: Enforcer | None = None

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self.on_sleep is not None:
            await self.on_sleep(seconds)
        await asyncio.sleep(seconds * TIME_SCALE)

    def build(self, clock: Clock | None = None, **settings: Any) -> Enforcer:
        values = {"max_attempts": 3, "retry_delay_seconds": RETRY_DELAY_S} | settings
        self.enforcer = Enforcer(self.gateway, self.store, self.broadcasts, EnforcementSettings(**values),
                                 clock=clock or SystemClock(), run_id="T1", mirror=self.mirror,
                                 sleep=self.sleep)
        return self.enforcer

    async def pump(self) -> None:
        """The dispatcher's part: state first, then the enforcer's confirmations."""
        while True:
            event = await self.gateway.events.get()
            if isinstance(event, PositionUpdated):
                self.mirror.apply_position(event.position, datetime.now(UTC))
                if self.enforcer is not None:
                    self.enforcer.observe_position(event.position)
            elif isinstance(event, OrderUpdated):
                self.mirror.apply_order(event.order)
                if self.enforcer is not None and self.forward_orders:
                    self.enforcer.observe_order(event.order)
            elif isinstance(event, AccountUpdated):
                self.mirror.apply_account(event.account)

    # --- trader side ----------------------------------------------------------------------------

    def contract(self, root: str) -> str:
        return next(c.id for c in self.sim.contracts.front if c.id.split(".")[3] == root)

    def tick(self, contract_id: str) -> Decimal:
        return next(c.tick_size for c in self.sim.contracts.front if c.id == contract_id)

    async def open(self, root: str, size: int = 1, side: int = 0) -> str:
        contract = self.contract(root)
        await self.control.market(self.account, contract, side, size)
        await until(lambda: (p := self.mirror.position(self.account, contract)) is not None
                    and p.size >= size)
        return contract

    async def resting_limit(self, contract: str, size: int = 1) -> int:
        """A buy limit far below the market: it stays working."""
        best = self.sim.market.best(contract)
        assert best is not None
        price = best.last - 50 * self.tick(contract)
        order_id = await self.control.limit(self.account, contract, 0, size, price)
        await until(lambda: any(o.id == order_id for o in self.mirror.orders(self.account)))
        return order_id

    def sim_positions(self) -> list[Any]:
        account = self.sim.exchange.accounts[self.account]
        return self.sim.exchange.open_positions(account)

    def sim_orders(self) -> list[Any]:
        account = self.sim.exchange.accounts[self.account]
        return self.sim.exchange.open_orders(account)

    # --- daemon side ----------------------------------------------------------------------------

    def decision(self, action: EnforcementActionType, rule_id: str = "RULE-003",
                 **fields: Any) -> EnforcementAction:
        return EnforcementAction(action=action, account_id=self.account, rule_id=rule_id,
                                 reason=f"test {action.value}", created_at=datetime.now(UTC), **fields)

    def lockout_write(self, until_at: datetime) -> Future[None]:
        now = datetime.now(UTC)
        record = Lockout(account_id=self.account, rule_id="RULE-003", kind=LockoutKind.RESET.value,
                         reason="test lockout", locked_at=now, locked_until=until_at, created_at=now,
                         updated_at=now)
        return self.store.save_lockouts(record)

    async def rows(self) -> list[EnforcementLog]:
        since = datetime.now(UTC) - timedelta(hours=1)
        return await asyncio.wrap_future(self.store.submit("read", lambda c: read_enforcement_log(c, since)))

    async def enforcement_requests(self) -> list[dict[str, Any]]:
        return [r for r in await self.control.requests() if r["path"] in ENFORCEMENT_PATHS]


@pytest.fixture
async def rig(request: pytest.FixtureRequest, sim: Simulator, control: Control, make_gateway: Any,
              account_ids: list[int], tmp_path: Path) -> AsyncIterator[Rig]:
    """Parametrize indirectly with a dict to change the gateway's settings."""
    gateway = await make_gateway(**getattr(request, "param", {}))
    store = StateStore.open(tmp_path / "state.db", SystemClock())
    rig = Rig(sim, control, gateway, store, account_ids[0])
    pump = asyncio.create_task(rig.pump())
    try:
        yield rig
    finally:
        if rig.enforcer is not None:
            await rig.enforcer.close(timeout_s=1.0)
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pump
        store.close()


def flatten_plan(rig: Rig, action: EnforcementAction, **parts: Any) -> EnforcementPlan:
    return EnforcementPlan(account_id=rig.account, flatten=action, **parts)


async def test_flatten_of_five_positions_survives_one_close_failing_twice(rig: Rig) -> None:
    roots = ["MNQ", "MES", "M2K", "MGC", "MCLE"]
    contracts = [await rig.open(root, size=1 + i % 2) for i, root in enumerate(roots)]
    resting = [await rig.resting_limit(contracts[0]), await rig.resting_limit(contracts[3])]
    enforcer = rig.build()
    await rig.control.clear_requests()

    async def second_failure_before_the_retry(seconds: float) -> None:
        """The first failed close retries after the retry delay: before it does, make sure the other four
        closes have arrived, then fail the next close once more — that is the retry of the same contract."""
        if seconds == RETRY_DELAY_S and not any(d == RETRY_DELAY_S for d in rig.delays[:-1]):
            await until_async(async_count_closes(rig, 5))
            rig.sim.faults.add(RestFault(FaultKind.STATUS, 1, status=500, path="/api/Position/closeContract"))

    rig.on_sleep = second_failure_before_the_retry
    await rig.control.fault(kind="status", count=1, status=500, path="/api/Position/closeContract")
    until_at = datetime.now(UTC) + timedelta(hours=6)
    lockout = rig.decision(A.CLOSE_ALL_AND_LOCKOUT, lockout_kind="reset", lockout_until=until_at)
    enforcer.submit(flatten_plan(rig, lockout, lockouts=(lockout,)), rig.lockout_write(until_at))
    await enforcer.drain()

    assert rig.sim_positions() == [] and rig.sim_orders() == []
    assert await rig.gateway.open_positions(rig.account) == []
    requests = await rig.enforcement_requests()
    cancels = [r for r in requests if r["path"] == "/api/Order/cancel"]
    closes = [r for r in requests if r["path"] == "/api/Position/closeContract"]
    assert sorted(r["body"]["orderId"] for r in cancels) == sorted(resting)
    assert max(r["seq"] for r in cancels) < min(r["seq"] for r in closes), "cancel first, then close (D-31)"
    failed = [r["body"]["contractId"] for r in closes if r["status"] == 500]
    assert len(failed) == 2 and failed[0] == failed[1], "one contract's close failed twice"
    assert [r["body"]["contractId"] for r in closes].count(failed[0]) == 3
    assert sorted({r["body"]["contractId"] for r in closes}) == sorted(contracts)
    assert rig.delays.count(RETRY_DELAY_S) == 2

    [row] = await rig.rows()
    assert (row.action, row.outcome, row.success) == ("CLOSE_ALL_AND_LOCKOUT", "SUCCESS", True)
    assert (row.positions_closed, row.orders_cancelled, row.error_message) == (5, 2, None)
    assert row.lockout_until is not None and abs(row.lockout_until - until_at) < timedelta(milliseconds=1)
    assert row.execution_time_ms is not None and row.execution_time_ms > 0
    [sent] = rig.broadcasts.actions()
    assert sent["outcome"] == "SUCCESS" and sent["details"]["positions_closed"] == 5


def async_count_closes(rig: Rig, count: int) -> Callable[[], Awaitable[bool]]:
    async def arrived() -> bool:
        paths = [r["path"] for r in await rig.enforcement_requests()]
        return paths.count("/api/Position/closeContract") >= count
    return arrived


async def test_close_answered_position_not_found_counts_as_success(rig: Rig) -> None:
    enforcer = rig.build()
    contract = rig.contract("MNQ")
    close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=contract)
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    await enforcer.drain()

    assert [r["path"] for r in await rig.enforcement_requests()] == ["/api/Position/closeContract"]
    [row] = await rig.rows()
    assert (row.outcome, row.success, row.positions_closed, row.error_message) == ("SUCCESS", True, 0, None)


async def test_repeated_close_decisions_make_one_close(rig: Rig) -> None:
    """RULE-004 fires on every quote until the close lands: the duplicates are absorbed (no call, no row)."""
    contract = await rig.open("MNQ", size=2)
    enforcer = rig.build()
    await rig.control.clear_requests()
    for _ in range(3):
        close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=contract)
        enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    await enforcer.drain()

    assert [r["path"] for r in await rig.enforcement_requests()] == ["/api/Position/closeContract"]
    assert rig.sim_positions() == []
    [row] = await rig.rows()
    assert (row.outcome, row.positions_closed) == ("SUCCESS", 1)


async def test_close_position_cancels_that_contracts_orders_and_own_stop_only(rig: Rig) -> None:
    mnq, mes = await rig.open("MNQ"), await rig.open("MES")
    mnq_limit, mes_limit = await rig.resting_limit(mnq), await rig.resting_limit(mes)
    enforcer = rig.build()
    best = rig.sim.market.best(mnq)
    assert best is not None
    stop_price = best.last - 20 * rig.tick(mnq)
    place = rig.decision(A.AUTO_STOP_LOSS, rule_id="RULE-012", contract_id=mnq, size=1, stop_price=stop_price,
                         details={"op": "place", "side": "SELL"})
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(place,)), None)
    await enforcer.drain()
    await until(lambda: any(o.is_own for o in rig.mirror.orders(rig.account)))
    own_stop = next(o.id for o in rig.mirror.orders(rig.account) if o.custom_tag == "RM-T1-1")
    await rig.control.clear_requests()

    close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-011", contract_id=mnq)
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    await enforcer.drain()

    requests = await rig.enforcement_requests()
    cancelled = {r["body"]["orderId"] for r in requests if r["path"] == "/api/Order/cancel"}
    assert cancelled == {mnq_limit, own_stop}, "that contract's orders, the RM- stop included (D-50)"
    assert [o.id for o in rig.sim_orders()] == [mes_limit]
    assert [p.contract_id for p in rig.sim_positions()] == [mes]
    rows = await rig.rows()
    assert [(r.action, r.outcome) for r in rows] == [("AUTO_STOP_LOSS", "SUCCESS"),
                                                     ("CLOSE_POSITION", "SUCCESS")]
    assert (rows[1].positions_closed, rows[1].orders_cancelled) == (1, 2)


async def test_cancel_refused_falls_back_to_closing_and_alerts(rig: Rig) -> None:
    contract = await rig.open("MNQ")
    order_id = await rig.resting_limit(contract)
    enforcer = rig.build()
    await rig.control.post("faults/cancel", {"accountId": rig.account})
    reject = rig.decision(A.REJECT_ORDER, rule_id="RULE-011", contract_id=contract, order_id=order_id)
    enforcer.submit(EnforcementPlan(account_id=rig.account, rejects=(reject,)), None)
    await enforcer.drain()

    assert rig.sim_positions() == [], "the position was closed instead"
    assert [o.id for o in rig.sim_orders()] == [order_id], "the refused order still works"
    rows = {r.action: r for r in await rig.rows()}
    assert set(rows) == {"REJECT_ORDER", "ALERT"}
    assert (rows["REJECT_ORDER"].outcome, rows["REJECT_ORDER"].positions_closed) == ("FAILED", 1)
    assert "AccountRejected" in (rows["REJECT_ORDER"].error_message or "")
    assert rows["ALERT"].outcome == "SUCCESS" and f"order {order_id}" in rows["ALERT"].reason
    assert {b["action"] for b in rig.broadcasts.actions()} == {"REJECT_ORDER", "ALERT"}


async def test_flatten_with_refused_cancels_still_closes_every_position(rig: Rig) -> None:
    mnq, mes = await rig.open("MNQ"), await rig.open("MES", side=1)
    await rig.resting_limit(mnq)
    enforcer = rig.build()
    await rig.control.post("faults/cancel", {"accountId": rig.account})
    flatten = rig.decision(A.CLOSE_ALL_POSITIONS, rule_id="RULE-001")
    enforcer.submit(flatten_plan(rig, flatten), None)
    await enforcer.drain()

    assert rig.sim_positions() == []
    rows = {r.action: r for r in await rig.rows()}
    flatten_row = rows["CLOSE_ALL_POSITIONS"]
    assert (flatten_row.outcome, flatten_row.positions_closed) == ("FAILED", 2)
    assert rows["ALERT"].rule_id == "RULE-001" and "refused to cancel" in rows["ALERT"].reason
    assert {mes, mnq} == {r["body"]["contractId"] for r in await rig.enforcement_requests()
                          if r["path"] == "/api/Position/closeContract"}


async def test_reject_of_an_order_that_filled_closes_its_position(rig: Rig) -> None:
    """D-30: the market order was filled before the daemon saw it; cancel says OrderNotFound and the fill
    is flattened."""
    contract = rig.contract("MES")
    order_id = await rig.control.market(rig.account, contract, 0, 2)
    await until(lambda: rig.mirror.position(rig.account, contract) is not None)
    enforcer = rig.build()  # the order's FILLED event passed before: cancel finds nothing, yet it filled
    reject = rig.decision(A.REJECT_ORDER, rule_id="RULE-009", contract_id=contract, order_id=order_id)
    enforcer.submit(EnforcementPlan(account_id=rig.account, rejects=(reject,)), None)
    await enforcer.drain()

    assert [r["path"] for r in await rig.enforcement_requests()] == ["/api/Order/cancel",
                                                                     "/api/Position/closeContract"]
    assert rig.sim_positions() == []
    [row] = await rig.rows()
    assert (row.outcome, row.orders_cancelled, row.positions_closed) == ("SUCCESS", 0, 1)


async def test_reduce_to_limit_partially_closes_and_a_full_reduction_closes(rig: Rig) -> None:
    mnq, mes = await rig.open("MNQ", size=3), await rig.open("MES", size=2)
    enforcer = rig.build()
    await rig.control.clear_requests()
    reduce = rig.decision(A.REDUCE_TO_LIMIT, rule_id="RULE-002", contract_id=mnq, size=1)
    whole = rig.decision(A.REDUCE_TO_LIMIT, rule_id="RULE-002", contract_id=mes, size=2)
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(reduce, whole)), None)
    await enforcer.drain()

    by_path = {r["path"]: r["body"] for r in await rig.enforcement_requests()}
    assert by_path["/api/Position/partialCloseContract"] == {"accountId": rig.account, "contractId": mnq,
                                                             "size": 1}
    assert by_path["/api/Position/closeContract"]["contractId"] == mes
    assert [(p.contract_id, p.size) for p in rig.sim_positions()] == [(mnq, 2)]
    assert [r.outcome for r in await rig.rows()] == ["SUCCESS", "SUCCESS"]


@pytest.mark.parametrize("rig", [{"rest_timeout_s": 0.3}], indirect=True)
async def test_place_stop_after_a_timeout_is_not_placed_twice(rig: Rig) -> None:
    """D-52: the place took effect but its reply was lost; `Order/searchOpen` shows the tag, so the place
    is not repeated (order events are withheld so the REST check is what decides)."""
    contract = await rig.open("MNQ", size=2)
    rig.forward_orders = False
    enforcer = rig.build()
    await rig.control.clear_requests()
    await rig.control.fault(kind="timeout", path="/api/Order/place", phase="after", seconds=1)
    best = rig.sim.market.best(contract)
    assert best is not None
    place = rig.decision(A.AUTO_STOP_LOSS, rule_id="RULE-012", contract_id=contract, size=2,
                         stop_price=best.last - 10 * rig.tick(contract),
                         details={"op": "place", "side": "SELL"})
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(place,)), None)
    await enforcer.drain()

    paths = [r["path"] for r in await rig.control.requests()]
    assert paths.count("/api/Order/place") == 1
    assert paths.index("/api/Order/searchOpen") > paths.index("/api/Order/place")
    stops = [o for o in rig.sim_orders() if o.type == OrderType.STOP]
    assert [(o.custom_tag, o.size) for o in stops] == [("RM-T1-1", 2)]
    [row] = await rig.rows()
    assert row.outcome == "SUCCESS"


async def test_place_stop_refused_by_a_5xx_before_acting_is_placed_again_with_the_same_tag(rig: Rig) -> None:
    contract = await rig.open("MNQ")
    enforcer = rig.build()
    await rig.control.clear_requests()
    await rig.control.fault(kind="status", status=503, path="/api/Order/place")
    best = rig.sim.market.best(contract)
    assert best is not None
    place = rig.decision(A.AUTO_STOP_LOSS, rule_id="RULE-012", contract_id=contract, size=1,
                         stop_price=best.last - 10 * rig.tick(contract),
                         details={"op": "place", "side": "SELL"})
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(place,)), None)
    await enforcer.drain()

    places = [r for r in await rig.control.requests() if r["path"] == "/api/Order/place"]
    assert [(r["status"], r["body"]["customTag"]) for r in places] == [(503, "RM-T1-1"), (200, "RM-T1-1")]
    assert [o.custom_tag for o in rig.sim_orders()] == ["RM-T1-1"]


async def test_modify_is_sent_at_most_once_per_order_per_second(rig: Rig) -> None:
    contract = await rig.open("MNQ")
    tick = rig.tick(contract)
    best = rig.sim.market.best(contract)
    assert best is not None
    stop_id = await rig.control.stop(rig.account, contract, 1, 1, best.last - 20 * tick)
    clock = ManualClock(datetime.now(UTC))
    enforcer = rig.build(clock=clock)
    await rig.control.clear_requests()

    def modify(ticks_below: int) -> EnforcementPlan:
        action = rig.decision(A.AUTO_STOP_LOSS, rule_id="RULE-012", contract_id=contract, order_id=stop_id,
                              size=1, stop_price=best.last - ticks_below * tick, details={"op": "modify"})
        return EnforcementPlan(account_id=rig.account, contract_actions=(action,))

    enforcer.submit(modify(15), None)
    clock.advance(0.5)
    enforcer.submit(modify(12), None)
    await enforcer.drain()
    clock.advance(0.5)
    enforcer.submit(modify(10), None)
    await enforcer.drain()

    modifies = [r["body"]["stopPrice"] for r in await rig.enforcement_requests()
                if r["path"] == "/api/Order/modify"]
    assert modifies == [float(best.last - 15 * tick), float(best.last - 10 * tick)]
    assert [o.stop_price for o in rig.sim_orders()] == [best.last - 10 * tick]
    assert len(await rig.rows()) == 2


async def test_dry_run_reports_every_action_and_calls_nothing(rig: Rig) -> None:
    contract = await rig.open("MNQ")
    order_id = await rig.resting_limit(contract)
    enforcer = rig.build(dry_run=True)
    await rig.control.clear_requests()
    flatten = rig.decision(A.CLOSE_ALL_AND_LOCKOUT, lockout_kind="condition", rule_id="RULE-010")
    superseded = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=contract)
    enforcer.submit(flatten_plan(rig, flatten, superseded=(Superseded(superseded, flatten),)), None)
    reject = rig.decision(A.REJECT_ORDER, rule_id="RULE-011", contract_id=contract, order_id=order_id)
    enforcer.submit(EnforcementPlan(account_id=rig.account, rejects=(reject,)), None)
    await enforcer.drain()

    assert await rig.control.requests() == [], "no broker call at all, reads included"
    rows = await rig.rows()
    assert [(r.action, r.outcome, r.success) for r in rows] == [
        ("CLOSE_POSITION", "SUPERSEDED", False), ("CLOSE_ALL_AND_LOCKOUT", "DRY_RUN", False),
        ("REJECT_ORDER", "DRY_RUN", False)]
    assert rows[0].superseded_by == "RULE-010 CLOSE_ALL_AND_LOCKOUT"
    assert [b["outcome"] for b in rig.broadcasts.actions()] == ["DRY_RUN"] * 2, "no superseded broadcast"
    assert len(rig.sim_positions()) == 1 and len(rig.sim_orders()) == 1


async def test_enforcement_is_not_held_back_by_the_client_request_budget(rig: Rig) -> None:
    """D-52: with the client's budget used up for the next minute, enforcement's read and its close both
    go out at once (enforcement calls are counted in the budget but never wait for it)."""
    contract = await rig.open("MNQ")
    budget = rig.gateway.sessions[rig.sim.config.user_name].budget
    while budget.wait_time() == 0:
        budget.record()
    assert budget.wait_time() > 50, "ordinary calls now wait for most of a minute"
    enforcer = rig.build()
    await rig.control.clear_requests()
    close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=contract)
    started = asyncio.get_running_loop().time()
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    async with asyncio.timeout(10):
        await enforcer.drain()

    assert asyncio.get_running_loop().time() - started < 5
    paths = [r["path"] for r in await rig.control.requests()]
    assert paths == ["/api/Order/searchOpen", "/api/Position/closeContract"]
    assert rig.sim_positions() == []
    [row] = await rig.rows()
    assert (row.outcome, row.positions_closed) == ("SUCCESS", 1), "confirmed by the position event"


async def test_a_close_that_keeps_failing_is_reported_failed_and_critical(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    contract = await rig.open("MNQ")
    enforcer = rig.build()
    await rig.control.fault(kind="status", count=3, status=500, path="/api/Position/closeContract")
    close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=contract)
    with caplog.at_level(logging.CRITICAL, logger="simple_risk_manager.enforcement"):
        enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
        await enforcer.drain()

    assert len(rig.sim_positions()) == 1
    [row] = await rig.rows()
    assert (row.outcome, row.success) == ("FAILED", False)
    assert "HTTP 500" in (row.error_message or "")
    assert rig.broadcasts.actions()[0]["success"] is False
    assert any(r.levelno == logging.CRITICAL and "FAILED" in r.getMessage() for r in caplog.records)
    assert rig.delays.count(RETRY_DELAY_S) == 2, "3 attempts, 2 delays"


async def test_a_failed_lockout_write_is_critical_and_the_flatten_still_runs(
        rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    await rig.open("MNQ")
    enforcer = rig.build()
    written: Future[None] = Future()
    written.set_exception(OSError("disk full"))
    lockout = rig.decision(A.COOLDOWN, rule_id="RULE-007", lockout_kind="duration",
                           lockout_until=datetime.now(UTC) + timedelta(minutes=5))
    with caplog.at_level(logging.CRITICAL, logger="simple_risk_manager.engine.enforcement"):
        enforcer.submit(flatten_plan(rig, lockout, lockouts=(lockout,)), written)
        await enforcer.drain()

    assert rig.sim_positions() == []
    assert any("lockout write failed" in r.getMessage() for r in caplog.records)
    [row] = await rig.rows()
    assert row.outcome == "SUCCESS"


async def test_broker_calls_wait_for_the_lockout_commit(rig: Rig) -> None:
    await rig.open("MNQ")
    enforcer = rig.build()
    await rig.control.clear_requests()
    written: Future[None] = Future()
    lockout = rig.decision(A.CLOSE_ALL_AND_LOCKOUT, lockout_kind="reset",
                           lockout_until=datetime.now(UTC) + timedelta(hours=1))
    enforcer.submit(flatten_plan(rig, lockout, lockouts=(lockout,)), written)
    await until_async(lambda: _reads_done(rig))
    assert await rig.enforcement_requests() == [], "reads may run, the close waits for the commit"
    written.set_result(None)
    await enforcer.drain()
    assert rig.sim_positions() == []


async def _reads_done(rig: Rig) -> bool:
    paths = [r["path"] for r in await rig.control.requests()]
    return "/api/Order/searchOpen" in paths and "/api/Position/searchOpen" in paths


async def test_flatten_during_a_contract_close_waits_for_it_and_closes_the_rest(rig: Rig) -> None:
    mnq, mes = await rig.open("MNQ"), await rig.open("MES")
    enforcer = rig.build()
    await rig.control.clear_requests()
    await rig.control.fault(kind="delay", seconds=0.3, path="/api/Position/closeContract")
    close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=mnq)
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    flatten = rig.decision(A.CLOSE_ALL_POSITIONS, rule_id="RULE-001")
    enforcer.submit(flatten_plan(rig, flatten), None)
    await enforcer.drain()

    closes = [r["body"]["contractId"] for r in await rig.enforcement_requests()
              if r["path"] == "/api/Position/closeContract"]
    assert sorted(closes) == sorted([mnq, mes]), "the flatten did not close MNQ a second time"
    assert rig.sim_positions() == []
    rows = {r.action: r for r in await rig.rows()}
    assert (rows["CLOSE_POSITION"].positions_closed, rows["CLOSE_ALL_POSITIONS"].positions_closed) == (1, 1)
    assert rows["CLOSE_ALL_POSITIONS"].outcome == "SUCCESS"


async def test_shutdown_reports_an_unfinished_enforcement_as_outcome_unknown(rig: Rig) -> None:
    contract = await rig.open("MNQ")
    enforcer = rig.build()
    await rig.control.fault(kind="delay", seconds=3, path="/api/Position/closeContract")
    close = rig.decision(A.CLOSE_POSITION, rule_id="RULE-004", contract_id=contract)
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    await until_async(async_count_closes(rig, 1))
    await enforcer.close(timeout_s=0.1)

    [row] = await rig.rows()
    assert row.outcome == "FAILED" and "outcome unknown" in (row.error_message or "")
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(close,)), None)
    assert len(await rig.rows()) == 1, "a closed enforcer takes no new plans"


async def test_a_flatten_absorbing_another_makes_one_more_pass_for_new_exposure(rig: Rig) -> None:
    """A position opened after the running flatten listed its positions: the gate's second flatten is
    absorbed (no row) and the running one goes round once more, so nothing is left open."""
    mnq = rig.contract("MNQ")
    await rig.open("MNQ")
    enforcer = rig.build()
    await rig.control.clear_requests()
    await rig.control.fault(kind="delay", seconds=0.5, path="/api/Position/closeContract")
    first = rig.decision(A.CLOSE_ALL_AND_LOCKOUT, lockout_kind="reset",
                         lockout_until=datetime.now(UTC) + timedelta(hours=1))
    enforcer.submit(flatten_plan(rig, first, lockouts=(first,)), None)
    await until_async(async_count_closes(rig, 1))
    mes = await rig.open("MES")
    gate = rig.decision(A.CLOSE_ALL_POSITIONS, rule_id="RULE-003", details={"trigger": "position"})
    enforcer.submit(flatten_plan(rig, gate), None)
    await enforcer.drain()

    closes = [r["body"]["contractId"] for r in await rig.enforcement_requests()
              if r["path"] == "/api/Position/closeContract"]
    assert closes == [mnq, mes]
    assert rig.sim_positions() == []
    [row] = await rig.rows()
    assert (row.action, row.outcome, row.positions_closed) == ("CLOSE_ALL_AND_LOCKOUT", "SUCCESS", 2)


async def test_cancels_from_the_mirror_do_not_wait_for_order_search(rig: Rig) -> None:
    """The first enforcement request leaves at once; `Order/searchOpen` only adds what the mirror lacks."""
    contract = await rig.open("MNQ")
    order_id = await rig.resting_limit(contract)
    enforcer = rig.build()
    await rig.control.clear_requests()
    await rig.control.fault(kind="delay", seconds=0.5, path="/api/Order/searchOpen")
    enforcer.submit(flatten_plan(rig, rig.decision(A.CLOSE_ALL_POSITIONS, rule_id="RULE-001")), None)
    await enforcer.drain()

    requests = {r["path"]: r for r in await rig.control.requests()}
    cancel, search = requests["/api/Order/cancel"], requests["/api/Order/searchOpen"]
    lag_ms = (cancel["arrivalNs"] - search["arrivalNs"]) / 1e6
    assert cancel["body"]["orderId"] == order_id
    assert lag_ms < READ_WAIT_S * TIME_SCALE * 1000 / 2, "sent before the read was given up on"
    assert rig.sim_positions() == [] and rig.sim_orders() == []


@pytest.mark.parametrize("rig", [{"rest_timeout_s": 0.3}], indirect=True)
async def test_a_partial_close_whose_reply_was_lost_is_not_sent_again(rig: Rig) -> None:
    """A second partial close would remove more than the rule asked for: after the timeout the position is
    checked first, and it is already at the target."""
    contract = await rig.open("MNQ", size=3)
    rig.mirror = StateManager()  # the enforcer learns the position from REST, and the reduction from events
    enforcer = rig.build()
    await rig.control.clear_requests()
    await rig.control.fault(kind="timeout", path="/api/Position/partialCloseContract", phase="after",
                            seconds=1)
    reduce = rig.decision(A.REDUCE_TO_LIMIT, rule_id="RULE-001", contract_id=contract, size=1)
    enforcer.submit(EnforcementPlan(account_id=rig.account, contract_actions=(reduce,)), None)
    await enforcer.drain()

    paths = [r["path"] for r in await rig.control.requests()]
    assert paths.count("/api/Position/partialCloseContract") == 1
    assert [(p.contract_id, p.size) for p in rig.sim_positions()] == [(contract, 2)]
    [row] = await rig.rows()
    assert row.outcome == "SUCCESS"
