"""MOD-005 PNL Tracker: the worked examples of modules.md MOD-005, dedupe, voids, day bounds, upnl."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.domain import (
    ContractMetadata,
    DailyPnl,
    OrderSide,
    Position,
    PositionType,
    Quote,
    ResetSchedule,
    Trade,
)
from simple_risk_manager.state.pnl import FillOutcome, PnlTracker, account_upnl, position_upnl

ACCOUNT = 7001
# Trading day labelled Mon 2025-11-24: Sun 17:00 CT (23:00 UTC) to Mon 17:00 CT.
DAY = ResetSchedule(ACCOUNT, date(2025, 11, 24), last_reset_at=datetime(2025, 11, 23, 23, tzinfo=UTC),
                    next_reset_at=datetime(2025, 11, 24, 23, tzinfo=UTC), reset_time_config="17:00",
                    timezone="America/Chicago")
NEXT_DAY = ResetSchedule(ACCOUNT, date(2025, 11, 25), last_reset_at=DAY.next_reset_at,
                         next_reset_at=DAY.next_reset_at + timedelta(days=1), reset_time_config="17:00",
                         timezone="America/Chicago")
T0 = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)
MNQ, MES, ES, NQ = "CON.F.US.MNQ.Z25", "CON.F.US.MES.Z25", "CON.F.US.EP.Z25", "CON.F.US.ENQ.Z25"
META = {  # tick size / tick value, gateway-api.md §5.3
    MNQ: ContractMetadata(MNQ, "F.US.MNQ", Decimal("0.25"), Decimal("0.50"), T0),
    MES: ContractMetadata(MES, "F.US.MES", Decimal("0.25"), Decimal("1.25"), T0),
    ES: ContractMetadata(ES, "F.US.EP", Decimal("0.25"), Decimal("12.50"), T0),
    NQ: ContractMetadata(NQ, "F.US.ENQ", Decimal("0.25"), Decimal("5.00"), T0),
}


def fill(trade_id: int, pnl: str | None, fees: str, *, order_id: int | None = 880031, at: datetime = T0,
         voided: bool = False, side: OrderSide = OrderSide.SELL, size: int = 2) -> Trade:
    return Trade(id=trade_id, account_id=ACCOUNT, contract_id=MNQ, side=side, size=size,
                 price=Decimal("21000"), execution_time=at, received_at=at + timedelta(milliseconds=5),
                 profit_and_loss=None if pnl is None else Decimal(pnl), fees=Decimal(fees), voided=voided,
                 order_id=order_id)


def tracker(include_fees: bool = True) -> PnlTracker:
    pnl = PnlTracker(include_fees=include_fees)
    pnl.start_day(DAY, now=DAY.last_reset_at)
    return pnl


def position(contract: str, ptype: PositionType, size: int, average: str) -> Position:
    return Position(id=1, account_id=ACCOUNT, contract_id=contract, type=ptype, size=size,
                    average_price=Decimal(average), created_at=T0, updated_at=T0)


def quote(contract: str, last: str | None = None, bid: str | None = None, ask: str | None = None,
          received_at: datetime = T0) -> Quote:
    return Quote(contract_id=contract, received_at=received_at, last=None if last is None else Decimal(last),
                 bid=None if bid is None else Decimal(bid), ask=None if ask is None else Decimal(ask))


# --- MOD-005 realized table (include_fees true): each row applied on top of the previous ones --------

OPEN = fill(3310070, None, "1.48", order_id=880030, side=OrderSide.BUY)
CLOSE = fill(3310077, "42.00", "1.48", at=T0 + timedelta(minutes=15))
REALIZED_TABLE = [
    ("buy 2 MNQ @ 21000.00 (open)", OPEN, FillOutcome.APPLIED, "-1.48"),
    ("sell 2 MNQ @ 21010.50 (close)", CLOSE, FillOutcome.APPLIED, "39.04"),
    ("same fill re-delivered after a reconnect", CLOSE, FillOutcome.DUPLICATE, "39.04"),
    ("the closing fill later marked voided",
     fill(3310077, "42.00", "1.48", at=CLOSE.execution_time, voided=True), FillOutcome.REVERSED, "-1.48"),
]


@pytest.mark.parametrize("rows", range(1, len(REALIZED_TABLE) + 1),
                         ids=[row[0] for row in REALIZED_TABLE])
def test_mod005_realized_table(rows: int) -> None:
    pnl = tracker()
    for _, trade, _, _ in REALIZED_TABLE[:rows - 1]:
        pnl.apply_fill(trade)
    _, trade, outcome, expected = REALIZED_TABLE[rows - 1]
    effect = pnl.apply_fill(trade)
    assert effect.outcome is outcome
    assert effect.realized == Decimal(expected)
    assert pnl.daily_realized(ACCOUNT) == Decimal(expected)


def test_daily_row_keeps_gross_and_fees_apart() -> None:
    pnl = tracker()
    pnl.apply_fill(OPEN)
    pnl.apply_fill(CLOSE)
    row = pnl.daily_pnl(ACCOUNT, trade_count=2)
    assert row == DailyPnl(account_id=ACCOUNT, date=DAY.trading_date, last_updated=CLOSE.received_at,
                           realized_pnl=Decimal("39.04"), gross_pnl=Decimal("42.00"), fees=Decimal("2.96"),
                           trade_count=2)


def test_include_fees_false_counts_gross_only() -> None:
    pnl = tracker(include_fees=False)
    pnl.apply_fill(OPEN)
    effect = pnl.apply_fill(CLOSE)
    assert effect.delta == Decimal("42.00")
    assert pnl.daily_realized(ACCOUNT) == Decimal("42.00")
    assert pnl.daily_pnl(ACCOUNT, trade_count=0).fees == Decimal("2.96")


def test_rule003_example4_opening_fill_fees_reach_the_limit() -> None:
    pnl = tracker()
    pnl.apply_fill(fill(1, "-499.80", "0"))
    pnl.apply_fill(fill(2, None, "0.37", order_id=2))
    assert pnl.daily_realized(ACCOUNT) == Decimal("-500.17")


@pytest.mark.parametrize(("name", "fills", "order_id", "expected"), [
    ("RULE-007 #5 cumulative partial closes", [("-80", "0"), ("-40", "0")], 880031, "-120"),
    ("RULE-007 #6 fees make the trade worse", [("-98.00", "2.50")], 880031, "-100.50"),
    ("order without fills", [], 999, "0"),
])
def test_order_realized(name: str, fills: list[tuple[str, str]], order_id: int, expected: str) -> None:
    pnl = tracker()
    for i, (amount, fees) in enumerate(fills):
        pnl.apply_fill(fill(100 + i, amount, fees))
    pnl.apply_fill(fill(200, "500", "0", order_id=1))  # another order does not mix in
    assert pnl.order_realized(ACCOUNT, order_id) == Decimal(expected)


def test_void_subtracts_from_the_order_too() -> None:
    pnl = tracker()
    pnl.apply_fill(fill(1, "-80", "1"))
    pnl.apply_fill(fill(2, "-40", "1"))
    pnl.apply_fill(fill(2, "-40", "1", voided=True))
    assert pnl.order_realized(ACCOUNT, 880031) == Decimal("-81")


def test_voided_fill_is_never_added_even_when_it_arrives_first() -> None:
    pnl = tracker()
    assert pnl.apply_fill(fill(1, "100", "1", voided=True)).outcome is FillOutcome.VOIDED
    assert pnl.apply_fill(fill(1, "100", "1")).outcome is FillOutcome.DUPLICATE
    assert pnl.daily_realized(ACCOUNT) == 0


def test_fill_dated_before_the_day_is_recorded_but_never_counted() -> None:
    pnl = tracker()
    late = fill(1, "-300", "1", at=DAY.last_reset_at - timedelta(milliseconds=1))
    effect = pnl.apply_fill(late)
    assert (effect.outcome, effect.delta, effect.changed) == (FillOutcome.OUTSIDE_DAY, 0, False)
    assert pnl.apply_fill(late).outcome is FillOutcome.DUPLICATE
    assert pnl.daily_realized(ACCOUNT) == 0
    assert pnl.order_realized(ACCOUNT, 880031) == 0


def test_day_bounds_are_half_open() -> None:
    pnl = tracker()
    assert pnl.apply_fill(fill(1, "10", "0", at=DAY.last_reset_at)).outcome is FillOutcome.APPLIED
    assert pnl.apply_fill(fill(2, "10", "0", at=DAY.next_reset_at)).outcome is FillOutcome.OUTSIDE_DAY
    assert pnl.daily_realized(ACCOUNT) == Decimal("10")


def test_fill_after_the_day_end_counts_when_that_day_starts() -> None:
    """A fill processed before a late ResetDue is not lost for the new day."""
    pnl = tracker()
    pnl.apply_fill(fill(1, "-50", "1"))
    pnl.apply_fill(fill(2, "-20", "1", at=DAY.next_reset_at + timedelta(seconds=1), order_id=5))
    assert pnl.daily_realized(ACCOUNT) == Decimal("-51")
    pnl.start_day(NEXT_DAY, now=DAY.next_reset_at + timedelta(seconds=3))
    assert pnl.daily_realized(ACCOUNT) == Decimal("-21")
    assert pnl.order_realized(ACCOUNT, 5) == Decimal("-21")
    assert pnl.daily_pnl(ACCOUNT, trade_count=1).date == NEXT_DAY.trading_date


def test_start_day_keeps_per_order_pnl_of_working_orders_only() -> None:
    pnl = tracker()
    pnl.apply_fill(fill(1, "-80", "0", order_id=10))
    pnl.apply_fill(fill(2, "-30", "0", order_id=11))
    pnl.start_day(NEXT_DAY, now=NEXT_DAY.last_reset_at, working_order_ids=[10])
    assert pnl.daily_realized(ACCOUNT) == 0
    assert pnl.order_realized(ACCOUNT, 11) == 0
    pnl.apply_fill(fill(3, "-40", "0", order_id=10, at=NEXT_DAY.last_reset_at + timedelta(minutes=1)))
    assert pnl.order_realized(ACCOUNT, 10) == Decimal("-120")
    assert pnl.daily_realized(ACCOUNT) == Decimal("-40")


def test_previous_day_fill_ids_still_deduplicate_after_the_reset() -> None:
    pnl = tracker()
    old = fill(1, "-80", "0")
    pnl.apply_fill(old)
    pnl.start_day(NEXT_DAY, now=NEXT_DAY.last_reset_at)
    assert pnl.apply_fill(old).outcome is FillOutcome.DUPLICATE
    voided = fill(1, "-80", "0", voided=True)
    assert pnl.apply_fill(voided).outcome is FillOutcome.VOIDED  # the old day is not touched
    assert pnl.daily_realized(ACCOUNT) == 0


def test_recompute_day_replaces_totals_with_the_rest_fills() -> None:
    pnl = tracker()
    pnl.apply_fill(fill(1, "-400", "1"))  # not in the REST answer: dropped
    rest = [fill(2, "-100", "1"), fill(2, "-100", "1"), fill(3, "50", "1", order_id=7),
            fill(4, "-999", "1", order_id=8), fill(4, "-999", "1", order_id=8, voided=True)]
    pnl.recompute_day(ACCOUNT, rest, now=T0 + timedelta(hours=1))
    assert pnl.daily_realized(ACCOUNT) == Decimal("-52")
    assert pnl.order_realized(ACCOUNT, 880031) == Decimal("-101")
    assert pnl.order_realized(ACCOUNT, 8) == 0
    assert pnl.apply_fill(fill(2, "-100", "1")).outcome is FillOutcome.DUPLICATE
    assert pnl.daily_pnl(ACCOUNT, trade_count=0).last_updated == T0 + timedelta(hours=1)


def test_load_takes_the_stored_row_then_adds_new_fills() -> None:
    pnl = PnlTracker()
    row = DailyPnl(ACCOUNT, DAY.trading_date, T0, realized_pnl=Decimal("-200"), gross_pnl=Decimal("-190"),
                   fees=Decimal("10"))
    pnl.load(row, DAY)
    assert pnl.daily_realized(ACCOUNT) == Decimal("-200")
    pnl.apply_fill(fill(1, "-5", "1"))
    assert pnl.daily_realized(ACCOUNT) == Decimal("-206")


def test_load_rejects_a_row_of_another_day() -> None:
    row = DailyPnl(ACCOUNT, date(2025, 11, 21), T0)
    with pytest.raises(ValueError, match=r"2025-11-21.*2025-11-24"):
        PnlTracker().load(row, DAY)
    with pytest.raises(ValueError, match="account 7002"):
        PnlTracker().load(DailyPnl(7002, DAY.trading_date, T0), DAY)


def test_unknown_account_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="account 7001 has no trading day"):
        PnlTracker().apply_fill(OPEN)


# --- unrealized --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "contract", "ptype", "size", "average", "mark", "expected"), [
    ("MNQ long 2 @ 21000.00 mark 20950.00", MNQ, PositionType.LONG, 2, "21000.00", "20950.00", "-200.00"),
    ("ES long 1 @ 5800.00 mark 5775.00", ES, PositionType.LONG, 1, "5800.00", "5775.00", "-1250.00"),
    ("ES short 1 @ 5800.00 mark 5780.00", ES, PositionType.SHORT, 1, "5800.00", "5780.00", "1000.00"),
    ("MNQ long 3 @ 21000.125 (average) mark 21000.00", MNQ, PositionType.LONG, 3, "21000.125", "21000.00",
     "-0.75"),
])
def test_mod005_unrealized_table(name: str, contract: str, ptype: PositionType, size: int, average: str,
                                 mark: str, expected: str) -> None:
    upnl = position_upnl(position(contract, ptype, size, average), quote(contract, last=mark), META[contract])
    assert upnl == Decimal(expected)


@pytest.mark.parametrize(("contract", "average", "mark", "long_upnl"), [
    (MNQ, "21000.00", "21010.50", "21.00"),  # 42 ticks × 0.50
    (MES, "5800.00", "5810.25", "51.25"),  # 41 ticks × 1.25
    (ES, "5800.00", "5812.00", "600.00"),  # 48 ticks × 12.50
    (NQ, "21000.00", "20990.00", "-200.00"),  # −40 ticks × 5.00
], ids=["MNQ", "MES", "ES", "NQ"])
def test_unrealized_long_and_short_per_instrument(contract: str, average: str, mark: str,
                                                  long_upnl: str) -> None:
    q = quote(contract, last=mark)
    long_ = position_upnl(position(contract, PositionType.LONG, 1, average), q, META[contract])
    short = position_upnl(position(contract, PositionType.SHORT, 1, average), q, META[contract])
    assert long_ == Decimal(long_upnl)
    assert short == -Decimal(long_upnl)


@pytest.mark.parametrize(("name", "ptype", "q", "expected"), [
    ("long without last uses the bid", PositionType.LONG, quote(MNQ, bid="20990", ask="20991"), "-20"),
    ("short without last uses the ask", PositionType.SHORT, quote(MNQ, bid="20990", ask="20991"), "18"),
    ("last wins over bid and ask", PositionType.LONG, quote(MNQ, last="21001", bid="1", ask="2"), "2"),
    ("long with only an ask has no mark", PositionType.LONG, quote(MNQ, ask="20991"), None),
    ("short with only a bid has no mark", PositionType.SHORT, quote(MNQ, bid="20990"), None),
])
def test_mark_price_choice(name: str, ptype: PositionType, q: Quote, expected: str | None) -> None:
    upnl = position_upnl(position(MNQ, ptype, 1, "21000"), q, META[MNQ])
    assert upnl == (None if expected is None else Decimal(expected))


def test_upnl_needs_quote_and_metadata() -> None:
    p = position(MNQ, PositionType.LONG, 1, "21000")
    assert position_upnl(p, None, META[MNQ]) is None
    assert position_upnl(p, quote(MNQ, last="21000"), None) is None


def test_account_upnl_reports_total_skipped_and_stale() -> None:
    positions = [position(MNQ, PositionType.LONG, 1, "21000"), position(ES, PositionType.LONG, 1, "5800"),
                 position(MES, PositionType.SHORT, 1, "5800"), position(NQ, PositionType.LONG, 1, "21000")]
    now = T0 + timedelta(seconds=30)
    quotes = {MNQ: quote(MNQ, last="20900", received_at=now - timedelta(seconds=10)),  # exactly max age
              ES: quote(ES, last="5792", received_at=now - timedelta(seconds=10, milliseconds=1)),
              NQ: quote(NQ, last="21000")}
    metadata = {k: v for k, v in META.items() if k != NQ}
    result = account_upnl(positions, quotes.get, metadata.get, now, max_quote_age=10)
    assert result.per_position == {MNQ: Decimal("-200"), ES: Decimal("-400")}
    assert result.total == Decimal("-600")  # RULE-004 #3/#4 numbers
    assert result.skipped == (MES, NQ)  # no quote / no metadata
    assert result.stale == (ES,)


@given(size=st.integers(1, 50),
       average=st.decimals(min_value=1, max_value=100_000, places=3, allow_nan=False, allow_infinity=False),
       last=st.decimals(min_value=1, max_value=100_000, places=2, allow_nan=False, allow_infinity=False),
       contract=st.sampled_from(sorted(META)))
def test_unrealized_is_antisymmetric_between_long_and_short(size: int, average: Decimal, last: Decimal,
                                                             contract: str) -> None:
    q = quote(contract, last=str(last))
    long_ = position_upnl(position(contract, PositionType.LONG, size, str(average)), q, META[contract])
    short = position_upnl(position(contract, PositionType.SHORT, size, str(average)), q, META[contract])
    assert long_ is not None
    assert short == -long_
    assert long_ == (last - average) * META[contract].point_value * size


# --- order independence ------------------------------------------------------------------------------

_FILL_SPEC = st.tuples(st.decimals(min_value=-500, max_value=500, places=2), st.booleans(),
                       st.decimals(min_value=0, max_value=5, places=2), st.integers(1, 4), st.booleans(),
                       st.integers(0, 2))


@given(specs=st.lists(_FILL_SPEC, min_size=1, max_size=12), data=st.data())
def test_dedupe_and_void_make_the_result_order_independent(specs: list, data: st.DataObject) -> None:
    deliveries: list[Trade] = []
    expected_total = Decimal(0)
    expected_orders: dict[int, Decimal] = {}
    for trade_id, (amount, opening, fees, order_id, voided, copies) in enumerate(specs, start=1):
        original = fill(trade_id, None if opening else str(amount), str(fees), order_id=order_id)
        deliveries += [original] * (copies + 1)
        if voided:
            deliveries.append(fill(trade_id, None if opening else str(amount), str(fees), order_id=order_id,
                                   voided=True))
        else:
            contribution = (Decimal(0) if opening else amount) - fees
            expected_total += contribution
            expected_orders[order_id] = expected_orders.get(order_id, Decimal(0)) + contribution
    shuffled = data.draw(st.permutations(deliveries))
    pnl = tracker()
    for trade in shuffled:
        pnl.apply_fill(trade)
    assert pnl.daily_realized(ACCOUNT) == expected_total
    for order_id in range(1, 5):
        assert pnl.order_realized(ACCOUNT, order_id) == expected_orders.get(order_id, Decimal(0))
