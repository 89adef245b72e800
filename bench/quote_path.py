"""In-process cost of the daemon's quote hot path: `Dispatcher.handle(QuoteUpdated)` on real parts.

Deterministic and without sockets (docs/performance.md, "Quote path in process"): the shipped
`risk_config.yaml` with a generated `accounts.yaml` of N accounts, the real trackers, a real
`StateStore` on a temporary directory, a `ManualClock`, and do-nothing broadcaster and enforcer ports.
Every account holds one position in each of 10 contracts (metadata and a first quote known), so every
quote is evaluated (RULE-004/005, RULE-012 when enabled) for every account. Quotes walk within ±20 ticks
of the entry, so no position breaches and the figure is the steady "nothing happens" cost.

    .venv/bin/python bench/quote_path.py [--accounts 50] [--positions 10] [--quotes 20000] [--profile]

Prints µs per quote and per holding account (best of 3 timed passes), then with `--profile` the top
15 functions by cumulative time under cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.config import load_config_dir
from simple_risk_manager.domain.enums import PositionType
from simple_risk_manager.domain.events import PositionUpdated, QuoteUpdated
from simple_risk_manager.domain.models import ContractMetadata, Order, Position, Quote
from simple_risk_manager.engine.items import ContractFetched
from simple_risk_manager.engine.pipeline import Dispatcher
from simple_risk_manager.engine.plan import EnforcementPlan
from simple_risk_manager.engine.views import build_trackers
from simple_risk_manager.state.calendar import trading_day_of
from simple_risk_manager.state.reset_schedule import ResetScheduler
from simple_risk_manager.state.timers import TimerManager
from simple_risk_manager.store import StateStore

SHIPPED_RISK = Path(__file__).resolve().parents[1] / "config" / "risk_config.yaml"
#: Monday 2025-11-24 15:00 UTC (09:00 Chicago): inside the shipped session.
NOW = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)
TICK_SIZE, TICK_VALUE, ENTRY = Decimal("0.25"), Decimal("1.25"), Decimal("5000.00")


class _Broadcaster:
    def publish(self, message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None:
        pass


class _Enforcer:
    def __init__(self) -> None:
        self.plans = 0

    def submit(self, plan: EnforcementPlan, lockouts_written: Future[None] | None) -> None:
        self.plans += 1

    def is_own_order(self, order: Order) -> bool:
        return order.is_own

    def observe_position(self, position: Position) -> None:
        pass

    def observe_order(self, order: Order) -> None:
        pass


def _contracts(count: int) -> list[str]:
    return [f"CON.F.US.B{n:02d}.Z25" for n in range(count)]


def build(directory: Path, accounts: int, positions: int) -> tuple[Dispatcher, _Enforcer, StateStore]:
    """A started dispatcher whose every account holds one long position in each contract."""
    config_dir = directory / "config"
    config_dir.mkdir(parents=True)
    shutil.copy(SHIPPED_RISK, config_dir / "risk_config.yaml")
    document = {"version": 1, "topstepx": {"username": "bench@example.com", "api_key": "k" * 32},
                "accounts": [{"account_id": 9000 + n} for n in range(accounts)]}
    (config_dir / "accounts.yaml").write_text(json.dumps(document), encoding="utf-8")
    config = load_config_dir(config_dir, env={})
    clock = ManualClock(NOW)
    store = StateStore.open(directory / "state.db", clock)
    enforcer = _Enforcer()
    dispatcher = Dispatcher(config, build_trackers(config), timers=TimerManager(), scheduler=ResetScheduler(),
                            journal=store, broadcaster=_Broadcaster(), enforcer=enforcer, clock=clock,
                            set_wanted_contracts=lambda _: None, fetch_contract=lambda _: None)
    dates = {account_id: trading_day_of(NOW, *config.reset_time_and_zone(account_id))
             for account_id in dispatcher.accounts}
    dispatcher.startup(store.load(dates, datetime(2000, 1, 1, tzinfo=UTC)).result(), NOW)
    position_id = 1
    for account_id in sorted(dispatcher.accounts):
        for contract_id in _contracts(positions):
            dispatcher.handle(PositionUpdated(Position(
                id=position_id, account_id=account_id, contract_id=contract_id, type=PositionType.LONG,
                size=2, average_price=ENTRY, created_at=NOW, updated_at=NOW)))
            position_id += 1
    for contract_id in _contracts(positions):
        dispatcher.handle(ContractFetched(ContractMetadata(
            contract_id=contract_id, symbol_id=contract_id.removeprefix("CON.").rsplit(".", 1)[0],
            tick_size=TICK_SIZE, tick_value=TICK_VALUE, cached_at=NOW)))
        dispatcher.handle(_quote(contract_id, ENTRY))
    return dispatcher, enforcer, store


def _quote(contract_id: str, last: Decimal) -> QuoteUpdated:
    return QuoteUpdated(Quote(contract_id=contract_id, received_at=NOW, last=last, bid=last - TICK_SIZE,
                              ask=last + TICK_SIZE))


def quotes(count: int, positions: int) -> list[QuoteUpdated]:
    """A fixed walk (seed 1) of last prices within ±20 ticks of the entry, round-robin over contracts."""
    rng = random.Random(1)
    contracts = _contracts(positions)
    return [_quote(contracts[n % positions], ENTRY + TICK_SIZE * rng.randint(-20, 20)) for n in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--positions", type=int, default=10)
    parser.add_argument("--quotes", type=int, default=20_000)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top 15 (cumulative)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="srm-quote-bench-") as tmp:
        dispatcher, enforcer, store = build(Path(tmp), args.accounts, args.positions)
        try:
            items = quotes(args.quotes, args.positions)
            handle = dispatcher.handle
            for item in items[:1000]:  # warm-up
                handle(item)
            best = float("inf")
            for _ in range(3):
                started = time.perf_counter()
                for item in items:
                    handle(item)
                best = min(best, time.perf_counter() - started)
            per_quote = best / len(items) * 1e6
            print(f"{args.accounts} accounts x {args.positions} positions, {len(items)} quotes, best of 3")
            print(f"  {per_quote:8.2f} us per quote")
            print(f"  {per_quote / args.accounts:8.3f} us per holding account")
            print(f"  {1e6 / per_quote:8.0f} quotes/s of dispatcher time")
            print(f"  plans submitted: {enforcer.plans}, items dropped: {dispatcher.dropped}")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(lambda: [handle(item) for item in items])
                pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(15)
        finally:
            store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
