"""RULE-011 Symbol Blocks: worked examples, aliases, own orders, Sweep with and without close_existing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import OrderStatus, OrderType
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import QuoteChanged, RuleEvent, Sweep
from simple_risk_manager.rules.symbol_blocks import SymbolBlocksRule

from .world import ES, MES, MNQ, NOW, RTY, World

RULE = SymbolBlocksRule()
RTY_H26 = "CON.F.US.RTY.H26"


def _world(blocked: list[str] | None = None, **params: object) -> World:
    world = World()
    world.configure("symbol_blocks", blocked_symbols=blocked if blocked is not None else ["RTY"], **params)
    return world


def _evaluate(world: World, event: RuleEvent) -> RuleResult:
    return RULE.evaluate(world.view(), event)


def _example_1(world: World) -> RuleEvent:
    return world.order(RTY, "buy", 1, type=OrderType.LIMIT, limit_price=2450, order_id=11)


def _example_2(world: World) -> RuleEvent:
    return world.open_position(RTY, "long", 1, 2450)  # the market buy already filled


def _example_3(world: World) -> RuleEvent:
    world.configure("symbol_blocks", blocked_symbols=["ES"])
    return world.open_position(MES, "long", 1, 5800)


def _example_4(world: World) -> RuleEvent:
    world.open_position(RTY, "long", 1, 2450)
    world.open_position(RTY_H26, "long", 1, 2470)
    return Sweep()


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param(_example_1, [(A.REJECT_ORDER, RTY, 11)], id="RULE-011#1"),
        pytest.param(_example_2, [(A.CLOSE_POSITION, RTY, None)], id="RULE-011#2"),
        pytest.param(_example_3, [], id="RULE-011#3"),
        pytest.param(_example_4, [(A.CLOSE_POSITION, RTY_H26, None), (A.CLOSE_POSITION, RTY, None)],
                     id="RULE-011#4"),
    ],
)
def test_worked_examples(given: Callable[[World], RuleEvent],
                         expected: list[tuple[A, str, int | None]]) -> None:
    world = _world()
    result = _evaluate(world, given(world))
    assert [(d.action, d.contract_id, d.order_id) for d in result.decisions] == expected
    for d in result.decisions:
        assert (d.rule_id, d.created_at, d.lockout_kind, d.lockout_until) == ("RULE-011", NOW, None, None)
        assert d.reason.startswith("RTY is a blocked symbol: ")


def test_reasons_name_the_order_and_the_position() -> None:
    world = _world()
    (reject,) = _evaluate(world, _example_1(world)).decisions
    assert reject.reason == f"RTY is a blocked symbol: cancel working buy order 11 size 1 in {RTY}"
    (close,) = _evaluate(world, world.open_position(RTY, "short", 2, 2450)).decisions
    assert close.reason == f"RTY is a blocked symbol: close {RTY} short 2"
    assert close.details == {"root": "RTY", "contract_id": RTY, "size": 2}


def test_aliased_roots_match_the_configured_symbol() -> None:
    world = _world(["ES"])
    result = _evaluate(world, world.open_position(ES, "long", 1, 5800))  # CON.F.US.EP.Z25 → ES
    assert [d.contract_id for d in result.decisions] == [ES]


def test_own_and_finished_orders_and_closing_positions_never_breach() -> None:
    world = _world()
    own = world.order(RTY, "sell", 1, type=OrderType.STOP, stop_price=2400, custom_tag="RM-1-7")
    assert _evaluate(world, own) == RuleResult()
    cancelled = world.order(RTY, "buy", 1, status=OrderStatus.CANCELLED, limit_price=2450)
    assert _evaluate(world, cancelled) == RuleResult()
    world.open_position(RTY, "long", 1, 2450)
    assert _evaluate(world, world.close_position(RTY)) == RuleResult()


def test_sweep_cancels_blocked_working_orders_even_without_close_existing() -> None:
    world = _world(close_existing=False)
    world.open_position(RTY, "long", 1, 2450)
    world.order(RTY, "buy", 1, limit_price=2400, order_id=21)
    world.order(MNQ, "buy", 1, limit_price=20900, order_id=22)
    world.order(RTY, "sell", 1, type=OrderType.STOP, stop_price=2400, order_id=23, custom_tag="RM-1-1")
    assert [(d.action, d.order_id) for d in _evaluate(world, Sweep()).decisions] == [(A.REJECT_ORDER, 21)]
    world.configure("symbol_blocks", close_existing=True)
    assert [(d.action, d.contract_id, d.order_id) for d in _evaluate(world, Sweep()).decisions] == [
        (A.CLOSE_POSITION, RTY, None), (A.REJECT_ORDER, RTY, 21)]


def test_unblocked_symbols_empty_list_disabled_rule_and_other_events() -> None:
    world = _world()
    assert _evaluate(world, world.open_position(MNQ, "long", 1, 21000)) == RuleResult()
    assert _evaluate(world, QuoteChanged(RTY)) == RuleResult()
    unblocked = _world([])
    assert _evaluate(unblocked, _example_2(unblocked)) == RuleResult()
    disabled = _world(enabled=False)
    assert _evaluate(disabled, _example_2(disabled)) == RuleResult()
    assert _evaluate(disabled, Sweep()) == RuleResult()
