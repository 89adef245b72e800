"""The scripted trader: one scenario per rule the demo shows, each a list of steps against the
simulator; every step waits for the broadcasts that prove the daemon saw it and enforced (generous
timeouts, no fixed sleeps except the one RULE-012 asks for between two stop changes).

The random walk is paused and every price is set by hand, so each P&L below is exact: a one-tick
market at `last` fills buys at last + 1 tick and sells at last (docs/simulator.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.demo import expectations as expect
from simple_risk_manager.demo.config_files import (
    BLOCKED_ROOT,
    COOLDOWN_LOSS,
    COOLDOWN_SECONDS,
    DAILY_LOSS_LIMIT,
    MAX_CONTRACTS,
    STOP_LOSS_TICKS,
    DemoSchedule,
)
from simple_risk_manager.demo.feed import DemoView, Feed, Predicate
from simple_risk_manager.demo.sim_control import OrderType, Side, SimControl, SimError

STEP_TIMEOUT_S: Final = 20.0
#: A pause before each step, so a person watching the log (or the dashboard) can follow the story.
STEP_PAUSE_S: Final = 1.0
#: RULE-012 modifies a stop at most once per second (`rules.md` D-29); the trader lets that pass.
STOP_MODIFY_INTERVAL_S: Final = 1.2
MES, ES, MNQ = "MES", "EP", "MNQ"  # ProjectX roots (EP is the E-mini S&P 500, `ES` in the rules)


@dataclass(frozen=True, slots=True)
class Expect:
    """One broadcast the step waits for; `from_start`: any received since the feed connected."""

    what: str
    predicate: Predicate
    timeout_s: float = STEP_TIMEOUT_S
    from_start: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    say: str
    act: Callable[[], Awaitable[None]] | None
    expect: tuple[Expect, ...]


@dataclass(frozen=True, slots=True)
class Scenario:
    rule_id: str
    title: str
    account_id: int
    steps: tuple[Step, ...]


@dataclass(slots=True)
class ScenarioResult:
    scenario: Scenario
    seen: list[Message] = field(default_factory=list)
    missing: str | None = None
    error: str | None = None
    actions: list[Message] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return (self.missing is None and self.error is None
                and all(a.data.get("outcome") == "SUCCESS" for a in self.actions))


class ScriptedTrader:
    """Trades on the demo accounts through the simulator, as a person on the platform would."""

    def __init__(self, sim: SimControl, contracts: Mapping[str, str]) -> None:
        self.sim = sim
        self.contracts = dict(contracts)

    def contract(self, root: str) -> str:
        return self.contracts[root]

    async def price(self, root: str, last: Decimal) -> None:
        await self.sim.set_price(self.contract(root), last)

    async def buy(self, account_id: int, root: str, size: int) -> None:
        await self.sim.place(account_id, self.contract(root), Side.BUY, size)

    async def sell(self, account_id: int, root: str, size: int) -> None:
        await self.sim.place(account_id, self.contract(root), Side.SELL, size)

    async def buy_limit(self, account_id: int, root: str, size: int, limit: Decimal) -> None:
        await self.sim.place(account_id, self.contract(root), Side.BUY, size, OrderType.LIMIT,
                             limit_price=limit)


def _steps(*actions: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        for action in actions:
            await action()
    return run


def scenarios(trader: ScriptedTrader, ids: Mapping[str, int], schedule: DemoSchedule) -> tuple[Scenario, ...]:
    """Every scenario, in the order they run (the cooldown's end is waited for last)."""
    t = trader
    session, maxc, cool = ids["session"], ids["max_contracts"], ids["cooldown"]
    loss, block, auto = ids["daily_loss"], ids["symbol_block"], ids["auto_stop"]
    mes, es, mnq, rty = t.contract(MES), t.contract(ES), t.contract(MNQ), t.contract(BLOCKED_ROOT)
    d = Decimal
    stop_at = d("21000.25") - STOP_LOSS_TICKS * d("0.25")
    return (
        Scenario("RULE-009", "session block", session, (
            Step(f"may trade only {schedule.closed_start}-{schedule.closed_end} CT, a window that is over: "
                 "the daemon locks the account at start-up", None,
                 (Expect("RULE-009 locks the account outside its session",
                         expect.locked_by(session, "RULE-009"), from_start=True),)),
            Step("buys 1 MNQ anyway",
                 _steps(lambda: t.price(MNQ, d("21000.00")), lambda: t.buy(session, MNQ, 1)),
                 (Expect("RULE-009 flattens the trade made outside the session",
                         expect.enforced(session, "RULE-009")),
                  Expect("the MNQ position is closed", expect.position(session, mnq, 0)))),
        )),
        Scenario("RULE-001", "max contracts", maxc, (
            Step(f"buys 6 MES (limit {MAX_CONTRACTS} contracts)",
                 _steps(lambda: t.price(MES, d("6000.00")), lambda: t.buy(maxc, MES, 6)),
                 (Expect("RULE-001 closes every position", expect.enforced(
                     maxc, "RULE-001", "CLOSE_ALL_POSITIONS", closes_position=True)),)),
        )),
        Scenario("RULE-007", "cooldown after loss", cool, (
            Step("buys 2 MES at 6000.25",
                 _steps(lambda: t.price(MES, d("6000.00")), lambda: t.buy(cool, MES, 2)),
                 (Expect("the MES position is open", expect.position(cool, mes, 2)),)),
            Step(f"MES drops to 5988.00; sells both at a 122.50 loss (cooldown from {COOLDOWN_LOSS})",
                 _steps(lambda: t.price(MES, d("5988.00")), lambda: t.sell(cool, MES, 2)),
                 (Expect("RULE-007 starts a cooldown", expect.enforced(cool, "RULE-007", "COOLDOWN")),)),
        )),
        Scenario("RULE-003", "daily realized loss", loss, (
            Step("buys 1 MES and 1 ES",
                 _steps(lambda: t.price(MES, d("6000.00")), lambda: t.price(ES, d("6000.00")),
                        lambda: t.buy(loss, MES, 1), lambda: t.buy(loss, ES, 1)),
                 (Expect("the ES position is open", expect.position(loss, es, 1)),)),
            Step(f"ES drops to 5989.00; sells the ES at a 562.50 loss (daily limit {DAILY_LOSS_LIMIT})",
                 _steps(lambda: t.price(ES, d("5989.00")), lambda: t.sell(loss, ES, 1)),
                 (Expect("RULE-003 closes everything and locks the account until the daily reset",
                         expect.enforced(loss, "RULE-003", "CLOSE_ALL_AND_LOCKOUT", closes_position=True)),)),
            Step("tries again while locked out: buys 1 MES", lambda: t.buy(loss, MES, 1),
                 (Expect("the lockout flattens the new trade", expect.enforced(loss, "RULE-003")),
                  Expect("the MES position is closed", expect.position(loss, mes, 0)))),
        )),
        Scenario("RULE-011", "symbol block", block, (
            Step(f"places a buy limit for 1 {BLOCKED_ROOT} at 2390.0 ({BLOCKED_ROOT} is blocked)",
                 _steps(lambda: t.price(BLOCKED_ROOT, d("2400.0")),
                        lambda: t.buy_limit(block, BLOCKED_ROOT, 1, d("2390.0"))),
                 (Expect("RULE-011 cancels the order", expect.enforced(block, "RULE-011", "REJECT_ORDER")),)),
            Step(f"buys 1 {BLOCKED_ROOT} at market", lambda: t.buy(block, BLOCKED_ROOT, 1),
                 (Expect(f"RULE-011 closes the {BLOCKED_ROOT} position",
                         expect.enforced(block, "RULE-011", closes_position=True)),
                  Expect(f"the {BLOCKED_ROOT} position is closed", expect.position(block, rty, 0)))),
        )),
        Scenario("RULE-012", "automatic stop-loss", auto, (
            Step("buys 1 MNQ at 21000.25 without a stop",
                 _steps(lambda: t.price(MNQ, d("21000.00")), lambda: t.buy(auto, MNQ, 1)),
                 (Expect("RULE-012 places a stop", expect.enforced(auto, "RULE-012", "AUTO_STOP_LOSS")),
                  Expect(f"the stop works at {stop_at}", expect.working_stop(auto, mnq, stop_at)))),
            Step("MNQ rises to 21003.00 (+11 ticks)",
                 _steps(lambda: asyncio.sleep(STOP_MODIFY_INTERVAL_S), lambda: t.price(MNQ, d("21003.00"))),
                 (Expect("RULE-012 moves the stop to breakeven + 1 tick (21000.50)",
                         expect.working_stop(auto, mnq, d("21000.50"))),)),
            Step("MNQ falls back to 21000.50", lambda: t.price(MNQ, d("21000.50")),
                 (Expect("the stop fills", expect.closing_fill(auto, mnq)),
                  Expect("the MNQ position is closed", expect.position(auto, mnq, 0)))),
        )),
        Scenario("RULE-007", "cooldown ends", cool, (
            Step(f"waits for the {COOLDOWN_SECONDS} s cooldown to run out", None,
                 (Expect("the cooldown is lifted", expect.lock_lifted(cool, "RULE-007"),
                         timeout_s=COOLDOWN_SECONDS + STEP_TIMEOUT_S, from_start=True),)),
        )),
    )


async def run_scenario(scenario: Scenario, feed: Feed, view: DemoView,
                       pause_s: float = STEP_PAUSE_S) -> ScenarioResult:
    """The steps in order, `pause_s` apart; stops at the first expectation that does not come."""
    result = ScenarioResult(scenario)
    start = feed.mark()
    for step in scenario.steps:
        await asyncio.sleep(pause_s)
        view.narrate(scenario.account_id, step.say)
        mark = feed.mark()
        if step.act is not None:
            try:
                await step.act()
            except SimError as error:
                result.error = str(error)
                break
        for expectation in step.expect:
            message = await feed.wait_for(expectation.predicate, since=0 if expectation.from_start else mark,
                                          within_s=expectation.timeout_s)
            if message is None:
                result.missing = expectation.what
                break
            result.seen.append(message)
        if result.missing is not None:
            view.notice(f"expected but not seen within the time limit: {result.missing}")
            break
    result.actions = feed.all(expect.enforcement_on(scenario.account_id), since=start)
    return result


async def run_scenarios(all_scenarios: tuple[Scenario, ...], feed: Feed, view: DemoView,
                        results: list[ScenarioResult], pause_s: float = STEP_PAUSE_S) -> None:
    """Appends each result as it completes, so a run cut short still reports what it did."""
    for scenario in all_scenarios:
        results.append(await run_scenario(scenario, feed, view, pause_s))
