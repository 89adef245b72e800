"""RULE-006 Trade Frequency Limit: worked examples, new orders only, longest cooldown wins,
"until_reset" lockout, cooldown disabled → ALERT, null limits, disabled and routing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import FillApplied, Sweep
from simple_risk_manager.rules.trade_frequency_limit import TradeFrequencyLimitRule

from .world import MNQ, World, chicago

RULE = TradeFrequencyLimitRule()
T0 = chicago(2025, 11, 24, 9)  # Monday 09:00:00 CT; the trading day began Sunday 17:00 CT


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _world(**config: Any) -> World:
    world = World(now=T0)
    world.configure("trade_frequency_limit", **config)
    return world


def _fill_at(world: World, at: datetime, *, order_id: int | None = None) -> FillApplied:
    """A fill stamped `at` on the gateway clock and processed at the same instant."""
    world.now = at
    return world.fill(MNQ, "buy", 1, 21000, at=at, order_id=order_id)


def _on_fill(world: World, at: datetime) -> RuleResult:
    """A new order's fill at `at`, evaluated on the view after it (the view's `now` is the fill's)."""
    event = _fill_at(world, at)
    return RULE.evaluate(world.view(), event)


def _orders(world: World, times: list[datetime]) -> None:
    for at in times:
        _fill_at(world, at)


def _example_4_history() -> list[datetime]:
    """7 orders between 08:10 and 08:58, then 3 in the last minute: 10 in the last 50 minutes."""
    return [s(-3000 + 420 * i) for i in range(7)] + [s(0), s(10), s(20)]


def _example_5_history() -> list[datetime]:
    """50 orders 20 minutes apart from Sunday 17:05 CT: never more than 3 in any hour."""
    start = chicago(2025, 11, 23, 17, 5)
    return [start + timedelta(minutes=20 * i) for i in range(50)]


EXAMPLES = [
    pytest.param([s(0), s(10), s(20)], s(30), A.COOLDOWN, s(90), id="RULE-006#1"),
    pytest.param([s(0), s(10), s(20)], s(70), None, None, id="RULE-006#2"),
    pytest.param(_example_4_history(), s(30), A.COOLDOWN, s(30 + 1800), id="RULE-006#4"),
    pytest.param(_example_5_history(), chicago(2025, 11, 24, 11), A.CLOSE_ALL_AND_LOCKOUT,
                 chicago(2025, 11, 24, 17), id="RULE-006#5"),
]


@pytest.mark.parametrize(("history", "at", "action", "until"), EXAMPLES)
def test_worked_examples(history: list[datetime], at: datetime, action: A | None,
                         until: datetime | None) -> None:
    world = _world(limits={"per_minute": 3, "per_hour": 10, "per_session": 50})
    _orders(world, history)
    result = _on_fill(world, at)
    if action is None:
        assert result.decisions == ()
        return
    (d,) = result.decisions
    kind = LockoutKind.DURATION if action is A.COOLDOWN else LockoutKind.RESET
    assert (d.action, d.rule_id, d.created_at) == (action, "RULE-006", at)
    assert (d.lockout_kind, d.lockout_until) == (kind.value, until)


def test_example_1_reason() -> None:
    world = _world()
    _orders(world, [s(0), s(10), s(20)])
    (d,) = _on_fill(world, s(30)).decisions
    assert d.reason == "4 trades in the last minute exceed limit 3: cooldown 60 s"
    assert d.details["counts"] == {"minute": 4, "hour": 4, "session": 4}
    assert d.details["cooldown"] == 60


def test_example_3_partial_fills_of_the_breaching_order_fire_once() -> None:
    world = _world()
    _orders(world, [s(0), s(10), s(20)])
    parts, results = [], []
    for at in (s(30.1), s(30.2), s(30.3)):
        parts.append(_fill_at(world, at, order_id=777))
        results.append(RULE.evaluate(world.view(), parts[-1]))
    (first,) = results[0].decisions
    assert (first.action, first.lockout_until) == (A.COOLDOWN, s(30.1) + timedelta(seconds=60))
    assert [r.decisions for r in results[1:]] == [(), ()]
    assert parts[2].counts.minute == 4


def test_example_4_reason_names_both_windows() -> None:
    world = _world()
    _orders(world, _example_4_history())
    (d,) = _on_fill(world, s(30)).decisions
    assert d.reason == ("4 trades in the last minute exceed limit 3; 11 trades in the last hour exceed "
                        "limit 10: cooldown 1800 s")
    assert d.details["breached"] == ["in the last minute", "in the last hour"]


def test_example_5_reason() -> None:
    world = _world()
    _orders(world, _example_5_history())
    (d,) = _on_fill(world, chicago(2025, 11, 24, 11)).decisions
    assert d.reason == "51 trades this trading day exceed limit 50: locked until the daily reset"


def test_longest_cooldown_wins_whichever_window_it_belongs_to() -> None:
    world = _world(cooldown_on_breach={"per_minute_breach": 900, "per_hour_breach": 120},
                   limits={"per_minute": 1, "per_hour": 1})
    _orders(world, [s(0)])
    (d,) = _on_fill(world, s(5)).decisions
    assert (d.action, d.lockout_until) == (A.COOLDOWN, s(5 + 900))


def test_session_cooldown_in_seconds_is_a_cooldown() -> None:
    world = _world(limits={"per_minute": None, "per_hour": None, "per_session": 2},
                   cooldown_on_breach={"per_session_breach": 3600})
    _orders(world, [s(0), s(100)])
    (d,) = _on_fill(world, s(200)).decisions
    assert (d.action, d.lockout_kind, d.lockout_until) == (A.COOLDOWN, "duration", s(3800))


def test_until_reset_wins_over_a_shorter_cooldown() -> None:
    world = _world(limits={"per_minute": 1, "per_hour": None, "per_session": 1})
    _orders(world, [s(0)])
    (d,) = _on_fill(world, s(5)).decisions
    assert (d.action, d.lockout_until) == (A.CLOSE_ALL_AND_LOCKOUT, world.next_reset_at)


def test_a_cooldown_that_outlasts_the_reset_beats_until_reset() -> None:
    late = chicago(2025, 11, 24, 16, 30)  # reset at 17:00, the minute cooldown lasts one hour
    world = _world(limits={"per_minute": 1, "per_hour": None, "per_session": 1},
                   cooldown_on_breach={"per_minute_breach": 3600})
    _orders(world, [late])
    (d,) = _on_fill(world, late + timedelta(seconds=5)).decisions
    assert (d.action, d.lockout_until) == (A.COOLDOWN, late + timedelta(seconds=3605))


def test_cooldown_runs_from_processing_time_not_fill_time() -> None:
    world = _world()
    _orders(world, [s(0), s(10), s(20)])
    event = _fill_at(world, s(30))
    world.now = s(35)
    (d,) = RULE.evaluate(world.view(), event).decisions
    assert (d.created_at, d.lockout_until) == (s(35), s(95))


def test_cooldown_disabled_raises_an_alert_only() -> None:
    world = _world(cooldown_on_breach={"enabled": False})
    _orders(world, [s(0), s(10), s(20)])
    (d,) = _on_fill(world, s(30)).decisions
    assert (d.action, d.lockout_kind, d.lockout_until) == (A.ALERT, None, None)
    assert d.reason == "4 trades in the last minute exceed limit 3 (cooldown disabled: alert only)"


def test_count_equal_to_the_limit_is_no_breach() -> None:
    world = _world()
    _orders(world, [s(0), s(10)])
    assert _on_fill(world, s(20)).decisions == ()


def test_null_limit_is_not_checked() -> None:
    world = _world(limits={"per_minute": None})
    _orders(world, [s(0), s(10), s(20)])
    assert _on_fill(world, s(30)).decisions == ()


def test_voided_fill_does_nothing() -> None:
    world = _world()
    _orders(world, [s(0), s(10), s(20)])
    world.now = s(30)
    voided = world.fill(MNQ, "buy", 1, 21000, at=s(30), voided=True)
    assert not voided.new_order
    assert RULE.evaluate(world.view(), voided).decisions == ()


def test_disabled_rule_does_nothing() -> None:
    world = _world(enabled=False)
    _orders(world, [s(0), s(10), s(20)])
    assert _on_fill(world, s(30)).decisions == ()


def test_events_it_is_not_routed_do_nothing() -> None:
    world = _world(limits={"per_minute": 1})
    _orders(world, [s(0), s(1), s(2)])
    assert RULE.evaluate(world.view(), Sweep()).decisions == ()
    assert RULE.evaluate(world.view(), world.open_position(MNQ, "long", 3, 21000)).decisions == ()


def test_a_cooldown_ending_exactly_at_the_reset_gives_way_to_the_reset_lockout() -> None:
    world = _world(limits={"per_minute": 1, "per_hour": None, "per_session": 1},
                   cooldown_on_breach={"per_minute_breach": 60})
    _orders(world, [chicago(2025, 11, 24, 16, 58, 50)])
    (d,) = _on_fill(world, chicago(2025, 11, 24, 16, 59)).decisions
    assert (d.action, d.lockout_kind, d.lockout_until) == (A.CLOSE_ALL_AND_LOCKOUT, "reset",
                                                           chicago(2025, 11, 24, 17))
