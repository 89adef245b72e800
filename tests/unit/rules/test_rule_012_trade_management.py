"""RULE-012 Trade Management: worked examples, the AUTO_STOP_LOSS op contract, levels, rate limit, cleanup."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind, OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.models import EnforcementAction, Order
from simple_risk_manager.rules.base import RuleResult
from simple_risk_manager.rules.events import FillApplied, RuleEvent, Sweep
from simple_risk_manager.rules.trade_management import ManagedStop, StopOp, TradeManagementRule, snap

from .world import ES, MES, MNQ, World

RULE = TradeManagementRule()
NO_BREAKEVEN = {"auto_breakeven": {"enabled": False}}
NO_TRAILING = {"trailing_stop": {"enabled": False}}


class Desk:
    """One account with RULE-012 enabled; threads the rule's memory and plays the engine's part."""

    def __init__(self, **params: Any) -> None:
        self.world = World()
        self.world.configure("trade_management", **{"enabled": True, **params})
        self.memory: Any = None
        self._tags = itertools.count(1)

    def evaluate(self, event: RuleEvent) -> RuleResult:
        result = RULE.evaluate(self.world.view({RULE.rule_id: self.memory}), event)
        if result.has_patch:
            self.memory = result.state_patch
        return result

    def own_stop(self, contract_id: str, side: str, size: int, price: str | Decimal, order_id: int) -> Order:
        """A stop placed by this rule (customTag `RM-…`), as its order event mirrors it."""
        return self.world.order(contract_id, side, size, type=OrderType.STOP, stop_price=price,
                                order_id=order_id, custom_tag=f"RM-test-{next(self._tags)}").order

    def stop(self, order_id: int) -> Order:
        """The working order `order_id` (the test fails if it is not working)."""
        (order,) = (o for o in self.world.view().working_orders() if o.id == order_id)
        return order

    def execute(self, result: RuleResult) -> None:
        """Carry out AUTO_STOP_LOSS decisions as MOD-001 would, so the next event sees their order events."""
        for d in result.decisions:
            assert d.contract_id is not None
            op = StopOp(d.details["op"])
            if op is StopOp.PLACE:
                assert d.size is not None and d.stop_price is not None
                self.own_stop(d.contract_id, d.details["side"], d.size, d.stop_price,
                              order_id=900 + len(self.world.view().working_orders()))
                continue
            assert d.order_id is not None
            held = self.stop(d.order_id)
            if op is StopOp.MODIFY:
                self.world.order(held.contract_id, held.side, d.size or held.size, type=held.type,
                                 stop_price=d.stop_price, order_id=held.id, custom_tag=held.custom_tag)
            else:
                self.world.order(held.contract_id, held.side, held.size, type=held.type,
                                 stop_price=held.stop_price, order_id=held.id, custom_tag=held.custom_tag,
                                 status=OrderStatus.CANCELLED)


def _stop_of(result: RuleResult) -> EnforcementAction:
    (d,) = result.decisions
    assert (d.action, d.rule_id) == (A.AUTO_STOP_LOSS, "RULE-012")
    assert d.lockout_kind is None and d.lockout_until is None
    return d


# --- worked examples ----------------------------------------------------------------------------

@pytest.mark.parametrize("ticks", [pytest.param(10, id="RULE-012#1")])
def test_worked_example_1_places_the_initial_stop(ticks: int) -> None:
    desk = Desk(stop_loss_ticks=ticks)
    d = _stop_of(desk.evaluate(desk.world.open_position(MNQ, "long", 2, "21000.00")))
    assert d.details["op"] == "place" and d.details["side"] == "SELL"
    assert (d.contract_id, d.order_id, d.size, d.stop_price) == (MNQ, None, 2, Decimal("20997.50"))
    assert d.reason == (f"{MNQ} long 2 @ 21000.00 has no stop: place sell Stop 20997.50 size 2 "
                        "(initial stop 10 ticks)")


EXAMPLES = [
    # contract, side, size, avg, params, tracked stop, quotes, stop after each quote (None: no action)
    pytest.param(MNQ, "long", 2, "21000", {}, "20997.50", ["21002.00"], [None], id="RULE-012#2"),
    pytest.param(MNQ, "long", 2, "21000", {}, "20997.50", ["21002.50"], ["21000.00"], id="RULE-012#3"),
    pytest.param(ES, "long", 1, "5800", NO_BREAKEVEN, "5797.50", ["5805.00", "5810.00", "5808.00"],
                 ["5802.50", "5807.50", None], id="RULE-012#4"),
    pytest.param(ES, "short", 1, "5800", NO_BREAKEVEN, "5802.50", ["5795.00", "5790.00"],
                 ["5797.50", "5792.50"], id="RULE-012#5"),
    pytest.param(MNQ, "long", 2, "21000", {}, "20997.50", ["21002.50", "21005.00"], ["21000.00", "21002.50"],
                 id="RULE-012#6"),
]


@pytest.mark.parametrize(("contract", "side", "size", "avg", "params", "tracked", "quotes", "expected"),
                         EXAMPLES)
def test_worked_examples_breakeven_and_trailing(contract: str, side: str, size: int, avg: str,
                                               params: dict[str, Any], tracked: str, quotes: list[str],
                                               expected: list[str | None]) -> None:
    desk = Desk(**params)
    closing = "sell" if side == "long" else "buy"
    desk.own_stop(contract, closing, size, tracked, order_id=70)
    assert desk.evaluate(desk.world.open_position(contract, side, size, avg)).decisions == ()
    assert desk.memory[contract].stop_order_id == 70
    for quote, want in zip(quotes, expected, strict=True):
        desk.world.advance(1)  # the examples' quotes arrive at least 1 s apart
        result = desk.evaluate(desk.world.quote(contract, last=quote))
        if want is None:
            assert result.decisions == ()
            continue
        d = _stop_of(result)
        assert d.details["op"] == "modify"
        assert (d.contract_id, d.order_id, d.size, d.stop_price) == (contract, 70, size, Decimal(want))
        assert f"move stop order 70: stop {desk.stop(70).stop_price} → {want} (" in d.reason
        desk.execute(result)
        assert desk.stop(70).stop_price == Decimal(want)


def test_example_3_reason_names_the_breakeven_trigger() -> None:
    desk = Desk()
    desk.own_stop(MNQ, "sell", 2, "20997.50", order_id=70)
    desk.evaluate(desk.world.open_position(MNQ, "long", 2, "21000"))
    desk.world.advance(1)
    d = _stop_of(desk.evaluate(desk.world.quote(MNQ, last="21002.50")))
    assert d.reason == (f"{MNQ} long 2 @ 21000: move stop order 70: stop 20997.50 → 21000.00 "
                        "(breakeven: best +10 ticks ≥ trigger 10)")


# --- op contract -------------------------------------------------------------------------------------

def test_op_contract_place_modify_remove() -> None:
    desk = Desk()
    place = _stop_of(desk.evaluate(desk.world.open_position(ES, "short", 1, "5800")))
    assert (place.details["op"], place.details["side"], place.order_id, place.size, place.stop_price) == (
        "place", OrderSide.BUY.name, None, 1, Decimal("5802.50"))
    desk.execute(RuleResult(decisions=(place,)))
    (own,) = desk.world.view().working_orders(ES)
    assert own.is_own and own.is_stop_loss and own.side is OrderSide.BUY
    mirrored = desk.world.order(ES, own.side, own.size, type=OrderType.STOP, stop_price=own.stop_price,
                                order_id=own.id, custom_tag=own.custom_tag)
    assert desk.evaluate(mirrored).decisions == ()
    desk.world.advance(1)
    resize = _stop_of(desk.evaluate(desk.world.open_position(ES, "short", 3, "5800")))
    assert (resize.details["op"], resize.order_id, resize.size, resize.stop_price) == (
        "modify", own.id, 3, Decimal("5802.50"))
    assert resize.reason.endswith(f"move stop order {own.id}: size 1 → 3")
    desk.execute(RuleResult(decisions=(resize,)))
    remove = _stop_of(desk.evaluate(desk.world.close_position(ES)))
    assert (remove.details["op"], remove.order_id, remove.size, remove.stop_price) == (
        "remove", own.id, None, None)
    assert remove.reason == f"{ES} is flat: cancel buy stop order {own.id}"
    assert desk.memory == {}


# --- levels ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("price", "side", "snapped"),
    [
        ("20997.625", "long", "20997.75"),
        ("21002.625", "short", "21002.50"),
        ("20997.50", "long", "20997.50"),
        ("2449.95", "long", "2450.0"),
    ],
)
def test_snapping_is_never_looser(price: str, side: str, snapped: str) -> None:
    tick = Decimal("0.10") if price.startswith("24") else Decimal("0.25")
    kind = PositionType.LONG if side == "long" else PositionType.SHORT
    assert snap(Decimal(price), tick, kind) == Decimal(snapped)


def test_initial_stop_from_a_fractional_average_rounds_to_the_protective_side() -> None:
    desk = Desk()
    long = _stop_of(desk.evaluate(desk.world.open_position(MNQ, "long", 3, "21000.125")))
    assert long.stop_price == Decimal("20997.75")
    short = _stop_of(desk.evaluate(desk.world.open_position(MES, "short", 1, "5800.125")))
    assert short.stop_price == Decimal("5802.50")


def test_initial_stop_needs_no_quote_but_breakeven_needs_one() -> None:
    desk = Desk()
    desk.own_stop(MNQ, "sell", 1, "20997.50", order_id=70)
    assert desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")).decisions == ()
    desk.world.advance(5)
    assert desk.evaluate(desk.world.quote(MNQ, bid="21010", ask="21010.25")).decisions == ()  # no lastPrice


def test_no_stop_is_placed_through_the_market() -> None:
    desk = Desk()
    desk.world.quote(MNQ, last="20997.50")  # already 10 ticks down: a sell stop at 20997.50 would be refused
    assert desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")).decisions == ()
    desk.world.advance(1)
    d = _stop_of(desk.evaluate(desk.world.quote(MNQ, last="20999.00")))
    assert (d.details["op"], d.stop_price) == ("place", Decimal("20997.50"))


def test_placement_in_profit_uses_the_most_protective_level() -> None:
    desk = Desk()
    desk.world.quote(MNQ, last="21006.00")  # +24 ticks: breakeven 21000 and trailing 21003.50 apply
    d = _stop_of(desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")))
    assert (d.details["op"], d.stop_price) == ("place", Decimal("21003.50"))
    assert d.details["basis"] == "trailing 10 ticks behind 21006.00"


def test_breakeven_latches_on_the_water_mark_when_its_modify_had_to_wait() -> None:
    desk = Desk(**NO_TRAILING)
    desk.own_stop(MNQ, "sell", 1, "20997.50", order_id=70)
    resize = _stop_of(desk.evaluate(desk.world.open_position(MNQ, "long", 2, "21000")))
    assert (resize.size, resize.stop_price) == (2, Decimal("20997.50"))  # covers the whole position
    desk.world.advance(0.2)
    assert desk.evaluate(desk.world.quote(MNQ, last="21002.75")).decisions == ()  # +11 ticks, too soon
    desk.world.advance(1)
    late = _stop_of(desk.evaluate(desk.world.quote(MNQ, last="21001.00")))  # back to +4 ticks
    assert (late.order_id, late.size, late.stop_price) == (70, 2, Decimal("21000.00"))
    assert "best +11 ticks" in late.reason


def test_at_most_one_modify_per_order_per_second_and_no_queue() -> None:
    desk = Desk(**NO_BREAKEVEN)
    desk.own_stop(ES, "sell", 1, "5797.50", order_id=70)
    desk.evaluate(desk.world.open_position(ES, "long", 1, "5800"))
    desk.world.advance(1)
    first = desk.evaluate(desk.world.quote(ES, last="5805.00"))
    assert _stop_of(first).stop_price == Decimal("5802.50")
    desk.execute(first)
    desk.world.advance(0.5)
    assert desk.evaluate(desk.world.quote(ES, last="5806.00")).decisions == ()  # inside the second
    desk.world.advance(0.5)
    later = desk.evaluate(desk.world.quote(ES, last="5806.00"))
    assert _stop_of(later).stop_price == Decimal("5803.50")


def test_improvement_below_one_tick_is_not_sent() -> None:
    desk = Desk(**NO_TRAILING)
    desk.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price="20999.90", order_id=70)  # off the grid
    desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000"))
    desk.world.advance(1)
    assert desk.evaluate(desk.world.quote(MNQ, last="21003.00")).decisions == ()  # breakeven is 0.10 tighter


def test_a_loosened_stop_is_tightened_again() -> None:
    desk = Desk()
    result = desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000"))
    desk.execute(result)
    (own,) = desk.world.view().working_orders(MNQ)
    desk.world.advance(1)
    desk.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price="20990.00", order_id=own.id,
                     custom_tag=own.custom_tag)  # the trader drags it down
    d = _stop_of(desk.evaluate(desk.world.quote(MNQ, last="21000.50")))
    assert (d.details["op"], d.order_id, d.stop_price) == ("modify", own.id, Decimal("20997.50"))
    assert "level held by this rule" in d.reason


def test_adopts_the_traders_most_recently_updated_stop_and_keeps_it() -> None:
    desk = Desk(auto_stop_loss=False)
    desk.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price="20990", order_id=31)
    desk.world.advance(1)
    desk.world.order(MNQ, "sell", 1, type=OrderType.STOP_LIMIT, stop_price="20992", limit_price="20991",
                     order_id=32)
    assert desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")).decisions == ()
    assert desk.memory[MNQ].stop_order_id == 32
    desk.world.advance(1)
    desk.world.order(MNQ, "sell", 1, type=OrderType.STOP, stop_price="20989", order_id=31)  # touched later
    desk.world.advance(1)
    d = _stop_of(desk.evaluate(desk.world.quote(MNQ, last="21002.50")))
    assert (d.details["op"], d.order_id, d.stop_price) == ("modify", 32, Decimal("21000.00"))


def test_without_auto_stop_loss_no_stop_is_placed() -> None:
    desk = Desk(auto_stop_loss=False)
    assert desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")).decisions == ()


# --- cleanup -------------------------------------------------------------------------------------

def test_flip_cancels_the_old_stop_then_protects_the_new_direction() -> None:
    desk = Desk()
    desk.own_stop(MNQ, "sell", 1, "20997.50", order_id=70)
    desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000"))
    flipped = desk.evaluate(desk.world.open_position(MNQ, "short", 1, "21010"))
    d = _stop_of(flipped)
    assert (d.details["op"], d.order_id) == ("remove", 70)
    assert d.reason == f"{MNQ} flipped to short: cancel sell stop order 70"
    desk.execute(flipped)
    place = _stop_of(desk.evaluate(desk.world.quote(MNQ, last="21010")))
    assert (place.details["op"], place.details["side"]) == ("place", "BUY")
    assert place.stop_price == Decimal("21012.50")
    assert desk.memory[MNQ] == ManagedStop(side=PositionType.SHORT, water_mark=Decimal("21010"),
                                           floor=Decimal("21012.50"))


def test_sweep_removes_own_stops_left_on_flat_contracts_and_protects_open_positions() -> None:
    desk = Desk()
    desk.own_stop(ES, "sell", 1, "5790", order_id=80)  # its position was closed while the daemon was away
    desk.world.order(MES, "sell", 1, type=OrderType.STOP, stop_price="5790", order_id=81)  # the trader's
    desk.world.open_position(MNQ, "long", 1, "21000")
    result = desk.evaluate(Sweep())
    assert [(d.contract_id, d.details["op"], d.order_id) for d in result.decisions] == [
        (ES, "remove", 80), (MNQ, "place", None)]
    assert set(desk.memory) == {MNQ}


def test_missing_metadata_skips_the_contract_and_is_reported() -> None:
    desk = Desk()
    unknown = "CON.F.US.GCE.Z25"
    desk.world.open_position(unknown, "long", 1, "2400")
    desk.world.open_position(MNQ, "long", 1, "21000")
    (d,) = desk.evaluate(Sweep()).decisions
    assert d.contract_id == MNQ and d.details["skipped_no_metadata"] == [unknown]


def test_stale_quote_is_used_and_flagged() -> None:
    desk = Desk()
    desk.world.quote(MNQ, last="21000.50", age=60)
    d = _stop_of(desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")))
    assert d.details["quote_stale"] is True and d.details["last"] == "21000.50"


def test_never_acts_on_a_locked_account_or_when_disabled() -> None:
    desk = Desk()
    desk.world.lock("RULE-003", LockoutKind.RESET)
    assert desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000")) == RuleResult()
    disabled = Desk(enabled=False)
    assert disabled.evaluate(disabled.world.open_position(MNQ, "long", 1, "21000")) == RuleResult()
    fill: FillApplied = desk.world.fill(MNQ, "buy", 1, 21000)
    assert Desk().evaluate(fill) == RuleResult()


def test_a_filled_stop_is_not_replaced_before_the_position_event() -> None:
    """The fill's order event precedes its position event (order, trade, position): placing a fresh stop
    in between — here on an interleaved quote — would leave a live stop behind on a flat contract."""
    desk = Desk(**NO_BREAKEVEN, **NO_TRAILING)
    desk.execute(desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000.00")))
    (stop,) = desk.world.view().working_orders(MNQ)

    filled = desk.world.order(MNQ, "sell", 1, type=OrderType.STOP, status=OrderStatus.FILLED,
                              stop_price=stop.stop_price, order_id=stop.id, custom_tag=stop.custom_tag)
    assert desk.evaluate(filled).decisions == ()
    assert desk.evaluate(desk.world.quote(MNQ, last="20997.00")).decisions == ()

    closed = desk.evaluate(desk.world.close_position(MNQ))
    assert closed.decisions == ()
    assert MNQ not in desk.memory


def test_a_partly_closed_position_gets_a_stop_for_the_rest_once_its_position_event_arrives() -> None:
    desk = Desk(**NO_BREAKEVEN, **NO_TRAILING)
    desk.execute(desk.evaluate(desk.world.open_position(MNQ, "long", 2, "21000.00")))
    (stop,) = desk.world.view().working_orders(MNQ)
    filled = desk.world.order(MNQ, "sell", 2, type=OrderType.STOP, status=OrderStatus.FILLED,
                              stop_price=stop.stop_price, order_id=stop.id, custom_tag=stop.custom_tag)
    assert desk.evaluate(filled).decisions == ()

    (place,) = desk.evaluate(desk.world.open_position(MNQ, "long", 1, "21000.00")).decisions
    assert place.details["op"] == "place" and place.size == 1
