"""RULE-001 Max Contracts: `rules.md` worked examples, reduce-to-limit follow-ups, disabled and routing."""

from __future__ import annotations

from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.rules.events import OrderChanged, PositionChanged, QuoteChanged, Sweep
from simple_risk_manager.rules.max_contracts import MaxContractsRule

from .world import ES, MES, MNQ, NOW, NQ, World, summary

RULE = MaxContractsRule()
Held = list[tuple[str, str, int]]


def _world(held: Held, **config: Any) -> World:
    world = World()
    world.configure("max_contracts", **config)
    for contract, side, size in held:
        world.open_position(contract, side, size, 100)
    return world


def _on_position(world: World, contract: str, side: str, size: int) -> PositionChanged:
    return world.open_position(contract, side, size, 100)


EXAMPLES = [
    pytest.param({"limit": 5, "count_type": "gross"}, [(MNQ, "long", 3)], (ES, "long", 2), [],
                 id="RULE-001#1"),
    pytest.param({"limit": 5, "count_type": "gross"}, [(MNQ, "long", 3)], (ES, "long", 3),
                 [(A.CLOSE_ALL_POSITIONS, None, None)], id="RULE-001#2"),
    pytest.param({"limit": 5, "count_type": "net"}, [(MNQ, "long", 4)], (ES, "short", 3), [],
                 id="RULE-001#3"),
    pytest.param({"limit": 3, "count_type": "gross", "enforcement": "reduce_to_limit"}, [(MNQ, "long", 2)],
                 (ES, "long", 3), [(A.REDUCE_TO_LIMIT, ES, 2)], id="RULE-001#4"),
]


@pytest.mark.parametrize(("config", "held", "event", "expected"), EXAMPLES)
def test_worked_examples(config: dict[str, Any], held: Held, event: tuple[str, str, int],
                         expected: list[Any]) -> None:
    world = _world(held, **config)
    result = RULE.evaluate(world.view(), _on_position(world, *event))
    assert summary(result) == expected
    for d in result.decisions:
        assert (d.rule_id, d.account_id, d.created_at) == ("RULE-001", world.account_id, NOW)
        assert d.lockout_kind is None and d.lockout_until is None
        assert f"exceeds limit {config['limit']}" in d.reason


def test_example_2_reason_and_details_carry_the_count() -> None:
    world = _world([(MNQ, "long", 3)], limit=5)
    (d,) = RULE.evaluate(world.view(), _on_position(world, ES, "long", 3)).decisions
    assert d.reason == "gross contract count 6 exceeds limit 5"
    assert d.details == {"count": 6, "limit": 5, "count_type": "gross", "positions": {ES: 3, MNQ: 3}}


def test_example_3_gross_would_breach() -> None:
    world = _world([(MNQ, "long", 4)], limit=5, count_type="gross")
    assert summary(RULE.evaluate(world.view(), _on_position(world, ES, "short", 3))) == [
        (A.CLOSE_ALL_POSITIONS, None, None)]


def test_example_4_reason_names_the_reduction() -> None:
    world = _world([(MNQ, "long", 2)], limit=3, enforcement="reduce_to_limit")
    (d,) = RULE.evaluate(world.view(), _on_position(world, ES, "long", 3)).decisions
    assert d.reason == f"gross contract count 5 exceeds limit 3: reduce {ES} by 2 (3 → 1)"


def test_reduce_takes_the_trigger_first_then_the_largest_others_ties_by_contract_id() -> None:
    world = _world([(MES, "long", 3), (MNQ, "long", 2), (ES, "long", 2)], limit=3,
                   enforcement="reduce_to_limit")
    result = RULE.evaluate(world.view(), _on_position(world, NQ, "long", 1))
    # count 8, excess 5: NQ 1 (trigger, all of it), MES 3 (largest), then ES before MNQ (same size, by id)
    assert summary(result) == [(A.REDUCE_TO_LIMIT, NQ, 1), (A.REDUCE_TO_LIMIT, MES, 3),
                               (A.REDUCE_TO_LIMIT, ES, 1)]


def test_net_trigger_on_the_minority_side_is_left_alone() -> None:
    world = _world([(MNQ, "long", 8), (ES, "short", 4)], limit=5, count_type="net",
                   enforcement="reduce_to_limit")
    result = RULE.evaluate(world.view(), _on_position(world, ES, "short", 2))  # net |8 − 2| = 6
    assert summary(result) == [(A.REDUCE_TO_LIMIT, MNQ, 1)]


def test_net_reduces_the_contributing_side_largest_first() -> None:
    world = _world([(MNQ, "long", 4), (MES, "long", 4)], limit=5, count_type="net",
                   enforcement="reduce_to_limit")
    result = RULE.evaluate(world.view(), _on_position(world, ES, "short", 1))  # net 7, excess 2
    assert summary(result) == [(A.REDUCE_TO_LIMIT, MES, 2)]


def test_net_short_majority_reduces_the_shorts() -> None:
    world = _world([(ES, "short", 8)], limit=5, count_type="net", enforcement="reduce_to_limit")
    result = RULE.evaluate(world.view(), _on_position(world, MNQ, "long", 1))  # net |1 − 8| = 7
    assert summary(result) == [(A.REDUCE_TO_LIMIT, ES, 2)]


def test_net_trigger_on_the_majority_side_is_reduced_first() -> None:
    world = _world([(MNQ, "long", 3), (ES, "short", 1)], limit=5, count_type="net",
                   enforcement="reduce_to_limit")
    result = RULE.evaluate(world.view(), _on_position(world, MES, "long", 4))  # net 6
    assert summary(result) == [(A.REDUCE_TO_LIMIT, MES, 1)]


def test_sweep_reduces_largest_first_without_a_trigger() -> None:
    world = _world([(MNQ, "long", 2), (ES, "long", 4)], limit=3, enforcement="reduce_to_limit")
    assert summary(RULE.evaluate(world.view(), Sweep())) == [(A.REDUCE_TO_LIMIT, ES, 3)]


def test_sweep_with_close_all_flattens() -> None:
    world = _world([(MNQ, "long", 4), (ES, "long", 4)], limit=5)
    assert summary(RULE.evaluate(world.view(), Sweep())) == [(A.CLOSE_ALL_POSITIONS, None, None)]


def test_count_equal_to_the_limit_is_no_breach_one_more_is() -> None:
    world = _world([(MNQ, "long", 4)], limit=5)
    assert summary(RULE.evaluate(world.view(), _on_position(world, ES, "long", 1))) == []
    assert summary(RULE.evaluate(world.view(), _on_position(world, ES, "long", 2))) == [
        (A.CLOSE_ALL_POSITIONS, None, None)]


def test_any_position_event_checks_the_count_even_a_close() -> None:
    world = _world([(MNQ, "long", 4), (ES, "long", 3), (MES, "long", 2)], limit=5)
    assert summary(RULE.evaluate(world.view(), world.close_position(MES))) == [
        (A.CLOSE_ALL_POSITIONS, None, None)]


def test_disabled_rule_does_nothing() -> None:
    world = _world([(MNQ, "long", 30)], limit=5, enabled=False)
    assert RULE.evaluate(world.view(), _on_position(world, ES, "long", 30)).decisions == ()
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()


def test_events_it_is_not_routed_do_nothing() -> None:
    world = _world([(MNQ, "long", 30)], limit=5)
    assert RULE.evaluate(world.view(), world.quote(MNQ, last=100)).decisions == ()
    order = world.order(MNQ, "buy", 1, limit_price=99)
    assert isinstance(order, OrderChanged)
    assert RULE.evaluate(world.view(), order).decisions == ()
    assert RULE.evaluate(world.view(), QuoteChanged(MNQ)).decisions == ()
