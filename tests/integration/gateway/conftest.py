"""The simulator on a free loopback port and our real gateway client against it; no mocks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp
import pytest

from projectx_sim import SimConfig, Simulator
from simple_risk_manager.domain.events import GatewayEvent
from simple_risk_manager.gateway import Credentials, GatewaySettings, HubOptions, ProjectXGateway

WAIT_S = 15.0


class EventLog:
    """Everything the gateway delivered, in order, with a way to wait for a condition on it."""

    def __init__(self, queue: asyncio.Queue[GatewayEvent]) -> None:
        self.queue = queue
        self.seen: list[GatewayEvent] = []

    async def wait_for(self, predicate: Callable[[GatewayEvent], bool],
                       within: float = WAIT_S) -> GatewayEvent:
        """The next event (after those already seen) satisfying `predicate`."""
        async with asyncio.timeout(within):
            while True:
                event = await self.queue.get()
                self.seen.append(event)
                if predicate(event):
                    return event

    async def seen_or_wait(self, predicate: Callable[[GatewayEvent], bool],
                           within: float = WAIT_S) -> GatewayEvent:
        """An already delivered event satisfying `predicate`, else the next one that does."""
        self.drain()
        for event in self.seen:
            if predicate(event):
                return event
        return await self.wait_for(predicate, within)

    def drain(self) -> list[GatewayEvent]:
        while not self.queue.empty():
            self.seen.append(self.queue.get_nowait())
        return self.seen


async def until(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    """Poll a condition on real state (sim or client) until it holds; nothing signals it otherwise."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


class Control:
    """The simulator's /sim/ control API over HTTP."""

    def __init__(self, sim: Simulator, http: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.http = http

    async def post(self, path: str, body: dict | None = None) -> dict:
        async with self.http.post(f"{self.sim.url}/sim/{path}", json=body or {}) as response:
            assert response.status in (200, 201), await response.text()
            return await response.json()

    async def get(self, path: str) -> dict | list:
        async with self.http.get(f"{self.sim.url}/sim/{path}") as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def requests(self) -> list[dict]:
        return (await self.get("requests?limit=100000"))["requests"]

    async def paths(self) -> list[str]:
        return [r["path"] for r in await self.requests()]


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(port=0, rate_limit=False, ping_interval_s=2.0)


@pytest.fixture
async def sim(sim_config):
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
async def control(sim):
    async with aiohttp.ClientSession() as http:
        yield Control(sim, http)


def settings_for(sim: Simulator, **overrides) -> GatewaySettings:
    hubs = overrides.pop("hubs", HubOptions(backoff_max_s=2.0, ping_interval_s=1.0, server_timeout_s=10.0,
                                            invoke_timeout_s=5.0))
    defaults = dict(rest_timeout_s=5.0, rest_backoff_base_s=0.05, rest_backoff_cap_s=0.2, hubs=hubs)
    return GatewaySettings(sim.url, sim.user_hub_url, sim.market_hub_url, **(defaults | overrides))


def demo_accounts(sim: Simulator) -> dict[int, Credentials]:
    credentials = Credentials(sim.config.user_name, sim.config.api_key)
    return {a.id: credentials for a in sim.exchange.accounts_of(sim.demo_user.id)}


@pytest.fixture
async def make_gateway(sim):
    """Build gateways (tests start them); every one is closed at the end."""
    built: list[ProjectXGateway] = []

    def build(accounts: dict[int, Credentials] | None = None, **overrides) -> ProjectXGateway:
        gateway = ProjectXGateway(settings_for(sim, **overrides), accounts or demo_accounts(sim))
        built.append(gateway)
        return gateway

    yield build
    for gateway in built:
        await gateway.close()


@pytest.fixture
async def gateway(make_gateway):
    """A started gateway for the demo user's accounts, with its event log."""
    gw = make_gateway()
    outcomes = await gw.start()
    assert all(o.ok for o in outcomes.values())
    return gw


@pytest.fixture
def events(gateway) -> EventLog:
    return EventLog(gateway.events)


@pytest.fixture
def event_log() -> type[EventLog]:
    return EventLog


@pytest.fixture
def wait_until():
    return until


@pytest.fixture
def contract_of(sim) -> Callable[[str], str]:
    """The simulator's front-month contract id for a symbol root (MNQ, MES, EP ...)."""
    return lambda root: next(c.id for c in sim.contracts.front if c.id.split(".")[3] == root)


@pytest.fixture
def gateway_settings(sim) -> Callable[..., GatewaySettings]:
    return lambda **overrides: settings_for(sim, **overrides)


@pytest.fixture
def demo_credentials(sim) -> Credentials:
    return Credentials(sim.config.user_name, sim.config.api_key)
