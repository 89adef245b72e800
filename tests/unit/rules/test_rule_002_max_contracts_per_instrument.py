"""RULE-002 Max Contracts Per Instrument: worked examples, roll reductions, close_all, block, Sweep."""

from __future__ import annotations

from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.rules.events import PositionChanged, Sweep
from simple_risk_manager.rules.max_contracts_per_instrument import MaxContractsPerInstrumentRule

from .world import ES, M2K, MES, MNQ, MNQ_H26, NOW, RTY, World, summary

RULE = MaxContractsPerInstrumentRule()
MNQ_M26 = "CON.F.US.MNQ.M26"
Held = list[tuple[str, str, int]]


def _world(held: Held, **config: Any) -> World:
    world = World()
    world.configure("max_contracts_per_instrument", **config)
    for contract, side, size in held:
        world.open_position(contract, side, size, 100)
    return world


def _on_position(world: World, contract: str, side: str, size: int) -> PositionChanged:
    return world.open_position(contract, side, size, 100)


EXAMPLES = [
    pytest.param({"limits": {"MNQ": 2}, "enforcement": "reduce_to_limit"}, [], (MNQ, "long", 3),
                 [(A.REDUCE_TO_LIMIT, MNQ, 1)], id="RULE-002#1"),
    pytest.param({"limits": {"ES": 1}}, [], (ES, "long", 1), [], id="RULE-002#2"),
    pytest.param({"unknown_symbol_action": "block"}, [], (RTY, "long", 1),
                 [(A.CLOSE_POSITION, RTY, None)], id="RULE-002#3"),
    pytest.param({"limits": {"MNQ": 2}, "enforcement": "reduce_to_limit"}, [(MNQ, "long", 1)],
                 (MNQ_H26, "long", 2), [(A.REDUCE_TO_LIMIT, MNQ_H26, 1)], id="RULE-002#4"),
    pytest.param({"unknown_symbol_action": "allow_with_limit:1"}, [], (M2K, "short", 2),
                 [(A.REDUCE_TO_LIMIT, M2K, 1)], id="RULE-002#5"),
]


@pytest.mark.parametrize(("config", "held", "event", "expected"), EXAMPLES)
def test_worked_examples(config: dict[str, Any], held: Held, event: tuple[str, str, int],
                         expected: list[Any]) -> None:
    world = _world(held, **config)
    result = RULE.evaluate(world.view(), _on_position(world, *event))
    assert summary(result) == expected
    for d in result.decisions:
        assert (d.rule_id, d.account_id, d.created_at) == ("RULE-002", world.account_id, NOW)
        assert d.lockout_kind is None and d.lockout_until is None


def test_reasons_carry_root_count_and_limit() -> None:
    world = _world([(MNQ, "long", 1)], limits={"MNQ": 2})
    (d,) = RULE.evaluate(world.view(), _on_position(world, MNQ_H26, "long", 2)).decisions
    assert d.reason == f"MNQ contract count 3 exceeds limit 2: reduce {MNQ_H26} by 1 (2 → 1)"
    assert d.details == {"root": "MNQ", "count": 3, "limit": 2, "listed": True,
                         "positions": {MNQ_H26: 2, MNQ: 1}}
    world = _world([], unknown_symbol_action="block")
    (d,) = RULE.evaluate(world.view(), _on_position(world, RTY, "long", 1)).decisions
    assert d.reason == f"RTY contract count 1 exceeds unknown_symbol_action block, limit 0: close {RTY}"


def test_example_2_alias_counts_against_the_exchange_root() -> None:
    world = _world([], limits={"ES": 1})
    assert summary(RULE.evaluate(world.view(), _on_position(world, ES, "long", 2))) == [
        (A.REDUCE_TO_LIMIT, ES, 1)]


def test_reduce_takes_the_trigger_then_other_expiries_largest_first() -> None:
    world = _world([(MNQ, "long", 1), (MNQ_M26, "long", 3)], limits={"MNQ": 2})
    result = RULE.evaluate(world.view(), _on_position(world, MNQ_H26, "long", 1))  # count 5, excess 3
    assert summary(result) == [(A.REDUCE_TO_LIMIT, MNQ_H26, 1), (A.REDUCE_TO_LIMIT, MNQ_M26, 2)]


def test_direction_does_not_matter_for_the_root_count() -> None:
    world = _world([(MNQ, "long", 2)], limits={"MNQ": 2})
    assert summary(RULE.evaluate(world.view(), _on_position(world, MNQ_H26, "short", 1))) == [
        (A.REDUCE_TO_LIMIT, MNQ_H26, 1)]


def test_close_all_closes_every_contract_of_that_root_only() -> None:
    world = _world([(MNQ, "long", 2), (MES, "long", 1)], limits={"MNQ": 2}, enforcement="close_all")
    result = RULE.evaluate(world.view(), _on_position(world, MNQ_H26, "long", 1))
    assert summary(result) == [(A.CLOSE_POSITION, MNQ_H26, None), (A.CLOSE_POSITION, MNQ, None)]


def test_allow_unlimited_never_breaches_an_unlisted_root() -> None:
    world = _world([], unknown_symbol_action="allow_unlimited")
    assert RULE.evaluate(world.view(), _on_position(world, RTY, "long", 500)).decisions == ()


def test_position_event_checks_only_its_own_root_sweep_checks_all() -> None:
    world = _world([(MNQ, "long", 4), (MES, "long", 5)], limits={"MNQ": 2, "MES": 3})
    assert RULE.evaluate(world.view(), _on_position(world, ES, "long", 1)).decisions == ()
    assert summary(RULE.evaluate(world.view(), Sweep())) == [(A.REDUCE_TO_LIMIT, MES, 2),
                                                             (A.REDUCE_TO_LIMIT, MNQ, 2)]


def test_count_equal_to_the_limit_is_no_breach() -> None:
    world = _world([(MNQ, "long", 1)], limits={"MNQ": 2})
    assert RULE.evaluate(world.view(), _on_position(world, MNQ_H26, "long", 1)).decisions == ()


def test_disabled_rule_does_nothing() -> None:
    world = _world([], enabled=False, unknown_symbol_action="block")
    assert RULE.evaluate(world.view(), _on_position(world, RTY, "long", 1)).decisions == ()
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()


def test_events_it_is_not_routed_do_nothing() -> None:
    world = _world([(RTY, "long", 3)], unknown_symbol_action="block")
    assert RULE.evaluate(world.view(), world.quote(RTY, last=100)).decisions == ()
    assert RULE.evaluate(world.view(), world.fill(RTY, "buy", 1, 100)).decisions == ()
