"""Trading scenarios end to end: REST calls in, hub events out, realized P&L checked by tick math."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from projectx_sim import Simulator

from .sim_support import ACCOUNT, MNQ, Api, HubFactory, RawHub

USER_TARGET = {
    "GatewayUserOrder": "order",
    "GatewayUserTrade": "trade",
    "GatewayUserPosition": "position",
    "GatewayUserAccount": "account",
}


def price(sim: Simulator, bid: str, ask: str, last: str) -> None:
    sim.market.set_price(MNQ, bid=Decimal(bid), ask=Decimal(ask), last=Decimal(last))


async def subscribed_user_hub(hubs: HubFactory) -> RawHub:
    client = await hubs("user")
    await client.invoke("SubscribeAccounts")
    for method in ("SubscribeOrders", "SubscribePositions", "SubscribeTrades"):
        await client.invoke(method, ACCOUNT)
    return client


async def take(client: RawHub, count: int) -> list[tuple[str, dict[str, Any]]]:
    """The next `count` user events as (kind, payload)."""
    events = []
    for _ in range(count):
        message = await client.next(lambda m: m.get("type") == 1)
        events.append((USER_TARGET[message["target"]], message["arguments"][0]["data"]))
    return events


async def test_long_two_mnq_round_trip(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await subscribed_user_hub(hubs)
    price(sim, "20999.75", "21000.00", "21000.00")
    order = {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 2}
    entry_id = (await api.ok("/api/Order/place", order))["orderId"]
    opened = await take(client, 5)
    assert [kind for kind, _ in opened] == ["order", "order", "trade", "position", "account"]
    (_, placed), (_, filled), (_, trade), (_, position), (_, account) = opened
    assert (placed["id"], placed["status"], placed["fillVolume"]) == (entry_id, 1, 0)
    assert (filled["status"], filled["fillVolume"], filled["filledPrice"]) == (2, 2, 21000.0)
    assert (trade["price"], trade["profitAndLoss"], trade["fees"], trade["size"], trade["side"]) == (
        21000.0,
        None,
        0.74,
        2,
        0,
    )
    assert (position["type"], position["size"], position["averagePrice"]) == (1, 2, 21000.0)
    assert account["balance"] == 49999.26

    price(sim, "21010.50", "21010.75", "21010.50")  # +10.5 points at the bid
    await api.ok("/api/Position/closeContract", {"accountId": ACCOUNT, "contractId": MNQ})
    closed = await take(client, 5)
    assert [kind for kind, _ in closed] == ["order", "order", "trade", "position", "account"]
    (_, _), (_, exit_order), (_, exit_trade), (_, flat), (_, account) = closed
    assert (exit_order["side"], exit_order["type"], exit_order["status"], exit_order["size"]) == (1, 2, 2, 2)
    # 10.5 points × 4 ticks/point × $0.50/tick × 2 contracts = $42.00; fees 0.37 × 2 per side
    assert (exit_trade["price"], exit_trade["profitAndLoss"], exit_trade["fees"]) == (21010.5, 42.0, 0.74)
    assert exit_trade["orderId"] == exit_order["id"]
    assert flat == position | {"size": 0}  # same id, type and average price
    assert account["balance"] == 50040.52  # 50000 + 42.00 − 4 × 0.37

    assert (await api.ok("/api/Position/searchOpen", {"accountId": ACCOUNT}))["positions"] == []
    trades = (
        await api.ok("/api/Trade/search", {"accountId": ACCOUNT, "startTimestamp": "2020-01-01T00:00:00Z"})
    )["trades"]
    assert [(t["profitAndLoss"], t["fees"]) for t in trades] == [(None, 0.74), (42.0, 0.74)]
    net = sum(Decimal(str(t["profitAndLoss"] or 0)) - Decimal(str(t["fees"])) for t in trades)
    assert net == Decimal("40.52")


async def test_a_reversing_fill_reports_two_half_trades(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await subscribed_user_hub(hubs)
    price(sim, "20999.75", "21000.00", "21000.00")
    await api.ok(
        "/api/Order/place", {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    )
    first = await take(client, 5)
    long_position = first[3][1]
    price(sim, "21002.00", "21002.25", "21002.00")
    await api.ok(
        "/api/Order/place", {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 1, "size": 3}
    )
    events = await take(client, 7)
    assert [kind for kind, _ in events] == [
        "order",
        "order",
        "trade",
        "trade",
        "position",
        "position",
        "account",
    ]
    closing, opening = events[2][1], events[3][1]
    assert (closing["size"], closing["profitAndLoss"]) == (1, 4.0)  # 2 points × $2
    assert (opening["size"], opening["profitAndLoss"]) == (2, None)
    flat, short = events[4][1], events[5][1]
    assert flat["id"] == long_position["id"] and flat["size"] == 0 and flat["type"] == 1
    assert short["id"] != long_position["id"] and (short["type"], short["size"]) == (2, 2)


async def test_event_order_and_delay_switches(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await subscribed_user_hub(hubs)
    await api.control(
        "config",
        {
            "event_order": ["account", "position", "trade", "order"],
            "event_delay_s": 0.05,
            "market_order_open_event": False,
        },
    )
    await api.control("events", method="DELETE")
    marker = (await api.control("requests", method="DELETE"))["last"]
    await api.ok(
        "/api/Order/place", {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    )
    assert [kind for kind, _ in await take(client, 4)] == ["account", "position", "trade", "order"]
    logged = (await api.control("events?since=0", method="GET"))["events"]
    sent = [e["sentNs"] for e in logged if e["hub"] == "user"]
    arrived = (await api.control(f"requests?since={marker}", method="GET"))["requests"][0]["arrivalNs"]
    assert len(sent) == 4 and sent == sorted(sent)
    assert sent[-1] - arrived >= 4 * 50_000_000  # four pauses of 50 ms, one before each event


async def test_request_and_event_logs_share_the_monotonic_clock(
    sim: Simulator, api: Api, hubs: HubFactory
) -> None:
    client = await subscribed_user_hub(hubs)
    marker = (await api.control("requests", method="DELETE"))["last"]
    events_marker = (await api.control("events?since=0&limit=0", method="GET"))["last"]
    order = {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    order_id = (await api.ok("/api/Order/place", order))["orderId"]
    await take(client, 5)
    requests = (await api.control(f"requests?since={marker}", method="GET"))["requests"]
    assert [(r["path"], r["body"], r["accountId"], r["status"]) for r in requests] == [
        ("/api/Order/place", order, ACCOUNT, 200)
    ]
    events = (await api.control(f"events?since={events_marker}", method="GET"))["events"]
    assert [e["target"] for e in events] == [
        "GatewayUserOrder",
        "GatewayUserOrder",
        "GatewayUserTrade",
        "GatewayUserPosition",
        "GatewayUserAccount",
    ]
    assert events[0]["arguments"][0]["data"]["id"] == order_id
    assert all(e["sentNs"] >= requests[0]["arrivalNs"] and e["hub"] == "user" for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    later = (await api.control(f"events?since={events[-2]['seq']}", method="GET"))["events"]
    assert [e["seq"] for e in later] == [events[-1]["seq"]]
