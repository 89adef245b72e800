"""RULE-003 Daily Realized Loss: worked examples, the CLOSE_ALL_POSITIONS variant, lockout, Sweep."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.rules.daily_realized_loss import DailyRealizedLossRule
from simple_risk_manager.rules.events import FillApplied, Sweep

from .world import MNQ, NOW, World, chicago, summary

RULE = DailyRealizedLossRule()
WED_1405 = chicago(2025, 11, 26, 14, 5)
WED_1830 = chicago(2025, 11, 26, 18, 30)


def _world(*, now: datetime = NOW, include_fees: bool = False, loss_limit: float = 500,
           action: str = "CLOSE_ALL_AND_LOCKOUT") -> World:
    world = World(now=now)
    world.configure_global(include_fees=include_fees)
    world.configure("daily_realized_loss", loss_limit=loss_limit, action=action)
    return world


def _closing_fill(world: World, pnl: str, fees: str = "0") -> FillApplied:
    return world.fill(MNQ, "sell", 1, 21000, pnl=pnl, fees=fees)


@pytest.mark.parametrize(
    ("now", "include_fees", "day", "event", "expected_until"),
    [
        pytest.param(NOW, False, ["100", "50"], ("-200", "0"), None, id="RULE-003#1"),
        pytest.param(WED_1405, False, ["-300"], ("-250", "0"), chicago(2025, 11, 26, 17), id="RULE-003#2"),
        pytest.param(NOW, False, ["-450"], ("-50.00", "0"), chicago(2025, 11, 24, 17), id="RULE-003#3"),
        pytest.param(NOW, True, ["-499.80"], (None, "0.37"), chicago(2025, 11, 24, 17), id="RULE-003#4"),
        pytest.param(WED_1830, False, ["-600"], ("-1", "0"), chicago(2025, 11, 27, 17), id="RULE-003#5"),
    ],
)
def test_worked_examples(now: datetime, include_fees: bool, day: list[str], event: tuple[str | None, str],
                         expected_until: datetime | None) -> None:
    world = _world(now=now, include_fees=include_fees)
    for pnl in day:
        _closing_fill(world, pnl)
    pnl, fees = event
    result = RULE.evaluate(world.view(), world.fill(MNQ, "buy", 1, 21000, pnl=pnl, fees=fees))
    if expected_until is None:
        assert result.decisions == ()
        return
    (d,) = result.decisions
    assert (d.action, d.rule_id, d.created_at) == (A.CLOSE_ALL_AND_LOCKOUT, "RULE-003", now)
    assert (d.lockout_kind, d.lockout_until) == (LockoutKind.RESET.value, expected_until)
    assert f"daily realized loss {world.view().daily_realized():.2f} reached limit 500.00" in d.reason


def test_example_4_fees_push_the_day_past_the_limit() -> None:
    world = _world(include_fees=True)
    _closing_fill(world, "-499.80")
    (d,) = RULE.evaluate(world.view(), world.fill(MNQ, "buy", 1, 21000, pnl=None, fees="0.37")).decisions
    assert d.reason == "daily realized loss -500.17 reached limit 500.00: locked until the daily reset"
    assert d.details == {"daily_realized": "-500.17", "loss_limit": "500", "include_fees": True}


def test_without_fees_the_same_day_is_no_breach() -> None:
    world = _world(include_fees=False)
    _closing_fill(world, "-499.80", fees="5")
    assert RULE.evaluate(world.view(), world.fill(MNQ, "buy", 1, 21000, fees="0.37")).decisions == ()


def test_close_all_positions_variant_flattens_without_lockout_and_fires_again() -> None:
    world = _world(action="CLOSE_ALL_POSITIONS")
    first = RULE.evaluate(world.view(), _closing_fill(world, "-600"))
    assert summary(first) == [(A.CLOSE_ALL_POSITIONS, None, None)]
    assert first.decisions[0].lockout_kind is None and first.decisions[0].lockout_until is None
    world.advance(30)
    again = RULE.evaluate(world.view(), _closing_fill(world, "10"))
    assert summary(again) == [(A.CLOSE_ALL_POSITIONS, None, None)]
    assert "-590.00" in again.decisions[0].reason


def test_own_lockout_already_to_the_reset_is_not_requested_again() -> None:
    world = _world()
    (d,) = RULE.evaluate(world.view(), _closing_fill(world, "-600")).decisions
    assert d.lockout_until is not None
    world.lock("RULE-003", LockoutKind.RESET, d.lockout_until)
    assert RULE.evaluate(world.view(), _closing_fill(world, "-20")).decisions == ()
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()


def test_another_rules_lockout_does_not_hide_the_breach() -> None:
    world = _world()
    world.lockouts.cooldown(world.account_id, "RULE-006", "cooldown", 60, world.now)
    assert summary(RULE.evaluate(world.view(), _closing_fill(world, "-600"))) == [
        (A.CLOSE_ALL_AND_LOCKOUT, None, None)]


def test_sweep_catches_a_breach_after_restart() -> None:
    world = _world()
    _closing_fill(world, "-700")
    (d,) = RULE.evaluate(world.view(), Sweep()).decisions
    assert (d.action, d.lockout_until) == (A.CLOSE_ALL_AND_LOCKOUT, world.next_reset_at)


def test_a_void_that_lifts_the_day_above_the_limit_clears_the_breach() -> None:
    world = _world()
    _closing_fill(world, "-300")
    loss = world.fill(MNQ, "sell", 1, 21000, pnl="-250", trade_id=900)
    assert summary(RULE.evaluate(world.view(), loss)) == [(A.CLOSE_ALL_AND_LOCKOUT, None, None)]
    voided = world.fill(MNQ, "sell", 1, 21000, pnl="-250", trade_id=900, voided=True)
    assert world.view().daily_realized() == Decimal("-300")
    assert RULE.evaluate(world.view(), voided).decisions == ()


def test_disabled_rule_does_nothing() -> None:
    world = World()
    world.configure("daily_realized_loss", enabled=False)
    assert RULE.evaluate(world.view(), _closing_fill(world, "-10000")).decisions == ()
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()


def test_events_it_is_not_routed_do_nothing() -> None:
    world = _world()
    _closing_fill(world, "-10000")
    assert RULE.evaluate(world.view(), world.open_position(MNQ, "long", 1, 21000)).decisions == ()
    assert RULE.evaluate(world.view(), world.quote(MNQ, last=21000)).decisions == ()
