"""MOD-008 Trade Counter: distinct orders per window (D-20, D-22), boundaries, voids, resets, rebuild."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.domain import OrderSide, Trade
from simple_risk_manager.state.trade_counter import TradeCounter, TradeCounts

ACCOUNT = 7001
RESET = datetime(2025, 11, 23, 23, tzinfo=UTC)  # Sun 17:00 CT: the session start
T9 = datetime(2025, 11, 24, 15, tzinfo=UTC)  # Mon 09:00 CT


def fill(trade_id: int, order_id: int | None, at: datetime, voided: bool = False) -> Trade:
    return Trade(id=trade_id, account_id=ACCOUNT, contract_id="CON.F.US.MNQ.Z25", side=OrderSide.BUY, size=1,
                 price=Decimal("21000"), execution_time=at, received_at=at, voided=voided, order_id=order_id)


def counter(session_start: datetime = RESET) -> TradeCounter:
    c = TradeCounter()
    c.reset_session(ACCOUNT, session_start)
    return c


def seconds(s: float) -> datetime:
    return T9 + timedelta(seconds=s)


# --- RULE-006 worked examples: the counts the rule compares -------------------------------------------

def test_rule006_example1_fourth_order_within_a_minute() -> None:
    c = counter()
    for i, s in enumerate((0, 10, 20)):
        c.record_fill(fill(i, 100 + i, seconds(s)))
    result = c.record_fill(fill(9, 109, seconds(30)))
    assert result.new_order
    assert result.counts.minute == 4


def test_rule006_example2_window_excludes_its_open_end() -> None:
    c = counter()
    for i, s in enumerate((0, 10, 20)):
        c.record_fill(fill(i, 100 + i, seconds(s)))
    assert c.record_fill(fill(9, 109, seconds(70))).counts.minute == 2  # (09:00:10, 09:01:10]


def test_rule006_example3_partial_fills_count_once() -> None:
    c = counter()
    for i, s in enumerate((0, 10, 20)):
        c.record_fill(fill(i, 100 + i, seconds(s)))
    parts = [c.record_fill(fill(10 + i, 500, seconds(30 + i / 10))) for i in (1, 2, 3)]
    assert [p.new_order for p in parts] == [True, False, False]
    assert [p.counts.minute for p in parts] == [4, 4, 4]


def test_rule006_example4_minute_and_hour_together() -> None:
    c = counter()
    for i in range(7):  # 7 orders spread over the last 50 minutes, outside the last minute
        c.record_fill(fill(i, 100 + i, seconds(-3000 + i * 300)))
    for i in range(3):  # 3 in the last minute
        c.record_fill(fill(20 + i, 200 + i, seconds(-50 + i * 10)))
    assert c.record_fill(fill(30, 300, seconds(0))).counts == TradeCounts(minute=4, hour=11, session=11)


def test_rule006_example5_session_count_since_the_reset() -> None:
    c = counter()
    start = RESET + timedelta(hours=1)
    for i in range(50):
        c.record_fill(fill(i, 1000 + i, start + timedelta(minutes=15 * i)))
    result = c.record_fill(fill(99, 2000, datetime(2025, 11, 24, 17, tzinfo=UTC)))  # Mon 11:00 CT
    assert result.counts.session == 51


# --- window boundaries -----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "after_s", "expected"), [
    ("minute at 59.999 s", 59.999, TradeCounts(minute=1, hour=1, session=1)),
    ("minute at 60 s", 60, TradeCounts(minute=0, hour=1, session=1)),
    ("minute at 60.001 s", 60.001, TradeCounts(minute=0, hour=1, session=1)),
    ("hour at 3599.999 s", 3599.999, TradeCounts(minute=0, hour=1, session=1)),
    ("hour at 3600 s", 3600, TradeCounts(minute=0, hour=0, session=1)),
    ("hour at 3600.001 s", 3600.001, TradeCounts(minute=0, hour=0, session=1)),
    ("same instant", 0, TradeCounts(minute=1, hour=1, session=1)),
    ("before the first fill", -0.001, TradeCounts(minute=0, hour=0, session=0)),
])
def test_window_boundaries(name: str, after_s: float, expected: TradeCounts) -> None:
    c = counter()
    c.record_fill(fill(1, 100, T9))
    assert c.counts(ACCOUNT, seconds(after_s)) == expected


def test_session_window_includes_its_start() -> None:
    c = counter()
    c.record_fill(fill(1, 100, RESET))
    assert c.counts(ACCOUNT, RESET).session == 1


def test_order_is_timed_by_its_first_fill() -> None:
    c = counter()
    c.record_fill(fill(1, 100, seconds(0)))
    c.record_fill(fill(2, 100, seconds(50)))
    assert c.counts(ACCOUNT, seconds(70)).minute == 0


# --- dedupe and voids ------------------------------------------------------------------------------

def test_redelivered_fill_is_not_a_new_order() -> None:
    c = counter()
    assert c.record_fill(fill(1, 100, T9)).new_order
    assert not c.record_fill(fill(1, 100, T9)).new_order
    assert c.counts(ACCOUNT, T9).session == 1


def test_voiding_the_only_fill_uncounts_the_order() -> None:
    c = counter()
    c.record_fill(fill(1, 100, T9))
    c.void(fill(1, 100, T9, voided=True))
    assert c.counts(ACCOUNT, T9) == TradeCounts(0, 0, 0)


def test_voiding_one_of_two_fills_keeps_the_order_timed_by_the_other() -> None:
    c = counter()
    c.record_fill(fill(1, 100, seconds(0)))
    c.record_fill(fill(2, 100, seconds(30)))
    c.record_fill(fill(1, 100, seconds(0), voided=True))  # a voided copy through record_fill
    assert c.counts(ACCOUNT, seconds(80)) == TradeCounts(minute=1, hour=1, session=1)


def test_void_before_the_fill_means_it_never_counts() -> None:
    c = counter()
    assert not c.record_fill(fill(1, 100, T9, voided=True)).new_order
    assert not c.record_fill(fill(1, 100, T9)).new_order
    assert c.counts(ACCOUNT, T9).session == 0


def test_fill_without_order_id_is_a_trade_of_its_own() -> None:
    c = counter()
    assert c.record_fill(fill(1, None, T9)).new_order
    assert c.record_fill(fill(2, None, T9)).new_order
    assert c.counts(ACCOUNT, T9).minute == 2


# --- trading day, reset, rebuild -------------------------------------------------------------------

def test_fill_dated_before_the_session_is_ignored() -> None:
    c = counter()
    result = c.record_fill(fill(1, 100, RESET - timedelta(milliseconds=1)))
    assert not result.new_order
    assert c.counts(ACCOUNT, RESET + timedelta(seconds=1)) == TradeCounts(0, 0, 0)


def test_reset_restarts_the_session_but_not_the_rolling_windows() -> None:
    c = counter()
    c.record_fill(fill(1, 100, T9))
    new_reset = T9 + timedelta(seconds=30)
    c.reset_session(ACCOUNT, new_reset)
    assert c.session_start(ACCOUNT) == new_reset
    assert c.counts(ACCOUNT, new_reset) == TradeCounts(minute=1, hour=1, session=0)
    c.void(fill(1, 100, T9, voided=True))  # a counted fill can still be voided after the reset
    assert c.counts(ACCOUNT, new_reset).minute == 0


def test_reset_forgets_orders_no_window_reaches() -> None:
    c = counter()
    c.record_fill(fill(1, 100, T9))
    c.record_fill(fill(2, 200, T9))
    c.record_fill(fill(3, 200, T9 + timedelta(hours=2)))  # a second fill keeps order 200 whole
    c.reset_session(ACCOUNT, T9 + timedelta(hours=2, seconds=1))
    late = c.record_fill(fill(4, 200, T9 + timedelta(hours=2, seconds=2)))
    assert not late.new_order
    assert c.counts(ACCOUNT, T9).session == 0  # order 100 was forgotten; order 200 starts before the session
    assert c.counts(ACCOUNT, T9 + timedelta(minutes=30)).hour == 1


def test_rebuild_keeps_rows_before_the_session_for_the_hour_window() -> None:
    c = TradeCounter()
    rows = [fill(1, 100, RESET - timedelta(minutes=30)), fill(2, 200, RESET + timedelta(minutes=5)),
            fill(3, 200, RESET + timedelta(minutes=6)),
            fill(4, 300, RESET + timedelta(minutes=7), voided=True)]
    c.rebuild(ACCOUNT, rows, session_start=RESET)
    assert c.counts(ACCOUNT, RESET + timedelta(minutes=10)) == TradeCounts(minute=0, hour=2, session=1)
    assert not c.record_fill(rows[1]).new_order  # the reconcile merge deduplicates


def test_unknown_account_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="account 7001 has no session"):
        TradeCounter().record_fill(fill(1, 100, T9))


@given(specs=st.lists(st.tuples(st.integers(1, 5), st.integers(0, 7200), st.booleans(), st.integers(0, 2)),
                      min_size=1, max_size=15),
       data=st.data())
def test_dedupe_and_void_make_counts_order_independent(specs: list, data: st.DataObject) -> None:
    deliveries: list[Trade] = []
    for trade_id, (order_id, at_s, voided, copies) in enumerate(specs, start=1):
        original = fill(trade_id, order_id, seconds(at_s))
        deliveries += [original] * (copies + 1)
        if voided:
            deliveries.append(fill(trade_id, order_id, seconds(at_s), voided=True))
    reference, shuffled = counter(), counter()
    for trade in deliveries:
        reference.record_fill(trade)
    for trade in data.draw(st.permutations(deliveries)):
        shuffled.record_fill(trade)
    for probe in (0, 59, 600, 3600, 7200):
        assert shuffled.counts(ACCOUNT, seconds(probe)) == reference.counts(ACCOUNT, seconds(probe))
    counted = {order_id for order_id, _, voided, _ in specs if not voided}
    assert reference.counts(ACCOUNT, seconds(7200)).session == len(counted)
