"""`rules.unrealized.quiet_marks`: the no-breach mark range of RULE-004/005 the quote hot path relies on.

The range must say exactly what the rules say: a mark strictly inside it makes both rules return
nothing on the position's quote, a mark on a bound (D-06, inclusive) or beyond it makes one of them act.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_risk_manager.domain.enums import PositionType
from simple_risk_manager.domain.models import ContractMetadata, Position, Quote
from simple_risk_manager.rules.base import NOTHING
from simple_risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from simple_risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from simple_risk_manager.rules.unrealized import QuietMarks, Threshold, breach_mark, quiet_marks
from simple_risk_manager.state.pnl import position_upnl

from .world import ES, MES, MNQ, NOW, RTY, World, metadata

LOSS, PROFIT = DailyUnrealizedLossRule(), MaxUnrealizedProfitRule()


def position(contract_id: str, side: PositionType, size: int, avg: str) -> Position:
    return Position(id=1, account_id=1, contract_id=contract_id, type=side, size=size,
                    average_price=Decimal(avg), created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize("contract_id", [MNQ, MES, ES, RTY])
@pytest.mark.parametrize("side", [PositionType.LONG, PositionType.SHORT])
@pytest.mark.parametrize("threshold", [Threshold("loss_limit", Decimal("300.00")),
                                       Threshold("profit_target", Decimal("1000.00"))])
@pytest.mark.parametrize("size", [1, 2, 4])
def test_the_breach_mark_values_the_position_at_exactly_the_threshold(
        contract_id: str, side: PositionType, threshold: Threshold, size: int) -> None:
    held = position(contract_id, side, size, "5000.25")
    contract = metadata(contract_id)
    mark = breach_mark(held, contract, threshold)
    assert mark is not None
    signed = -threshold.value if threshold.key == "loss_limit" else threshold.value
    assert position_upnl(held, _quote_at(contract_id, mark), contract) == signed
    assert threshold.breached(signed)  # the bound itself is a breach (inclusive)


def test_exact_breach_marks_give_a_range_and_an_inexact_one_none() -> None:
    """$300 on 2 ES ($12.50 per 0.25 tick) is 3 points, $1,000 is 10: exact; $300 on 7 RTY is not."""
    rty = metadata(RTY)
    assert breach_mark(position(RTY, PositionType.LONG, 7, "2400"), rty,
                       Threshold("loss_limit", Decimal("300"))) is None
    world = World()
    assert quiet_marks(world.rules, position(RTY, PositionType.LONG, 7, "2400"), rty) is None
    marks = quiet_marks(world.rules, position(ES, PositionType.LONG, 2, "5800"), metadata(ES))
    assert marks == QuietMarks(low=Decimal("5797"), high=Decimal("5810"))
    assert [marks.holds(Decimal(m)) for m in ("5797", "5797.25", "5809.75", "5810")] == [
        False, True, True, False]  # both bounds are breaches (D-06, inclusive)


def test_a_tick_size_without_an_exact_reciprocal_gives_no_range() -> None:
    """position_upnl divides by the tick size; when that could round, the rules always decide."""
    odd = ContractMetadata(contract_id="CON.F.US.ODD.Z25", symbol_id="F.US.ODD", tick_size=Decimal("0.3"),
                           tick_value=Decimal("3"), cached_at=NOW)
    assert quiet_marks(World().rules, position(odd.contract_id, PositionType.LONG, 1, "99.9"), odd) is None


def test_total_scope_gives_no_range_and_disabled_rules_give_no_bound() -> None:
    world = World()
    held = position(MNQ, PositionType.SHORT, 2, "21000")
    world.configure("max_unrealized_profit", scope="total")
    assert quiet_marks(world.rules, held, metadata(MNQ)) is None
    world.configure("max_unrealized_profit", enabled=False)
    # short 2 MNQ ($2 per point each): the $300 loss is 75 points up, no profit bound
    assert quiet_marks(world.rules, held, metadata(MNQ)) == QuietMarks(low=None, high=Decimal("21075"))
    world.configure("daily_unrealized_loss", enabled=False)
    assert quiet_marks(world.rules, held, metadata(MNQ)) == QuietMarks(low=None, high=None)


def test_a_missing_mark_is_quiet() -> None:
    assert QuietMarks(low=Decimal("1"), high=Decimal("2")).holds(None)


@settings(max_examples=150, deadline=None)
@given(contract_id=st.sampled_from([MNQ, MES, ES, RTY]), long=st.booleans(), size=st.integers(1, 12),
       avg_ticks=st.integers(20_000, 30_000), move_ticks=st.integers(-3_000, 3_000),
       loss=st.sampled_from([300, 100, 250.5, 12.5]), profit=st.sampled_from([1000, 37.5, 600]))
def test_inside_the_range_both_rules_return_nothing_and_outside_one_acts(
        contract_id: str, long: bool, size: int, avg_ticks: int, move_ticks: int, loss: float,
        profit: float) -> None:
    world = World()
    world.configure("daily_unrealized_loss", loss_limit=loss)
    world.configure("max_unrealized_profit", profit_target=profit)
    tick = metadata(contract_id).tick_size
    avg = tick * avg_ticks
    world.open_position(contract_id, "long" if long else "short", size, avg)
    event = world.quote(contract_id, last=avg + tick * move_ticks)
    held = world.state.position(world.account_id, contract_id)
    assert held is not None
    marks = quiet_marks(world.rules, held, metadata(contract_id))
    if marks is None:
        return  # inexact: the hot path evaluates the rules
    view = world.view()
    quiet = LOSS.evaluate(view, event) is NOTHING and PROFIT.evaluate(view, event) is NOTHING
    assert marks.holds(avg + tick * move_ticks) == quiet


def _quote_at(contract_id: str, mark: Decimal) -> Quote:
    return Quote(contract_id=contract_id, received_at=NOW, last=mark)
