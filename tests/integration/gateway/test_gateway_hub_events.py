"""Every event type through our own hub client, in each payload form the simulator can send."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import OrderSide, OrderStatus, PositionType
from simple_risk_manager.domain.events import (
    AccountUpdated,
    HubConnectionChanged,
    OrderUpdated,
    PositionUpdated,
    QuoteUpdated,
    SessionLoggedOut,
    TradeReceived,
)
from simple_risk_manager.gateway import HubInvocationFailed

ACCOUNT = 7001


def connected(hub: str, reconnect: bool = False):
    return lambda e: (isinstance(e, HubConnectionChanged) and e.hub == hub and e.connected
                      and e.reconnect == reconnect)


async def both_hubs_up(events) -> None:
    await events.seen_or_wait(connected("user"))
    await events.seen_or_wait(connected("market"))


async def trader_buys(control, contract: str, size: int = 2) -> None:
    """The trader acts on the platform (not through the daemon's client)."""
    await control.post("trader/Order/place", {"accountId": ACCOUNT, "contractId": contract, "type": 2,
                                              "side": 0, "size": size})


@pytest.mark.parametrize("payload", ["wrapped", "bare"])
async def test_one_fill_delivers_order_trade_position_and_account(gateway, events, control, contract_of,
                                                                 payload):
    await control.post("config", {"user_payload": payload})
    await both_hubs_up(events)
    mnq = contract_of("MNQ")
    await trader_buys(control, mnq)

    trade = await events.wait_for(lambda e: isinstance(e, TradeReceived))
    position = await events.wait_for(lambda e: isinstance(e, PositionUpdated))
    account = await events.wait_for(lambda e: isinstance(e, AccountUpdated) and e.account.id == ACCOUNT
                                    and e.account.balance < Decimal(50000))
    orders = [e.order for e in events.seen if isinstance(e, OrderUpdated)]
    assert orders and orders[-1].status is OrderStatus.FILLED and orders[-1].contract_id == mnq
    assert (trade.trade.side, trade.trade.size, trade.trade.profit_and_loss) == (OrderSide.BUY, 2, None)
    assert trade.trade.order_id == orders[-1].id
    assert (position.position.type, position.position.size) == (PositionType.LONG, 2)
    assert account.account.balance == Decimal(50000) - trade.trade.fees


async def test_flat_position_arrives_with_size_zero(gateway, events, control, contract_of):
    await both_hubs_up(events)
    mnq = contract_of("MNQ")
    await trader_buys(control, mnq, 1)
    await events.wait_for(lambda e: isinstance(e, PositionUpdated) and e.position.size == 1)
    await control.post("trader/Position/closeContract", {"accountId": ACCOUNT, "contractId": mnq})
    flat = await events.wait_for(lambda e: isinstance(e, PositionUpdated) and e.position.size == 0)
    assert flat.position.is_closed
    closing = await events.seen_or_wait(
        lambda e: isinstance(e, TradeReceived) and e.trade.side is OrderSide.SELL)
    assert closing.trade.profit_and_loss is not None


@pytest.mark.parametrize("form", ["object", "array"])
async def test_quotes_for_wanted_contracts_first_complete_then_partial(gateway, events, control, contract_of,
                                                                        form):
    await control.post("config", {"quote_form": form, "quote_rate": 50.0})
    mnq = contract_of("MNQ")
    gateway.set_wanted_contracts({mnq})
    first = await events.wait_for(lambda e: isinstance(e, QuoteUpdated))
    assert first.quote.contract_id == mnq
    assert None not in (first.quote.bid, first.quote.ask, first.quote.last, first.quote.quote_time)
    partial = await events.wait_for(
        lambda e: isinstance(e, QuoteUpdated) and None in (e.quote.bid, e.quote.ask, e.quote.last))
    merged = partial.quote.merged_over(first.quote)
    assert None not in (merged.bid, merged.ask, merged.last)


async def test_wanted_set_is_diffed_into_subscribe_and_unsubscribe(gateway, events, sim, control, contract_of,
                                                                   wait_until):
    await control.post("config", {"quote_rate": 50.0})
    await events.seen_or_wait(connected("market"))
    mnq, mes = contract_of("MNQ"), contract_of("MES")

    def subscribed() -> set[str]:
        return {key for c in sim.market_hub.connections.values() for kind, key in c.subscriptions
                if kind == "quote"}

    gateway.set_wanted_contracts({mnq, mes})
    await wait_until(lambda: subscribed() == {mnq, mes})
    gateway.set_wanted_contracts({mes})
    await wait_until(lambda: subscribed() == {mes})
    assert gateway.market_hub.subscribed == {mes}
    events.drain()
    events.seen.clear()
    await events.wait_for(lambda e: isinstance(e, QuoteUpdated) and e.quote.contract_id == mes)
    await events.wait_for(lambda e: isinstance(e, QuoteUpdated) and e.quote.contract_id == mes)
    assert {e.quote.contract_id for e in events.seen if isinstance(e, QuoteUpdated)} == {mes}
    gateway.set_wanted_contracts(set())
    await wait_until(lambda: subscribed() == set())


async def test_market_trades_and_depth_are_received_and_ignored(gateway, events, control, contract_of,
                                                                caplog):
    await control.post("config", {"quote_rate": 50.0, "trade_form": "object", "depth_form": "array"})
    await events.seen_or_wait(connected("market"))
    mnq = contract_of("MNQ")
    hub = gateway.market_hub.connection
    with caplog.at_level(logging.ERROR, logger="simple_risk_manager.gateway"):
        await hub.invoke("SubscribeContractTrades", mnq)
        await hub.invoke("SubscribeContractMarketDepth", mnq)
        gateway.set_wanted_contracts({mnq})
        for _ in range(5):
            await events.wait_for(lambda e: isinstance(e, QuoteUpdated))
    assert not [r for r in caplog.records if "malformed" in r.getMessage()]


async def test_error_completion_is_a_typed_error(gateway, events):
    await events.seen_or_wait(connected("market"))
    with pytest.raises(HubInvocationFailed) as caught:
        await gateway.market_hub.connection.invoke("NoSuchMethod", 1)
    assert caught.value.endpoint == "NoSuchMethod" and "NoSuchMethod" in caught.value.error
    with pytest.raises(HubInvocationFailed):
        await gateway.user_hubs["demo"].connection.invoke("SubscribeOrders", "not-an-int")


async def test_gateway_logout_logs_in_again_and_reconnects(gateway, events, control, contract_of):
    await both_hubs_up(events)
    before = gateway.sessions["demo"].current.value
    await control.post("hubs/logout", {"hub": "user", "arguments": [{"reason": "taken over"}]})
    logout = await events.wait_for(lambda e: isinstance(e, SessionLoggedOut))
    assert (logout.hub, logout.login) == ("user", "demo")
    await events.seen_or_wait(connected("user", reconnect=True))
    await events.seen_or_wait(connected("market", reconnect=True))
    assert gateway.sessions["demo"].current.value != before
    assert (await control.paths()).count("/api/Auth/loginKey") == 2
    # the new connection is subscribed: events flow again
    await trader_buys(control, contract_of("MNQ"), 1)
    await events.wait_for(lambda e: isinstance(e, TradeReceived))
