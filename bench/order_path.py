"""In-process cost of an order event on the daemon's wiring, from the inbox to the enforcement call.

The latency bench (`bench/latency.py`) measures the whole path across three processes; this one isolates
the daemon's own Python on it, deterministically and without sockets: a real `Daemon` (configuration
files in a temporary directory, `StateStore`, dispatcher, enforcer, broadcast server object, gateway
object) whose gateway `cancel_order` is replaced by a coroutine that notes when it was called. The probe
account blocks RTY (RULE-011, as in the latency bench); the load accounts hold 10 positions each with
contract metadata and quotes. Each round routes `--quotes` quotes, then one RTY order event exactly as
the dispatcher task does (`Daemon._route`), lets the loop run the enforcement task, and routes the order's
cancellation. Printed: µs per order event in `_route` (the dispatcher's share) and from the event's
routing to the gateway call (the enforcement task's start included), p50 / p90 / p99.

    .venv/bin/python bench/order_path.py [--accounts 1] [--orders 3000] [--quotes 18] [--profile]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

# The latency bench's rules (this script's folder is first on sys.path), so both measure the same.
from latency import risk_config

from simple_risk_manager.clock import SystemClock
from simple_risk_manager.config import load_config_dir
from simple_risk_manager.daemon.process import Daemon
from simple_risk_manager.demo.config_files import DemoSchedule
from simple_risk_manager.demo.yaml_text import yaml_text
from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.events import OrderUpdated, PositionUpdated, QuoteUpdated
from simple_risk_manager.domain.models import ContractMetadata, Order, Position, Quote
from simple_risk_manager.engine.items import ContractFetched, Item
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.runtime.sd_notify import SystemdNotifier
from simple_risk_manager.runtime.signals import ShutdownSignals
from simple_risk_manager.store import StateStore

PROBE = 7000
RTY = "CON.F.US.RTY.Z25"
CONTRACTS = [f"CON.F.US.{root}.Z25" for root in ("EP", "ENQ", "YM", "MES", "MNQ", "MYM", "M2K", "CL", "GC")]
TICK = Decimal("0.25")


def write_config(directory: Path, accounts: int) -> None:
    directory.mkdir(parents=True)
    entries = [{"account_id": PROBE, "risk_overrides": {"symbol_blocks": {"blocked_symbols": ["RTY"]}}},
               *({"account_id": PROBE + 1 + n} for n in range(accounts))]
    files = {
        "accounts.yaml": {"topstepx": {"username": "bench", "api_key": "k" * 32,
                                       "api_url": "http://127.0.0.1:9", "user_hub_url": "http://127.0.0.1:9/u",
                                       "market_hub_url": "http://127.0.0.1:9/m"},
                          "accounts": entries},
        "risk_config.yaml": risk_config(DemoSchedule.around(SystemClock().now())),
        "logging.yaml": {"console": False},
    }
    for name, document in files.items():
        (directory / name).write_text(yaml_text(document), encoding="utf-8")


def order(order_id: int, status: OrderStatus, now: datetime) -> OrderUpdated:
    return OrderUpdated(Order(id=order_id, account_id=PROBE, contract_id=RTY, type=OrderType.LIMIT,
                              side=OrderSide.BUY, size=1, status=status, created_at=now, updated_at=now,
                              limit_price=Decimal("2000")))


def hold_positions(route: Callable[[Item], None], accounts: int, now: datetime) -> None:
    """Every load account holds one long in RTY and each other contract; all metadata is known."""
    position_id = 1
    for account_id in range(PROBE + 1, PROBE + 1 + accounts):
        for contract_id in (RTY, *CONTRACTS):
            route(PositionUpdated(Position(
                id=position_id, account_id=account_id, contract_id=contract_id, type=PositionType.LONG,
                size=1, average_price=Decimal("5000"), created_at=now, updated_at=now)))
            position_id += 1
    for contract_id in (RTY, *CONTRACTS):
        route(ContractFetched(ContractMetadata(
            contract_id=contract_id, symbol_id=contract_id[4:].rsplit(".", 1)[0], tick_size=TICK,
            tick_value=Decimal("1.25"), cached_at=now)))


async def run(accounts: int, orders: int, quotes: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="srm-order-bench-") as tmp:
        root = Path(tmp)
        write_config(root / "config", accounts)
        config = load_config_dir(root / "config", env={})
        clock = SystemClock()
        store = StateStore.open(root / "state.db", clock)
        called: list[int] = []

        async def cancel_order(account_id: int, order_id: int, *, urgent: bool = False) -> None:
            called.append(time.perf_counter_ns())

        try:
            daemon = Daemon(config, Directories(root / "config", root, root), store, clock,
                            signals=ShutdownSignals(asyncio.get_running_loop()),
                            notifier=SystemdNotifier(None), console=io.StringIO())
            daemon.gateway.cancel_order = cancel_order  # type: ignore[method-assign]
            now = clock.now()
            daemon.dispatcher.startup(store.load({}, datetime(2000, 1, 1, tzinfo=UTC)).result(), now)
            route = daemon._route  # exactly what the dispatcher task calls
            finish = daemon.dispatcher.finish

            async def dispatch(item: Item) -> None:
                """One turn of the daemon's dispatcher task (`Daemon._dispatch`)."""
                route(item)
                await asyncio.sleep(0)
                finish()

            hold_positions(route, accounts, now)
            walk = [QuoteUpdated(Quote(contract_id=CONTRACTS[n % len(CONTRACTS)], received_at=now,
                                       last=Decimal("5000") + TICK * (n % 17 - 8)))
                    for n in range(quotes * 16)]
            in_route: list[float] = []
            to_call: list[float] = []

            async def rounds(count: int, first_id: int) -> None:
                for n in range(count):
                    for q in range(quotes):
                        await dispatch(walk[(n * quotes + q) % len(walk)])
                    event_now = clock.now()
                    started = time.perf_counter_ns()
                    route(order(first_id + n, OrderStatus.OPEN, event_now))
                    routed = time.perf_counter_ns()
                    while not called:  # noqa: ASYNC110 (one loop turn at a time, as the daemon's)
                        await asyncio.sleep(0)
                    finish()
                    in_route.append((routed - started) / 1000)
                    to_call.append((called.pop() - started) / 1000)
                    await dispatch(order(first_id + n, OrderStatus.CANCELLED, clock.now()))

            await rounds(min(500, orders), 1_000_000)  # warm-up
            in_route.clear()
            to_call.clear()
            await rounds(orders, 2_000_000)
            print(f"{accounts} load account(s) x 10 positions, {orders} order events, "
                  f"{quotes} quotes between them")
            for name, values in (("in _route (dispatcher)", in_route), ("routing -> cancel call", to_call)):
                ordered = sorted(values)
                p90, p99 = ordered[int(0.90 * len(ordered))], ordered[int(0.99 * len(ordered))]
                print(f"  {name:24s} p50 {statistics.median(ordered):7.1f} us  p90 {p90:7.1f} us  "
                      f"p99 {p99:7.1f} us")
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                await rounds(orders, 3_000_000)
                profiler.disable()
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(45)
            await daemon.enforcer.drain()
        finally:
            store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1, help="load accounts holding 10 positions each")
    parser.add_argument("--orders", type=int, default=3000)
    parser.add_argument("--quotes", type=int, default=18, help="quotes routed before each order event")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 20 (own time)")
    args = parser.parse_args()
    asyncio.run(run(args.accounts, args.orders, args.quotes, args.profile))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
