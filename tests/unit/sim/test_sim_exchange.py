"""Exchange semantics of the simulator: fills, net positions, averages, realized P&L, fees, triggers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from projectx_sim.config import SimConfig
from projectx_sim.contracts import ContractBook
from projectx_sim.exchange import (
    Bbo,
    EventKind,
    Exchange,
    Modification,
    OrderRequest,
    Reason,
    RejectionError,
    UserEvent,
)
from projectx_sim.models import Account
from projectx_sim.wire import OrderStatus, PositionType

MNQ = "CON.F.US.MNQ.Z25"
EP = "CON.F.US.EP.Z25"
D = Decimal


class Prices:
    """A hand-set price source standing in for the market."""

    def __init__(self) -> None:
        self.quotes: dict[str, Bbo] = {}

    def set(self, contract_id: str, bid: str | None, ask: str | None, last: str) -> None:
        self.quotes[contract_id] = Bbo(
            bid=None if bid is None else D(bid), ask=None if ask is None else D(ask), last=D(last)
        )

    def best(self, contract_id: str) -> Bbo | None:
        return self.quotes.get(contract_id)


class World:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.prices = Prices()
        self.batches: list[list[UserEvent]] = []
        self.exchange = Exchange(self.config, ContractBook("Z25"), self.prices, self.batches.append)
        user = self.exchange.add_user("trader", "key")
        self.account = self.exchange.add_account(user, "SIM-1", D("50000"))
        self.prices.set(MNQ, "20999.75", "21000.00", "21000.00")
        self.prices.set(EP, "5999.75", "6000.00", "6000.00")

    def price(self, contract_id: str, bid: str | None, ask: str | None, last: str) -> None:
        self.prices.set(contract_id, bid, ask, last)
        self.exchange.on_price(contract_id)

    def buy(self, size: int, contract_id: str = MNQ, account: Account | None = None, **kw: object) -> int:
        return self.exchange.place(
            account or self.account, OrderRequest(contract_id, kw.pop("type", 2), 0, size, **kw)
        )  # type: ignore[arg-type]

    def sell(self, size: int, contract_id: str = MNQ, **kw: object) -> int:
        return self.exchange.place(self.account, OrderRequest(contract_id, kw.pop("type", 2), 1, size, **kw))  # type: ignore[arg-type]

    def events(self, kind: EventKind) -> list[dict]:
        return [e.payload for batch in self.batches for e in batch if e.kind == kind]

    def trades(self) -> list[dict]:
        return self.events(EventKind.TRADE)

    def positions(self) -> list[dict]:
        return self.events(EventKind.POSITION)


def test_market_buy_fills_at_ask_and_emits_order_trade_position_account_in_one_batch() -> None:
    world = World()
    order_id = world.buy(2)
    opened, filled = world.batches
    assert [e.kind for e in opened] == [EventKind.ORDER]
    assert opened[0].payload["status"] == OrderStatus.OPEN
    assert [e.kind for e in filled] == [
        EventKind.ORDER,
        EventKind.TRADE,
        EventKind.POSITION,
        EventKind.ACCOUNT,
    ]
    order, trade, position, account = (e.payload for e in filled)
    assert order["id"] == order_id and order["status"] == OrderStatus.FILLED
    assert order["fillVolume"] == 2 and order["filledPrice"] == D("21000.00")
    assert trade["price"] == D("21000.00") and trade["profitAndLoss"] is None
    assert trade["fees"] == D("0.74") and trade["orderId"] == order_id and trade["side"] == 0
    assert position["type"] == PositionType.LONG and position["size"] == 2
    assert position["averagePrice"] == D("21000.00")
    assert account["balance"] == D("49999.26")


def test_market_sell_fills_at_bid_and_falls_back_to_last_without_a_bid() -> None:
    world = World()
    world.sell(1)
    assert world.trades()[-1]["price"] == D("20999.75")
    world.price(MNQ, None, None, "21001.50")
    world.sell(1)
    assert world.trades()[-1]["price"] == D("21001.50")


def test_average_is_volume_weighted_on_adds_and_unchanged_on_reductions() -> None:
    world = World()
    world.buy(1)  # 21000.00
    world.price(MNQ, "21002.75", "21003.00", "21003.00")
    world.buy(2)  # 21003.00
    assert world.exchange.position(world.account, MNQ).average_price == D("21002")  # type: ignore[union-attr]
    world.price(MNQ, "21010.00", "21010.25", "21010.00")
    world.exchange.partial_close(world.account, MNQ, 2)
    position = world.exchange.position(world.account, MNQ)
    assert position is not None and position.size == 1 and position.average_price == D("21002")
    # 8 points × $2/point × 2 contracts
    assert world.trades()[-1]["profitAndLoss"] == D("32.00")
    assert world.positions()[-1]["size"] == 1


def test_short_pnl_has_the_opposite_sign() -> None:
    world = World()
    world.sell(1, EP)  # at the bid 5999.75
    world.price(EP, "5995.00", "5995.25", "5995.00")
    world.exchange.close_contract(world.account, EP)  # buys at the ask 5995.25
    # 4.5 points × 4 ticks × $12.50 = 225.00; full-size fees 1.40 per side
    assert world.trades()[-1]["profitAndLoss"] == D("225.00")
    assert [t["fees"] for t in world.trades()] == [D("1.40"), D("1.40")]
    assert world.account.balance == D("50000") + D("225.00") - D("2.80")


def test_partial_close_size_must_be_within_the_position() -> None:
    world = World()
    world.buy(2)
    for size in (0, -1, 3):
        with pytest.raises(RejectionError) as caught:
            world.exchange.partial_close(world.account, MNQ, size)
        assert caught.value.reason == Reason.INVALID_CLOSE_SIZE
    with pytest.raises(RejectionError) as caught:
        world.exchange.partial_close(world.account, EP, 1)
    assert caught.value.reason == Reason.POSITION_NOT_FOUND


def test_reversing_fill_is_two_half_trades_and_a_new_position_by_default() -> None:
    world = World()
    world.buy(1)
    first_id = world.positions()[-1]["id"]
    world.price(MNQ, "21005.00", "21005.25", "21005.00")
    world.sell(3)  # closes 1 at 21005.00, opens short 2
    closing, opening = world.trades()[-2:]
    assert (closing["size"], closing["profitAndLoss"]) == (1, D("10.00"))
    assert (opening["size"], opening["profitAndLoss"]) == (2, None)
    assert closing["orderId"] == opening["orderId"]
    assert [closing["fees"], opening["fees"]] == [D("0.37"), D("0.74")]
    flat, short = world.positions()[-2:]
    assert flat == flat | {
        "id": first_id,
        "size": 0,
        "type": PositionType.LONG,
        "averagePrice": D("21000.00"),
    }
    assert short["type"] == PositionType.SHORT and short["size"] == 2 and short["id"] != first_id
    assert short["averagePrice"] == D("21005.00")


def test_reversal_as_one_trade_when_switched() -> None:
    world = World(SimConfig(reversal_trades="one"))
    world.buy(1)
    world.price(MNQ, "21005.00", "21005.25", "21005.00")
    world.sell(3)
    trade = world.trades()[-1]
    assert (trade["size"], trade["profitAndLoss"], trade["fees"]) == (3, D("10.00"), D("1.11"))
    assert world.exchange.position(world.account, MNQ).size == 2  # type: ignore[union-attr]


def test_flat_position_keeps_type_by_default_and_reopen_gets_a_new_id() -> None:
    world = World()
    world.buy(1)
    world.exchange.close_contract(world.account, MNQ)
    flat = world.positions()[-1]
    assert flat["size"] == 0 and flat["type"] == PositionType.LONG
    assert world.exchange.open_positions(world.account) == []
    world.buy(1)
    assert world.positions()[-1]["id"] != flat["id"]


def test_flat_type_zero_and_id_reuse_switches() -> None:
    world = World(SimConfig(flat_position_type="zero", position_id_on_reopen="reuse"))
    world.buy(1)
    world.exchange.close_contract(world.account, MNQ)
    flat = world.positions()[-1]
    assert flat["size"] == 0 and flat["type"] == PositionType.UNDEFINED
    world.sell(1)
    reopened = world.positions()[-1]
    assert reopened["id"] == flat["id"] and reopened["type"] == PositionType.SHORT


def test_buy_limit_triggers_on_last_and_fills_at_the_limit_or_better() -> None:
    world = World()
    resting = world.buy(1, type=1, limit_price=D("20990.00"))
    assert [o.id for o in world.exchange.open_orders(world.account)] == [resting]
    world.price(MNQ, "20990.00", "20990.25", "20990.25")  # ask touches, last does not
    assert world.trades() == []
    world.price(MNQ, "20989.75", "20990.00", "20990.00")
    assert world.trades()[-1]["price"] == D("20990.00")
    gapped = world.buy(1, type=1, limit_price=D("20985.00"))
    world.price(MNQ, "20979.75", "20980.00", "20980.00")  # gaps through the limit
    assert world.trades()[-1]["price"] == D("20980.00") and world.trades()[-1]["orderId"] == gapped
    assert world.exchange.open_orders(world.account) == []


def test_marketable_limit_fills_immediately() -> None:
    world = World()
    world.sell(1, type=1, limit_price=D("20995.00"))  # last 21000 ≥ 20995
    assert world.trades()[-1]["price"] == D("21000.00")


def test_sell_stop_triggers_on_last_and_fills_at_the_bid() -> None:
    world = World()
    world.buy(1)
    stop = world.sell(1, type=4, stop_price=D("20990.00"))
    world.price(MNQ, "20990.25", "20990.50", "20990.50")
    assert len(world.trades()) == 1
    world.price(MNQ, "20989.50", "20989.75", "20990.00")
    trade = world.trades()[-1]
    assert trade["orderId"] == stop and trade["price"] == D("20989.50")
    assert trade["profitAndLoss"] == D("-21.00")  # 10.5 points × $2


def test_stop_through_the_market_is_rejected_and_leaves_a_rejected_order() -> None:
    world = World()
    with pytest.raises(RejectionError) as caught:
        world.sell(1, type=4, stop_price=D("21001.00"))
    assert caught.value.reason == Reason.ORDER_REJECTED and caught.value.order_id is not None
    order = world.exchange.order(world.account, caught.value.order_id)
    assert order is not None and order.status == OrderStatus.REJECTED
    assert world.events(EventKind.ORDER)[-1]["status"] == OrderStatus.REJECTED


def test_trailing_stop_follows_the_price_and_triggers() -> None:
    world = World()
    world.buy(1)
    trailing = world.sell(1, type=5, trail_price=D("20995.00"))  # 20 ticks below the last
    order = world.exchange.order(world.account, trailing)
    assert order is not None and order.trail_ticks == 20
    world.price(MNQ, "21010.00", "21010.25", "21010.00")
    assert order.stop_price == D("21005.00")
    assert world.events(EventKind.ORDER)[-1]["stopPrice"] == D("21005.00")
    world.price(MNQ, "21007.00", "21007.25", "21007.00")  # falling does not lower the stop
    assert order.stop_price == D("21005.00")
    world.price(MNQ, "21004.75", "21005.00", "21005.00")
    assert order.status == OrderStatus.FILLED and world.trades()[-1]["price"] == D("21004.75")


def test_trailing_stop_guards() -> None:
    world = World()
    for level in ("21001.00", "20700.00"):  # wrong side; 1200 ticks away
        with pytest.raises(RejectionError) as caught:
            world.sell(1, type=5, trail_price=D(level))
        assert caught.value.reason == Reason.ORDER_REJECTED


def test_join_bid_and_join_ask_rest_at_the_touch() -> None:
    world = World()
    world.price(MNQ, "20999.75", "21000.25", "21000.00")  # last inside a two-tick spread
    bid_order = world.buy(1, type=6)
    ask_order = world.sell(1, type=7)
    prices = {o.id: o.limit_price for o in world.exchange.open_orders(world.account)}
    assert prices == {bid_order: D("20999.75"), ask_order: D("21000.25")}


def test_parameter_errors_reject_without_an_order() -> None:
    world = World()
    cases = [
        dict(type=3, stop_price=D("21001.00")),  # StopLimit is not placeable (§3.1)
        dict(type=0),
        dict(type=1),  # limit without limitPrice
        dict(type=1, limit_price=D("21000.10")),  # off the tick grid
        dict(has_brackets=True),
    ]
    for case in cases:
        with pytest.raises(RejectionError) as caught:
            world.buy(1, **case)
        assert caught.value.reason == Reason.ORDER_REJECTED and caught.value.message
        assert caught.value.order_id is None
    with pytest.raises(RejectionError) as caught:
        world.buy(0)
    assert caught.value.reason == Reason.ORDER_REJECTED
    assert world.exchange.orders(world.account) == []


def test_custom_tag_is_unique_per_account() -> None:
    world = World()
    world.buy(1, custom_tag="entry-1")
    with pytest.raises(RejectionError) as caught:
        world.buy(1, custom_tag="entry-1")
    assert caught.value.reason == Reason.ORDER_REJECTED and "entry-1" in (caught.value.message or "")
    other = world.exchange.add_account(world.exchange.users[world.account.user_id], "SIM-2")
    world.buy(1, account=other, custom_tag="entry-1")  # another account may reuse it


def test_contract_checks() -> None:
    world = World()
    with pytest.raises(RejectionError) as caught:
        world.buy(1, "CON.F.US.MNQ.U25")
    assert caught.value.reason == Reason.CONTRACT_NOT_ACTIVE
    with pytest.raises(RejectionError) as caught:
        world.buy(1, "CON.F.US.XYZ.Z25")
    assert caught.value.reason == Reason.CONTRACT_NOT_FOUND


def test_can_trade_false_refuses_new_orders_but_allows_closing() -> None:
    world = World()
    world.buy(1)
    world.exchange.update_account(world.account, can_trade=False)
    assert world.events(EventKind.ACCOUNT)[-1]["canTrade"] is False
    with pytest.raises(RejectionError) as caught:
        world.buy(1)
    assert caught.value.reason == Reason.ACCOUNT_VIOLATION and caught.value.order_id is not None
    world.exchange.close_contract(world.account, MNQ)
    assert world.positions()[-1]["size"] == 0


def test_market_closed() -> None:
    world = World(SimConfig(market_open=False))
    with pytest.raises(RejectionError) as caught:
        world.buy(1)
    assert caught.value.reason == Reason.OUTSIDE_TRADING_HOURS
    world.config.market_open = True
    world.buy(1)
    world.config.market_open = False
    with pytest.raises(RejectionError) as caught:
        world.exchange.close_contract(world.account, MNQ)
    assert caught.value.reason == Reason.ORDER_REJECTED


def test_live_accounts_refuse_cancel_and_partial_close() -> None:
    world = World()
    live = world.exchange.add_account(world.exchange.users[world.account.user_id], "LIVE-1", simulated=False)
    order_id = world.buy(1, account=live, type=1, limit_price=D("20900.00"))
    with pytest.raises(RejectionError) as caught:
        world.exchange.cancel(live, order_id)
    assert caught.value.reason == Reason.ACCOUNT_REJECTED and caught.value.message
    world.buy(2, account=live)
    with pytest.raises(RejectionError) as caught:
        world.exchange.partial_close(live, MNQ, 1)
    assert caught.value.reason == Reason.ACCOUNT_REJECTED
    world.config.live_close_refused = True
    with pytest.raises(RejectionError) as caught:
        world.exchange.close_contract(live, MNQ)
    assert caught.value.reason == Reason.ACCOUNT_REJECTED
    world.config.live_close_refused = False
    world.exchange.close_contract(live, MNQ)
    assert world.exchange.open_positions(live) == []


def test_cancel_and_modify() -> None:
    world = World()
    order_id = world.buy(2, type=1, limit_price=D("20950.00"))
    world.exchange.modify(world.account, order_id, Modification(size=3, limit_price=D("20960.00")))
    order = world.exchange.order(world.account, order_id)
    assert order is not None and (order.size, order.limit_price) == (3, D("20960.00"))
    with pytest.raises(RejectionError) as caught:
        world.exchange.modify(world.account, order_id, Modification(stop_price=D("20000.00")))
    assert caught.value.reason == Reason.ORDER_REJECTED
    world.exchange.modify(world.account, order_id, Modification(limit_price=D("21000.00")))  # now marketable
    assert order.status == OrderStatus.FILLED and world.trades()[-1]["size"] == 3
    resting = world.sell(1, type=1, limit_price=D("21100.00"))
    world.exchange.cancel(world.account, resting)
    assert world.events(EventKind.ORDER)[-1]["status"] == OrderStatus.CANCELLED
    for call in (
        lambda: world.exchange.cancel(world.account, resting),
        lambda: world.exchange.cancel(world.account, 1),
    ):
        with pytest.raises(RejectionError) as caught:
            call()
        assert caught.value.reason in (Reason.ORDER_REJECTED, Reason.ORDER_NOT_FOUND)


def test_injected_cancel_refusal_carries_its_code() -> None:
    world = World()
    order_id = world.buy(1, type=1, limit_price=D("20900.00"))
    world.exchange.refuse_cancels(world.account.id, 6, "no")
    with pytest.raises(RejectionError) as caught:
        world.exchange.cancel(world.account, order_id)
    assert (caught.value.reason, caught.value.code, caught.value.message) == (Reason.REFUSED, 6, "no")
    world.exchange.allow_cancels(world.account.id)
    world.exchange.cancel(world.account, order_id)


def test_ids_increase_and_exceed_int32() -> None:
    world = World()
    first, second = world.buy(1), world.buy(1)
    assert first > 2**31 and second > first
    trade_ids = [t["id"] for t in world.trades()]
    assert trade_ids == sorted(trade_ids) and trade_ids[0] > 2**31


def test_fees_are_configurable() -> None:
    world = World(SimConfig(fee_micro=D("0.50"), fee_full=D("2.00")))
    world.buy(3)
    world.buy(1, EP)
    assert [t["fees"] for t in world.trades()] == [D("1.50"), D("2.00")]


def test_no_open_event_for_market_orders_when_switched_off() -> None:
    world = World(SimConfig(market_order_open_event=False))
    world.buy(1)
    assert len(world.batches) == 1
    assert world.batches[0][0].kind == EventKind.ORDER
