"""Engine tests against the simulator on a free loopback port with our real gateway client; no mocks.

Generic on purpose (shared by the enforcement and the pipeline tests): a paused simulator pinned to the
Z25 front month, its `/sim/` control API, a started `ProjectXGateway` for the demo accounts, trader
helpers that act through the simulator as the trader would, and a poll-until helper.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from projectx_sim import SimConfig, Simulator
from simple_risk_manager.gateway import Credentials, GatewaySettings, HubOptions, ProjectXGateway

WAIT_S = 15.0


async def until(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    """Poll a condition on real state until it holds (nothing signals it otherwise)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def until_async(condition: Callable[[], Awaitable[bool]], within: float = WAIT_S) -> None:
    """Like `until`, for a condition that needs I/O (e.g. the simulator's request log)."""
    async with asyncio.timeout(within):
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


class Control:
    """The simulator's `/sim/` control API over HTTP, plus trader calls (`/sim/trader/...`)."""

    def __init__(self, sim: Simulator, http: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.http = http

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        async with self.http.post(f"{self.sim.url}/sim/{path}", json=body or {}) as response:
            assert response.status in (200, 201), await response.text()
            return await response.json()

    async def get(self, path: str) -> Any:
        async with self.http.get(f"{self.sim.url}/sim/{path}") as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def delete(self, path: str) -> Any:
        async with self.http.delete(f"{self.sim.url}/sim/{path}") as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def requests(self) -> list[dict[str, Any]]:
        """REST requests the simulator received (the trader's `/sim/trader` calls are not logged)."""
        return (await self.get("requests?limit=100000"))["requests"]

    async def paths(self) -> list[str]:
        return [r["path"] for r in await self.requests()]

    async def clear_requests(self) -> None:
        await self.delete("requests")

    async def fault(self, **body: Any) -> None:
        """`POST /sim/faults/rest`: kind, count, status, path, seconds, phase."""
        await self.post("faults/rest", body)

    async def price(self, contract_id: str, **prices: float | str) -> None:
        await self.post("price", {"contractId": contract_id, **prices})

    async def trader(self, endpoint: str, **body: Any) -> dict[str, Any]:
        """An `/api/{endpoint}` call as the account's owner (no token, no faults, not logged)."""
        reply = await self.post(f"trader/{endpoint}", body)
        assert reply["success"], reply
        return reply

    async def market(self, account_id: int, contract_id: str, side: int, size: int) -> int:
        """A trader market order (side 0 buy, 1 sell); returns its order id."""
        reply = await self.trader("Order/place", accountId=account_id, contractId=contract_id, type=2,
                                  side=side, size=size)
        return int(reply["orderId"])

    async def limit(self, account_id: int, contract_id: str, side: int, size: int,
                    price: Decimal | float) -> int:
        reply = await self.trader("Order/place", accountId=account_id, contractId=contract_id, type=1,
                                  side=side, size=size, limitPrice=float(price))
        return int(reply["orderId"])

    async def stop(self, account_id: int, contract_id: str, side: int, size: int,
                   price: Decimal | float) -> int:
        reply = await self.trader("Order/place", accountId=account_id, contractId=contract_id, type=4,
                                  side=side, size=size, stopPrice=float(price))
        return int(reply["orderId"])


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(port=0, front_month="Z25", random_walk=False, rate_limit=False, ping_interval_s=2.0)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
async def control(sim: Simulator) -> AsyncIterator[Control]:
    async with aiohttp.ClientSession() as http:
        yield Control(sim, http)


@pytest.fixture
def contract_of(sim: Simulator) -> Callable[[str], str]:
    """The simulator's front-month contract id for a symbol root (MNQ, MES, EP ...)."""
    return lambda root: next(c.id for c in sim.contracts.front if c.id.split(".")[3] == root)


@pytest.fixture
def account_ids(sim: Simulator) -> list[int]:
    """The demo user's accounts (7001, 7002 by default)."""
    return [a.id for a in sim.exchange.accounts_of(sim.demo_user.id)]


def gateway_settings(sim: Simulator, **overrides: Any) -> GatewaySettings:
    hubs = overrides.pop("hubs", HubOptions(backoff_max_s=2.0, ping_interval_s=1.0, server_timeout_s=10.0,
                                            invoke_timeout_s=5.0))
    defaults: dict[str, Any] = dict(rest_timeout_s=5.0, rest_backoff_base_s=0.05, rest_backoff_cap_s=0.2,
                                    hubs=hubs)
    return GatewaySettings(sim.url, sim.user_hub_url, sim.market_hub_url, **(defaults | overrides))


@pytest.fixture
async def make_gateway(sim: Simulator) -> AsyncIterator[Callable[..., Awaitable[ProjectXGateway]]]:
    """Build and start gateways for the demo accounts (settings overridable); all closed at the end."""
    built: list[ProjectXGateway] = []

    async def build(**overrides: Any) -> ProjectXGateway:
        credentials = Credentials(sim.config.user_name, sim.config.api_key)
        accounts = {a.id: credentials for a in sim.exchange.accounts_of(sim.demo_user.id)}
        gateway = ProjectXGateway(gateway_settings(sim, **overrides), accounts)
        built.append(gateway)
        outcomes = await gateway.start()
        assert all(o.ok for o in outcomes.values()), outcomes
        # Hub events flow only once the user hub has subscribed (accounts + 3 per account).
        wanted = 1 + 3 * len(accounts)
        await until(lambda: any(len(c.subscriptions) >= wanted for c in sim.user_hub.connections.values()))
        return gateway

    yield build
    for gateway in built:
        await gateway.close()


@pytest.fixture
async def gateway(make_gateway: Callable[..., Awaitable[ProjectXGateway]]) -> ProjectXGateway:
    """A started gateway with the test defaults; its hub events wait in `gateway.events`."""
    return await make_gateway()
