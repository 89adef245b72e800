"""Enforcement (`urgent`) REST calls over the kept connections, against the simulator."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from simple_risk_manager.clock import SystemClock
from simple_risk_manager.domain.enums import OrderSide, OrderType, PositionType
from simple_risk_manager.gateway import GatewayRejected
from simple_risk_manager.gateway.auth import AuthSession
from simple_risk_manager.gateway.rest import RestApi, RestClient

ACCOUNT = 7001


@pytest.fixture
async def client(sim):
    rest = RestClient(sim.url, SystemClock(), timeout_s=5.0, warm_connections=2)
    await rest.open()
    yield rest
    await rest.close()


@pytest.fixture
async def session(client, demo_credentials, wait_until):
    auth = AuthSession(demo_credentials, client, SystemClock())
    await auth.fresh_login()
    await wait_until(lambda: client.kept_connections.idle_count == 2)
    return auth


@pytest.fixture
def api(client) -> RestApi:
    return RestApi(client, SystemClock())


def no_aiohttp(monkeypatch, client: RestClient) -> None:
    """From here on a call that takes the aiohttp road fails the test."""
    async def refuse(endpoint, body, token):
        raise AssertionError(f"{endpoint} went through aiohttp")
    monkeypatch.setattr(client, "_post", refuse)


async def test_enforcement_calls_succeed_over_kept_connections(api, session, client, sim, control,
                                                               contract_of, monkeypatch):
    mnq = contract_of("MNQ")
    await control.post("market/pause")
    await control.post("price", {"contractId": mnq, "bid": 21000.0, "ask": 21000.25, "last": 21000.0})
    await api.place_order(session, ACCOUNT, mnq, order_type=OrderType.MARKET, side=OrderSide.BUY, size=3)
    sim.requests.clear()
    no_aiohttp(monkeypatch, client)

    stop = await api.place_order(session, ACCOUNT, mnq, order_type=OrderType.STOP, side=OrderSide.SELL,
                                 size=3, stop_price=Decimal("20990.25"), custom_tag="RM-stop-1", urgent=True)
    await api.modify_order(session, ACCOUNT, stop, stop_price=Decimal("20995.5"), urgent=True)
    (order,) = await api.open_orders(session, ACCOUNT, urgent=True)
    assert (order.id, order.stop_price, order.custom_tag) == (stop, Decimal("20995.5"), "RM-stop-1")
    await api.cancel_order(session, ACCOUNT, stop, urgent=True)
    await api.partial_close_position(session, ACCOUNT, mnq, 1, urgent=True)
    (position,) = await api.open_positions(session, ACCOUNT, urgent=True)
    assert (position.type, position.size) == (PositionType.LONG, 2)
    await api.close_position(session, ACCOUNT, mnq, urgent=True)
    assert await api.open_positions(session, ACCOUNT, urgent=True) == []
    assert await api.open_orders(session, ACCOUNT, urgent=True) == []

    logged = [(r["path"], r["status"]) for r in await control.requests() if r["path"].startswith("/api/")]
    assert logged == [("/api/Order/place", 200), ("/api/Order/modify", 200), ("/api/Order/searchOpen", 200),
                      ("/api/Order/cancel", 200), ("/api/Position/partialCloseContract", 200),
                      ("/api/Position/searchOpen", 200), ("/api/Position/closeContract", 200),
                      ("/api/Position/searchOpen", 200), ("/api/Order/searchOpen", 200)]
    placed = next(r for r in await control.requests() if r["path"] == "/api/Order/place")
    assert placed["body"]["stopPrice"] == 20990.25 and placed["body"]["customTag"] == "RM-stop-1"
    assert session.budget.in_window() == 1 + 1 + 9  # login, the setup order, then every urgent call
    assert client.kept_connections.opened_total <= 4  # the connections were kept, not one per call


async def test_an_urgent_call_refused_with_401_logs_in_again_and_repeats(api, session, client, control):
    stale = session.current.value
    await control.post("tokens/expire")
    with pytest.raises(GatewayRejected) as caught:
        await api.cancel_order(session, ACCOUNT, 999999, urgent=True)
    assert caught.value.code_name == "OrderNotFound"  # the repeat reached the exchange
    assert session.current.value != stale
    requests = [(r["path"], r["status"]) for r in await control.requests()]
    assert requests[-3:] == [("/api/Order/cancel", 401), ("/api/Auth/loginKey", 200),
                             ("/api/Order/cancel", 200)]


async def test_concurrent_urgent_calls_open_more_connections_and_all_succeed(api, session, client, sim,
                                                                            control, monkeypatch):
    no_aiohttp(monkeypatch, client)
    kept = client.kept_connections
    sim.requests.clear()
    results = await asyncio.gather(
        *(api.open_orders(session, ACCOUNT, urgent=True) for _ in range(4)),
        *(api.cancel_order(session, ACCOUNT, 900000 + n, urgent=True) for n in range(4)),
        return_exceptions=True)
    assert results[:4] == [[]] * 4
    assert all(isinstance(r, GatewayRejected) and r.code_name == "OrderNotFound" for r in results[4:])
    assert kept.opened_total >= 8  # 2 warm, the others opened for their call
    assert kept.idle_count >= 8  # and kept afterwards
    paths = await control.paths()
    assert paths.count("/api/Order/searchOpen") == 4 and paths.count("/api/Order/cancel") == 4
