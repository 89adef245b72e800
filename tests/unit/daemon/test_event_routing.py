"""The daemon's sink for gateway events (`Daemon._on_gateway_event`) on its real wiring: an order event
that finds the dispatcher idle is routed inside the callback that delivered it; anything it could
overtake sends it through the inbox instead."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.clock import SystemClock
from simple_risk_manager.config import load_config_dir
from simple_risk_manager.daemon.process import Daemon
from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from simple_risk_manager.domain.events import OrderUpdated, QuoteUpdated
from simple_risk_manager.domain.models import Order, Quote
from simple_risk_manager.engine.items import TimerTick
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.runtime.sd_notify import SystemdNotifier
from simple_risk_manager.runtime.signals import ShutdownSignals
from simple_risk_manager.store import StateStore

SHIPPED_RISK = Path(__file__).resolve().parents[3] / "config" / "risk_config.yaml"
ACCOUNT = 7001
RTY = "CON.F.US.RTY.Z25"  # RULE-011 blocks RTY in the shipped configuration


@pytest.fixture
async def daemon(tmp_path: Path) -> AsyncIterator[Daemon]:
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "risk_config.yaml").write_text(SHIPPED_RISK.read_text(encoding="utf-8"), encoding="utf-8")
    accounts = {"version": 1, "topstepx": {"username": "trader", "api_key": "k" * 32,
                                           "api_url": "http://127.0.0.1:9"},
                "accounts": [{"account_id": ACCOUNT}]}
    (config_dir / "accounts.yaml").write_text(json.dumps(accounts), encoding="utf-8")
    config = load_config_dir(config_dir, env={})
    clock = SystemClock()
    store = StateStore.open(tmp_path / "state.db", clock)
    built = Daemon(config, Directories(config_dir, tmp_path, tmp_path), store, clock,
                   signals=ShutdownSignals(asyncio.get_running_loop()), notifier=SystemdNotifier(None),
                   console=io.StringIO())
    cancels: list[int] = []

    async def cancel_order(account_id: int, order_id: int, *, urgent: bool = False) -> None:
        cancels.append(order_id)

    built.gateway.cancel_order = cancel_order  # type: ignore[method-assign]
    built.cancels = cancels  # type: ignore[attr-defined]
    built.dispatcher.startup(store.load({}, datetime(2000, 1, 1, tzinfo=UTC)).result(), clock.now())
    try:
        yield built
    finally:
        await built.enforcer.close(timeout_s=1.0)
        store.close()


def blocked_order(order_id: int) -> OrderUpdated:
    now = SystemClock().now()
    return OrderUpdated(Order(id=order_id, account_id=ACCOUNT, contract_id=RTY, type=OrderType.LIMIT,
                              side=OrderSide.BUY, size=1, status=OrderStatus.OPEN, created_at=now,
                              updated_at=now, limit_price=Decimal("2000")))


async def until(condition: object) -> None:
    async with asyncio.timeout(10):
        while not condition():  # type: ignore[operator]  # noqa: ASYNC110 (loop turns are the point)
            await asyncio.sleep(0)


async def test_an_order_event_finding_the_dispatcher_idle_is_routed_in_the_callback(daemon: Daemon) -> None:
    daemon._on_gateway_event(blocked_order(501))
    # decided and submitted before this callback returned: the mirror holds it, the cancel is in flight
    assert daemon.trackers.state.order(ACCOUNT, 501) is not None
    assert daemon.inbox.qsize() == 0 and daemon.dispatcher.finishing
    await until(lambda: daemon.cancels == [501])  # type: ignore[attr-defined]
    await until(lambda: not daemon.dispatcher.finishing)  # the follow-up ran on a later turn


async def test_a_waiting_event_sends_the_order_through_the_inbox_behind_it(daemon: Daemon) -> None:
    daemon.inbox.put(TimerTick())
    daemon._on_gateway_event(blocked_order(502))
    assert daemon.trackers.state.order(ACCOUNT, 502) is None
    assert daemon.inbox.qsize() == 2


async def test_pending_follow_up_work_sends_the_order_through_the_inbox(daemon: Daemon) -> None:
    daemon.dispatcher.begin(blocked_order(503))  # as the dispatcher task leaves it before its yield
    daemon._on_gateway_event(blocked_order(504))
    assert daemon.trackers.state.order(ACCOUNT, 504) is None and daemon.inbox.qsize() == 1


async def test_waiting_quotes_do_not_hold_an_order_event_back(daemon: Daemon) -> None:
    quote = Quote(contract_id=RTY, received_at=SystemClock().now(), last=Decimal("2400"))
    daemon.inbox.put(QuoteUpdated(quote))
    daemon._on_gateway_event(blocked_order(505))
    assert daemon.trackers.state.order(ACCOUNT, 505) is not None and daemon.inbox.qsize() == 1


async def test_after_the_stop_began_events_are_dropped(daemon: Daemon) -> None:
    daemon._accepting = False
    daemon._on_gateway_event(blocked_order(506))
    assert daemon.trackers.state.order(ACCOUNT, 506) is None and daemon.inbox.qsize() == 0
