"""Fixtures for the simulator's fidelity tests: a Simulator on a free loopback port (in this event loop),
a logged-in REST client and raw hub connections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from projectx_sim import SimConfig, Simulator

from .sim_support import Api, HubFactory, RawHub, hub_url


@pytest.fixture
def sim_config() -> SimConfig:
    return SimConfig(port=0, front_month="Z25", random_walk=False)


@pytest.fixture
async def sim(sim_config: SimConfig) -> AsyncIterator[Simulator]:
    async with Simulator(sim_config) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def api(sim: Simulator, http: aiohttp.ClientSession) -> Api:
    client = Api(sim, http)
    await client.login()
    return client


@pytest.fixture
async def hubs(sim: Simulator, api: Api) -> AsyncIterator[HubFactory]:
    """Open raw hub connections (handshake done unless told otherwise); all closed at teardown."""
    opened: list[RawHub] = []

    async def open_hub(
        hub: str = "user", token: str | None = None, *, handshake: bool = True, **kw: Any
    ) -> RawHub:
        ws = await connect(hub_url(sim, hub, token or api.token), max_size=None, compression=None, **kw)
        client = RawHub(ws)
        opened.append(client)
        if handshake:
            assert await client.handshake() == {}
        return client

    yield open_hub
    for client in opened:
        await client.close()
