"""The daemon's dispatcher task (`Daemon._dispatch`) on its real wiring, the gateway's REST calls stubbed:
an order event's enforcement request goes out before the event's own broadcast, and before any quote that
was waiting when it arrived."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from simple_risk_manager.clock import SystemClock
from simple_risk_manager.config import load_config_dir
from simple_risk_manager.daemon.process import Daemon
from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.events import OrderUpdated, PositionUpdated, QuoteUpdated
from simple_risk_manager.domain.models import Order, Position, Quote
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.runtime.sd_notify import SystemdNotifier
from simple_risk_manager.runtime.signals import ShutdownSignals
from simple_risk_manager.store import StateStore

SHIPPED_RISK = Path(__file__).resolve().parents[3] / "config" / "risk_config.yaml"
ACCOUNT = 7001
RTY = "CON.F.US.RTY.Z25"  # RULE-011 blocks RTY in the shipped configuration
MNQ = "CON.F.US.MNQ.Z25"


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[tuple[Daemon, list[str]]]:
    """A wired daemon whose cancels and broadcasts are written, in order, to one list."""
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "risk_config.yaml").write_text(SHIPPED_RISK.read_text(encoding="utf-8"), encoding="utf-8")
    accounts = {"version": 1, "topstepx": {"username": "trader", "api_key": "k" * 32,
                                           "api_url": "http://127.0.0.1:9"},
                "accounts": [{"account_id": ACCOUNT,  # RULE-009 off: the verdict must not depend on the hour
                              "risk_overrides": {"session_block_outside": {"enabled": False}}}]}
    (config_dir / "accounts.yaml").write_text(json.dumps(accounts), encoding="utf-8")
    config = load_config_dir(config_dir, env={})
    clock = SystemClock()
    store = StateStore.open(tmp_path / "state.db", clock)
    built = Daemon(config, Directories(config_dir, tmp_path, tmp_path), store, clock,
                   signals=ShutdownSignals(asyncio.get_running_loop()), notifier=SystemdNotifier(None),
                   console=io.StringIO())
    seen: list[str] = []

    async def cancel_order(account_id: int, order_id: int, *, urgent: bool = False) -> None:
        seen.append(f"cancel {order_id}")

    def publish(message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None:
        seen.append(f"broadcast {message_type} {data.get('order_id') or data.get('contract_id')}")

    built.gateway.cancel_order = cancel_order  # type: ignore[method-assign]
    built.server.publish = publish  # type: ignore[method-assign]
    built.dispatcher.startup(store.load({}, datetime(2000, 1, 1, tzinfo=UTC)).result(), clock.now())
    seen.clear()
    try:
        yield built, seen
    finally:
        await built.enforcer.close(timeout_s=1.0)
        store.close()


def blocked_order(order_id: int) -> OrderUpdated:
    now = SystemClock().now()
    return OrderUpdated(Order(id=order_id, account_id=ACCOUNT, contract_id=RTY, type=OrderType.LIMIT,
                              side=OrderSide.BUY, size=1, status=OrderStatus.OPEN, created_at=now,
                              updated_at=now, limit_price=Decimal("2000")))


async def test_the_cancel_goes_out_before_the_orders_broadcast_and_the_waiting_quote(
        daemon: tuple[Daemon, list[str]]) -> None:
    built, seen = daemon
    now = SystemClock().now()
    built.dispatcher.handle(PositionUpdated(Position(  # MNQ is held, so its quotes are wanted
        id=1, account_id=ACCOUNT, contract_id=MNQ, type=PositionType.LONG, size=1,
        average_price=Decimal("21000"), created_at=now, updated_at=now)))
    seen.clear()
    quote = Quote(contract_id=MNQ, received_at=now, last=Decimal("21000"))
    built.inbox.put(QuoteUpdated(quote))
    built.inbox.put(blocked_order(601))
    task = asyncio.create_task(built._dispatch())
    try:
        async with asyncio.timeout(10):
            while f"broadcast MarketQuote {MNQ}" not in seen:  # noqa: ASYNC110 (loop turns are observed)
                await asyncio.sleep(0)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    order = [seen.index(entry) for entry in
             ("cancel 601", "broadcast GatewayUserOrder 601", f"broadcast MarketQuote {MNQ}")]
    assert order == sorted(order), seen
    assert built.inbox.qsize() == 0
