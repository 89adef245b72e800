"""MOD-006 Quote Tracker: partial merges, age and staleness, subscriptions following the mirror."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.domain import Order, OrderSide, OrderStatus, OrderType, Position, PositionType, Quote
from simple_risk_manager.state.positions import StateManager
from simple_risk_manager.state.quotes import QuoteTracker, SubscriptionChange

T0 = datetime(2025, 11, 24, 15, 2, 11, tzinfo=UTC)
MNQ, ES = "CON.F.US.MNQ.Z25", "CON.F.US.EP.Z25"


def q(contract: str = MNQ, *, at: datetime = T0, last: str | None = None, bid: str | None = None,
      ask: str | None = None) -> Quote:
    def dec(v: str | None) -> Decimal | None:
        return None if v is None else Decimal(v)
    return Quote(contract_id=contract, received_at=at, last=dec(last), bid=dec(bid), ask=dec(ask),
                 quote_time=at - timedelta(milliseconds=2))


def subscribed_tracker(*contracts: str) -> QuoteTracker:
    tracker = QuoteTracker()
    tracker.sync_subscriptions(contracts)
    return tracker


def test_partial_updates_merge_over_the_last_quote() -> None:
    tracker = subscribed_tracker(MNQ)
    tracker.update(q(last="21010.25", bid="21010.00", ask="21010.25"))
    merged = tracker.update(q(at=T0 + timedelta(seconds=1), bid="21010.25"))
    assert merged is not None
    assert (merged.last, merged.bid, merged.ask) == (Decimal("21010.25"), Decimal("21010.25"),
                                                     Decimal("21010.25"))
    assert merged.received_at == T0 + timedelta(seconds=1)
    assert tracker.get(MNQ) == merged


def test_age_counts_from_local_receipt() -> None:
    tracker = subscribed_tracker(MNQ)
    assert tracker.age(MNQ, T0) is None
    tracker.update(q(last="1"))
    assert tracker.age(MNQ, T0 + timedelta(seconds=2.5)) == 2.5


@pytest.mark.parametrize(("name", "age_s", "stale"), [
    ("fresh", 9.999, False),
    ("exactly max age", 10, False),
    ("older than max age", 10.001, True),
])
def test_is_stale_boundary(name: str, age_s: float, stale: bool) -> None:
    tracker = subscribed_tracker(MNQ)
    tracker.update(q(last="1"))
    assert tracker.is_stale(MNQ, T0 + timedelta(seconds=age_s), max_age=10) is stale


def test_missing_quote_is_stale() -> None:
    assert QuoteTracker().is_stale(MNQ, T0, max_age=10)


def test_sync_reports_only_the_transitions() -> None:
    tracker = QuoteTracker()
    assert tracker.sync_subscriptions([MNQ, ES]) == SubscriptionChange(subscribe=(ES, MNQ), unsubscribe=())
    assert tracker.sync_subscriptions([ES, MNQ]) == SubscriptionChange(subscribe=(), unsubscribe=())
    assert tracker.sync_subscriptions([ES]) == SubscriptionChange(subscribe=(), unsubscribe=(MNQ,))
    assert tracker.subscribed() == (ES,)


def test_unsubscribing_drops_the_quote_and_late_quotes_are_ignored() -> None:
    tracker = subscribed_tracker(MNQ)
    tracker.update(q(last="21000"))
    tracker.sync_subscriptions([])
    assert tracker.get(MNQ) is None
    assert tracker.update(q(last="21001")) is None
    assert tracker.get(MNQ) is None


def test_subscriptions_follow_positions_and_working_orders_of_every_account() -> None:
    state, tracker = StateManager(), QuoteTracker()
    long_mnq = Position(1, 7001, MNQ, PositionType.LONG, 1, Decimal("21000"), T0, T0)
    stop_es = Order(9, 7002, ES, OrderType.STOP, OrderSide.SELL, 1, OrderStatus.OPEN, T0, T0,
                    stop_price=Decimal("5790"))
    state.apply_position(long_mnq, T0)
    state.apply_order(stop_es)
    assert tracker.sync_subscriptions(state.held_contracts()).subscribe == (ES, MNQ)
    state.apply_order(Order(9, 7002, ES, OrderType.STOP, OrderSide.SELL, 1, OrderStatus.PENDING_CANCELLATION,
                            T0, T0 + timedelta(seconds=1)))
    state.apply_position(Position(1, 7001, MNQ, PositionType.LONG, 0, Decimal("21000"), T0, T0), T0)
    assert tracker.sync_subscriptions(state.held_contracts()) == SubscriptionChange((), (ES, MNQ))
    assert tracker.subscribed() == ()
