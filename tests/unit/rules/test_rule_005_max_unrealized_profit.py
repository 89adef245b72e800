"""RULE-005 Max Unrealized Profit: worked examples, total scope with and without lockout, stale and
skipped quotes in `details`, disabled and routing."""

from __future__ import annotations

from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import Sweep
from simple_risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule

from .world import ES, MES, MNQ, NOW, World, summary

RULE = MaxUnrealizedProfitRule()
Held = list[tuple[str, str, int, str]]
Quotes = list[tuple[str, str]]


def _world(held: Held, **config: Any) -> World:
    world = World()
    world.configure("max_unrealized_profit", **config)
    for contract, side, size, avg in held:
        world.open_position(contract, side, size, avg)
    return world


def _on_quotes(world: World, quotes: Quotes) -> RuleResult:
    """Each quote applied, then evaluated at once (as the engine does); decisions concatenated."""
    decisions = []
    for contract, price in quotes:
        decisions.extend(RULE.evaluate(world.view(), world.quote(contract, last=price)).decisions)
    return RuleResult(decisions=tuple(decisions))


TWO = [(MNQ, "long", 1, "21000"), (ES, "long", 1, "5800")]
TWO_QUOTES = [(MNQ, "21200"), (ES, "5812")]

EXAMPLES = [
    pytest.param({"scope": "per_position", "profit_target": 1000}, [(MNQ, "long", 2, "21000")],
                 [(MNQ, "21249.75")], [], None, id="RULE-005#1"),
    pytest.param({"scope": "per_position", "profit_target": 1000}, [(MNQ, "long", 2, "21000")],
                 [(MNQ, "21250.00")], [(A.CLOSE_POSITION, MNQ, None)], None, id="RULE-005#2"),
    pytest.param({"scope": "per_position", "profit_target": 1000}, [(ES, "short", 1, "5800")],
                 [(ES, "5780.00")], [(A.CLOSE_POSITION, ES, None)], None, id="RULE-005#3"),
    pytest.param({"scope": "total", "profit_target": 1000, "lockout": True}, TWO, TWO_QUOTES,
                 [(A.CLOSE_ALL_AND_LOCKOUT, None, None)], LockoutKind.RESET, id="RULE-005#4"),
]


@pytest.mark.parametrize(("config", "held", "quotes", "expected", "lockout"), EXAMPLES)
def test_worked_examples(config: dict[str, Any], held: Held, quotes: Quotes, expected: list[Any],
                         lockout: LockoutKind | None) -> None:
    world = _world(held, **config)
    result = _on_quotes(world, quotes)
    assert summary(result) == expected
    for d in result.decisions:
        assert (d.rule_id, d.created_at) == ("RULE-005", NOW)
        assert "reached profit_target 1000.00" in d.reason
        if lockout is None:
            assert (d.lockout_kind, d.lockout_until) == (None, None)
        else:
            assert (d.lockout_kind, d.lockout_until) == (lockout.value, world.next_reset_at)


def test_example_2_reason_and_details() -> None:
    world = _world([(MNQ, "long", 2, "21000")], profit_target=1000)
    (d,) = RULE.evaluate(world.view(), world.quote(MNQ, last="21250.00")).decisions
    assert d.reason == f"unrealized profit 1000.00 on {MNQ} reached profit_target 1000.00"
    assert d.details == {"upnl": "1000.00", "profit_target": "1000", "stale_quote": False, "skipped": []}


def test_example_4_reason_names_the_total() -> None:
    world = _world(TWO, scope="total", profit_target=1000, lockout=True)
    (d,) = _on_quotes(world, TWO_QUOTES).decisions
    assert d.reason == ("total unrealized profit 1000.00 reached profit_target 1000.00: "
                        "locked until the daily reset")


def test_total_without_lockout_flattens_only() -> None:
    world = _world(TWO, scope="total", profit_target=1000)
    result = _on_quotes(world, TWO_QUOTES)
    assert summary(result) == [(A.CLOSE_ALL_POSITIONS, None, None)]
    assert result.decisions[0].lockout_kind is None


def test_total_one_cent_short_of_the_target_is_no_breach() -> None:
    world = _world(TWO, scope="total", profit_target=1000.01)
    assert _on_quotes(world, TWO_QUOTES).decisions == ()


def test_total_skips_and_flags_in_details() -> None:
    world = _world([*TWO, (MES, "long", 1, "5800")], scope="total", profit_target=1000)
    world.quote(MNQ, last="21200", age=60)
    (d,) = RULE.evaluate(world.view(), world.quote(ES, last="5812")).decisions
    assert (d.details["skipped"], d.details["stale"]) == ([MES], [MNQ])


def test_stale_quote_per_position_is_used_and_flagged() -> None:
    world = _world([(MNQ, "long", 2, "21000")], profit_target=1000)
    (d,) = RULE.evaluate(world.view(), world.quote(MNQ, last="21300", age=10.5)).decisions
    assert d.details["stale_quote"] is True


def test_a_loss_never_triggers_the_profit_rule() -> None:
    world = _world([(MNQ, "long", 2, "21000")], profit_target=1000)
    assert RULE.evaluate(world.view(), world.quote(MNQ, last="15000")).decisions == ()


def test_sweep_checks_every_position() -> None:
    world = _world([(MNQ, "long", 2, "21000"), (ES, "short", 1, "5800")], profit_target=1000)
    world.quote(MNQ, last="21300")
    world.quote(ES, last="5700")
    assert summary(RULE.evaluate(world.view(), Sweep())) == [(A.CLOSE_POSITION, ES, None),
                                                             (A.CLOSE_POSITION, MNQ, None)]


def test_disabled_rule_does_nothing() -> None:
    world = _world([(MNQ, "long", 2, "21000")], enabled=False)
    assert RULE.evaluate(world.view(), world.quote(MNQ, last="30000")).decisions == ()
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()


def test_events_it_is_not_routed_do_nothing() -> None:
    world = _world([(MNQ, "long", 2, "21000")])
    world.quote(MNQ, last="30000")
    assert RULE.evaluate(world.view(), world.fill(MNQ, "sell", 1, 30000)).decisions == ()
