"""REST faults: retried where repeating is safe, surfaced as typed errors where it is not (D-52)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import OrderSide, OrderType
from simple_risk_manager.gateway import GatewayRejected, GatewayUnavailable, RateLimited

ACCOUNT = 7001


async def count(control, path: str) -> int:
    return (await control.paths()).count(path)


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500, "count": 2},
        {"kind": "status", "status": 503, "count": 1},
        {"kind": "status", "status": 429, "count": 2},
        {"kind": "timeout", "count": 1},
    ],
    ids=["500x2", "503", "429x2", "timeout"],
)
async def test_reads_are_retried_until_they_succeed(make_gateway, control, fault):
    gateway = make_gateway(rest_timeout_s=0.5)
    await gateway.start()
    await control.post("faults/rest", fault | {"path": "/api/Position/searchOpen"})
    assert await gateway.open_positions(ACCOUNT) == []
    assert await count(control, "/api/Position/searchOpen") == fault["count"] + 1


async def test_reads_give_up_after_the_allowed_attempts(gateway, control):
    await control.post("faults/rest",
                       {"kind": "status", "status": 500, "count": 10, "path": "/api/Trade/search"})
    with pytest.raises(GatewayUnavailable) as caught:
        await gateway.search_trades(ACCOUNT, start=datetime.now(UTC))
    assert caught.value.status == 500 and caught.value.endpoint == "/api/Trade/search"
    assert await count(control, "/api/Trade/search") == 4


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 429},
        {"kind": "timeout", "phase": "after"},  # the order exists, the answer never comes
    ],
    ids=["500", "429", "timeout-after-placing"],
)
async def test_order_place_is_never_retried_blindly(make_gateway, control, contract_of, fault):
    gateway = make_gateway(rest_timeout_s=0.5)
    await gateway.start()
    mnq = contract_of("MNQ")
    await control.post("faults/rest", fault | {"path": "/api/Order/place"})
    with pytest.raises(GatewayUnavailable):
        await gateway.place_order(ACCOUNT, mnq, OrderType.LIMIT, OrderSide.BUY, 1, limit_price=Decimal(1000),
                                  custom_tag="RM-run-1")
    assert await count(control, "/api/Order/place") == 1
    tags = [o.custom_tag for o in await gateway.open_orders(ACCOUNT)]
    # MOD-001 decides from searchOpen: present only when the fault struck after the place ran
    assert tags == (["RM-run-1"] if fault.get("phase") == "after" else [])


@pytest.mark.parametrize("endpoint", ["/api/Position/closeContract", "/api/Position/partialCloseContract"])
async def test_position_closes_are_never_retried_by_the_client(gateway, control, contract_of, endpoint):
    await control.post("faults/rest", {"kind": "status", "status": 500, "count": 5, "path": endpoint})
    mnq = contract_of("MNQ")
    with pytest.raises(GatewayUnavailable):
        if endpoint == "/api/Position/closeContract":
            await gateway.close_position(ACCOUNT, mnq)
        else:
            await gateway.partial_close_position(ACCOUNT, mnq, 1)
    assert await count(control, endpoint) == 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [({"kind": "status", "status": 500}, GatewayUnavailable),
     ({"kind": "status", "status": 429}, RateLimited)],
    ids=["500", "429"],
)
async def test_enforcement_calls_are_not_retried_by_the_client(gateway, control, fault, error):
    await control.post("faults/rest", fault | {"count": 5, "path": "/api/Order/cancel"})
    with pytest.raises(error):
        await gateway.cancel_order(ACCOUNT, 123, urgent=True)
    assert await count(control, "/api/Order/cancel") == 1


async def test_enforcement_is_never_held_back_by_the_request_budget(make_gateway, control):
    gateway = make_gateway(rate_limit_requests=5, rate_limit_window_s=60.0)
    await gateway.start()  # the login used one request of the budget
    budget = gateway.sessions["demo"].budget
    for _ in range(4):
        await gateway.open_orders(ACCOUNT)
    assert budget.in_window() == 5 and budget.wait_time() > 50

    held_back = asyncio.create_task(gateway.open_positions(ACCOUNT))
    try:
        with pytest.raises(GatewayRejected) as caught:  # reaches the gateway at once despite the budget
            async with asyncio.timeout(10):
                await gateway.cancel_order(ACCOUNT, 123, urgent=True)
        assert caught.value.code_name == "OrderNotFound"
        assert not held_back.done()
        assert budget.in_window() == 6  # counted all the same
        assert await count(control, "/api/Position/searchOpen") == 0
        async with asyncio.timeout(10):  # enforcement's own reads go through as well (D-52)
            assert await gateway.open_positions(ACCOUNT, urgent=True) == []
            assert await gateway.open_orders(ACCOUNT, urgent=True) == []
        assert not held_back.done()
        assert budget.in_window() == 8
    finally:
        held_back.cancel()


async def test_errors_never_carry_secrets(gateway, sim, control):
    await control.post("faults/rest", {"kind": "status", "status": 500, "count": 10})
    token = gateway.sessions["demo"].current.value
    with pytest.raises(GatewayUnavailable) as caught:
        await gateway.search_accounts()
    assert token not in repr(caught.value) and sim.config.api_key not in repr(caught.value)
