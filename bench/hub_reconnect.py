"""Time from a hub drop to restored subscriptions, over N drops, against the local simulator.

Two paths are measured:
- drop: the simulator aborts both hub connections (`/sim/hubs/drop`); the client notices, waits its
  first backoff rung (1 s ± 20 %, `daemon.md` §7), reconnects, resubscribes, then announces
  `HubConnectionChanged(reconnect=True)`. Measured from the drop request to that announcement.
- planned: the reconnect a token renewal triggers (no backoff): close, connect with the current
  token, handshake, resubscribe, announce. This is the cost of the reconnect itself.

Usage: .venv/bin/python bench/hub_reconnect.py [--drops 20] [--accounts 2]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

import aiohttp

from projectx_sim import SimConfig, Simulator
from simple_risk_manager.domain.events import HubConnectionChanged
from simple_risk_manager.gateway import Credentials, GatewaySettings, ProjectXGateway


async def restored(gateway: ProjectXGateway, hubs: set[str]) -> dict[str, float]:
    """Wait until every hub in `hubs` announced a reconnect; returns perf_counter times per hub."""
    done: dict[str, float] = {}
    while set(done) != hubs:
        event = await gateway.events.get()
        if isinstance(event, HubConnectionChanged) and event.connected and event.reconnect:
            done.setdefault(event.hub, time.perf_counter())
    return done


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    return (f"{name:<28} n={len(ordered):<3} p50={p50 * 1000:8.1f} ms  max={ordered[-1] * 1000:8.1f} ms"
            f"  min={ordered[0] * 1000:8.1f} ms")


async def main(drops: int, accounts: int) -> None:
    config = SimConfig(port=0, rate_limit=False, quote_rate=4.0)
    async with Simulator(config) as sim, aiohttp.ClientSession() as http:
        for n in range(max(0, accounts - 2)):
            body = {"userName": sim.config.user_name, "name": f"BENCH-{n}"}
            async with http.post(f"{sim.url}/sim/accounts", json=body) as response:
                response.raise_for_status()
        credentials = Credentials(sim.config.user_name, sim.config.api_key)
        ids = [a.id for a in sim.exchange.accounts_of(sim.demo_user.id)][:accounts]
        gateway = ProjectXGateway(GatewaySettings(sim.url, sim.user_hub_url, sim.market_hub_url),
                                  dict.fromkeys(ids, credentials))
        await gateway.start()
        gateway.set_wanted_contracts([c.id for c in sim.contracts.front[:3]])
        pending = {"user", "market"}
        while pending:  # first connects
            event = await gateway.events.get()
            if isinstance(event, HubConnectionChanged) and event.connected:
                pending.discard(event.hub)

        drop_user: list[float] = []
        drop_market: list[float] = []
        for _ in range(drops):
            started = time.perf_counter()
            async with http.post(f"{sim.url}/sim/hubs/drop", json={}) as response:
                await response.read()
            times = await restored(gateway, {"user", "market"})
            drop_user.append(times["user"] - started)
            drop_market.append(times["market"] - started)

        planned: list[float] = []
        for _ in range(drops):
            started = time.perf_counter()
            gateway.user_hubs[sim.config.user_name].connection.reconnect_now("bench")
            times = await restored(gateway, {"user"})
            planned.append(times["user"] - started)
        await gateway.close()

    subscriptions = 1 + 3 * len(ids)
    print(f"hub reconnect: {drops} drops, {len(ids)} accounts ({subscriptions} user-hub subscriptions), "
          f"3 quote subscriptions")
    print(summary("drop -> user hub restored", drop_user))
    print(summary("drop -> market hub restored", drop_market))
    print(summary("planned user-hub reconnect", planned))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--drops", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=2)
    options = parser.parse_args()
    asyncio.run(main(options.drops, options.accounts))
