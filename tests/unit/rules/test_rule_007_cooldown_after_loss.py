"""RULE-007 Cooldown After Loss: worked examples, per-order escalation, memory, edge cases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.cooldown_after_loss import CooldownAfterLossRule
from simple_risk_manager.rules.events import FillApplied, Sweep

from .world import MNQ, NOW, World

RULE = CooldownAfterLossRule()
ORDER = 880031


def _world(include_fees: bool = False) -> World:
    world = World()
    world.configure_global(include_fees=include_fees)
    return world


def _evaluate(world: World, fill: FillApplied, memory: object = None) -> RuleResult:
    return RULE.evaluate(world.view({RULE.rule_id: memory} if memory is not None else None), fill)


def _assert_cooldown(result: RuleResult, seconds: int, pnl: str, tier: str) -> None:
    (d,) = result.decisions
    assert (d.action, d.rule_id, d.created_at) == (A.COOLDOWN, "RULE-007", NOW)
    assert (d.lockout_kind, d.lockout_until) == (LockoutKind.DURATION.value, NOW + timedelta(seconds=seconds))
    assert (d.contract_id, d.order_id, d.size, d.stop_price) == (None, None, None, None)
    assert f"realized {pnl} reached loss tier {tier}: cooldown {seconds} s" in d.reason
    assert Decimal(d.details["order_pnl"]) == Decimal(pnl) and d.details["cooldown_seconds"] == seconds


@pytest.mark.parametrize(
    ("given", "fill", "include_fees", "expected"),
    [
        pytest.param([], ("-75", "0"), False, None, id="RULE-007#1"),
        pytest.param([], ("-100.00", "0"), False, (300, "-100.00", "100.00"), id="RULE-007#2"),
        pytest.param([], ("-250", "0"), False, (900, "-250.00", "200.00"), id="RULE-007#3"),
        pytest.param([], ("-350", "0"), False, (1800, "-350.00", "300.00"), id="RULE-007#4"),
        pytest.param(["-50", "-30"], ("-40", "0"), False, (300, "-120.00", "100.00"), id="RULE-007#5"),
        pytest.param([], ("-98.00", "2.50"), True, (300, "-100.50", "100.00"), id="RULE-007#6"),
        pytest.param([], ("200", "0"), False, None, id="RULE-007#7"),
    ],
)
def test_worked_examples(given: list[str], fill: tuple[str, str], include_fees: bool,
                         expected: tuple[int, str, str] | None) -> None:
    world = _world(include_fees)
    memory: object = None
    for pnl in given:  # example 5: the order's earlier partial fills, −80 in total, below every tier
        earlier = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl=pnl, order_id=ORDER), memory)
        assert earlier.decisions == ()
    pnl, fees = fill
    result = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl=pnl, fees=fees, order_id=ORDER), memory)
    if expected is None:
        assert result.decisions == ()
        return
    seconds, order_pnl, tier = expected
    _assert_cooldown(result, seconds, order_pnl, tier)
    assert result.decisions[0].details["order_id"] == ORDER
    assert result.state_patch == {ORDER: Decimal(tier)}


def test_example_6_without_fees_the_same_fill_is_no_breach() -> None:
    world = _world(include_fees=False)
    assert _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-98.00", fees="2.50")).decisions == ()


def test_same_order_fires_again_only_on_a_higher_tier() -> None:
    world = _world()
    first = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-120", order_id=ORDER))
    _assert_cooldown(first, 300, "-120.00", "100.00")
    memory = first.state_patch
    same_tier = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-50", order_id=ORDER), memory)
    assert same_tier.decisions == () and not same_tier.has_patch  # −170: still the 100 tier
    higher = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-40", order_id=ORDER), memory)
    _assert_cooldown(higher, 900, "-210.00", "200.00")
    assert Decimal(higher.decisions[0].details["previous_tier"]) == 100
    assert higher.state_patch == {ORDER: Decimal("200.00")}


def test_partial_recovery_does_not_refire_the_same_tier() -> None:
    world = _world()
    memory = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-120", order_id=ORDER)).state_patch
    back = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="50", order_id=ORDER), memory)
    assert back.decisions == () and not back.has_patch
    again = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-60", order_id=ORDER), memory)
    assert again.decisions == ()  # −130: the 100 tier already fired for this order


def test_other_orders_are_judged_on_their_own() -> None:
    world = _world()
    memory = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-150", order_id=1)).state_patch
    other = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-100", order_id=2), memory)
    _assert_cooldown(other, 300, "-100.00", "100.00")
    assert other.state_patch == {1: Decimal("100.00"), 2: Decimal("100.00")}


def test_memory_of_orders_the_tracker_no_longer_holds_is_dropped() -> None:
    world = _world()
    memory = {424242: Decimal("300.00")}  # an order of an earlier day: MOD-005 holds no P&L for it
    result = _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-10", order_id=ORDER), memory)
    assert result.decisions == ()
    assert result.has_patch and result.state_patch == {}


def test_opening_and_voided_fills_never_breach() -> None:
    world = _world()
    opening = world.fill(MNQ, "buy", 1, 21000, pnl=None, fees="500", order_id=ORDER)
    assert _evaluate(world, opening).decisions == ()
    closing = world.fill(MNQ, "sell", 1, 21000, pnl="-150", order_id=7, trade_id=70)
    assert _evaluate(world, closing).decisions != ()
    voided = world.fill(MNQ, "sell", 1, 21000, pnl="-150", order_id=7, trade_id=70, voided=True)
    assert voided.order_pnl == 0
    assert _evaluate(world, voided).decisions == ()


def test_disabled_rule_and_other_events_return_nothing() -> None:
    world = _world()
    world.configure("cooldown_after_loss", enabled=False)
    assert _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-999")) == RuleResult()
    world.configure("cooldown_after_loss", enabled=True)
    assert RULE.evaluate(world.view(), Sweep()) == RuleResult()


def test_single_tier_configuration_and_inclusive_boundary() -> None:
    world = _world()
    world.configure("cooldown_after_loss", loss_thresholds=[{"loss_amount": 50.25, "cooldown_duration": 60}])
    assert _evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-50.24")).decisions == ()
    _assert_cooldown(_evaluate(world, world.fill(MNQ, "sell", 1, 21000, pnl="-50.25")), 60, "-50.25", "50.25")
