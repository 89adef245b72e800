"""RULE-010 Auth Loss Guard: worked examples, restore, fail-open, startup check, connection alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import ClearedBy, LockoutKind, OrderType
from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.models import Account
from simple_risk_manager.rules.auth_loss_guard import AuthLossGuardRule
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import AccountChanged, ConnectionChanged, RuleEvent, Sweep

from .world import ES, MNQ, NOW, World, chicago

RULE = AuthLossGuardRule()


def _account(world: World, can_trade: bool) -> AccountChanged:
    """An account event as the pipeline applies it: state first, then the rule sees the change."""
    change = world.state.apply_account(Account(id=world.account_id, name="PRAC-1", balance=Decimal(50000),
                                               can_trade=can_trade))
    return AccountChanged(previous_can_trade=change.previous, can_trade=change.current)


def _evaluate(world: World, event: RuleEvent) -> RuleResult:
    return RULE.evaluate(world.view(), event)


def _assert_condition_lock(result: RuleResult) -> None:
    (d,) = result.decisions
    assert (d.action, d.rule_id, d.created_at) == (A.CLOSE_ALL_AND_LOCKOUT, "RULE-010", NOW)
    assert (d.lockout_kind, d.lockout_until) == (LockoutKind.CONDITION.value, None)
    assert "canTrade false" in d.reason and d.details["can_trade"] is False


def _example_1(world: World) -> RuleEvent:
    _account(world, True)
    world.open_position(MNQ, "long", 1, 21000)
    world.open_position(ES, "short", 1, 5800)
    world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950)
    world.order(ES, "buy", 1, limit_price=5790)
    return _account(world, False)


def _example_2(world: World) -> RuleEvent:
    world.lock("RULE-010", LockoutKind.CONDITION)
    world.lock("RULE-003", LockoutKind.RESET, until=chicago(2025, 11, 24, 17))
    return _account(world, True)


def _example_3(world: World) -> RuleEvent:
    world.lock("RULE-010", LockoutKind.CONDITION)
    _account(world, False)
    return _account(world, False)


def _example_4(world: World) -> RuleEvent:
    return AccountChanged(previous_can_trade=True, can_trade=None)


def _example_5(world: World) -> RuleEvent:
    _account(world, False)
    return Sweep()


CONDITION_LOCK = [(A.CLOSE_ALL_AND_LOCKOUT, LockoutKind.CONDITION.value, None)]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(_example_1, CONDITION_LOCK, id="RULE-010#1"),
        pytest.param(_example_2, [(A.UNLOCK, None, None)], id="RULE-010#2"),
        pytest.param(_example_3, [], id="RULE-010#3"),
        pytest.param(_example_4, [], id="RULE-010#4"),
        pytest.param(_example_5, CONDITION_LOCK, id="RULE-010#5"),
    ],
)
def test_worked_examples(given: Callable[[World], RuleEvent],
                         expected: list[tuple[A, str | None, datetime | None]]) -> None:
    world = World()
    result = _evaluate(world, given(world))
    assert [(d.action, d.lockout_kind, d.lockout_until) for d in result.decisions] == expected
    assert all((d.rule_id, d.created_at, d.contract_id) == ("RULE-010", NOW, None) for d in result.decisions)


def test_worked_example_1_can_trade_false_flattens_and_locks_on_the_condition() -> None:
    world = World()
    _account(world, True)
    world.open_position(MNQ, "long", 1, 21000)
    world.open_position(ES, "short", 1, 5800)
    world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950)
    world.order(ES, "buy", 1, limit_price=5790)
    result = _evaluate(world, _account(world, False))
    _assert_condition_lock(result)
    assert result.decisions[0].reason == ("account event: the platform reports canTrade false; locked until "
                                          "canTrade is true again")


def test_worked_example_2_restore_unlocks_only_its_own_record() -> None:
    world = World()
    world.lock("RULE-010", LockoutKind.CONDITION)
    world.lock("RULE-003", LockoutKind.RESET, until=chicago(2025, 11, 24, 17))
    (d,) = _evaluate(world, _account(world, True)).decisions
    assert (d.action, d.rule_id, d.lockout_kind, d.lockout_until) == (A.UNLOCK, "RULE-010", None, None)
    assert "canTrade true again; RULE-010 lockout cleared" in d.reason
    world.lockouts.unlock(world.account_id, d.rule_id, ClearedBy.CAN_TRADE_RESTORED, world.now)
    view = world.view()
    assert view.is_locked() and [r.rule_id for r in view.active_lockouts()] == ["RULE-003"]
    assert view.active_lockouts()[0].locked_until == chicago(2025, 11, 24, 17)


def test_worked_example_3_no_new_decision_while_its_lockout_is_active() -> None:
    world = World()
    world.lock("RULE-010", LockoutKind.CONDITION)
    _account(world, False)
    assert _evaluate(world, _account(world, False)) == RuleResult()


def test_worked_example_4_missing_can_trade_fails_open() -> None:
    world = World()
    assert _evaluate(world, AccountChanged(previous_can_trade=True, can_trade=None)) == RuleResult()
    world.lock("RULE-010", LockoutKind.CONDITION)
    assert _evaluate(world, AccountChanged(previous_can_trade=False, can_trade=None)) == RuleResult()


def test_worked_example_5_startup_sweep_locks_when_can_trade_is_false() -> None:
    world = World()
    _account(world, False)
    result = _evaluate(world, Sweep())
    _assert_condition_lock(result)
    assert result.decisions[0].details["source"] == "reconcile check"


def test_sweep_unlocks_a_stored_lockout_once_can_trade_is_back() -> None:
    world = World()
    world.lock("RULE-010", LockoutKind.CONDITION)
    _account(world, True)
    assert [d.action for d in _evaluate(world, Sweep()).decisions] == [A.UNLOCK]


@pytest.mark.parametrize("can_trade", [True, False])
def test_check_on_startup_false_makes_the_sweep_ignore_can_trade(can_trade: bool) -> None:
    world = World()
    world.configure("auth_loss_guard", check_on_startup=False)
    world.lock("RULE-010", LockoutKind.CONDITION)
    _account(world, can_trade)
    assert _evaluate(world, Sweep()) == RuleResult()


def test_sweep_without_account_data_fails_open() -> None:
    assert _evaluate(World(), Sweep()) == RuleResult()


def test_without_auto_unlock_the_lockout_stays() -> None:
    world = World()
    world.configure("auth_loss_guard", auto_unlock_on_restore=False)
    world.lock("RULE-010", LockoutKind.CONDITION)
    assert _evaluate(world, _account(world, True)) == RuleResult()


def test_can_trade_true_without_a_lockout_does_nothing() -> None:
    world = World()
    world.lock("RULE-003", LockoutKind.RESET)
    assert _evaluate(world, _account(world, True)) == RuleResult()


@pytest.mark.parametrize(("connected", "words"), [(False, "connection lost"), (True, "connection restored")])
def test_connection_changes_raise_an_alert_and_never_a_lockout(connected: bool, words: str) -> None:
    world = World()
    (d,) = _evaluate(world, ConnectionChanged(connected=connected)).decisions
    assert (d.action, d.rule_id, d.lockout_kind, d.lockout_until) == (A.ALERT, "RULE-010", None, None)
    assert words in d.reason and d.details == {"connected": connected}
    world.configure("auth_loss_guard", alert_on_disconnect=False)
    assert _evaluate(world, ConnectionChanged(connected=connected)) == RuleResult()


def test_disabled_rule_returns_nothing() -> None:
    world = World()
    world.configure("auth_loss_guard", enabled=False)
    assert _evaluate(world, _account(world, False)) == RuleResult()
    assert _evaluate(world, ConnectionChanged(connected=False)) == RuleResult()
    assert _evaluate(world, Sweep()) == RuleResult()
