"""Every REST call the daemon uses, against the simulator, and the typed errors of gateway-api.md §2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.gateway import (
    AuthenticationFailed,
    BadRequest,
    Credentials,
    GatewayRejected,
    ProjectXGateway,
)
from simple_risk_manager.gateway.rest import POSITION_OPEN

ACCOUNT = 7001


async def set_price(control, contract: str, last: str) -> None:
    price = Decimal(last)
    await control.post("market/pause")
    ask = price + Decimal("0.25")
    await control.post("price", {"contractId": contract, "bid": float(price), "ask": float(ask),
                                 "last": float(price)})


async def test_accounts_and_contracts(gateway, contract_of):
    accounts = await gateway.search_accounts()
    assert {a.id for a in accounts} == {7001, 7002}
    assert {a.id for a in await gateway.search_accounts(login="demo")} == {7001, 7002}
    assert all(a.can_trade and a.simulated for a in accounts)

    mnq = contract_of("MNQ")
    contract = await gateway.get_contract(mnq)
    assert (contract.contract_id, contract.symbol_id) == (mnq, "F.US.MNQ")
    assert (contract.tick_size, contract.tick_value) == (Decimal("0.25"), Decimal("0.5"))
    found = await gateway.search_contracts("MNQ")
    assert mnq in {c.contract_id for c in found}


async def test_order_lifecycle_through_rest(gateway, contract_of, control):
    mnq = contract_of("MNQ")
    await set_price(control, mnq, "21000")
    start = datetime.now(UTC) - timedelta(minutes=5)

    limit_id = await gateway.place_order(ACCOUNT, mnq, OrderType.LIMIT, OrderSide.BUY, 1,
                                         limit_price=Decimal("20000.25"), custom_tag="RM-test-1")
    stop_id = await gateway.place_order(ACCOUNT, mnq, OrderType.STOP, OrderSide.SELL, 2,
                                        stop_price=Decimal("20500.75"))
    orders = {o.id: o for o in await gateway.open_orders(ACCOUNT)}
    assert set(orders) == {limit_id, stop_id}
    assert orders[limit_id].limit_price == Decimal("20000.25") and orders[limit_id].custom_tag == "RM-test-1"
    assert orders[limit_id].is_own and not orders[stop_id].is_own
    assert orders[stop_id].type is OrderType.STOP and orders[stop_id].stop_price == Decimal("20500.75")

    await gateway.modify_order(ACCOUNT, limit_id, limit_price=Decimal("20001.5"), size=2)
    modified = {o.id: o for o in await gateway.open_orders(ACCOUNT)}[limit_id]
    assert (modified.limit_price, modified.size) == (Decimal("20001.5"), 2)

    await gateway.cancel_order(ACCOUNT, limit_id)
    await gateway.cancel_order(ACCOUNT, stop_id, urgent=True)
    assert await gateway.open_orders(ACCOUNT) == []
    history = {o.id: o for o in await gateway.search_orders(ACCOUNT, start=start)}
    assert history[limit_id].status is OrderStatus.CANCELLED
    assert history[stop_id].status is OrderStatus.CANCELLED


async def test_positions_and_trades_through_rest(gateway, contract_of, control):
    mnq = contract_of("MNQ")
    await set_price(control, mnq, "21000")
    start = datetime.now(UTC) - timedelta(minutes=5)

    await gateway.place_order(ACCOUNT, mnq, OrderType.MARKET, OrderSide.BUY, 3)
    (position,) = await gateway.open_positions(ACCOUNT)
    assert (position.contract_id, position.type, position.size) == (mnq, PositionType.LONG, 3)
    assert position.average_price == Decimal("21000.25")  # bought at the ask

    await set_price(control, mnq, "21010")
    await gateway.partial_close_position(ACCOUNT, mnq, 1, urgent=True)
    (position,) = await gateway.open_positions(ACCOUNT)
    assert position.size == 2
    await gateway.close_position(ACCOUNT, mnq, urgent=True)
    assert await gateway.open_positions(ACCOUNT) == []

    trades = await gateway.search_trades(ACCOUNT, start=start)
    assert sorted(t.size for t in trades) == [1, 2, 3]
    closing = [t for t in trades if t.side is OrderSide.SELL]
    # sold at the bid 21010 against 21000.25: 9.75 points x $2 per contract
    assert sorted(t.profit_and_loss for t in closing) == [Decimal("19.5"), Decimal("39")]
    assert all(t.fees > 0 for t in trades)
    assert [t.profit_and_loss for t in trades if t.side is OrderSide.BUY] == [None]
    assert await gateway.search_trades(ACCOUNT, start=start, end=start + timedelta(seconds=1)) == []


@pytest.mark.parametrize(
    ("name", "call", "endpoint", "code", "code_name"),
    [
        ("cancel of an unknown order", lambda gw, c: gw.cancel_order(ACCOUNT, 999999), "/api/Order/cancel", 2,
         "OrderNotFound"),
        ("modify of an unknown order", lambda gw, c: gw.modify_order(ACCOUNT, 999999, size=1),
         "/api/Order/modify", 2, "OrderNotFound"),
        ("close without a position", lambda gw, c: gw.close_position(ACCOUNT, c),
         "/api/Position/closeContract", 2, "PositionNotFound"),
        ("partial close without a position", lambda gw, c: gw.partial_close_position(ACCOUNT, c, 1),
         "/api/Position/partialCloseContract", 2, "PositionNotFound"),
        ("unknown contract", lambda gw, c: gw.get_contract("CON.F.US.NOPE.Z25"),
         "/api/Contract/searchById", 1, "ContractNotFound"),
        ("place on an unknown contract",
         lambda gw, c: gw.place_order(ACCOUNT, "CON.F.US.NOPE.Z25", OrderType.MARKET, OrderSide.BUY, 1),
         "/api/Order/place", 8, "ContractNotFound"),
    ],
)
async def test_business_failures_are_typed(gateway, sim, contract_of, name, call, endpoint, code, code_name):
    with pytest.raises(GatewayRejected) as caught:
        await call(gateway, contract_of("MNQ"))
    error = caught.value
    assert (error.endpoint, error.error_code, error.code_name) == (endpoint, code, code_name), name
    token = gateway.sessions["demo"].current.value
    assert token not in str(error) and sim.config.api_key not in str(error)


async def test_account_not_found_for_a_foreign_account(make_gateway, demo_credentials):
    gateway = make_gateway({ACCOUNT: demo_credentials, 424242: demo_credentials})
    await gateway.start()
    with pytest.raises(GatewayRejected) as caught:
        await gateway.open_positions(424242)
    assert caught.value.code_name == "AccountNotFound"


async def test_unconfigured_account_is_a_clear_error(gateway):
    with pytest.raises(ValueError, match="account 5: not configured"):
        await gateway.open_positions(5)


async def test_place_rejects_incomplete_orders_before_sending(gateway, control):
    with pytest.raises(ValueError, match="LIMIT order needs limit_price"):
        await gateway.place_order(ACCOUNT, "CON.F.US.MNQ.Z25", OrderType.LIMIT, OrderSide.BUY, 1)
    with pytest.raises(ValueError, match="cannot be placed"):
        await gateway.place_order(ACCOUNT, "CON.F.US.MNQ.Z25", OrderType.STOP_LIMIT, OrderSide.BUY, 1)
    assert "/api/Order/place" not in await control.paths()


async def test_bad_request_carries_the_problem_details(gateway):
    session = gateway.sessions["demo"]
    with pytest.raises(BadRequest) as caught:
        await gateway._rest_client.send(POSITION_OPEN, {}, token=await session.token(), budget=None)
    assert "accountId" in " ".join(caught.value.errors) or "accountId" in str(caught.value)


async def test_rejected_credentials_are_reported_not_raised(sim, gateway_settings):
    wrong = Credentials(sim.config.user_name, "not-the-key")
    gateway = ProjectXGateway(gateway_settings(), {ACCOUNT: wrong})
    try:
        outcomes = await gateway.start()
        outcome = outcomes["demo"]
        assert not outcome.ok and outcome.account_ids == (ACCOUNT,)
        assert isinstance(outcome.error, AuthenticationFailed)
        assert outcome.error.code_name == "InvalidCredentials"
        assert "not-the-key" not in str(outcome.error)
        assert gateway.user_hubs == {} and gateway.market_hub is None
    finally:
        await gateway.close()


async def test_prices_travel_as_json_numbers(gateway, contract_of, control):
    mnq = contract_of("MNQ")
    await set_price(control, mnq, "21000")
    await gateway.place_order(ACCOUNT, mnq, OrderType.LIMIT, OrderSide.BUY, 1,
                              limit_price=Decimal("20000.25"))
    (place,) = [r for r in await control.requests() if r["path"] == "/api/Order/place"]
    assert place["body"]["limitPrice"] == 20000.25 and isinstance(place["body"]["limitPrice"], float)
    assert place["body"] == {"accountId": ACCOUNT, "contractId": mnq, "type": 1, "side": 0, "size": 1,
                             "limitPrice": 20000.25}
