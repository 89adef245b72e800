"""Hub loss and recovery (daemon.md §7): resubscribe, signal, reconcile, and nothing applied twice."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from projectx_sim import SimConfig
from simple_risk_manager.domain.events import (
    AccountUpdated,
    HubConnectionChanged,
    OrderUpdated,
    PositionUpdated,
    TradeReceived,
)
from simple_risk_manager.domain.models import ResetSchedule
from simple_risk_manager.gateway import HubOptions, apply_reconcile, fetch_reconcile
from simple_risk_manager.state.pnl import FillOutcome, PnlTracker
from simple_risk_manager.state.positions import StateManager

ACCOUNTS = (7001, 7002)


def change(hub: str, connected: bool, reconnect: bool | None = None):
    def match(event) -> bool:
        return (isinstance(event, HubConnectionChanged) and event.hub == hub and event.connected == connected
                and (reconnect is None or event.reconnect == reconnect))
    return match


def subscriptions(hub) -> list[set[str]]:
    return [{f"{kind}:{key}" for kind, key in c.subscriptions} for c in hub.connections.values()]


async def trade(control, contract: str, side: int = 0, size: int = 1, account: int = 7001) -> None:
    await control.post("trader/Order/place", {"accountId": account, "contractId": contract, "type": 2,
                                              "side": side, "size": size})


async def test_drop_restores_every_subscription_and_signals_the_reconnect(gateway, events, sim, control,
                                                                         contract_of, wait_until):
    mnq = contract_of("MNQ")
    gateway.set_wanted_contracts({mnq})
    await events.seen_or_wait(change("user", True))
    await events.seen_or_wait(change("market", True))
    await wait_until(lambda: subscriptions(sim.market_hub) == [{f"quote:{mnq}"}])
    user_before = subscriptions(sim.user_hub)

    await control.post("hubs/drop")
    lost = await events.seen_or_wait(change("user", False))
    assert lost.reason and "closed" in lost.reason
    await events.seen_or_wait(change("market", False))
    back = await events.seen_or_wait(change("user", True, reconnect=True))
    await events.seen_or_wait(change("market", True, reconnect=True))
    assert back.reason == lost.reason

    uid = sim.demo_user.id
    kinds = ("order", "position", "trade")
    expected = {f"account:{uid}"} | {f"{kind}:{a}" for a in ACCOUNTS for kind in kinds}
    assert subscriptions(sim.user_hub) == user_before == [expected]  # one connection, everything back
    await wait_until(lambda: subscriptions(sim.market_hub) == [{f"quote:{mnq}"}])
    await trade(control, mnq)
    await events.wait_for(lambda e: isinstance(e, TradeReceived))


@pytest.mark.parametrize("replay", [False, True], ids=["missed-events-lost", "missed-events-replayed"])
async def test_reconcile_after_reconnect_catches_up_and_applies_nothing_twice(
        gateway, events, sim, control, contract_of, wait_until, replay):
    """A consumer shaped like the daemon's dispatcher: hub events into the real trackers, and a
    reconcile (REST) whenever the user hub (re)connects."""
    await control.post("config", {"replay_missed_events": replay})
    mnq = contract_of("MNQ")
    now = datetime.now(UTC)
    day = ResetSchedule(7001, now.date(), now - timedelta(hours=1), now + timedelta(hours=1), "17:00", "UTC")
    state, pnl = StateManager(), PnlTracker()
    pnl.start_day(day, now)
    outcomes: dict[int, list[FillOutcome]] = {}
    reconciles: list[int] = []

    def apply(event) -> None:
        if isinstance(event, PositionUpdated):
            state.apply_position(event.position, datetime.now(UTC))
        elif isinstance(event, OrderUpdated):
            state.apply_order(event.order)
        elif isinstance(event, AccountUpdated):
            state.apply_account(event.account)
        elif isinstance(event, TradeReceived) and event.trade.account_id == 7001:
            outcomes.setdefault(event.trade.id, []).append(pnl.apply_fill(event.trade).outcome)

    async def consume() -> None:
        while True:
            event = await gateway.events.get()
            events.seen.append(event)
            apply(event)
            if isinstance(event, HubConnectionChanged) and event.hub == "user" and event.connected:
                result = await fetch_reconcile(gateway, 7001, day.last_reset_at, datetime.now(UTC))
                for synthesized in apply_reconcile(result, state, pnl, datetime.now(UTC)):
                    apply(synthesized)
                reconciles.append(len(result.trades))

    consumer = asyncio.create_task(consume())
    try:
        await wait_until(lambda: len(reconciles) == 1)
        await trade(control, mnq, size=2)
        await wait_until(lambda: any(p.size == 2 for p in state.positions(7001)))

        await control.post("hubs/drop", {"hub": "user"})
        await wait_until(lambda: any(change("user", False)(e) for e in events.seen))
        await trade(control, mnq, size=1)  # while the user hub is down: its events are missed
        await trade(control, mnq, side=1, size=3)  # and flat again
        await wait_until(lambda: len(reconciles) == 2)
        await trade(control, mnq, size=1)  # after the reconnect: delivered live again
        await wait_until(lambda: any(p.size == 1 for p in state.positions(7001)))
    finally:
        consumer.cancel()

    rest_trades = await gateway.search_trades(7001, start=day.last_reset_at)
    assert len(rest_trades) == 4 and reconciles == [0, 3]
    expected = sum((t.profit_and_loss or 0) - t.fees for t in rest_trades)
    assert pnl.daily_realized(7001) == expected
    assert all(o.count(FillOutcome.APPLIED) <= 1 for o in outcomes.values())
    delivered = [e.trade.id for e in events.seen if isinstance(e, TradeReceived)]
    if not replay:
        assert len(delivered) == len(set(delivered)) == 2  # no duplicate from the client itself
    (position,) = state.positions(7001)
    assert position.size == 1
    assert len(sim.user_hub.connections) == 1


async def test_close_with_allow_reconnect_comes_back_at_once(gateway, events, control):
    await events.seen_or_wait(change("user", True))
    await control.post("hubs/close", {"hub": "user", "allowReconnect": True, "error": "maintenance"})
    lost = await events.seen_or_wait(change("user", False))
    assert lost.reason == "server sent Close: maintenance"
    started = time.monotonic()
    await events.seen_or_wait(change("user", True, reconnect=True))
    assert time.monotonic() - started < 1.5  # the first rung of the ladder: 1 s ± 20 %


async def test_close_without_allow_reconnect_still_reconnects_after_the_longest_delay(make_gateway, control,
                                                                                      event_log):
    gateway = make_gateway(hubs=HubOptions(backoff_max_s=4.0, ping_interval_s=1.0))
    await gateway.start()
    events = event_log(gateway.events)
    await events.seen_or_wait(change("user", True))
    await control.post("hubs/close", {"hub": "user"})
    await events.seen_or_wait(change("user", False))
    started = time.monotonic()
    await events.seen_or_wait(change("user", True, reconnect=True), within=15)
    assert time.monotonic() - started >= 3.0  # the 4 s cap ± 20 %, not the 1 s first rung


@pytest.mark.parametrize("sim_config", [SimConfig(port=0, rate_limit=False, ping_interval_s=600.0)])
async def test_silent_server_is_treated_as_dead(make_gateway, event_log):
    gateway = make_gateway(hubs=HubOptions(backoff_max_s=2.0, ping_interval_s=0.2, server_timeout_s=1.0))
    await gateway.start()
    events = event_log(gateway.events)
    await events.seen_or_wait(change("user", True))
    lost = await events.seen_or_wait(change("user", False))
    assert lost.reason == "no message from the server for 1 s"
    await events.seen_or_wait(change("user", True, reconnect=True))


async def test_refused_upgrade_logs_in_again(gateway, events, control):
    await events.seen_or_wait(change("user", True))
    await control.post("tokens/expire")
    await control.post("hubs/drop")
    await events.seen_or_wait(change("user", True, reconnect=True))
    await events.seen_or_wait(change("market", True, reconnect=True))
    assert (await control.paths()).count("/api/Auth/loginKey") == 2
