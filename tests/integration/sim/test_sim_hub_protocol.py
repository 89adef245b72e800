"""The SignalR JSON hub protocol as served by the simulator, seen by a raw WebSocket client."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import aiohttp
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from projectx_sim import SimConfig, Simulator

from .sim_support import (
    ACCOUNT,
    MES,
    MNQ,
    RS,
    SECOND_ACCOUNT,
    WAIT_S,
    Api,
    HubFactory,
    RawHub,
    eventually,
    hub_url,
)

BINDING = (
    "Failed to invoke '{}' due to an error on the server. InvalidDataException: Error binding arguments. "
    "Make sure that the types of the provided values match the types of the hub method being invoked."
)


def price(sim: Simulator, contract_id: str, bid: str, ask: str, last: str) -> None:
    sim.market.set_price(contract_id, bid=Decimal(bid), ask=Decimal(ask), last=Decimal(last))


async def market_buy(api: Api, account: int = ACCOUNT, size: int = 1) -> int:
    body = {"accountId": account, "contractId": MNQ, "type": 2, "side": 0, "size": size}
    return int((await api.ok("/api/Order/place", body))["orderId"])


async def sentinel(api: Api, *clients: RawHub) -> list[list[dict[str, Any]]]:
    """Everything each client received before a GatewayLogout sent after it (per-connection order)."""
    await api.control("hubs/logout", {"arguments": ["sentinel"]})
    seen: list[list[dict[str, Any]]] = []
    for client in clients:
        before: list[dict[str, Any]] = []
        while True:
            message = await client.next()
            if message.get("target") == "GatewayLogout":
                break
            before.append(message)
        seen.append(before)
    return seen


def targets(messages: list[dict[str, Any]]) -> list[str]:
    return [m["target"] for m in messages if m.get("type") == 1]


# Negotiate and upgrade ------------------------------------------------------------------------------


async def test_negotiate_versions_and_auth(sim: Simulator, api: Api, http: aiohttp.ClientSession) -> None:
    url = f"{sim.user_hub_url}/negotiate"
    async with http.post(url, params={"access_token": api.token}) as response:
        v0 = await response.json()
    assert response.status == 200 and v0["negotiateVersion"] == 0 and "connectionToken" not in v0
    assert v0["connectionId"] and v0["availableTransports"] == [
        {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
    ]
    async with http.post(
        url, params={"negotiateVersion": "1"}, headers={"Authorization": f"Bearer {api.token}"}
    ) as r:
        v1 = await r.json()
    assert (
        v1["negotiateVersion"] == 1 and v1["connectionToken"] and v1["connectionToken"] != v1["connectionId"]
    )
    for params in ({}, {"access_token": "nope"}):
        async with http.post(f"{sim.market_hub_url}/negotiate", params=params) as refused:
            assert refused.status == 401


@pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
async def test_upgrade_is_refused_with_401(sim: Simulator, token: str | None) -> None:
    with pytest.raises(InvalidStatus) as caught:
        await connect(hub_url(sim, "user", token))
    assert caught.value.response.status_code == 401


async def test_bearer_header_and_stale_ids_are_accepted(sim: Simulator, api: Api) -> None:
    url = hub_url(sim, "market", None, "&id=stale-connection-id")
    async with connect(url, additional_headers={"Authorization": f"Bearer {api.token}"}) as ws:
        client = RawHub(ws)
        assert await client.handshake() == {}
        assert await client.invoke("SubscribeContractQuotes", MNQ) == {"type": 3, "invocationId": "1"}
    sim.config.hub_bearer_auth = False
    with pytest.raises(InvalidStatus) as caught:
        await connect(url, additional_headers={"Authorization": f"Bearer {api.token}"})
    assert caught.value.response.status_code == 401


# Handshake ----------------------------------------------------------------------------------------


async def test_handshake_and_an_invocation_in_one_frame(hubs: HubFactory) -> None:
    client = await hubs(handshake=False)
    invocation = {"type": 1, "invocationId": "a", "target": "SubscribeAccounts", "arguments": []}
    await client.send_text('{"protocol":"json","version":1}' + RS + orjson.dumps(invocation).decode() + RS)
    assert await client.next() == {}
    assert await client.next() == {"type": 3, "invocationId": "a"}


async def test_handshake_split_across_frames_and_version_0(hubs: HubFactory) -> None:
    client = await hubs(handshake=False)
    await client.send_text('{"protocol":"js')
    await client.send_text('on","version":0}' + RS)  # signalrcore sends version 0; ASP.NET accepts it
    assert await client.next() == {}


@pytest.mark.parametrize(("protocol", "fragment"), [("messagepack", "messagepack"), ("json2", "json2")])
async def test_other_protocols_get_an_error_and_a_close(
    hubs: HubFactory, protocol: str, fragment: str
) -> None:
    client = await hubs(handshake=False)
    reply = await client.handshake(protocol)
    assert set(reply) == {"error"} and fragment in reply["error"]
    await asyncio.wait_for(client.closed.wait(), WAIT_S)


async def test_connections_without_a_handshake_are_closed(sim: Simulator, hubs: HubFactory) -> None:
    sim.config.handshake_timeout_s = 0.3
    client = await hubs(handshake=False)
    await asyncio.wait_for(client.closed.wait(), WAIT_S)
    assert client.frames == []


# Invocations --------------------------------------------------------------------------------------


async def test_completions_and_error_completions(hubs: HubFactory) -> None:
    client = await hubs("user")
    assert await client.invoke("SubscribeOrders", ACCOUNT) == {"type": 3, "invocationId": "1"}
    assert await client.invoke("Nope") == {
        "type": 3,
        "invocationId": "2",
        "error": "Unknown hub method 'Nope'",
    }
    wrong_type = await client.invoke("SubscribeOrders", str(ACCOUNT))
    assert wrong_type == {"type": 3, "invocationId": "3", "error": BINDING.format("SubscribeOrders")}
    assert (await client.invoke("SubscribeTrades"))["error"] == BINDING.format("SubscribeTrades")
    assert (await client.invoke("SubscribePositions", ACCOUNT, 1))["error"] == BINDING.format(
        "SubscribePositions"
    )
    assert (await client.invoke("SubscribePositions", True))["error"] == BINDING.format("SubscribePositions")
    market = await hubs("market")
    assert (await market.invoke("SubscribeContractQuotes", 7))["error"] == BINDING.format(
        "SubscribeContractQuotes"
    )


async def test_no_reply_without_invocation_id_and_bad_records_are_ignored(hubs: HubFactory) -> None:
    client = await hubs("user")
    await client.send("Nope")
    await client.send("SubscribeOrders", "bad")
    await client.send_text(
        "this is not json" + RS + "[1,2]" + RS + '{"type":99}' + RS + '{"type":1,"target":5}' + RS
    )
    await client.send_text('{"type":1,"invocationId":7,"target":"SubscribeAccounts","arguments":[]}' + RS)
    # the first message the client gets is the completion of this invocation: nothing before it was answered
    assert await client.invoke("SubscribeAccounts") == {"type": 3, "invocationId": "1"}


async def test_several_records_in_one_frame_and_binary_frames(hubs: HubFactory) -> None:
    client = await hubs("user")
    records = [
        {"type": 1, "invocationId": "x", "target": "SubscribeOrders", "arguments": [ACCOUNT]},
        {"type": 6},
        {"type": 1, "invocationId": "y", "target": "SubscribeTrades", "arguments": [ACCOUNT]},
    ]
    await client.send_text("".join(orjson.dumps(r).decode() + RS for r in records))
    assert await client.next() == {"type": 3, "invocationId": "x"}
    assert await client.next() == {"type": 3, "invocationId": "y"}
    await client.ws.send(b'{"type":1,"invocationId":"z","target":"SubscribeAccounts","arguments":[]}\x1e')
    assert await client.next() == {"type": 3, "invocationId": "z"}


# Keep-alive -----------------------------------------------------------------------------------------


async def test_server_pings_and_drops_silent_clients(sim: Simulator, hubs: HubFactory) -> None:
    sim.config.ping_interval_s = 0.1
    sim.config.client_timeout_s = 1.5
    silent = await hubs("user")
    talking = await hubs("market")
    assert await silent.next() == {"type": 6}
    closing = asyncio.create_task(silent.next(lambda m: m.get("type") == 7))
    while not closing.done():  # keep the other client alive with pings until the silent one is dropped
        await talking.send_text('{"type":6}' + RS)
        await asyncio.wait([closing], timeout=0.1)
    close = closing.result()
    assert close == {
        "type": 7,
        "error": "Server timeout elapsed without receiving a message from the client.",
    }
    await asyncio.wait_for(silent.closed.wait(), WAIT_S)
    assert not talking.closed.is_set()
    assert await talking.invoke("SubscribeContractQuotes", MNQ) == {"type": 3, "invocationId": "1"}


# Subscriptions and user events ------------------------------------------------------------------------


async def test_user_events_go_only_to_matching_subscriptions(
    sim: Simulator, api: Api, hubs: HubFactory
) -> None:
    orders_a, orders_b, accounts, idle = [await hubs("user") for _ in range(4)]
    await orders_a.invoke("SubscribeOrders", ACCOUNT)
    await orders_b.invoke("SubscribeOrders", SECOND_ACCOUNT)
    await accounts.invoke("SubscribeAccounts")
    other = Api(sim, api.http)
    sim.exchange.add_user("other", "other-key")
    await other.login("other", "other-key")
    intruder = await hubs("user", token=other.token)
    assert await intruder.invoke("SubscribeOrders", ACCOUNT) == {"type": 3, "invocationId": "1"}
    order_id = await market_buy(api)
    seen_a, seen_b, seen_accounts, seen_idle, seen_intruder = await sentinel(
        api, orders_a, orders_b, accounts, idle, intruder
    )
    assert targets(seen_a) == ["GatewayUserOrder", "GatewayUserOrder"]
    assert [m["arguments"][0]["data"]["status"] for m in seen_a] == [1, 2]
    assert all(m["arguments"][0]["data"]["id"] == order_id for m in seen_a)
    assert seen_b == [] and seen_idle == [] and seen_intruder == []
    assert targets(seen_accounts) == ["GatewayUserAccount"]
    assert seen_accounts[0]["arguments"][0]["data"]["id"] == ACCOUNT
    await market_buy(api, SECOND_ACCOUNT)
    seen_a, seen_b, seen_accounts = await sentinel(api, orders_a, orders_b, accounts)
    assert seen_a == [] and targets(seen_b) == ["GatewayUserOrder", "GatewayUserOrder"]
    assert seen_accounts[0]["arguments"][0]["data"]["id"] == SECOND_ACCOUNT  # all accounts of the user
    await orders_b.invoke("UnsubscribeOrders", SECOND_ACCOUNT)
    await market_buy(api, SECOND_ACCOUNT)
    assert (await sentinel(api, orders_b)) == [[]]


async def test_subscriptions_do_not_survive_a_reconnect(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    first = await hubs("user")
    await first.invoke("SubscribePositions", ACCOUNT)
    assert (await api.control("hubs/drop", {"hub": "user"})) == {"dropped": 1}
    await asyncio.wait_for(first.closed.wait(), WAIT_S)
    await eventually(lambda: not sim.user_hub.connections)
    second = await hubs("user")
    await market_buy(api)
    assert await sentinel(api, second) == [[]]
    await second.invoke("SubscribePositions", ACCOUNT)
    await market_buy(api)
    assert (await second.event("GatewayUserPosition"))[0]["data"]["size"] == 2


async def test_bare_user_payloads_when_switched(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await hubs("user")
    await client.invoke("SubscribeAccounts")
    sim.exchange.update_account(sim.exchange.accounts[ACCOUNT], can_trade=False)
    wrapped = await client.event("GatewayUserAccount")
    assert wrapped == [
        {
            "action": 1,
            "data": {
                "id": ACCOUNT,
                "name": "SIM-50K-0001",
                "balance": 50000,
                "canTrade": False,
                "isVisible": True,
                "simulated": True,
            },
        }
    ]
    await api.control("config", {"user_payload": "bare"})
    sim.exchange.update_account(sim.exchange.accounts[ACCOUNT], can_trade=True)
    assert await client.event("GatewayUserAccount") == [wrapped[0]["data"] | {"canTrade": True}]


async def test_initial_snapshot_when_switched(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    await market_buy(api, size=2)
    plain = await hubs("user")
    await plain.invoke("SubscribePositions", ACCOUNT)
    assert await sentinel(api, plain) == [[]]  # no snapshot by default
    sim.config.initial_snapshot = True
    client = await hubs("user")
    await client.invoke("SubscribePositions", ACCOUNT)
    assert (await client.event("GatewayUserPosition"))[0]["data"]["size"] == 2
    await client.invoke("SubscribeAccounts")
    snapshot = [(await client.event("GatewayUserAccount"))[0]["data"]["id"] for _ in range(2)]
    assert snapshot == [ACCOUNT, SECOND_ACCOUNT]
    market = await hubs("market")
    await market.invoke("SubscribeContractQuotes", MNQ)
    contract, quote = await market.event("GatewayQuote")
    assert contract == MNQ and "open" in quote and "symbolName" in quote


async def test_missed_events_are_replayed_when_switched(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    sim.config.replay_missed_events = True
    first = await hubs("user")
    await first.invoke("SubscribeOrders", ACCOUNT)
    await api.control("hubs/drop", {})
    await eventually(lambda: not sim.user_hub.connections)
    order_id = await market_buy(api)  # nobody is connected
    second = await hubs("user")
    await second.invoke("SubscribeOrders", ACCOUNT)
    replayed = [(await second.event("GatewayUserOrder"))[0]["data"] for _ in range(2)]
    assert [(o["id"], o["status"]) for o in replayed] == [(order_id, 1), (order_id, 2)]


@pytest.mark.parametrize(
    "sim_config",
    [
        SimConfig(
            port=0, front_month="Z25", random_walk=False, token_lifetime_s=2, close_hubs_on_token_expiry=True
        )
    ],
)
async def test_token_expiry_closes_hubs_when_switched(sim: Simulator, hubs: HubFactory) -> None:
    client = await hubs("user")
    close = await client.next(lambda m: m.get("type") == 7)
    assert close == {"type": 7, "error": "The access token expired.", "allowReconnect": True}


@pytest.mark.parametrize(
    "sim_config",
    [SimConfig(port=0, front_month="Z25", random_walk=False, token_lifetime_s=2, ping_interval_s=0.2)],
)
async def test_open_connections_outlive_their_token_by_default(
    sim: Simulator, api: Api, hubs: HubFactory
) -> None:
    client = await hubs("user")
    await eventually(lambda: sim.tokens.verify(api.token) is None)
    assert await client.invoke("SubscribeAccounts") == {"type": 3, "invocationId": "1"}


# Close and logout -----------------------------------------------------------------------------------


async def test_close_messages_with_and_without_reconnect(api: Api, hubs: HubFactory) -> None:
    user = await hubs("user")
    market = await hubs("market")
    reply = await api.control("hubs/close", {"hub": "user", "allowReconnect": True, "error": "maintenance"})
    assert reply == {"closed": 1}
    assert await user.next(lambda m: m.get("type") == 7) == {
        "type": 7,
        "error": "maintenance",
        "allowReconnect": True,
    }
    await asyncio.wait_for(user.closed.wait(), WAIT_S)
    await api.control("hubs/close", {"hub": "market"})
    assert await market.next(lambda m: m.get("type") == 7) == {"type": 7}
    await asyncio.wait_for(market.closed.wait(), WAIT_S)


async def test_gateway_logout_event(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    user = await hubs("user")
    market = await hubs("market")
    reply = await api.control("hubs/logout", {"userName": "demo", "arguments": [{"reason": "elsewhere"}]})
    assert reply == {"sent": 2}
    assert await user.event("GatewayLogout") == [{"reason": "elsewhere"}]
    assert await market.event("GatewayLogout") == [{"reason": "elsewhere"}]


# Market events ----------------------------------------------------------------------------------------


async def test_quotes_are_complete_first_then_partial(sim: Simulator, hubs: HubFactory) -> None:
    client = await hubs("market")
    for method in ("SubscribeContractQuotes", "SubscribeContractTrades", "SubscribeContractMarketDepth"):
        await client.invoke(method, MNQ)
    price(sim, MES, "5999.75", "6000.00", "6000.00")  # not subscribed
    price(sim, MNQ, "21010.00", "21010.25", "21010.25")
    contract, first = await client.event("GatewayQuote")
    assert contract == MNQ
    assert set(first) == {
        "symbol",
        "symbolName",
        "lastPrice",
        "bestBid",
        "bestAsk",
        "change",
        "changePercent",
        "open",
        "high",
        "low",
        "volume",
        "lastUpdated",
        "timestamp",
    }
    assert (first["symbol"], first["lastPrice"], first["bestBid"], first["bestAsk"]) == (
        "F.US.MNQ",
        21010.25,
        21010.0,
        21010.25,
    )
    contract, tape = await client.event("GatewayTrade")
    assert contract == MNQ and tape == [
        {"symbolId": "F.US.MNQ", "price": 21010.25, "timestamp": tape[0]["timestamp"], "type": 0, "volume": 1}
    ]
    contract, depth = await client.event("GatewayDepth")
    assert [(d["type"], d["price"]) for d in depth] == [(3, 21010.25), (4, 21010.0)]
    price(sim, MNQ, "21010.00", "21010.50", "21010.25")
    _, second = await client.event("GatewayQuote")
    assert set(second) == {"symbol", "bestAsk", "volume", "lastUpdated", "timestamp"}
    assert second["bestAsk"] == 21010.5
    await client.invoke("UnsubscribeContractQuotes", MNQ)
    await client.invoke("SubscribeContractQuotes", MNQ)
    price(sim, MNQ, "21010.00", "21010.50", "21010.00")
    _, again = await client.event("GatewayQuote")
    assert "open" in again and "symbolName" in again


async def test_market_payload_form_switches(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    await api.control(
        "config",
        {"quote_payload": "full", "quote_form": "array", "trade_form": "object", "depth_form": "object"},
    )
    client = await hubs("market")
    for method in ("SubscribeContractQuotes", "SubscribeContractTrades", "SubscribeContractMarketDepth"):
        await client.invoke(method, MNQ)
    for last in ("21001.00", "21002.00"):
        price(sim, MNQ, last, str(Decimal(last) + Decimal("0.25")), last)
        contract, quotes = await client.event("GatewayQuote")
        assert contract == MNQ and isinstance(quotes, list) and "open" in quotes[0]
        _, tape = await client.event("GatewayTrade")
        assert isinstance(tape, dict) and tape["price"] == float(last)
        _, best_ask = await client.event("GatewayDepth")
        _, best_bid = await client.event("GatewayDepth")
        assert (best_ask["type"], best_bid["type"]) == (3, 4)


async def test_the_random_walk_streams_quotes(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await hubs("market")
    await client.invoke("SubscribeContractQuotes", MES)
    await api.control("config", {"quote_rate": 50.0})
    assert await api.control("market/resume") == {"randomWalk": True}
    quotes = [(await client.event("GatewayQuote"))[1] for _ in range(5)]
    assert "open" in quotes[0] and all(q["symbol"] == "F.US.MES" for q in quotes)
    assert await api.control("market/pause") == {"randomWalk": False}
