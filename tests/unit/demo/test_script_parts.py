"""The scripted trader's parts: the feed it waits on, the predicates, one scenario run, the summary."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.demo import expectations as expect
from simple_risk_manager.demo.feed import Feed
from simple_risk_manager.demo.script import Expect, Scenario, ScenarioResult, Step, run_scenario
from simple_risk_manager.demo.summary import demo_passed, summary_lines

TS = "2025-03-04T16:40:12.911Z"
MNQ = "CON.F.US.MNQ.Z26"


def msg(type_: str, account_id: int | None, **data: Any) -> Message:
    return Message(type=type_, seq=1, ts=TS, account_id=account_id, data=data)


def action(account_id: int, rule_id: str, action_type: str, outcome: str = "SUCCESS",
           closed: int = 0) -> Message:
    return msg("enforcement_action", account_id, rule_id=rule_id, action=action_type, reason="r",
               outcome=outcome, execution_time_ms=5, details={"positions_closed": closed})


class Recorder:
    """A view that remembers what it was told."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def notice(self, text: str) -> None:
        self.said.append(f"notice: {text}")

    def narrate(self, account_id: int, text: str) -> None:
        self.said.append(f"{account_id}: {text}")

    def message(self, message: Message) -> None:
        self.said.append(message.type)

    def summary(self, lines: list[str]) -> None:
        self.said.extend(lines)


async def test_a_wait_sees_a_message_that_arrived_before_it_began() -> None:
    feed = Feed()
    mark = feed.mark()
    feed.add(action(7, "RULE-001", "CLOSE_ALL_POSITIONS"))
    found = await feed.wait_for(expect.enforced(7, "RULE-001"), since=mark, within_s=5)
    assert found is not None and found.data["rule_id"] == "RULE-001"


async def test_a_wait_ignores_messages_before_its_mark_and_wakes_on_a_match() -> None:
    feed = Feed()
    feed.add(action(7, "RULE-001", "CLOSE_ALL_POSITIONS"))
    mark = feed.mark()
    waiting = asyncio.ensure_future(feed.wait_for(expect.enforced(7, "RULE-001"), since=mark, within_s=5))
    await asyncio.sleep(0)
    assert not waiting.done()
    feed.add(action(8, "RULE-001", "CLOSE_ALL_POSITIONS"))  # another account
    feed.add(action(7, "RULE-001", "CLOSE_ALL_POSITIONS", closed=2))
    found = await waiting
    assert found is not None and found.data["details"]["positions_closed"] == 2


async def test_a_wait_gives_up_with_none() -> None:
    assert await Feed().wait_for(expect.any_enforcement, since=0, within_s=0.01) is None


@pytest.mark.parametrize(("predicate", "message", "matches"), [
    (expect.enforced(7, "RULE-003", "CLOSE_ALL_AND_LOCKOUT", closes_position=True),
     action(7, "RULE-003", "CLOSE_ALL_AND_LOCKOUT", closed=1), True),
    (expect.enforced(7, "RULE-003", "CLOSE_ALL_AND_LOCKOUT", closes_position=True),
     action(7, "RULE-003", "CLOSE_ALL_AND_LOCKOUT", closed=0), False),
    (expect.enforced(7, "RULE-003"), action(7, "RULE-003", "CLOSE_ALL_POSITIONS"), True),
    (expect.enforced(7, "RULE-003"), action(7, "RULE-007", "COOLDOWN"), False),
    (expect.locked_by(7, "RULE-009"), msg("lockout_set", 7, rule_id="RULE-009"), True),
    (expect.locked_by(7, "RULE-009"),
     msg("snapshot", None, accounts=[{"account_id": 7, "lockouts": [{"rule_id": "RULE-009"}]}]), True),
    (expect.locked_by(7, "RULE-009"),
     msg("snapshot", None, accounts=[{"account_id": 8, "lockouts": [{"rule_id": "RULE-009"}]}]), False),
    (expect.lock_lifted(7, "RULE-007"), msg("lockout_cleared", 7, rule_id="RULE-007"), True),
    (expect.position(7, MNQ, 0), msg("GatewayUserPosition", 7, contract_id=MNQ, size=0), True),
    (expect.position(7, MNQ, 0), msg("GatewayUserPosition", 7, contract_id=MNQ, size=1), False),
    (expect.closing_fill(7, MNQ), msg("GatewayUserTrade", 7, contract_id=MNQ, profit_and_loss=0.5), True),
    (expect.closing_fill(7, MNQ), msg("GatewayUserTrade", 7, contract_id=MNQ, profit_and_loss=None), False),
    (expect.working_stop(7, MNQ, Decimal("21000.50")),
     msg("GatewayUserOrder", 7, contract_id=MNQ, type="STOP", status="OPEN", stop_price=21000.5), True),
    (expect.working_stop(7, MNQ, Decimal("21000.50")),
     msg("GatewayUserOrder", 7, contract_id=MNQ, type="STOP", status="CANCELLED", stop_price=21000.5), False),
    (expect.daemon_running, msg("daemon_status", None, status="RUNNING"), True),
    (expect.daemon_running, msg("snapshot", None, daemon={"status": "STARTING"}, accounts=[]), False),
])
def test_predicates(predicate: Any, message: Message, matches: bool) -> None:
    assert predicate(message) is matches


async def test_a_scenario_acts_then_waits_and_collects_its_enforcement() -> None:
    feed, view = Feed(), Recorder()
    acted: list[str] = []

    async def buy() -> None:
        acted.append("buy")
        feed.add(action(7, "RULE-001", "CLOSE_ALL_POSITIONS", closed=1))

    scenario = Scenario("RULE-001", "max contracts", 7, (
        Step("buys 6 MES", buy, (Expect("RULE-001 closes", expect.enforced(7, "RULE-001"), timeout_s=5),)),))
    result = await run_scenario(scenario, feed, view, pause_s=0)
    assert acted == ["buy"]
    assert result.passed and result.missing is None
    assert [m.data["rule_id"] for m in result.actions] == ["RULE-001"]
    assert view.said == ["7: buys 6 MES"]


async def test_a_missing_expectation_fails_the_scenario_and_stops_it() -> None:
    feed, view = Feed(), Recorder()
    second: list[str] = []

    async def later() -> None:
        second.append("ran")

    scenario = Scenario("RULE-011", "symbol block", 7, (
        Step("places an order", None, (Expect("RULE-011 cancels", expect.enforced(7, "RULE-011"),
                                              timeout_s=0.01),)),
        Step("buys", later, ()),
    ))
    result = await run_scenario(scenario, feed, view, pause_s=0)
    assert not result.passed and result.missing == "RULE-011 cancels"
    assert second == []
    assert view.said[-1] == "notice: expected but not seen within the time limit: RULE-011 cancels"


def test_a_failed_enforcement_fails_an_otherwise_complete_scenario() -> None:
    scenario = Scenario("RULE-001", "max contracts", 7, ())
    result = ScenarioResult(scenario, actions=[action(7, "RULE-001", "CLOSE_ALL_POSITIONS", "FAILED")])
    assert not result.passed


def test_summary_rows_and_verdict() -> None:
    one = Scenario("RULE-001", "max contracts", 7, ())
    two = Scenario("RULE-003", "daily realized loss", 8, ())
    three = Scenario("RULE-007", "cooldown ends", 9, ())
    closing = action(7, "RULE-001", "CLOSE_ALL_POSITIONS", closed=1)
    results = [ScenarioResult(one, seen=[closing], actions=[closing]),
               ScenarioResult(two, missing="RULE-003 locks")]
    lines = summary_lines([one, two, three], results, [closing], elapsed_s=12.34,
                          account_label=lambda account_id: f"acct{account_id}",
                          describe=lambda m: f"{m.data['rule_id']} {m.data['action']}")
    assert lines == [
        "Summary: 1 of 3 scenarios passed in 12.3 s; 1 enforcement actions (all 1 SUCCESS)",
        "  PASS     RULE-001 max contracts         acct7  RULE-001 CLOSE_ALL_POSITIONS",
        "  FAIL     RULE-003 daily realized loss   acct8  not seen: RULE-003 locks",
        "  SKIPPED  RULE-007 cooldown ends         acct9  not run",
    ]
    assert not demo_passed([one, two, three], results, [closing], stopped=None)


@pytest.mark.parametrize(("ran", "stopped", "outcome", "passed"), [
    (2, None, "SUCCESS", True),
    (1, None, "SUCCESS", False),          # a scenario never ran and nobody stopped the demo
    (1, "--duration 5 s reached", "SUCCESS", True),
    (2, None, "FAILED", False),
])
def test_demo_verdict(ran: int, stopped: str | None, outcome: str, passed: bool) -> None:
    planned = [Scenario("RULE-001", "a", 7, ()), Scenario("RULE-003", "b", 8, ())]
    results = [ScenarioResult(s) for s in planned[:ran]]
    assert demo_passed(planned, results, [action(7, "RULE-001", "X", outcome)], stopped) is passed
