"""RULE-009 Session Block Outside Hours: worked examples, both modes, own orders, Sweep."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from simple_risk_manager.domain.enums import ClearedBy, LockoutKind, OrderStatus, OrderType
from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import FillApplied, RuleEvent, SessionBoundary, Sweep
from simple_risk_manager.rules.session_block_outside import SessionBlockOutsideRule

from .world import MNQ, World, chicago, summary

RULE = SessionBlockOutsideRule()
WED_1610 = chicago(2025, 10, 15, 16, 10)


def _world(now: datetime, **params: object) -> World:
    world = World(now=now)
    if params:
        world.configure("session_block_outside", **params)
    return world


def _evaluate(world: World, event: RuleEvent) -> RuleResult:
    return RULE.evaluate(world.view(), event)


def _assert_locked_until(result: RuleResult, now: datetime, until: datetime) -> None:
    (d,) = result.decisions
    assert (d.action, d.rule_id, d.created_at) == (A.CLOSE_ALL_AND_LOCKOUT, "RULE-009", now)
    assert (d.lockout_kind, d.lockout_until) == (LockoutKind.SESSION.value, until)
    assert "outside session 08:30–15:00 America/Chicago" in d.reason
    assert d.details["next_session_start"] == until.strftime("%Y-%m-%dT%H:%M:%S.000Z")


Expected = list[tuple[A, str | None, int | None, str | None, datetime | None]]
REJECT_MODE = {"lockout_outside_session": False, "close_positions_at_session_end": False}
OVERNIGHT = {"global_session": {"start": "17:00", "end": "16:00"}}


def _position(world: World) -> RuleEvent:
    return world.open_position(MNQ, "long", 1, 21000)


def _boundary(world: World) -> RuleEvent:
    world.open_position(MNQ, "long", 1, 21000)
    return SessionBoundary()


def _buy_limit(world: World) -> RuleEvent:
    return world.order(MNQ, "buy", 1, type=OrderType.LIMIT, limit_price=20900, order_id=61)


def _lock(until: datetime) -> Expected:
    return [(A.CLOSE_ALL_AND_LOCKOUT, None, None, LockoutKind.SESSION.value, until)]


@pytest.mark.parametrize(
    ("now", "params", "event", "expected"),
    [
        pytest.param(chicago(2025, 10, 15, 10), {}, _position, [], id="RULE-009#1"),
        pytest.param(chicago(2025, 10, 15, 15), {}, _boundary, _lock(chicago(2025, 10, 16, 8, 30)),
                     id="RULE-009#2"),
        pytest.param(chicago(2025, 10, 17, 15), {}, _boundary, _lock(chicago(2025, 10, 20, 8, 30)),
                     id="RULE-009#3"),
        pytest.param(chicago(2025, 12, 24, 15), {}, _boundary, _lock(chicago(2025, 12, 26, 8, 30)),
                     id="RULE-009#4"),
        pytest.param(chicago(2025, 10, 15, 8, 30), {}, _position, [], id="RULE-009#5-08:30:00.000"),
        pytest.param(chicago(2025, 10, 15, 14, 59, 59), {}, _position, [], id="RULE-009#5-14:59:59"),
        pytest.param(chicago(2025, 10, 15, 15), {}, _position, _lock(chicago(2025, 10, 16, 8, 30)),
                     id="RULE-009#5-15:00:00"),
        pytest.param(WED_1610, REJECT_MODE, _buy_limit, [(A.REJECT_ORDER, MNQ, 61, None, None)],
                     id="RULE-009#6"),
        pytest.param(chicago(2025, 10, 17, 16), OVERNIGHT, _boundary, _lock(chicago(2025, 10, 19, 17)),
                     id="RULE-009#7"),
    ],
)
def test_worked_examples(now: datetime, params: dict[str, object], event: Callable[[World], RuleEvent],
                         expected: Expected) -> None:
    world = _world(now, **params)
    result = _evaluate(world, event(world))
    assert [(d.action, d.contract_id, d.order_id, d.lockout_kind, d.lockout_until)
            for d in result.decisions] == expected
    for d in result.decisions:
        assert (d.rule_id, d.created_at) == ("RULE-009", now)
        assert f"outside session {world.session.start}–{world.session.end} America/Chicago" in d.reason
        if d.lockout_until is not None:
            assert d.details["next_session_start"] == d.lockout_until.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_example_2_reason_names_the_local_times() -> None:
    world = _world(chicago(2025, 10, 15, 15))
    (d,) = _evaluate(world, SessionBoundary()).decisions
    assert d.reason == ("session ended: Wed 2025-10-15 15:00:00 CDT is outside session 08:30–15:00 "
                        "America/Chicago: locked until the next session start Thu 2025-10-16 08:30:00 CDT")


def test_example_5_reason_of_a_position_outside_the_session() -> None:
    world = _world(chicago(2025, 10, 15, 15))
    (d,) = _evaluate(world, _position(world)).decisions
    assert d.reason.startswith(f"position {MNQ} size 1 outside session 08:30–15:00 America/Chicago at "
                               "Wed 2025-10-15 15:00:00 CDT")


def test_example_6_reason_of_a_rejected_order() -> None:
    world = _world(WED_1610, **REJECT_MODE)
    (d,) = _evaluate(world, _buy_limit(world)).decisions
    assert d.reason == (f"working order 61 in {MNQ} outside session 08:30–15:00 America/Chicago at "
                        "Wed 2025-10-15 16:10:00 CDT: cancel it")


def test_reject_mode_closes_only_the_position_outside_the_session() -> None:
    world = _world(WED_1610, **REJECT_MODE)
    assert summary(_evaluate(world, world.open_position(MNQ, "short", 2, 21000))) == [
        (A.CLOSE_POSITION, MNQ, None)]


def test_reject_mode_session_end_flattens_only_when_asked_and_only_exposure() -> None:
    now = chicago(2025, 10, 15, 15)
    world = _world(now, lockout_outside_session=False, close_positions_at_session_end=True)
    assert _evaluate(world, SessionBoundary()) == RuleResult()  # flat: nothing to close
    world.order(MNQ, "buy", 1, limit_price=20900)
    result = _evaluate(world, SessionBoundary())
    assert summary(result) == [(A.CLOSE_ALL_POSITIONS, None, None)]
    assert result.decisions[0].lockout_kind is None
    world.configure("session_block_outside", close_positions_at_session_end=False)
    world.open_position(MNQ, "long", 1, 21000)
    assert _evaluate(world, SessionBoundary()) == RuleResult()


def test_own_orders_and_finished_orders_never_breach() -> None:
    world = _world(WED_1610, **REJECT_MODE)
    own = world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price=20950, custom_tag="RM-1-1")
    assert _evaluate(world, own) == RuleResult()
    cancelled = world.order(MNQ, "buy", 1, status=OrderStatus.CANCELLED, limit_price=20900)
    assert _evaluate(world, cancelled) == RuleResult()


def test_closing_position_event_outside_the_session_is_no_breach() -> None:
    world = _world(WED_1610)
    world.open_position(MNQ, "long", 1, 21000)
    assert _evaluate(world, world.close_position(MNQ)) == RuleResult()


def test_sweep_outside_the_session_locks_and_inside_does_nothing() -> None:
    world = _world(chicago(2025, 10, 18, 11))  # Saturday
    result = _evaluate(world, Sweep())
    _assert_locked_until(result, world.now, chicago(2025, 10, 20, 8, 30))
    assert result.decisions[0].details["trigger"] == "reconcile check"
    assert _evaluate(_world(chicago(2025, 10, 15, 9)), Sweep()) == RuleResult()


def test_no_new_lockout_while_its_own_lockout_already_reaches_the_next_session() -> None:
    world = _world(chicago(2025, 10, 18, 11))
    world.lock("RULE-009", LockoutKind.SESSION, until=chicago(2025, 10, 20, 8, 30))
    assert _evaluate(world, Sweep()) == RuleResult()
    world.lockouts.unlock(world.account_id, "RULE-009", ClearedBy.ADMIN, world.now)
    world.lock("RULE-009", LockoutKind.SESSION, until=chicago(2025, 10, 19, 8, 30))  # shorter: extend it
    _assert_locked_until(_evaluate(world, Sweep()), world.now, chicago(2025, 10, 20, 8, 30))


def test_disabled_rule_and_other_events_return_nothing() -> None:
    world = _world(WED_1610, enabled=False)
    assert _evaluate(world, SessionBoundary()) == RuleResult()
    assert _evaluate(world, world.open_position(MNQ, "long", 1, 21000)) == RuleResult()
    world.configure("session_block_outside", enabled=True)
    fill: FillApplied = world.fill(MNQ, "buy", 1, 21000)
    assert _evaluate(world, fill) == RuleResult()
