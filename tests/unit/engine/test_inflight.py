"""MOD-001 in-flight registry: duplicates absorbed, own orders recognised, closes confirmed (ManualClock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain.enums import (
    EnforcementActionType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
)
from simple_risk_manager.domain.models import EnforcementAction, Order, Position
from simple_risk_manager.engine.inflight import InFlightRegistry, PositionWorkKind

T0 = datetime(2025, 10, 15, 15, 0, tzinfo=UTC)
ACCOUNT = 4411
MNQ, MES = "CON.F.US.MNQ.Z25", "CON.F.US.MES.Z25"
A = EnforcementActionType
CLOSE, REDUCE = PositionWorkKind.CLOSE, PositionWorkKind.REDUCE


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def registry(clock: ManualClock) -> InFlightRegistry:
    return InFlightRegistry(clock)


def position(size: int, contract: str = MNQ, kind: PositionType = PositionType.LONG) -> Position:
    return Position(id=1, account_id=ACCOUNT, contract_id=contract, type=kind, size=size,
                    average_price=Decimal("21000"), created_at=T0, updated_at=T0)


def order(side: OrderSide = OrderSide.SELL, size: int = 2, *, kind: OrderType = OrderType.MARKET,
          contract: str = MNQ, order_id: int = 900, tag: str | None = None,
          status: OrderStatus = OrderStatus.OPEN, filled: int = 0) -> Order:
    return Order(id=order_id, account_id=ACCOUNT, contract_id=contract, type=kind, side=side, size=size,
                 status=status, created_at=T0, updated_at=T0, custom_tag=tag, filled_size=filled)


def decision(action: EnforcementActionType, **fields: Any) -> EnforcementAction:
    return EnforcementAction(action=action, account_id=ACCOUNT, rule_id="RULE-004", reason="test",
                             created_at=T0, **fields)


# --- own orders (rules.md §5) ---------------------------------------------------------------------

def test_market_order_on_the_reducing_side_within_10_s_of_a_close_is_own(registry: InFlightRegistry,
                                                                          clock: ManualClock) -> None:
    registry.start_position_work(ACCOUNT, MNQ, CLOSE, position(2))
    close_order = order(OrderSide.SELL, 2)
    assert registry.is_own_order(close_order)
    clock.advance(10.0)
    assert registry.is_own_order(close_order), "10 s is still inside the window"
    clock.advance(0.001)
    assert not registry.is_own_order(close_order), "past 10 s it is the trader's"


@pytest.mark.parametrize(("name", "candidate"), [
    ("buying side adds to a long", order(OrderSide.BUY, 2)),
    ("larger than the size being closed", order(OrderSide.SELL, 3)),
    ("a limit order", order(OrderSide.SELL, 2, kind=OrderType.LIMIT)),
    ("another contract", order(OrderSide.SELL, 1, contract=MES)),
])
def test_orders_that_do_not_match_the_close_are_not_own(registry: InFlightRegistry, name: str,
                                                        candidate: Order) -> None:
    registry.start_position_work(ACCOUNT, MNQ, CLOSE, position(2))
    assert not registry.is_own_order(candidate), name


def test_a_short_is_closed_by_buying(registry: InFlightRegistry) -> None:
    registry.start_position_work(ACCOUNT, MNQ, CLOSE, position(3, kind=PositionType.SHORT))
    assert registry.is_own_order(order(OrderSide.BUY, 3))
    assert not registry.is_own_order(order(OrderSide.SELL, 1))


def test_a_reduction_recognises_only_its_own_size(registry: InFlightRegistry) -> None:
    registry.start_position_work(ACCOUNT, MNQ, REDUCE, position(5), size=2)
    assert registry.is_own_order(order(OrderSide.SELL, 2))
    assert not registry.is_own_order(order(OrderSide.SELL, 3))


def test_each_request_restarts_the_window_and_a_finished_close_recognises_nothing(
        registry: InFlightRegistry, clock: ManualClock) -> None:
    work = registry.start_position_work(ACCOUNT, MNQ, CLOSE, position(1))
    clock.advance(9)
    registry.touch(work)  # the retry's request
    clock.advance(9)
    assert registry.is_own_order(order(OrderSide.SELL, 1))
    registry.end_position_work(work, succeeded=True)
    assert not registry.is_own_order(order(OrderSide.SELL, 1))
    assert work.done.is_set() and work.succeeded


def test_rm_tag_is_own_at_any_time_but_is_no_close_order(registry: InFlightRegistry,
                                                         clock: ManualClock) -> None:
    """D-47: the daemon's stops never trigger the gate, yet a flatten cancels them (only close orders are
    spared)."""
    stop = order(OrderSide.SELL, 2, kind=OrderType.STOP, tag="RM-run1-7")
    clock.advance(3600)
    assert registry.is_own_order(stop)
    assert not registry.is_close_order(stop)
    assert not registry.is_own_order(order(OrderSide.SELL, 2, kind=OrderType.STOP, tag="rm-lowercase"))


def test_no_close_in_flight_means_no_own_market_order(registry: InFlightRegistry) -> None:
    assert not registry.is_own_order(order(OrderSide.SELL, 1))


# --- duplicates (modules.md MOD-001 "Duplicates") ----------------------------------------------------

Setup = Callable[[InFlightRegistry, ManualClock], object]


def _flatten(r: InFlightRegistry, _: ManualClock) -> None:
    r.start_flatten(ACCOUNT)


def _listed_flatten_closing_mes(r: InFlightRegistry, _: ManualClock) -> None:
    work = r.start_flatten(ACCOUNT)
    r.start_position_work(ACCOUNT, MES, CLOSE, position(1, MES))
    work.listed = True


def _close_mnq(r: InFlightRegistry, _: ManualClock) -> None:
    r.start_position_work(ACCOUNT, MNQ, CLOSE, position(2))


def _reduce_mnq(r: InFlightRegistry, _: ManualClock) -> None:
    r.start_position_work(ACCOUNT, MNQ, REDUCE, position(4), size=1)


def _cancel_900(r: InFlightRegistry, _: ManualClock) -> None:
    r.start_cancel(ACCOUNT, 900)


def _placing_mnq(r: InFlightRegistry, _: ManualClock) -> None:
    r.start_place(ACCOUNT, MNQ, "RM-run1-1")


def _modified_half_a_second_ago(r: InFlightRegistry, clock: ManualClock) -> None:
    r.note_modify(ACCOUNT, 900)
    clock.advance(0.5)


def _modified_a_second_ago(r: InFlightRegistry, clock: ManualClock) -> None:
    r.note_modify(ACCOUNT, 900)
    clock.advance(1.0)


def _nothing(r: InFlightRegistry, _: ManualClock) -> None:
    return None


PLACE = {"op": "place", "side": "SELL"}
MODIFY = {"op": "modify"}
REMOVE = {"op": "remove"}

ABSORBED = [
    ("flatten during a flatten", _flatten, decision(A.CLOSE_ALL_AND_LOCKOUT)),
    ("cooldown during a flatten", _flatten, decision(A.COOLDOWN)),
    ("close during the contract's close", _close_mnq, decision(A.CLOSE_POSITION, contract_id=MNQ)),
    ("close during a flatten that has not listed positions", _flatten,
     decision(A.CLOSE_POSITION, contract_id=MNQ)),
    ("reduce during the contract's close", _close_mnq, decision(A.REDUCE_TO_LIMIT, contract_id=MNQ, size=1)),
    ("reduce during a reduction", _reduce_mnq, decision(A.REDUCE_TO_LIMIT, contract_id=MNQ, size=2)),
    ("reject during the order's cancel", _cancel_900,
     decision(A.REJECT_ORDER, contract_id=MNQ, order_id=900)),
    ("stop placement during a placement", _placing_mnq,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, details=PLACE)),
    ("stop placement during the contract's close", _close_mnq,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, details=PLACE)),
    ("modify within a second", _modified_half_a_second_ago,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, order_id=900, details=MODIFY)),
    ("modify during the stop's cancel", _cancel_900,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, order_id=900, details=MODIFY)),
    ("remove during the stop's cancel", _cancel_900,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, order_id=900, details=REMOVE)),
]

RUNS = [
    ("flatten during a contract close (stronger)", _close_mnq, decision(A.CLOSE_ALL_POSITIONS)),
    ("close during a reduction (stronger)", _reduce_mnq, decision(A.CLOSE_POSITION, contract_id=MNQ)),
    ("close of a contract the listed flatten does not close", _listed_flatten_closing_mes,
     decision(A.CLOSE_POSITION, contract_id=MNQ)),
    ("close of another contract", _close_mnq, decision(A.CLOSE_POSITION, contract_id=MES)),
    ("reject of another order", _cancel_900, decision(A.REJECT_ORDER, contract_id=MNQ, order_id=901)),
    ("reject during a contract close", _close_mnq, decision(A.REJECT_ORDER, contract_id=MNQ, order_id=900)),
    ("stop placement on another contract", _placing_mnq,
     decision(A.AUTO_STOP_LOSS, contract_id=MES, details=PLACE)),
    ("modify a second later", _modified_a_second_ago,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, order_id=900, details=MODIFY)),
    ("remove during the contract's close (the stop must go)", _close_mnq,
     decision(A.AUTO_STOP_LOSS, contract_id=MNQ, order_id=900, details=REMOVE)),
    ("flatten with nothing in flight", _nothing, decision(A.CLOSE_ALL_AND_LOCKOUT)),
]


@pytest.mark.parametrize(("name", "setup", "incoming"), ABSORBED, ids=[c[0] for c in ABSORBED])
def test_covered_decisions_are_absorbed(registry: InFlightRegistry, clock: ManualClock, name: str,
                                        setup: Setup, incoming: EnforcementAction) -> None:
    setup(registry, clock)
    assert registry.covering(incoming) is not None, name


@pytest.mark.parametrize(("name", "setup", "incoming"), RUNS, ids=[c[0] for c in RUNS])
def test_stronger_or_unrelated_decisions_run(registry: InFlightRegistry, clock: ManualClock, name: str,
                                             setup: Setup, incoming: EnforcementAction) -> None:
    setup(registry, clock)
    assert registry.covering(incoming) is None, name


def test_entries_live_until_their_enforcement_finishes_not_10_s(registry: InFlightRegistry,
                                                                clock: ManualClock) -> None:
    """Spec README "Product decisions": the 10 s window only serves own-order recognition."""
    work = registry.start_position_work(ACCOUNT, MNQ, CLOSE, position(2))
    clock.advance(60)
    close = decision(A.CLOSE_POSITION, contract_id=MNQ)
    assert registry.covering(close) is not None
    assert not registry.is_own_order(order(OrderSide.SELL, 2))
    registry.end_position_work(work, succeeded=False)
    assert registry.covering(close) is None


def test_other_accounts_are_independent(registry: InFlightRegistry) -> None:
    registry.start_flatten(ACCOUNT)
    other = EnforcementAction(action=A.CLOSE_ALL_AND_LOCKOUT, account_id=ACCOUNT + 1, rule_id="RULE-003",
                              reason="test", created_at=T0)
    assert registry.covering(other) is None


def test_a_second_flatten_cannot_be_started(registry: InFlightRegistry) -> None:
    work = registry.start_flatten(ACCOUNT)
    with pytest.raises(RuntimeError, match="already in flight"):
        registry.start_flatten(ACCOUNT)
    registry.end_flatten(work)
    assert registry.flatten(ACCOUNT) is None


# --- confirmations ----------------------------------------------------------------------------------

def test_a_close_is_confirmed_by_a_flat_position_event(registry: InFlightRegistry) -> None:
    work = registry.start_position_work(ACCOUNT, MNQ, CLOSE, position(2))
    registry.observe_position(position(1))
    assert not work.confirmed.is_set()
    registry.observe_position(position(0))
    assert work.confirmed.is_set()


def test_a_reduction_is_confirmed_at_its_target_size(registry: InFlightRegistry) -> None:
    work = registry.start_position_work(ACCOUNT, MNQ, REDUCE, position(5), size=2)
    assert (work.side, work.size, work.target_size) == (OrderSide.SELL, 2, 3)
    registry.observe_position(position(4))
    assert not work.confirmed.is_set()
    registry.observe_position(position(3))
    assert work.confirmed.is_set()


def test_an_unknown_position_is_aimed_later(registry: InFlightRegistry) -> None:
    work = registry.start_position_work(ACCOUNT, MNQ, CLOSE)
    assert work.side is None and not registry.is_own_order(order(OrderSide.SELL, 1))
    work.aim(position(1, kind=PositionType.SHORT))
    assert registry.is_own_order(order(OrderSide.BUY, 1))


def test_order_events_feed_cancels_and_placements(registry: InFlightRegistry) -> None:
    cancel = registry.start_cancel(ACCOUNT, 900, order(OrderSide.BUY, 3, kind=OrderType.LIMIT))
    placement = registry.start_place(ACCOUNT, MNQ, "RM-run1-1")
    registry.observe_order(order(OrderSide.BUY, 3, kind=OrderType.LIMIT, status=OrderStatus.CANCELLED,
                                 filled=1))
    assert cancel.finished.is_set() and cancel.filled_size == 1
    registry.observe_order(order(OrderSide.SELL, 1, kind=OrderType.STOP, order_id=901, tag="RM-run1-1"))
    assert placement.order_id == 901
    registry.end_cancel(cancel)
    registry.end_place(placement)
    assert not registry.cancelling(ACCOUNT, 900)
    assert registry.covering(decision(A.AUTO_STOP_LOSS, contract_id=MNQ, details=PLACE)) is None
