"""RULE-008 No Stop-Loss Grace: worked examples, deadline memory (the engine's timer contract), restarts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import OrderStatus, OrderType
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import GraceExpired, QuoteChanged, RuleEvent, Sweep
from simple_risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule

from .world import ES, MNQ, World, chicago, summary

RULE = NoStopLossGraceRule()
OPEN_AT = chicago(2025, 10, 15, 10, 0)  # Wed 10:00:00 CT
DEADLINE = OPEN_AT + timedelta(seconds=30)


class Account:
    """A world plus the rule's memory, threaded from one evaluation to the next as the engine does."""

    def __init__(self) -> None:
        self.world = World(now=OPEN_AT)
        self.memory: Any = None

    def evaluate(self, event: RuleEvent) -> RuleResult:
        result = RULE.evaluate(self.world.view({RULE.rule_id: self.memory}), event)
        if result.has_patch:
            self.memory = result.state_patch
        return result

    def at(self, seconds: float) -> None:
        self.world.now = OPEN_AT + timedelta(seconds=seconds)


def _stop_at_10(account: Account) -> None:
    account.at(10)
    account.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950)


def _target_limit(account: Account) -> None:
    account.world.order(MNQ, "sell", 1, type=OrderType.LIMIT, limit_price=21050)


def _wrong_side_stop(account: Account) -> None:
    account.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950)


def _stop_placed_then_cancelled(account: Account) -> None:
    account.at(5)
    account.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950, order_id=55)
    account.at(20)
    account.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950, order_id=55,
                        status=OrderStatus.CANCELLED)


@pytest.mark.parametrize(
    ("side", "given", "closes"),
    [
        pytest.param("long", _stop_at_10, False, id="RULE-008#1"),
        pytest.param("long", None, True, id="RULE-008#2"),
        pytest.param("long", _target_limit, True, id="RULE-008#3"),
        pytest.param("short", _wrong_side_stop, True, id="RULE-008#4"),
        pytest.param("long", _stop_placed_then_cancelled, True, id="RULE-008#5"),
    ],
)
def test_worked_examples(side: str, given: Callable[[Account], None] | None, closes: bool) -> None:
    account = Account()
    opened = account.evaluate(account.world.open_position(MNQ, side, 1, 21000))
    assert opened.decisions == () and opened.state_patch == {MNQ: DEADLINE}
    if given is not None:
        given(account)
    account.at(30)
    result = account.evaluate(GraceExpired(MNQ))
    if not closes:
        assert result.decisions == ()
        return
    (d,) = result.decisions
    assert (d.action, d.rule_id, d.contract_id, d.created_at) == (A.CLOSE_POSITION, "RULE-008", MNQ, DEADLINE)
    assert d.lockout_kind is None and d.lockout_until is None
    assert f"{MNQ} {side} 1 has no protective stop 30 s after it opened" in d.reason
    assert d.details["deadline"] == "2025-10-15T15:00:30.000Z"


def test_timer_before_the_deadline_is_ignored() -> None:
    account = Account()
    account.evaluate(account.world.open_position(MNQ, "long", 1, 21000))
    account.at(29.999)
    assert account.evaluate(GraceExpired(MNQ)).decisions == ()


def test_any_closing_side_stop_of_any_size_or_type_qualifies() -> None:
    account = Account()
    account.evaluate(account.world.open_position(MNQ, "long", 3, 21000))
    account.world.order(MNQ, "sell", 1, type=OrderType.TRAILING_STOP, stop_price=21010)  # above entry
    account.at(30)
    assert account.evaluate(GraceExpired(MNQ)).decisions == ()


def test_same_direction_size_changes_keep_the_deadline_and_a_flip_restarts_it() -> None:
    account = Account()
    account.evaluate(account.world.open_position(MNQ, "long", 1, 21000))
    account.at(10)
    increased = account.evaluate(account.world.open_position(MNQ, "long", 2, 21000))
    assert not increased.has_patch and account.memory == {MNQ: DEADLINE}
    account.at(20)
    flipped = account.evaluate(account.world.open_position(MNQ, "short", 1, 21000))
    assert flipped.state_patch == {MNQ: OPEN_AT + timedelta(seconds=50)}
    account.at(30)  # the old timer, already queued when the flip arrived
    assert account.evaluate(GraceExpired(MNQ)).decisions == ()
    account.at(50)
    assert summary(account.evaluate(GraceExpired(MNQ))) == [(A.CLOSE_POSITION, MNQ, None)]


def test_closing_drops_tracking_so_the_engine_cancels_the_timer() -> None:
    account = Account()
    account.evaluate(account.world.open_position(MNQ, "long", 1, 21000))
    account.evaluate(account.world.open_position(ES, "short", 1, 5800))
    account.at(5)
    closed = account.evaluate(account.world.close_position(MNQ))
    assert closed.state_patch == {ES: DEADLINE}
    account.at(30)
    assert account.evaluate(GraceExpired(MNQ)).decisions == ()  # a late timer of the closed position


def test_checked_deadline_stays_so_a_reconnect_sweep_grants_no_second_grace() -> None:
    account = Account()
    account.evaluate(account.world.open_position(MNQ, "long", 1, 21000))
    account.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950, order_id=9)
    account.at(30)
    assert account.evaluate(GraceExpired(MNQ)) == RuleResult()
    account.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950, order_id=9,
                        status=OrderStatus.CANCELLED)  # a stop removed after the check is allowed (D-24)
    account.at(300)
    assert account.evaluate(Sweep()) == RuleResult()


def test_sweep_after_a_restart_gives_every_open_position_a_fresh_deadline() -> None:
    account = Account()
    account.world.open_position(MNQ, "long", 1, 21000)  # loaded from the store, before the rule ran
    account.world.open_position(ES, "short", 2, 5800)
    account.at(120)
    swept = account.evaluate(Sweep())
    fresh = OPEN_AT + timedelta(seconds=150)
    assert swept.decisions == () and swept.state_patch == {ES: fresh, MNQ: fresh}
    account.at(150)
    assert summary(account.evaluate(GraceExpired(ES))) == [(A.CLOSE_POSITION, ES, None)]


def test_stale_memory_of_contracts_no_longer_held_is_dropped() -> None:
    account = Account()
    account.memory = {MNQ: DEADLINE}  # the position was flattened while the rule was not evaluated
    account.at(60)
    result = account.evaluate(GraceExpired(MNQ))
    assert result.decisions == () and result.has_patch and result.state_patch == {}


def test_grace_period_is_configurable_and_the_deadline_inclusive() -> None:
    account = Account()
    account.world.configure("no_stop_loss_grace", grace_period_seconds=5)
    assert account.evaluate(account.world.open_position(MNQ, "long", 1, 21000)).state_patch == {
        MNQ: OPEN_AT + timedelta(seconds=5)}
    account.at(5)
    assert summary(account.evaluate(GraceExpired(MNQ))) == [(A.CLOSE_POSITION, MNQ, None)]


def test_disabled_rule_and_unrouted_events_return_nothing() -> None:
    account = Account()
    account.world.configure("no_stop_loss_grace", enabled=False)
    assert account.evaluate(account.world.open_position(MNQ, "long", 1, 21000)) == RuleResult()
    account.at(30)
    assert account.evaluate(GraceExpired(MNQ)) == RuleResult()
    account.world.configure("no_stop_loss_grace", enabled=True)
    assert account.evaluate(QuoteChanged(MNQ)) == RuleResult()
