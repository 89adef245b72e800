"""Independent clients against the simulator: pysignalr (negotiates), signalrcore (skips negotiation,
thread-based) and topstep-client-py (a public ProjectX SDK), compared with the raw WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from pysignalr.client import SignalRClient
from pysignalr.messages import CompletionMessage
from signalrcore.hub_connection_builder import HubConnectionBuilder
from topstep import OrderSide, OrderType, PlaceOrderRequest, TopstepClient, UserHub

from projectx_sim import SimConfig, Simulator

from .sim_support import ACCOUNT, DEMO_KEY, DEMO_USER, MNQ, WAIT_S, Api, HubFactory, RawHub, eventually

USER_EVENTS = ("GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade")
MARKET_EVENTS = ("GatewayQuote", "GatewayTrade", "GatewayDepth")
USER_SUBSCRIPTIONS: list[tuple[str, list[Any]]] = [
    ("SubscribeAccounts", []),
    ("SubscribeOrders", [ACCOUNT]),
    ("SubscribePositions", [ACCOUNT]),
    ("SubscribeTrades", [ACCOUNT]),
]
MARKET_SUBSCRIPTIONS: list[tuple[str, list[Any]]] = [
    ("SubscribeContractQuotes", [MNQ]),
    ("SubscribeContractTrades", [MNQ]),
    ("SubscribeContractMarketDepth", [MNQ]),
]
SUBSCRIPTIONS = {"user": USER_SUBSCRIPTIONS, "market": MARKET_SUBSCRIPTIONS}
EVENTS = {"user": USER_EVENTS, "market": MARKET_EVENTS}

Received = dict[str, list[list[Any]]]
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


class Collector:
    """Events of one client on one hub, in arrival order, until the GatewayLogout sentinel."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.received: Received = {}
        self.done = asyncio.Event()

    def handler(self, target: str) -> Callable[[list[Any]], None]:
        def record(arguments: list[Any]) -> None:
            self.loop.call_soon_threadsafe(self._record, target, arguments)

        return record

    def _record(self, target: str, arguments: list[Any]) -> None:
        if target == "GatewayLogout":
            self.done.set()
        else:
            self.received.setdefault(target, []).append(arguments)


@pytest.fixture
def sim_config() -> SimConfig:
    # signalrcore's stop() joins a reader thread blocked in recv(); a frequent server ping wakes it.
    return SimConfig(port=0, front_month="Z25", random_walk=False, ping_interval_s=0.2)


def http_url(sim: Simulator, hub: str, token: str) -> str:
    base = sim.user_hub_url if hub == "user" else sim.market_hub_url
    return f"{base}?access_token={quote(token, safe='')}"


@contextlib.asynccontextmanager
async def pysignalr_client(sim: Simulator, hub: str, token: str) -> AsyncIterator[Collector]:
    """pysignalr negotiates first (POST .../negotiate), then opens the WebSocket with the id."""
    collector = Collector(asyncio.get_running_loop())
    client = SignalRClient(http_url(sim, hub, token), connection_timeout=10)
    for target in (*EVENTS[hub], "GatewayLogout"):

        async def handle(arguments: list[Any], target: str = target) -> None:
            collector.handler(target)(arguments)

        client.on(target, handle)
    opened = asyncio.Event()

    async def on_open() -> None:
        opened.set()

    client.on_open(on_open)
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(opened.wait(), WAIT_S)
        for method, arguments in SUBSCRIPTIONS[hub]:
            completed: asyncio.Future[CompletionMessage] = asyncio.get_running_loop().create_future()

            async def on_completion(
                message: Any, done: asyncio.Future[CompletionMessage] = completed
            ) -> None:
                done.set_result(message)

            await client.send(method, arguments, on_invocation=on_completion)
            completion = await asyncio.wait_for(completed, WAIT_S)
            assert completion.error is None
        yield collector
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner


@contextlib.asynccontextmanager
async def signalrcore_client(sim: Simulator, hub: str, token: str) -> AsyncIterator[Collector]:
    """signalrcore skips negotiation; the token travels in the URL query."""
    loop = asyncio.get_running_loop()
    collector = Collector(loop)
    connection = (
        HubConnectionBuilder().with_url(http_url(sim, hub, token), options={"skip_negotiation": True}).build()
    )
    for target in (*EVENTS[hub], "GatewayLogout"):
        connection.on(target, collector.handler(target))
    opened = asyncio.Event()
    connection.on_open(lambda: loop.call_soon_threadsafe(opened.set))
    await asyncio.to_thread(connection.start)
    try:
        await asyncio.wait_for(opened.wait(), WAIT_S)
        for method, arguments in SUBSCRIPTIONS[hub]:
            completed: asyncio.Future[Any] = loop.create_future()

            def on_completion(message: Any, done: asyncio.Future[Any] = completed) -> None:
                loop.call_soon_threadsafe(done.set_result, message)

            connection.send(method, arguments, on_invocation=on_completion)
            assert (await asyncio.wait_for(completed, WAIT_S)).error is None
        yield collector
    finally:
        await asyncio.to_thread(connection.stop)


@contextlib.asynccontextmanager
async def raw_client(hubs: HubFactory, hub: str) -> AsyncIterator[RawHub]:
    client = await hubs(hub)
    for method, arguments in SUBSCRIPTIONS[hub]:
        assert "error" not in await client.invoke(method, *arguments)
    yield client


async def raw_events(client: RawHub) -> Received:
    received: Received = {}
    while True:
        message = await client.next(lambda m: m.get("type") == 1)
        if message["target"] == "GatewayLogout":
            return received
        received.setdefault(message["target"], []).append(message["arguments"])


async def test_every_event_type_reaches_pysignalr_signalrcore_and_a_raw_client_identically(
    sim: Simulator, api: Api, hubs: HubFactory
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        raw = {hub: await stack.enter_async_context(raw_client(hubs, hub)) for hub in ("user", "market")}
        pysignalr = {
            hub: await stack.enter_async_context(pysignalr_client(sim, hub, api.token))
            for hub in ("user", "market")
        }
        signalrcore = {
            hub: await stack.enter_async_context(signalrcore_client(sim, hub, api.token))
            for hub in ("user", "market")
        }
        assert len(sim.user_hub.connections) == len(sim.market_hub.connections) == 3

        sim.market.set_price(MNQ, bid=Decimal("20999.75"), ask=Decimal("21000.00"), last=Decimal("21000.00"))
        await api.ok(
            "/api/Order/place", {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 2}
        )
        sim.market.set_price(MNQ, bid=Decimal("21010.50"), ask=Decimal("21010.75"), last=Decimal("21010.50"))
        sim.market.set_price(MNQ, bid=Decimal("21010.50"), ask=Decimal("21011.00"), last=Decimal("21010.75"))
        await api.ok("/api/Position/closeContract", {"accountId": ACCOUNT, "contractId": MNQ})
        await api.control("hubs/logout", {"arguments": []})

        expected: dict[str, Received] = {}
        for hub in ("user", "market"):
            expected[hub] = await raw_events(raw[hub])
            assert set(expected[hub]) == set(EVENTS[hub])
            for collector in (pysignalr[hub], signalrcore[hub]):
                await asyncio.wait_for(collector.done.wait(), WAIT_S)
                assert collector.received == expected[hub]

    trades = [arguments[0]["data"] for arguments in expected["user"]["GatewayUserTrade"]]
    assert [t["profitAndLoss"] for t in trades] == [None, 42.0]  # 10.5 pt × 4 ticks × $0.50 × 2
    quotes = [arguments[1] for arguments in expected["market"]["GatewayQuote"]]
    assert "open" in quotes[0] and "open" not in quotes[1]  # complete first, then partial


async def test_topstep_client_logs_in_lists_and_trades(sim: Simulator) -> None:
    client = await TopstepClient.create(username=DEMO_USER, api_key=DEMO_KEY, base_url=sim.url)
    async with client:
        accounts = await client.accounts.search()
        assert [a.id for a in accounts] == [ACCOUNT, ACCOUNT + 1] and accounts[0].can_trade
        found = await client.contracts.search("MNQ")
        assert found[0].id == MNQ and found[0].tick_size == 0.25 and found[0].tick_value == 0.5
        assert len(await client.contracts.available()) == 10
        assert (await client.contracts.search_by_id("CON.F.US.EP.Z25")).name == "ESZ5"

        events: asyncio.Queue[list[Any]] = asyncio.Queue()
        hub = UserHub(client.token or "", hub_url=sim.user_hub_url)  # negotiates, token as a Bearer header
        opened = asyncio.Event()
        hub.on_open(opened.set)
        hub.on_order(events.put_nowait)
        await hub.connect()
        try:
            await asyncio.wait_for(opened.wait(), WAIT_S)
            await hub.subscribe_orders(ACCOUNT)
            await eventually(lambda: any(c.subscriptions for c in sim.user_hub.connections.values()))
            order_id = await client.orders.place(
                PlaceOrderRequest(
                    account_id=ACCOUNT, contract_id=MNQ, type=OrderType.MARKET, side=OrderSide.BUY, size=1
                )
            )
            statuses = []
            while len(statuses) < 2:
                arguments = await asyncio.wait_for(events.get(), WAIT_S)
                payload = arguments[0]["data"]
                assert payload["id"] == order_id
                statuses.append(payload["status"])
            assert statuses == [1, 2]
        finally:
            await hub.stop()

        positions = await client.positions.search_open(ACCOUNT)
        assert [(p.contract_id, p.size, int(p.type)) for p in positions] == [(MNQ, 1, 1)]
        await client.positions.close(ACCOUNT, MNQ)
        assert await client.positions.search_open(ACCOUNT) == []
        orders = await client.orders.search(ACCOUNT, start=EPOCH)
        assert len(orders) == 2 and all(o.status == 2 for o in orders)
        trades = await client.trades.search(ACCOUNT, start=EPOCH)
        assert trades[0].profit_and_loss is None and trades[1].profit_and_loss is not None
        await client.refresh_token()
        assert len(await client.accounts.search()) == 2


@pytest.mark.parametrize("hub", ["user", "market"])
async def test_pysignalr_gets_an_error_completion_for_unknown_methods(
    sim: Simulator, api: Api, hub: str
) -> None:
    client = SignalRClient(http_url(sim, hub, api.token))
    opened = asyncio.Event()

    async def on_open() -> None:
        opened.set()

    errors: asyncio.Queue[CompletionMessage] = asyncio.Queue()

    async def on_error(message: CompletionMessage) -> None:
        await errors.put(message)

    client.on_open(on_open)
    client.on_error(on_error)
    runner = asyncio.create_task(client.run())
    try:
        await asyncio.wait_for(opened.wait(), WAIT_S)

        async def ignore(_: Any) -> None:
            return None

        await client.send("NoSuchMethod", [], on_invocation=ignore)
        error = await asyncio.wait_for(errors.get(), WAIT_S)
        assert error.error == "Unknown hub method 'NoSuchMethod'"
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
