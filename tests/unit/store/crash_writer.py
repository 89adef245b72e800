"""Writer process for the crash test: batched writes without pause, immediate writes in between.

Run as `python crash_writer.py DB_PATH ITERATION SEED`. Every loop marks the same 50 positions with
`average_price = batch number`, 200 new trades and the marker contract `CON.BATCH` (name = batch
number), then queues a flush without waiting, and prints `B <n>`. Every third loop it saves one new
lockout and one new daily P&L row, waits for both commits and prints `C <json rows>`. The test kills
this process at a random line.
"""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from simple_risk_manager.clock import SystemClock
from simple_risk_manager.domain import (
    ContractMetadata,
    DailyPnl,
    Lockout,
    OrderSide,
    Position,
    PositionType,
    Trade,
)
from simple_risk_manager.store import StateStore
from simple_risk_manager.store.codecs import encode_daily_pnl, encode_lockout

BASE = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def main() -> None:
    db_path, iteration, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    store = StateStore.open(db_path, SystemClock())
    loop = 0
    while True:
        batch = iteration * 100_000 + loop
        when = BASE + timedelta(milliseconds=loop)
        for position_id in range(1, 51):
            store.pending.mark_position(
                Position(
                    id=position_id,
                    account_id=iteration,
                    contract_id="CON.F.US.MNQ.H25",
                    type=PositionType.LONG,
                    size=rng.randint(1, 9),
                    average_price=Decimal(batch),
                    created_at=BASE,
                    updated_at=when,
                )
            )
        for k in range(200):
            store.pending.mark_trade(
                Trade(
                    id=batch * 1000 + k,
                    account_id=iteration,
                    contract_id="CON.F.US.MNQ.H25",
                    side=OrderSide.BUY,
                    size=1,
                    price=Decimal("21000.125"),
                    execution_time=when,
                    received_at=when,
                    profit_and_loss=Decimal(rng.randint(-99999, 99999)) / 100,
                )
            )
        store.pending.mark_contract(
            ContractMetadata(
                contract_id="CON.BATCH",
                symbol_id="F.US.X",
                name=str(batch),
                tick_size=Decimal("0.25"),
                tick_value=Decimal("0.5"),
                cached_at=when,
            )
        )
        store.flush()
        print(f"B {batch}", flush=True)
        if loop % 3 == 0:
            n = loop // 3
            lockout = Lockout(
                lockout_id=iteration * 100_000 + n,
                account_id=iteration,
                rule_id=f"RULE-{n}",
                kind="duration",
                reason=f"cooldown {n}",
                locked_at=when,
                locked_until=when + timedelta(seconds=rng.randint(1, 9999)),
                created_at=when,
                updated_at=when,
            )
            pnl = DailyPnl(
                account_id=iteration,
                date=date(2025, 1, 1) + timedelta(days=n),
                last_updated=when,
                realized_pnl=Decimal(rng.randint(-(10**12), 10**12)) / 10**9,
                gross_pnl=Decimal("-193.32"),
                fees=Decimal("0.000000001"),
                trade_count=n,
            )
            saved = [store.save_lockouts(lockout), store.save_daily_pnl(pnl)]
            for future in saved:
                future.result(timeout=30)
            print(
                "C " + json.dumps({"lockout": encode_lockout(lockout), "daily_pnl": encode_daily_pnl(pnl)}),
                flush=True,
            )
        loop += 1


if __name__ == "__main__":
    main()
