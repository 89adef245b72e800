"""The lockout gate (`rules.md` §3 step 1, §5, D-47, D-49) over a real view of real trackers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.domain.enums import (
    EnforcementActionType,
    LockoutKind,
    OrderSide,
    OrderStatus,
    OrderType,
)
from simple_risk_manager.domain.enums import PositionType as P
from simple_risk_manager.domain.models import Order, Position, Trade
from simple_risk_manager.engine.gate import GATED_EVENTS, REASON, gate
from simple_risk_manager.engine.views import ViewFactory
from simple_risk_manager.rules.base import AccountView
from simple_risk_manager.rules.events import (
    AccountChanged,
    FillApplied,
    OrderChanged,
    PositionChanged,
    QuoteChanged,
    RuleEvent,
    Sweep,
)
from simple_risk_manager.state.positions import PositionTransition
from simple_risk_manager.state.trade_counter import TradeCounts

from .harness import A1, ES, MNQ, NOW, Harness, HarnessFactory, harness_factory


@pytest.fixture
def make(tmp_path: Path) -> Iterator[HarnessFactory]:
    yield from harness_factory(tmp_path)


@pytest.fixture
def h(make: HarnessFactory) -> Harness:
    return make()


def view(h: Harness, now: datetime = NOW) -> AccountView:
    d = h.dispatcher
    factory = ViewFactory(h.trackers, d.scheduler, h.config.global_settings, d.accounts,
                          h.enforcer.is_own_order)
    return factory.view(A1, now, {})


def position(contract: str, size: int, side: P = P.LONG, position_id: int = 1) -> Position:
    return Position(id=position_id, account_id=A1, contract_id=contract, type=side, size=size,
                    average_price=Decimal("21000"), created_at=NOW, updated_at=NOW)


def order(order_id: int, *, status: OrderStatus = OrderStatus.OPEN, tag: str | None = None,
          order_type: OrderType = OrderType.LIMIT) -> Order:
    return Order(id=order_id, account_id=A1, contract_id=MNQ, type=order_type, side=OrderSide.BUY, size=1,
                 status=status, created_at=NOW, updated_at=NOW, limit_price=Decimal("20990"), custom_tag=tag)


def hold(h: Harness, *positions: Position) -> None:
    for p in positions:
        h.trackers.state.apply_position(p, NOW)


def work(h: Harness, *orders: Order) -> None:
    for o in orders:
        h.trackers.state.apply_order(o)


def lock(h: Harness, rule_id: str = "RULE-003", kind: LockoutKind = LockoutKind.RESET,
         until: datetime | None = None) -> None:
    if until is None and kind is not LockoutKind.CONDITION:
        until = NOW + timedelta(hours=5)
    h.trackers.lockouts.lock(A1, rule_id, kind, "test lockout", until, now=NOW)


def opened(p: Position) -> PositionChanged:
    return PositionChanged(p, PositionTransition.OPENED)


def test_an_unlocked_account_is_never_gated(h: Harness) -> None:
    hold(h, position(MNQ, 2))
    assert gate(view(h), opened(position(MNQ, 2))) is None
    assert gate(view(h), Sweep()) is None


def test_new_position_while_locked_is_flattened_under_the_effective_lockout(h: Harness) -> None:
    lock(h, "RULE-003")
    decision = gate(view(h), opened(position(MNQ, 2)))
    assert decision is not None
    assert (decision.action, decision.rule_id, decision.reason) == (
        EnforcementActionType.CLOSE_ALL_POSITIONS, "RULE-003", REASON)
    assert REASON == "activity during lockout"
    assert decision.lockout_kind is None and decision.lockout_until is None  # requests no new lockout
    assert decision.account_id == A1 and decision.created_at == NOW
    assert decision.details["contract_id"] == MNQ and decision.details["lockout_rule_id"] == "RULE-003"


@pytest.mark.parametrize("transition", [PositionTransition.INCREASED, PositionTransition.REDUCED,
                                        PositionTransition.FLIPPED, PositionTransition.UNCHANGED])
def test_any_position_with_size_counts_as_exposure(h: Harness, transition: PositionTransition) -> None:
    lock(h)
    assert gate(view(h), PositionChanged(position(MNQ, 1), transition)) is not None


def test_a_closed_position_is_no_exposure(h: Harness) -> None:
    lock(h)
    assert gate(view(h), PositionChanged(position(MNQ, 0), PositionTransition.CLOSED)) is None


def test_working_trader_order_while_locked_is_flattened(h: Harness) -> None:
    lock(h)
    decision = gate(view(h), OrderChanged(order(11)))
    assert decision is not None and decision.action is EnforcementActionType.CLOSE_ALL_POSITIONS
    assert decision.details["order_id"] == 11


@pytest.mark.parametrize("status", [OrderStatus.PENDING, OrderStatus.SUSPENDED])
def test_pending_and_suspended_orders_are_working(h: Harness, status: OrderStatus) -> None:
    lock(h)
    assert gate(view(h), OrderChanged(order(11, status=status))) is not None


@pytest.mark.parametrize("status", [OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED,
                                    OrderStatus.EXPIRED, OrderStatus.PENDING_CANCELLATION])
def test_orders_that_are_not_working_are_no_exposure(h: Harness, status: OrderStatus) -> None:
    lock(h)
    assert gate(view(h), OrderChanged(order(11, status=status))) is None


def test_own_orders_never_trigger_the_gate(h: Harness) -> None:
    """`rules.md` §5 / D-47: an `RM-` stop, or a close order MOD-001 recognises as its own."""
    lock(h)
    assert gate(view(h), OrderChanged(order(12, tag="RM-run-1", order_type=OrderType.STOP))) is None
    h.enforcer.own.add(13)  # MOD-001's in-flight close matches this market order
    assert gate(view(h), OrderChanged(order(13, order_type=OrderType.MARKET))) is None


def test_sweep_counts_every_open_position(h: Harness) -> None:
    """D-49: an account still locked after a restart or reconnect is flattened."""
    hold(h, position(MNQ, 1), position(ES, 2, P.SHORT, position_id=2))
    lock(h)
    decision = gate(view(h), Sweep())
    assert decision is not None and decision.action is EnforcementActionType.CLOSE_ALL_POSITIONS
    assert decision.details["positions"] == [ES, MNQ]


def test_sweep_counts_non_own_working_orders_of_a_flat_account(h: Harness) -> None:
    work(h, order(21), order(22, tag="RM-run-2", order_type=OrderType.STOP))
    lock(h)
    decision = gate(view(h), Sweep())
    assert decision is not None and decision.details["orders"] == [21]


def test_sweep_of_a_flat_account_with_only_own_orders_does_nothing(h: Harness) -> None:
    work(h, order(22, tag="RM-run-2", order_type=OrderType.STOP))
    lock(h)
    assert gate(view(h), Sweep()) is None


def test_condition_lockout_is_the_effective_one(h: Harness) -> None:
    """MOD-002 `effective`: a condition record if any, else the one ending last."""
    lock(h, "RULE-003", LockoutKind.RESET, NOW + timedelta(hours=8))
    lock(h, "RULE-010", LockoutKind.CONDITION)
    lock(h, "RULE-007", LockoutKind.DURATION, NOW + timedelta(minutes=5))
    decision = gate(view(h), opened(position(MNQ, 1)))
    assert decision is not None and decision.rule_id == "RULE-010"
    assert decision.details["locked_until"] is None


def test_the_latest_ending_timed_lockout_is_the_effective_one(h: Harness) -> None:
    lock(h, "RULE-007", LockoutKind.DURATION, NOW + timedelta(minutes=30))
    lock(h, "RULE-006", LockoutKind.DURATION, NOW + timedelta(minutes=1))
    decision = gate(view(h), opened(position(MNQ, 1)))
    assert decision is not None and decision.rule_id == "RULE-007"


def test_a_lockout_that_has_ended_no_longer_gates(h: Harness) -> None:
    """Expiry is inclusive (MOD-002): at `now == locked_until` the record is over."""
    lock(h, "RULE-007", LockoutKind.DURATION, NOW + timedelta(minutes=5))
    assert gate(view(h, NOW + timedelta(minutes=5)), opened(position(MNQ, 1))) is None
    assert gate(view(h, NOW + timedelta(minutes=4)), opened(position(MNQ, 1))) is not None


def _fill() -> FillApplied:
    trade = Trade(id=1, account_id=A1, contract_id=MNQ, side=OrderSide.BUY, size=1, price=Decimal("21000"),
                  execution_time=NOW, received_at=NOW, order_id=5)
    return FillApplied(trade, True, TradeCounts(1, 1, 1), Decimal(0))


@pytest.mark.parametrize("event", [QuoteChanged(MNQ), AccountChanged(True, False), _fill()],
                         ids=["quote", "account", "fill"])
def test_events_that_show_no_exposure_are_never_gated(h: Harness, event: RuleEvent) -> None:
    hold(h, position(MNQ, 1))
    lock(h)
    assert gate(view(h), event) is None
    assert type(event) not in GATED_EVENTS


def test_the_gate_is_pure(h: Harness) -> None:
    hold(h, position(MNQ, 1))
    work(h, order(31))
    lock(h)
    def everything() -> tuple[object, ...]:
        return h.trackers.lockouts.records(), h.trackers.state.positions(A1), h.trackers.state.orders(A1)

    before = everything()
    first, second = gate(view(h), Sweep()), gate(view(h), Sweep())
    assert first == second is not None
    assert everything() == before
