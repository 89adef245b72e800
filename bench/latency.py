"""Event → enforcement latency of the daemon, with the daemon and the simulator as separate processes.

Method (`daemon.md` §9, docs/performance.md):
- The simulator runs with its rate limit off and its random walk driving quotes; the daemon (`srm run`)
  is configured for it in a temporary directory. No dashboard is attached.
- Probe: a "probe" account blocks RTY (RULE-011). The bench places a resting RTY buy limit on it through
  `/sim/trader/Order/place`; the simulator sends the order event on the user hub, the daemon cancels it
  (REJECT_ORDER → `Order/cancel`). Latency = the cancel's arrival at the simulator (`/sim/requests`
  `arrivalNs`, the socket read that delivered it) − the order event's hand-over to the daemon's socket
  (`/sim/events` `sentNs`), paired by order id. Both are `time.monotonic_ns()` of the simulator
  process, so the figure includes both loopback hops, not only the daemon.
- CPUs (Linux, 2 or more): the daemon is pinned to a CPU of its own, the simulator and the bench to the
  others — in production the gateway is another machine. Run A then measures the same daemon again
  with every process free to run on every CPU.
- Load: quotes of the 10 front-month contracts at `quote_rate` each (the daemon holds positions in all
  of them, so every quote is evaluated by RULE-004/005 for every holding account), plus the probes.
  "Events per second" counts every hub event the simulator sent the daemon in the phase.
- Run 0 (method floor): no daemon; a 30-line asyncio client (websockets + aiohttp) in the bench
  process, pinned where the daemon would be, receives the probe's order event and sends the cancel
  at once. What it measures is the cost of the method itself (two loopback hops, the simulator,
  Python's WebSocket and HTTP clients); the daemon's own share is the difference.
- Run A (latency): the probe account and one account with 10 open positions; phases at about 100 and
  1,000 events/s. Run B (capacity): 50 accounts × 10 open positions; the quote rate steps up until
  the probe p99 passes 5 ms; the highest rate that stayed under is the answer.

    .venv/bin/python bench/latency.py [--quick] [--profile DIR]

`--quick` shortens every phase (a smoke run); `--profile DIR` runs each daemon under cProfile and
prints where its time went. The whole run takes about four and a half minutes and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import platform
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from websockets.asyncio.client import connect

from simple_risk_manager.broadcast.client import BroadcastClient
from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import SystemClock
from simple_risk_manager.demo.config_files import ZONE, DemoSchedule
from simple_risk_manager.demo.expectations import daemon_running
from simple_risk_manager.demo.processes import (
    ChildProcess,
    SimEndpoints,
    free_port,
    start_daemon,
    start_simulator,
)
from simple_risk_manager.demo.sim_control import OrderType, Side, SimControl
from simple_risk_manager.demo.yaml_text import yaml_text

BLOCKED = "RTY"
PROBE_LIMIT = Decimal("2000.0")  # far below the RTY walk (starts at 2400): the order rests until cancelled
POSITIONS_PER_ACCOUNT = 10
CAPACITY_ACCOUNTS = 50
CAPACITY_P99_MS = 5.0
CAPACITY_QUOTES_PER_S = (1_000, 2_000, 3_000, 4_000, 5_000, 10_000, 20_000, 30_000, 40_000, 60_000, 80_000)
SIM_LOG_SIZE = 400_000  # the simulator's request and event logs (--log-size); a phase must fit
EVENT_LOG_ROOM = 360_000
#: Capacity phases: long enough for a p99 that is not just the single worst probe.
CAPACITY_PROBES_PER_S = 30
CAPACITY_PHASE_S = 10.0
START_TIMEOUT_S = 150.0
SETTLE_S = 1.0


@dataclass(frozen=True)
class Phase:
    name: str
    quotes_per_contract: float
    probes_per_s: float
    seconds: float


@dataclass
class Result:
    phase: Phase
    latencies_ms: list[float]
    unanswered: int
    events_per_s: float
    quotes_per_s: float
    daemon_cpu: float | None
    sim_cpu: float | None

    def percentile(self, fraction: float) -> float:
        """Nearest rank: the smallest sample with at least `fraction` of the samples at or below it."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return float("nan")
        return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]

    def row(self) -> str:
        stats = " | ".join(f"{self.percentile(q):.3f}" for q in (0.50, 0.95, 0.99))
        worst = max(self.latencies_ms, default=float("nan"))
        shares = (self.daemon_cpu, self.sim_cpu)
        cpu = " | ".join("n/a" if share is None else f"{share:.0%}" for share in shares)
        return (f"| {self.phase.name} | {self.events_per_s:,.0f} | {self.quotes_per_s:,.0f} | "
                f"{len(self.latencies_ms)} | {stats} | {worst:.3f} | {self.unanswered} | {cpu} |")


HEADER = ("| phase | events/s | quotes/s | samples | p50 ms | p95 ms | p99 ms | max ms | unanswered | "
          "daemon CPU | simulator CPU |\n|---|---|---|---|---|---|---|---|---|---|---|")


# --- configuration -----------------------------------------------------------------------------------

def risk_config(schedule: DemoSchedule) -> dict[str, Any]:
    """Every rule a quote or an order reaches is on, with limits the load never reaches; RULE-008 is off
    (the load positions have no stops) and RULE-012 off as shipped."""
    big = Decimal("1000000")
    return {
        "version": 1,
        "global": {"timezone": ZONE, "daily_reset_time": schedule.reset_time, "holidays": []},
        "rules": {
            "max_contracts": {"enabled": True, "limit": 1000},
            "max_contracts_per_instrument": {"enabled": True, "limits": {},
                                             "unknown_symbol_action": "allow_unlimited"},
            "daily_realized_loss": {"enabled": True, "loss_limit": big},
            "daily_unrealized_loss": {"enabled": True, "loss_limit": big, "scope": "per_position"},
            "max_unrealized_profit": {"enabled": True, "profit_target": big, "scope": "per_position"},
            "trade_frequency_limit": {"enabled": True, "limits": {"per_minute": 1000, "per_hour": 10000,
                                                                  "per_session": 100000}},
            "cooldown_after_loss": {"enabled": True, "loss_thresholds": [
                {"loss_amount": big, "cooldown_duration": 60}]},
            "no_stop_loss_grace": {"enabled": False},
            "session_block_outside": {
                "enabled": True, "global_session": {"start": schedule.session_start,
                                                    "end": schedule.session_end},
                "allowed_days": ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]},
            "auth_loss_guard": {"enabled": True},
            "symbol_blocks": {"enabled": True, "blocked_symbols": []},
            "trade_management": {"enabled": False},
        },
    }


def write_config(directory: Path, sim: SimEndpoints, probe: int, load: Sequence[int], port: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    accounts = [{"account_id": probe, "nickname": "probe",
                 "risk_overrides": {"symbol_blocks": {"blocked_symbols": [BLOCKED]}}},
                *({"account_id": account_id} for account_id in load)]
    files = {
        "accounts.yaml": {"topstepx": {"username": sim.user_name, "api_key": sim.api_key,
                                       "api_url": sim.url, "user_hub_url": sim.user_hub_url,
                                       "market_hub_url": sim.market_hub_url},
                          "accounts": accounts},
        "risk_config.yaml": risk_config(DemoSchedule.around(SystemClock().now())),
        "daemon.yaml": {"broadcast": {"port": port}},
        "logging.yaml": {"console": False},
    }
    for name, document in files.items():
        (directory / name).write_text(yaml_text(document), encoding="utf-8")


# --- processes -----------------------------------------------------------------------------------

async def wait_running(port: int, daemon: ChildProcess) -> None:
    client = BroadcastClient(f"ws://127.0.0.1:{port}/", account_ids=[], delay=lambda attempt: 0.2)

    async def running() -> None:
        async for item in client.stream():
            if isinstance(item, Message) and daemon_running(item):
                return

    watch = asyncio.ensure_future(running())
    exited = asyncio.ensure_future(daemon.process.wait())
    try:
        done, _ = await asyncio.wait({watch, exited}, timeout=START_TIMEOUT_S,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        exited.cancel()
        await client.close()
    if watch not in done:
        raise SystemExit(f"the daemon did not become RUNNING:\n{daemon.output_tail()}")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc; None elsewhere)."""
    if pid < 0:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuLayout:
    """The daemon gets a CPU of its own; the simulator and the bench share the others.

    In production the gateway is another machine: the daemon never waits in a run queue behind it, nor
    finds its caches filled by it. On a 2-CPU box that is what pinning reproduces (Run A also measures
    the daemon with the CPUs shared, as it was measured before).
    """

    daemon: frozenset[int]
    others: frozenset[int]

    @classmethod
    def choose(cls) -> CpuLayout | None:
        """None where processes cannot be pinned (not Linux) or there is a single CPU."""
        if not hasattr(os, "sched_setaffinity"):
            return None
        cpus = sorted(os.sched_getaffinity(0))
        return None if len(cpus) < 2 else cls(frozenset(cpus[-1:]), frozenset(cpus[:-1]))

    @property
    def every(self) -> frozenset[int]:
        return self.daemon | self.others

    def describe(self) -> str:
        return (f"daemon on CPU {', '.join(map(str, sorted(self.daemon)))}; simulator and bench on CPU "
                f"{', '.join(map(str, sorted(self.others)))}")


def pin(pid: int, cpus: frozenset[int]) -> None:
    """Every thread of process `pid` onto `cpus` (threads started later inherit it from their creator)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(ProcessLookupError):  # a thread that just ended
            os.sched_setaffinity(int(tid), cpus)


# --- one phase ---------------------------------------------------------------------------------------

async def probes(sim: SimControl, probe: int, contract: str, rate: float, stop: asyncio.Event) -> None:
    interval = 1.0 / rate
    due = time.monotonic()
    while not stop.is_set():
        await sim.place(probe, contract, Side.BUY, 1, OrderType.LIMIT, limit_price=PROBE_LIMIT)
        due += interval
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, due - time.monotonic()))


def measure(phase: Phase, probe: int, events: list[dict[str, Any]], requests: list[dict[str, Any]],
            cpu: tuple[float | None, float | None]) -> Result:
    sent: dict[int, int] = {}
    quotes: list[int] = []
    for event in events:
        if event["target"] == "GatewayQuote":
            quotes.append(event["sentNs"])
        elif event["target"] == "GatewayUserOrder":
            payload = event["arguments"][0]
            order = payload.get("data", payload)
            if order.get("accountId") == probe and order.get("status") == 1:
                sent.setdefault(order["id"], event["sentNs"])
    arrived = {r["body"]["orderId"]: r["arrivalNs"] for r in requests
               if r["path"].lower() == "/api/order/cancel" and isinstance(r.get("body"), dict)}
    latencies = [(arrived[order_id] - sent_ns) / 1e6 for order_id, sent_ns in sent.items()
                 if order_id in arrived]
    stamps = [event["sentNs"] for event in events]
    span_s = (max(stamps) - min(stamps)) / 1e9 if len(stamps) > 1 else float("nan")
    quote_span_s = (max(quotes) - min(quotes)) / 1e9 if len(quotes) > 1 else float("nan")
    return Result(phase, latencies, len(sent) - len(latencies), len(events) / span_s,
                  len(quotes) / quote_span_s if quotes else 0.0, *cpu)


def cpu_share(before: float | None, after: float | None, wall_s: float) -> float | None:
    return None if before is None or after is None else (after - before) / wall_s


async def run_phase(sim: SimControl, sim_pid: int, daemon: ChildProcess | Floor, probe: int, contract: str,
                    phase: Phase) -> Result:
    await sim.set_switches(quote_rate=phase.quotes_per_contract)
    request_seq, event_seq = await sim.clear_logs()
    pids = (daemon.pid, sim_pid)
    cpu_before, wall_before = [cpu_seconds(pid) for pid in pids], time.monotonic()
    stop = asyncio.Event()
    await sim.random_walk(True)
    prober = asyncio.create_task(probes(sim, probe, contract, phase.probes_per_s, stop))
    await asyncio.sleep(phase.seconds)
    stop.set()
    await prober
    await sim.random_walk(False)
    cpu_after, wall_after = [cpu_seconds(pid) for pid in pids], time.monotonic()
    await asyncio.sleep(SETTLE_S)  # the last cancels are still on their way
    events = (await sim.events_since(event_seq))["events"]
    requests = (await sim.requests_since(request_seq))["requests"]
    daemon_cpu, sim_cpu = (cpu_share(before, after, wall_after - wall_before)
                           for before, after in zip(cpu_before, cpu_after, strict=True))
    result = measure(phase, probe, events, requests, (daemon_cpu, sim_cpu))
    print(result.row(), flush=True)
    return result


# --- run 0: the method's floor ------------------------------------------------------------------

RS = "\x1e"
PING = '{"type":6}' + RS
#: The hub closes a connection that sends no message for 30 s (client timeout); the daemon pings, so must we.
PING_EVERY_S = 10.0


async def hub_connection(url: str, token: str, target: str, arguments: Sequence[object]) -> Any:
    ws = await connect(url.replace("http://", "ws://") + f"?access_token={token}", compression=None,
                       max_size=None)
    await ws.send('{"protocol":"json","version":1}' + RS)
    await ws.recv()
    for n, argument in enumerate(arguments):
        await ws.send(orjson.dumps({"type": 1, "invocationId": str(n), "target": target,
                                    "arguments": [argument]}).decode() + RS)
    return ws


async def keep_alive(*connections: Any) -> None:
    while True:
        await asyncio.sleep(PING_EVERY_S)
        for ws in connections:
            await ws.send(PING)


async def drain_quotes(ws: Any) -> None:
    """Read and parse every quote, as the daemon's market hub does (the same load on the simulator)."""
    async for frame in ws:
        for record in str(frame).split(RS):
            if record:
                orjson.loads(record)


async def floor_client(endpoints: SimEndpoints, probe: int, contracts: Sequence[str],
                       ready: asyncio.Event) -> None:
    """Cancel every working order of the probe account the moment its event arrives; until cancelled."""
    async with aiohttp.ClientSession() as http:
        login = {"userName": endpoints.user_name, "apiKey": endpoints.api_key}
        async with http.post(f"{endpoints.url}/api/Auth/loginKey", json=login) as reply:
            token = (await reply.json())["token"]
        headers = {"Authorization": f"Bearer {token}"}
        market = await hub_connection(endpoints.market_hub_url, token, "SubscribeContractQuotes", contracts)
        ws = await hub_connection(endpoints.user_hub_url, token, "SubscribeOrders", [probe])
        helpers = [asyncio.create_task(drain_quotes(market)), asyncio.create_task(keep_alive(market, ws))]
        try:
            ready.set()
            async for frame in ws:
                for record in str(frame).split(RS):
                    if '"GatewayUserOrder"' not in record:
                        continue
                    payload = orjson.loads(record)["arguments"][0]
                    order = payload.get("data", payload)
                    if order.get("status") == 1:
                        body = {"accountId": probe, "orderId": order["id"]}
                        async with http.post(f"{endpoints.url}/api/Order/cancel", json=body,
                                             headers=headers) as reply:
                            await reply.read()
        finally:
            for helper in helpers:
                helper.cancel()
            await ws.close()
            await market.close()


class Floor:
    """Stands in for the daemon process in `run_phase` (it has no CPU figure of its own)."""

    pid = -1


# --- runs --------------------------------------------------------------------------------------------

async def with_daemon(workdir: Path, name: str, sim_endpoints: SimEndpoints, sim: SimControl, sim_pid: int,
                      probe: int, load: Sequence[int], phases: Sequence[Phase], profile: Path | None,
                      layout: CpuLayout | None, *, stop_when: float | None = None,
                      shared_phases: Sequence[Phase] = ()) -> list[Result]:
    """Run `phases` against a new daemon pinned per `layout`, then `shared_phases` with every process
    free to run on every CPU (pinning restored afterwards)."""
    port = free_port()
    config_dir = workdir / name / "config"
    write_config(config_dir, sim_endpoints, probe, load, port)
    profile_args = () if profile is None else ("-m", "cProfile", "-o", str(profile / f"{name}.prof"))
    started = time.monotonic()
    daemon = await start_daemon(config_dir, workdir / name / "data", workdir / name / "logs",
                                workdir / name / "daemon.out", profile_args)
    results: list[Result] = []
    try:
        await wait_running(port, daemon)
        ready_s = time.monotonic() - started
        if layout is not None:
            pin(daemon.pid, layout.daemon)
        print(f"(daemon RUNNING {ready_s:.1f} s after its start, {len(load) + 1} accounts)", flush=True)
        contract = (await sim.front_contracts())[BLOCKED]
        for phase in phases:
            result = await run_phase(sim, sim_pid, daemon, probe, contract, phase)
            results.append(result)
            if stop_when is not None and result.percentile(0.99) > stop_when:
                break
        if shared_phases and layout is not None:
            for pid in (daemon.pid, sim_pid, os.getpid()):
                pin(pid, layout.every)
            results.extend([await run_phase(sim, sim_pid, daemon, probe, contract, phase)
                            for phase in shared_phases])
            pin(daemon.pid, layout.daemon)
            for pid in (sim_pid, os.getpid()):
                pin(pid, layout.others)
    finally:
        code = await daemon.stop()
    if code != 0:
        print(f"daemon {name} ended with code {code}:\n{daemon.output_tail()}", file=sys.stderr)
    if profile is not None:
        print(f"\ncProfile of daemon {name} (top 25 by own time):")
        pstats.Stats(str(profile / f"{name}.prof")).sort_stats("tottime").print_stats(25)
    return results


async def open_positions(sim: SimControl, accounts: Sequence[int], contracts: Sequence[str]) -> None:
    calls = [sim.place(account, contract, Side.BUY, 1) for account in accounts for contract in contracts]
    for start in range(0, len(calls), 50):
        await asyncio.gather(*calls[start:start + 50])


def machine() -> str:
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}")


async def main(quick: bool, profile: Path | None) -> None:
    scale = 0.25 if quick else 1.0
    latency_phases = [
        Phase("warm-up (discarded)", 8, 10, 3 * scale),
        Phase("~100 events/s", 8, 10, 20 * scale),
        Phase("~1,000 events/s", 90, 50, 20 * scale),
    ]
    shared_phases = [replace(phase, name=f"{phase.name}, CPUs shared") for phase in latency_phases]
    capacity_phases = [Phase(f"{rate:,} quotes/s target", rate / POSITIONS_PER_ACCOUNT, CAPACITY_PROBES_PER_S,
                             min(CAPACITY_PHASE_S, EVENT_LOG_ROOM / rate) * (0.25 if quick else 1.0))
                       for rate in CAPACITY_QUOTES_PER_S]
    print(f"machine: {machine()}", flush=True)
    layout = CpuLayout.choose()
    print(f"CPUs: {'not pinned' if layout is None else layout.describe()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="srm-bench-") as tmp:
        workdir = Path(tmp)
        sim_child, endpoints = await start_simulator(
            workdir / "simulator.out", ["--paused", "--no-rate-limit", "--log-size", str(SIM_LOG_SIZE)])
        if layout is not None:
            for pid in (sim_child.pid, os.getpid()):
                pin(pid, layout.others)
        try:
            async with SimControl(endpoints.url) as sim:
                contracts = list((await sim.front_contracts()).values())
                balance = Decimal("1000000")
                probe = await sim.create_account(endpoints.user_name, "PROBE", balance)
                load = [await sim.create_account(endpoints.user_name, f"LOAD-{n:02d}", balance)
                        for n in range(1, CAPACITY_ACCOUNTS + 1)]
                await open_positions(sim, load, contracts)
                print(f"{len(load)} accounts × {len(contracts)} open positions, probe account {probe}\n")
                print("Run 0: method floor, no daemon (a minimal client in the bench process, on the "
                      "daemon's CPU, cancels the probe orders)")
                print(HEADER, flush=True)
                if layout is not None:
                    pin(os.getpid(), layout.daemon)
                ready = asyncio.Event()
                client = asyncio.create_task(floor_client(endpoints, probe, contracts, ready))
                await ready.wait()
                rty = (await sim.front_contracts())[BLOCKED]
                for phase in latency_phases:
                    await run_phase(sim, sim_child.pid, Floor(), probe, rty, phase)
                client.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await client
                if layout is not None:
                    pin(os.getpid(), layout.others)
                print()
                print("Run A: the probe account and 1 account with 10 positions (then the same daemon with "
                      "every process free to run on every CPU)")
                print(HEADER, flush=True)
                results = await with_daemon(workdir, "latency", endpoints, sim, sim_child.pid, probe,
                                            load[:1], latency_phases, profile, layout,
                                            shared_phases=shared_phases)
                print(f"\nRun B: {CAPACITY_ACCOUNTS} accounts × {POSITIONS_PER_ACCOUNT} positions, "
                      f"quote rate stepped up until p99 > {CAPACITY_P99_MS} ms")
                print(HEADER, flush=True)
                capacity = await with_daemon(workdir, "capacity", endpoints, sim, sim_child.pid, probe, load,
                                             capacity_phases, profile, layout, stop_when=CAPACITY_P99_MS)
        finally:
            await sim_child.stop()
    one_k = results[len(latency_phases) - 1]
    under = [r for r in capacity if r.percentile(0.99) <= CAPACITY_P99_MS]
    best = max((r.quotes_per_s for r in under), default=0.0)
    print("\nTargets (daemon.md §9):")
    print(f"  p50 <= 0.5 ms at 1,000 events/s: {one_k.percentile(0.5):.3f} ms "
          f"({'met' if one_k.percentile(0.5) <= 0.5 else 'MISSED'})")
    print(f"  p99 <= 1 ms at 1,000 events/s:   {one_k.percentile(0.99):.3f} ms "
          f"({'met' if one_k.percentile(0.99) <= 1.0 else 'MISSED'})")
    if len(results) > len(latency_phases):
        shared = results[-1]
        print(f"  (CPUs shared at 1,000 events/s: p50 {shared.percentile(0.5):.3f} ms, "
              f"p99 {shared.percentile(0.99):.3f} ms)")
    print(f"  >= 20,000 quotes/s with p99 <= 5 ms (50 x 10): highest sustained {best:,.0f} quotes/s "
          f"({'met' if best >= 20_000 else 'MISSED'})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases (smoke run)")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="run the daemons under cProfile")
    options = parser.parse_args()
    if options.profile is not None:
        options.profile.mkdir(parents=True, exist_ok=True)
    asyncio.run(main(options.quick, options.profile))
