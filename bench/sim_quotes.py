"""How many GatewayQuote events per second the simulator pushes to 1 and to 10 subscribers.

Starts `python -m projectx_sim` on a free loopback port, connects raw WebSocket clients to the market
hub (JSON hub protocol, skip negotiation), subscribes them to one contract's quotes and asks the
simulator for a burst of random-walk steps (`POST /sim/market/burst`). A run ends when every client
has received every quote (or after a time limit) and prints events/s per subscriber and in total.

    .venv/bin/python bench/sim_quotes.py [--quotes 100000] [--subscribers 1 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

RS = "\x1e"
CONTRACT = "CON.F.US.MNQ.Z25"
READY = "PROJECTX_SIM_READY "
TIME_LIMIT_S = 60.0


@dataclass
class Subscriber:
    ws: ClientConnection
    received: int = 0
    last_at: float = 0.0

    async def count(self, expected: int, done: asyncio.Event) -> None:
        async for frame in self.ws:
            text = frame if isinstance(frame, str) else frame.decode()
            self.received += text.count('"target":"GatewayQuote"')
            if self.received >= expected:
                self.last_at = time.perf_counter()
                done.set()
                return


async def start_simulator() -> tuple[asyncio.subprocess.Process, dict[str, object]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectx_sim",
        "--port",
        "0",
        "--paused",
        "--no-rate-limit",
        "--front-month",
        "Z25",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    async with asyncio.timeout(30):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise RuntimeError("the simulator exited before it was ready")
            if line.startswith(READY):
                return process, json.loads(line[len(READY) :])


async def subscribe(url: str) -> ClientConnection:
    ws = await connect(url, max_size=None, compression=None)
    await ws.send('{"protocol":"json","version":1}' + RS)
    await ws.recv()  # {} handshake reply
    invocation = {
        "type": 1,
        "invocationId": "q",
        "target": "SubscribeContractQuotes",
        "arguments": [CONTRACT],
    }
    await ws.send(json.dumps(invocation) + RS)
    while '"invocationId":"q"' not in str(await ws.recv()):
        pass
    return ws


async def run(
    http: aiohttp.ClientSession, info: dict[str, object], token: str, subscribers: int, quotes: int
) -> None:
    hub = str(info["marketHubUrl"]).replace("http://", "ws://") + f"?access_token={token}"
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(subscribers):
            ws = await subscribe(hub)
            stack.push_async_callback(ws.close)
            clients.append(Subscriber(ws))
        events = [asyncio.Event() for _ in clients]
        counters = [asyncio.create_task(c.count(quotes, e)) for c, e in zip(clients, events, strict=True)]
        started = time.perf_counter()
        async with http.post(
            f"{info['url']}/sim/market/burst", json={"contractId": CONTRACT, "count": quotes}
        ) as r:
            r.raise_for_status()
        try:
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in events)), TIME_LIMIT_S)
        except TimeoutError:
            print(f"  (stopped after {TIME_LIMIT_S:.0f} s)")
        for task in counters:
            task.cancel()
        finished = max((c.last_at for c in clients), default=0.0) or time.perf_counter()
        elapsed = finished - started
        received = [c.received for c in clients]
        per_subscriber = min(received) / elapsed
        print(
            f"{subscribers:>3} subscriber(s): {quotes} quotes each in {elapsed:.2f} s -> "
            f"{per_subscriber:,.0f} quote events/s per subscriber, {sum(received) / elapsed:,.0f} in total"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quotes", type=int, default=100_000, help="quotes per run (default %(default)s)")
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 10])
    args = parser.parse_args()
    process, info = await start_simulator()
    try:
        async with aiohttp.ClientSession() as http:
            login = {"userName": info["userName"], "apiKey": info["apiKey"]}
            async with http.post(f"{info['url']}/api/Auth/loginKey", json=login) as response:
                token = (await response.json())["token"]
            print(f"simulator at {info['url']}; burst of random-walk quotes on {CONTRACT}")
            for subscribers in args.subscribers:
                await run(http, info, token, subscribers, args.quotes)
    finally:
        process.terminate()
        await process.wait()


if __name__ == "__main__":
    asyncio.run(main())
