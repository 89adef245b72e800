"""MOD-009 State Manager: transitions, order mirroring, stop-loss flags, counts, reconcile, dirty rows."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.domain import (
    Account,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionType,
)
from simple_risk_manager.domain.events import OrderUpdated, PositionUpdated
from simple_risk_manager.state.contracts import ContractCache
from simple_risk_manager.state.positions import (
    CanTradeChange,
    OrderChange,
    PositionTransition,
    StateManager,
)

ACCOUNT = 7001
T0 = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)
MNQ, ES, MNQ_H26 = "CON.F.US.MNQ.Z25", "CON.F.US.EP.Z25", "CON.F.US.MNQ.H26"
LONG, SHORT, FLAT = PositionType.LONG, PositionType.SHORT, PositionType.UNDEFINED


def pos(contract: str = MNQ, ptype: PositionType = LONG, size: int = 1, *, pid: int = 55120,
        average: str = "21000", account: int = ACCOUNT) -> Position:
    return Position(id=pid, account_id=account, contract_id=contract, type=ptype, size=size,
                    average_price=Decimal(average), created_at=T0, updated_at=T0)


def order(oid: int = 880030, *, contract: str = MNQ, otype: OrderType | int = OrderType.STOP,
          side: OrderSide = OrderSide.SELL, status: OrderStatus | int = OrderStatus.OPEN, at_s: float = 0,
          size: int = 1, account: int = ACCOUNT) -> Order:
    at = T0 + timedelta(seconds=at_s)
    return Order(id=oid, account_id=account, contract_id=contract, type=otype, side=side, size=size,
                 status=status, created_at=T0, updated_at=at, stop_price=Decimal("20950"))


# --- positions -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "before", "event", "transition"), [
    ("opened", None, pos(size=2), PositionTransition.OPENED),
    ("increased", pos(size=1), pos(size=3), PositionTransition.INCREASED),
    ("reduced", pos(size=3), pos(size=1), PositionTransition.REDUCED),
    ("flipped", pos(size=2), pos(ptype=SHORT, size=1), PositionTransition.FLIPPED),
    ("closed keeping its type", pos(size=2), pos(size=0), PositionTransition.CLOSED),
    ("closed with type 0", pos(ptype=SHORT, size=2), pos(ptype=FLAT, size=0), PositionTransition.CLOSED),
    ("unchanged size, new average", pos(size=2), pos(size=2, average="21001"), PositionTransition.UNCHANGED),
    ("close of nothing held", None, pos(size=0), PositionTransition.UNCHANGED),
])
def test_position_transitions(name: str, before: Position | None, event: Position,
                              transition: PositionTransition) -> None:
    state = StateManager()
    if before is not None:
        state.apply_position(before, T0)
    assert state.apply_position(event, T0) is transition
    expected = None if event.size == 0 else event
    assert state.position(ACCOUNT, MNQ) == expected
    assert state.positions(ACCOUNT) == (() if expected is None else (expected,))


def test_first_seen_is_set_on_open_and_flip_only() -> None:
    state = StateManager()
    state.apply_position(pos(size=1), T0)
    state.apply_position(pos(size=2), T0 + timedelta(seconds=5))
    assert state.first_seen_at(ACCOUNT, MNQ) == T0
    state.apply_position(pos(ptype=SHORT, size=1), T0 + timedelta(seconds=9))
    assert state.first_seen_at(ACCOUNT, MNQ) == T0 + timedelta(seconds=9)
    state.apply_position(pos(ptype=SHORT, size=0), T0 + timedelta(seconds=12))
    assert state.first_seen_at(ACCOUNT, MNQ) is None


@pytest.mark.parametrize(("name", "held", "mode", "expected"), [
    ("RULE-001 #1 gross MNQ 3 + ES 2", [pos(MNQ, LONG, 3), pos(ES, LONG, 2, pid=2)], "gross", 5),
    ("RULE-001 #2 gross MNQ 3 + ES 3", [pos(MNQ, LONG, 3), pos(ES, LONG, 3, pid=2)], "gross", 6),
    ("RULE-001 #3 net MNQ long 4, ES short 3", [pos(MNQ, LONG, 4), pos(ES, SHORT, 3, pid=2)], "net", 1),
    ("RULE-001 #3 gross would be 7", [pos(MNQ, LONG, 4), pos(ES, SHORT, 3, pid=2)], "gross", 7),
    ("net all short", [pos(MNQ, SHORT, 4), pos(ES, SHORT, 3, pid=2)], "net", 7),
    ("nothing held", [], "net", 0),
])
def test_contract_count(name: str, held: list[Position], mode: str, expected: int) -> None:
    state = StateManager()
    for p in held:
        state.apply_position(p, T0)
    assert state.contract_count(ACCOUNT, mode) == expected


def test_contract_count_rejects_an_unknown_mode() -> None:
    with pytest.raises(ValueError, match="mode must be 'gross' or 'net'"):
        StateManager().contract_count(ACCOUNT, "signed")


@pytest.mark.parametrize(("name", "held", "root", "expected"), [
    ("RULE-002 #2 EP counts as ES", [pos(ES, LONG, 1)], "ES", 1),
    ("RULE-002 #4 two MNQ expiries count together", [pos(MNQ, LONG, 1), pos(MNQ_H26, LONG, 2, pid=2)],
     "MNQ", 3),
    ("MES never counts as ES", [pos("CON.F.US.MES.Z25", LONG, 4)], "ES", 0),
])
def test_root_count(name: str, held: list[Position], root: str, expected: int) -> None:
    state = StateManager()
    for p in held:
        state.apply_position(p, T0)
    assert state.root_count(ACCOUNT, root, ContractCache().root_of) == expected


def test_accounts_are_kept_apart() -> None:
    state = StateManager()
    state.apply_position(pos(size=2), T0)
    state.apply_position(pos(size=5, pid=9, account=7002), T0)
    assert state.contract_count(ACCOUNT, "gross") == 2
    assert state.account_ids() == (7001, 7002)
    assert state.positions(7003) == ()


# --- orders ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "status", "mirrored", "working"), [
    ("1 Open", OrderStatus.OPEN, True, True),
    ("6 Pending", OrderStatus.PENDING, True, True),
    ("8 Suspended", OrderStatus.SUSPENDED, True, True),
    ("7 PendingCancellation", OrderStatus.PENDING_CANCELLATION, True, False),
    ("unknown code 42", 42, True, False),
    ("0 None", OrderStatus.NONE, True, False),
    ("2 Filled", OrderStatus.FILLED, False, False),
    ("3 Cancelled", OrderStatus.CANCELLED, False, False),
    ("4 Expired", OrderStatus.EXPIRED, False, False),
    ("5 Rejected", OrderStatus.REJECTED, False, False),
])
def test_order_status_decides_mirroring_and_working(name: str, status: OrderStatus | int, mirrored: bool,
                                                    working: bool) -> None:
    state = StateManager()
    state.apply_order(order(status=OrderStatus.OPEN))
    change = state.apply_order(order(status=status, at_s=1))
    assert change is (OrderChange.UPDATED if mirrored else OrderChange.REMOVED)
    assert [o.id for o in state.orders(ACCOUNT)] == ([880030] if mirrored else [])
    assert [o.id for o in state.working_orders(ACCOUNT)] == ([880030] if working else [])


def test_older_event_is_ignored() -> None:
    state = StateManager()
    state.apply_order(order(status=OrderStatus.OPEN, at_s=5))
    assert state.apply_order(order(status=OrderStatus.PENDING, at_s=4)) is OrderChange.STALE
    assert state.orders(ACCOUNT)[0].status is OrderStatus.OPEN
    assert state.apply_order(order(status=OrderStatus.PENDING, at_s=5)) is OrderChange.UPDATED


def test_late_event_of_a_finished_order_does_not_resurrect_it() -> None:
    state = StateManager()
    state.apply_order(order(status=OrderStatus.OPEN, at_s=0))
    assert state.apply_order(order(status=OrderStatus.FILLED, at_s=2)) is OrderChange.REMOVED
    assert state.apply_order(order(status=OrderStatus.OPEN, at_s=1)) is OrderChange.STALE
    assert state.orders(ACCOUNT) == ()


def test_terminal_event_for_an_unseen_order() -> None:
    state = StateManager()
    assert state.apply_order(order(status=OrderStatus.FILLED, otype=OrderType.MARKET)) is OrderChange.NOT_HELD
    assert state.apply_order(order(status=OrderStatus.OPEN, otype=OrderType.MARKET)) is OrderChange.STALE


def test_working_orders_filter_by_contract() -> None:
    state = StateManager()
    state.apply_order(order(1, contract=MNQ))
    state.apply_order(order(2, contract=ES))
    assert [o.id for o in state.working_orders(ACCOUNT, ES)] == [2]
    assert [o.id for o in state.working_orders(ACCOUNT)] == [1, 2]


def test_holds_means_a_position_or_a_working_order_in_the_contract() -> None:
    state = StateManager()
    state.apply_position(pos(ES, size=1), T0)
    state.apply_order(order(1, contract=MNQ))
    state.apply_order(order(2, contract=MNQ_H26, status=OrderStatus.PENDING_CANCELLATION))
    assert state.holds(ACCOUNT, ES) and state.holds(ACCOUNT, MNQ)
    assert not state.holds(ACCOUNT, MNQ_H26)  # mirrored, but no longer working
    assert not state.holds(ACCOUNT + 1, ES)
    state.apply_order(order(1, contract=MNQ, status=OrderStatus.FILLED, at_s=1))
    assert not state.holds(ACCOUNT, MNQ)


@pytest.mark.parametrize(("name", "held", "the_order", "is_stop"), [
    ("sell Stop under a long", pos(ptype=LONG), order(), True),
    ("sell StopLimit under a long", pos(ptype=LONG), order(otype=OrderType.STOP_LIMIT), True),
    ("sell TrailingStop under a long", pos(ptype=LONG), order(otype=OrderType.TRAILING_STOP), True),
    ("buy Stop above a short", pos(ptype=SHORT), order(side=OrderSide.BUY), True),
    ("RULE-008 #3 sell Limit (target) only", pos(ptype=LONG), order(otype=OrderType.LIMIT), False),
    ("RULE-008 #4 sell Stop under a short (wrong side)", pos(ptype=SHORT), order(), False),
    ("stop on another contract", pos(ES, LONG), order(), False),
    ("no position", None, order(), False),
    ("stop being cancelled (7)", pos(ptype=LONG), order(status=OrderStatus.PENDING_CANCELLATION), False),
    ("suspended bracket stop (8)", pos(ptype=LONG), order(status=OrderStatus.SUSPENDED), True),
    ("unknown type code", pos(ptype=LONG), order(otype=9), False),
])
def test_is_stop_loss(name: str, held: Position | None, the_order: Order, is_stop: bool) -> None:
    state = StateManager()
    if held is not None:
        state.apply_position(held, T0)
    state.apply_order(the_order)
    assert state.orders(ACCOUNT)[0].is_stop_loss is is_stop
    assert state.has_stop(ACCOUNT, MNQ) is is_stop


def test_stop_flag_follows_the_position() -> None:
    state = StateManager()
    state.apply_order(order())
    assert not state.orders(ACCOUNT)[0].is_stop_loss
    state.apply_position(pos(ptype=LONG, size=1), T0)
    assert state.orders(ACCOUNT)[0].is_stop_loss
    state.apply_position(pos(ptype=SHORT, size=1), T0)  # flip: the sell stop now adds exposure
    assert not state.orders(ACCOUNT)[0].is_stop_loss
    state.apply_position(pos(ptype=LONG, size=1), T0)
    state.apply_position(pos(ptype=LONG, size=0), T0)
    assert not state.has_stop(ACCOUNT, MNQ)


def test_account_flags_report_the_can_trade_change() -> None:
    state = StateManager()
    account = Account(id=ACCOUNT, name="SIM-50K-0001", balance=Decimal("50000"), can_trade=True)
    assert state.apply_account(account) == CanTradeChange(None, True)
    assert state.apply_account(replace(account, can_trade=False)) == CanTradeChange(True, False)
    assert state.account(ACCOUNT) == replace(account, can_trade=False)
    assert state.account(7002) is None


def test_held_contracts_cover_positions_and_working_orders() -> None:
    state = StateManager()
    state.apply_position(pos(MNQ), T0)
    state.apply_order(order(1, contract=ES, account=7002))
    state.apply_order(order(2, contract=MNQ_H26, status=OrderStatus.PENDING_CANCELLATION))
    assert state.held_contracts() == frozenset({MNQ, ES})


# --- dirty rows ------------------------------------------------------------------------------------

def test_dirty_tracking_reports_upserts_and_deletions_once() -> None:
    state = StateManager()
    state.apply_position(pos(size=1), T0)
    state.apply_position(pos(size=2), T0)
    state.apply_order(order(1))
    state.apply_order(order(2))
    state.apply_order(order(2, status=OrderStatus.CANCELLED, at_s=1))
    changes = state.take_dirty()
    assert changes.positions == (pos(size=2),)
    assert [o.id for o in changes.orders] == [1]
    assert changes.deleted_order_ids == frozenset({2})
    assert changes.deleted_position_ids == frozenset()
    assert state.take_dirty().is_empty


def test_reopen_with_a_new_id_deletes_the_old_row() -> None:
    state = StateManager()
    state.apply_position(pos(pid=1), T0)
    state.take_dirty()
    state.apply_position(pos(pid=2, size=3), T0)  # the close was missed
    changes = state.take_dirty()
    assert changes.positions == (pos(pid=2, size=3),)
    assert changes.deleted_position_ids == frozenset({1})


def test_close_then_reopen_with_the_same_id_is_an_upsert() -> None:
    state = StateManager()
    state.apply_position(pos(size=1), T0)
    state.apply_position(pos(size=0), T0)
    state.apply_position(pos(size=1), T0)
    changes = state.take_dirty()
    assert changes.positions == (pos(size=1),)
    assert changes.deleted_position_ids == frozenset()


def test_load_is_provisional_and_not_dirty() -> None:
    state = StateManager()
    state.load([pos(size=2)], [order()], now=T0 + timedelta(seconds=3))
    assert state.take_dirty().is_empty
    assert state.position(ACCOUNT, MNQ) == pos(size=2)
    assert state.first_seen_at(ACCOUNT, MNQ) == T0 + timedelta(seconds=3)
    assert state.has_stop(ACCOUNT, MNQ)


def test_load_rejects_a_flat_row() -> None:
    with pytest.raises(ValueError, match="size 0"):
        StateManager().load([pos(size=0)], [], now=T0)


# --- reconcile -------------------------------------------------------------------------------------

def apply_all(state: StateManager, events: list[PositionUpdated | OrderUpdated],
              now: datetime) -> list[object]:
    results: list[object] = []
    for event in events:
        if isinstance(event, PositionUpdated):
            results.append(state.apply_position(event.position, now))
        else:
            results.append(state.apply_order(event.order))
    return results


def test_reconcile_synthesizes_the_differences() -> None:
    state = StateManager()
    now = T0 + timedelta(minutes=5)
    state.apply_position(pos(MNQ, LONG, 2), T0)  # gone at REST → closed
    state.apply_position(pos(ES, LONG, 1, pid=2), T0)  # unchanged
    state.apply_position(pos(MNQ_H26, SHORT, 1, pid=3), T0)  # grew while disconnected
    state.apply_order(order(1, status=OrderStatus.SUSPENDED, at_s=3))  # gone at REST → removed
    state.apply_order(order(2, contract=ES))  # unchanged
    rest_positions = [pos(ES, LONG, 1, pid=2), pos(MNQ_H26, SHORT, 4, pid=3),
                      pos("CON.F.US.MES.Z25", LONG, 1, pid=4)]
    rest_orders = [order(2, contract=ES), order(3, contract=MNQ_H26, side=OrderSide.BUY)]

    events = state.replace_from_rest(ACCOUNT, rest_positions, rest_orders, now)

    assert state.position(ACCOUNT, MNQ) is not None  # nothing applied yet
    closed = replace(pos(MNQ, LONG, 2), size=0, updated_at=now)
    # the removal is the mirrored order (still flagged as the long's stop) with a terminal status
    removed = replace(order(1, status=OrderStatus.SUSPENDED, at_s=3), status=OrderStatus.CANCELLED,
                      is_stop_loss=True)
    assert events == [PositionUpdated(closed), PositionUpdated(rest_positions[2]),
                      PositionUpdated(rest_positions[1]), OrderUpdated(removed), OrderUpdated(rest_orders[1])]
    assert apply_all(state, events, now) == [
        PositionTransition.CLOSED, PositionTransition.OPENED, PositionTransition.INCREASED,
        OrderChange.REMOVED, OrderChange.ADDED]
    assert state.positions(ACCOUNT) == tuple(sorted(rest_positions, key=lambda p: p.contract_id))
    assert [o.id for o in state.orders(ACCOUNT)] == [2, 3]
    assert state.has_stop(ACCOUNT, MNQ_H26)  # buy stop above the short
    assert state.replace_from_rest(ACCOUNT, rest_positions, rest_orders, now) == []


def test_reconcile_removal_lets_the_orders_later_hub_events_through() -> None:
    """searchOpen misses Suspended bracket children; they come back through hub events."""
    state = StateManager()
    state.apply_order(order(1, status=OrderStatus.SUSPENDED, at_s=3))
    apply_all(state, state.replace_from_rest(ACCOUNT, [], [], T0 + timedelta(minutes=5)), T0)
    assert state.orders(ACCOUNT) == ()
    assert state.apply_order(order(1, status=OrderStatus.OPEN, at_s=4)) is OrderChange.ADDED


def test_reconcile_orders_reductions_before_increases() -> None:
    """A roll done while disconnected: Z25 closed and H26 opened never counts 5 + 5 at once."""
    state = StateManager()
    state.apply_position(pos(MNQ, LONG, 5), T0)
    events = state.replace_from_rest(ACCOUNT, [pos(MNQ_H26, LONG, 5, pid=9)], [], T0)
    sizes = []
    for event in events:
        assert isinstance(event, PositionUpdated)
        state.apply_position(event.position, T0)
        sizes.append(state.contract_count(ACCOUNT, "gross"))
    assert sizes == [0, 5]


def test_reconcile_rejects_items_of_another_account() -> None:
    with pytest.raises(ValueError, match="position 55120 belongs to account 7002, not 7001"):
        StateManager().replace_from_rest(ACCOUNT, [pos(account=7002)], [], T0)
