"""RULE-004 Daily Unrealized Loss: worked examples, total scope with and without lockout, stale and
skipped quotes in `details`, mark without a last price, disabled and routing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.rules.base import AccountView, RuleResult
from simple_risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from simple_risk_manager.rules.events import Sweep

from .world import ES, MES, MNQ, NOW, World, summary

RULE = DailyUnrealizedLossRule()
Held = list[tuple[str, str, int, str]]
Quotes = list[tuple[str, str]]


def _world(held: Held, **config: Any) -> World:
    world = World()
    world.configure("daily_unrealized_loss", **config)
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
TWO_QUOTES = [(MNQ, "20900"), (ES, "5792")]

EXAMPLES = [
    pytest.param({"scope": "per_position", "loss_limit": 300}, [(MNQ, "long", 2, "21000.00")],
                 [(MNQ, "20925.25")], [], id="RULE-004#1"),
    pytest.param({"scope": "per_position", "loss_limit": 300}, [(MNQ, "long", 2, "21000.00")],
                 [(MNQ, "20925.00")], [(A.CLOSE_POSITION, MNQ, None)], id="RULE-004#2"),
    pytest.param({"scope": "per_position", "loss_limit": 300}, TWO, TWO_QUOTES,
                 [(A.CLOSE_POSITION, ES, None)], id="RULE-004#3"),
    pytest.param({"scope": "total", "loss_limit": 300, "lockout": False}, TWO, TWO_QUOTES,
                 [(A.CLOSE_ALL_POSITIONS, None, None)], id="RULE-004#4"),
]


@pytest.mark.parametrize(("config", "held", "quotes", "expected"), EXAMPLES)
def test_worked_examples_on_quotes(config: dict[str, Any], held: Held, quotes: Quotes,
                                   expected: list[Any]) -> None:
    world = _world(held, **config)
    result = _on_quotes(world, quotes)
    assert summary(result) == expected
    for d in result.decisions:
        assert (d.rule_id, d.created_at, d.lockout_kind, d.lockout_until) == ("RULE-004", NOW, None, None)


@pytest.mark.parametrize("event", ["position", "sweep"], ids=["RULE-004#5", "RULE-004#5-sweep"])
def test_example_5_position_without_a_quote_is_skipped(event: str) -> None:
    world = _world([], scope="per_position")
    changed = world.open_position(ES, "long", 1, 5800)
    assert RULE.evaluate(world.view(), changed if event == "position" else Sweep()).decisions == ()


def test_example_1_and_2_values_in_reason_and_details() -> None:
    world = _world([(MNQ, "long", 2, "21000.00")], loss_limit=300)
    assert world.view().upnl(world.view().positions()[0]) is None
    world.quote(MNQ, last="20925.25")
    assert str(world.view().account_upnl().total) == "-299.00"
    (d,) = RULE.evaluate(world.view(), world.quote(MNQ, last="20925.00")).decisions
    assert d.reason == f"unrealized loss -300.00 on {MNQ} reached loss_limit 300.00"
    assert d.details == {"upnl": "-300.00", "loss_limit": "300", "stale_quote": False, "skipped": []}


def test_example_3_values() -> None:
    world = _world(TWO, loss_limit=300)
    world.quote(MNQ, last="20900")
    (d,) = RULE.evaluate(world.view(), world.quote(ES, last="5792")).decisions
    assert d.details["upnl"] == "-400.00"
    assert "-400.00" in d.reason


def test_total_with_lockout_locks_until_the_next_reset() -> None:
    world = _world(TWO, scope="total", loss_limit=300, lockout=True)
    result = _on_quotes(world, TWO_QUOTES)
    (d,) = result.decisions
    assert (d.action, d.lockout_kind, d.lockout_until) == (A.CLOSE_ALL_AND_LOCKOUT, LockoutKind.RESET.value,
                                                           world.next_reset_at)
    assert d.reason == "total unrealized loss -600.00 reached loss_limit 300.00: locked until the daily reset"
    assert {c: Decimal(v) for c, v in d.details["per_position"].items()} == {ES: -400, MNQ: -200}


def test_total_leaves_out_positions_without_a_quote_and_names_them() -> None:
    world = _world([*TWO, (MES, "long", 1, "5800")], scope="total", loss_limit=300)
    world.quote(MNQ, last="20900")
    (d,) = RULE.evaluate(world.view(), world.quote(ES, last="5792")).decisions
    assert d.details["skipped"] == [MES]
    assert d.details["total_upnl"] == "-600.00"
    assert "(1 position(s) without quote or contract data not counted)" in d.reason


def test_total_below_the_limit_until_the_missing_quote_arrives() -> None:
    world = _world(TWO, scope="total", loss_limit=300)
    assert RULE.evaluate(world.view(), world.quote(MNQ, last="20900")).decisions == ()  # ES skipped: −200
    assert summary(RULE.evaluate(world.view(), world.quote(ES, last="5792"))) == [
        (A.CLOSE_ALL_POSITIONS, None, None)]


def test_stale_quote_is_used_and_flagged() -> None:
    world = _world([(MNQ, "long", 2, "21000")], loss_limit=300)
    (d,) = RULE.evaluate(world.view(), world.quote(MNQ, last="20900", age=30)).decisions
    assert d.details["stale_quote"] is True
    assert d.reason.endswith("(stale quote)")
    world = _world(TWO, scope="total", loss_limit=300)
    world.quote(MNQ, last="20900", age=11)
    (d,) = RULE.evaluate(world.view(), world.quote(ES, last="5792")).decisions
    assert d.details["stale"] == [MNQ]


def test_per_position_decision_names_positions_it_could_not_value() -> None:
    world = _world([(MNQ, "long", 2, "21000"), (MES, "long", 1, "5800")], loss_limit=300)
    (d,) = RULE.evaluate(world.view(), world.quote(MNQ, last="20900")).decisions
    assert d.details["skipped"] == [MES]


def test_position_without_contract_metadata_is_skipped() -> None:
    gold = "CON.F.US.GCE.Z25"
    world = _world([(gold, "long", 5, "4000")], loss_limit=300)
    assert RULE.evaluate(world.view(), world.quote(gold, last="3000")).decisions == ()


def test_mark_without_last_uses_bid_for_long_and_ask_for_short() -> None:
    world = _world([(MNQ, "long", 2, "21000"), (ES, "short", 1, "5800")], loss_limit=300)
    assert RULE.evaluate(world.view(), world.quote(MNQ, bid="20925.25", ask="20000")).decisions == ()
    assert summary(RULE.evaluate(world.view(), world.quote(MNQ, bid="20925", ask="21000"))) == [
        (A.CLOSE_POSITION, MNQ, None)]
    assert RULE.evaluate(world.view(), world.quote(ES, bid="5900", ask="5805.75")).decisions == ()
    assert summary(RULE.evaluate(world.view(), world.quote(ES, bid="5700", ask="5806"))) == [
        (A.CLOSE_POSITION, ES, None)]


def test_short_position_loses_when_the_price_rises() -> None:
    world = _world([(ES, "short", 1, "5800")], loss_limit=300)
    assert summary(RULE.evaluate(world.view(), world.quote(ES, last="5824"))) == [
        (A.CLOSE_POSITION, ES, None)]


def test_quote_event_checks_only_its_contract_sweep_checks_all() -> None:
    world = _world(TWO, loss_limit=300)
    world.quote(ES, last="5792")
    assert RULE.evaluate(world.view(), world.quote(MNQ, last="21000")).decisions == ()
    assert summary(RULE.evaluate(world.view(), Sweep())) == [(A.CLOSE_POSITION, ES, None)]
    assert summary(RULE.evaluate(world.view(), world.open_position(ES, "long", 1, "5800"))) == [
        (A.CLOSE_POSITION, ES, None)]


def test_disabled_rule_does_nothing() -> None:
    world = _world([(MNQ, "long", 2, "21000")], enabled=False)
    assert RULE.evaluate(world.view(), world.quote(MNQ, last="10000")).decisions == ()
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()


def test_events_it_is_not_routed_do_nothing() -> None:
    world = _world([(MNQ, "long", 2, "21000")])
    world.quote(MNQ, last="10000")
    view: AccountView = world.view()
    assert RULE.evaluate(view, world.fill(MNQ, "buy", 1, 21000)).decisions == ()
    assert RULE.evaluate(view, world.order(MNQ, "sell", 1, limit_price=22000)).decisions == ()
