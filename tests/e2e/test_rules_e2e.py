"""One scenario per rule, end to end: simulator ⇄ `srm run` ⇄ a dashboard client.

Each test breaks one rule as a trader would (through the simulator's trader API) and checks the four
places the breach must show: the broker calls the daemon made (the simulator's request log), the
lockout state (the database), the `enforcement_log` row, and the broadcast `enforcement_action`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from .conftest import DaemonRun, Feed, SimControl, chicago_today_name, until

pytestmark = pytest.mark.slow

NewDaemon = Callable[..., Awaitable[DaemonRun]]
Feeds = Callable[..., Awaitable[Feed]]
BUY, SELL = 0, 1


async def flat(control: SimControl, account_id: int) -> bool:
    return not await control.positions(account_id)


async def enforced(run: DaemonRun, feed: Feed, rule_id: str, action: str, outcome: str = "SUCCESS"
                   ) -> None:
    """The audit row and the broadcast of one executed decision."""
    await until(lambda: run.has_row(rule_id, action, outcome),
                f"enforcement_log {rule_id} {action} {outcome}")
    await until(lambda: (rule_id, action, outcome) in feed.actions(),
                f"enforcement_action {rule_id} {action}")


async def start(new_daemon: NewDaemon, feeds: Feeds, rules: dict[str, Any]) -> tuple[DaemonRun, Feed]:
    run = await (await new_daemon(rules=rules)).start()
    return run, await feeds(run)


async def test_rule_001_max_contracts_flattens_the_account(new_daemon: NewDaemon, feeds: Feeds,
                                                           control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"max_contracts": {"limit": 2, "enforcement": "close_all"}})
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 3)

    await until(lambda: flat(control, run.account), "the account flat at the broker")
    assert await control.called(run.account, "Position/closeContract")
    await enforced(run, feed, "RULE-001", "CLOSE_ALL_POSITIONS")
    assert run.lockouts() == []  # RULE-001 never locks


async def test_rule_002_per_instrument_reduces_to_the_limit(new_daemon: NewDaemon, feeds: Feeds,
                                                            control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"max_contracts_per_instrument": {"limits": {"MNQ": 2}}})
    mnq = control.sim.contract("MNQ")
    await control.price(mnq, 21000)
    await control.market(run.account, mnq, BUY, 3)

    async def reduced() -> bool:
        positions = await control.positions(run.account)
        return [p["size"] for p in positions] == [2]

    await until(reduced, "the MNQ position reduced to 2")
    partial = await control.called(run.account, "Position/partialCloseContract")
    assert [r["body"]["size"] for r in partial] == [1]
    await enforced(run, feed, "RULE-002", "REDUCE_TO_LIMIT")


async def test_rule_003_daily_loss_locks_until_reset_and_shows_in_the_snapshot(
        new_daemon: NewDaemon, feeds: Feeds, control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"daily_realized_loss": {"loss_limit": 50}})
    mnq = control.sim.contract("MNQ")
    await control.price(mnq, 21000)
    await control.market(run.account, mnq, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")
    await control.price(mnq, 20950)  # 50 points = -100.00 gross
    await control.market(run.account, mnq, SELL, 1)

    await until(lambda: run.lockouts() == [("RULE-003", "reset", None)], "the RULE-003 reset lockout")
    await enforced(run, feed, "RULE-003", "CLOSE_ALL_AND_LOCKOUT")
    assert [m["rule_id"] for m in feed.of("lockout_set")] == ["RULE-003"]

    # Trading while locked: the new position is closed at once ("activity during lockout").
    await control.market(run.account, mnq, BUY, 1)
    await until(lambda: control.called(run.account, "Position/closeContract"), "the gate's close")
    await until(lambda: flat(control, run.account), "the account flat again")

    await feed.client.request_snapshot()
    await until(lambda: len(feed.of("snapshot")) >= 2, "a fresh snapshot")
    account = feed.snapshot()["accounts"][0]  # type: ignore[index]
    assert account["stale"] is False
    assert account["realized_pnl"] <= -100
    assert [lock["rule_id"] for lock in account["lockouts"]] == ["RULE-003"]
    rule_003 = next(r for r in account["rules"] if r["rule_id"] == "RULE-003")
    assert (rule_003["limit"], rule_003["status"]) == (50, "BREACHED")
    assert rule_003["current"] >= 100
    assert len(account["recent_trades"]) >= 3
    assert any(e["rule_id"] == "RULE-003" for e in account["recent_enforcement"])


async def test_rule_004_floating_loss_closes_the_position(new_daemon: NewDaemon, feeds: Feeds,
                                                          control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"daily_unrealized_loss": {"loss_limit": 50}})
    mnq = control.sim.contract("MNQ")
    await control.price(mnq, 21000)
    await control.market(run.account, mnq, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")

    async def moved_against() -> bool:  # -60.00; re-sent until the daemon has quotes and metadata
        await control.price(mnq, 20970)
        return await flat(control, run.account)

    await until(moved_against, "the losing position closed", every=0.3)
    assert await control.called(run.account, "Position/closeContract")
    await enforced(run, feed, "RULE-004", "CLOSE_POSITION")


async def test_rule_005_floating_profit_takes_the_profit(new_daemon: NewDaemon, feeds: Feeds,
                                                         control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"max_unrealized_profit": {"profit_target": 50}})
    mnq = control.sim.contract("MNQ")
    await control.price(mnq, 21000)
    await control.market(run.account, mnq, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")

    async def moved_up() -> bool:  # +60.00
        await control.price(mnq, 21030)
        return await flat(control, run.account)

    await until(moved_up, "the winning position closed", every=0.3)
    await enforced(run, feed, "RULE-005", "CLOSE_POSITION")


async def test_rule_006_trade_frequency_cools_down(new_daemon: NewDaemon, feeds: Feeds,
                                                   control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"trade_frequency_limit": {
        "enabled": True, "limits": {"per_minute": 2, "per_hour": None, "per_session": None},
        "cooldown_on_breach": {"per_minute_breach": 120}}})
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    for side in (BUY, SELL, BUY):
        await control.market(run.account, mes, side, 1)

    await until(lambda: run.lockouts() == [("RULE-006", "duration", None)], "the RULE-006 cooldown")
    await until(lambda: flat(control, run.account), "the third trade's position closed")
    await enforced(run, feed, "RULE-006", "COOLDOWN")


async def test_rule_007_cooldown_after_a_losing_trade(new_daemon: NewDaemon, feeds: Feeds,
                                                      control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"cooldown_after_loss": {
        "enabled": True, "loss_thresholds": [{"loss_amount": 20, "cooldown_duration": 600}]}})
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")
    await control.price(mes, 5990)  # -50.00
    await control.market(run.account, mes, SELL, 1)

    await until(lambda: run.lockouts() == [("RULE-007", "duration", None)], "the RULE-007 cooldown")
    await enforced(run, feed, "RULE-007", "COOLDOWN")


async def test_rule_008_position_without_stop_is_closed_after_grace(new_daemon: NewDaemon, feeds: Feeds,
                                                                   control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"no_stop_loss_grace": {"enabled": True,
                                                                      "grace_period_seconds": 1}})
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)

    await until(lambda: flat(control, run.account), "the unprotected position closed")
    assert await control.called(run.account, "Position/closeContract")
    await enforced(run, feed, "RULE-008", "CLOSE_POSITION")
    position = feed.of("GatewayUserPosition")[0]
    assert position["has_stop"] is False and position["no_stop_deadline"] is not None


async def test_rule_009_outside_the_session_locks_and_flattens(new_daemon: NewDaemon, feeds: Feeds,
                                                               control: SimControl) -> None:
    days = [d for d in ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN") if d != chicago_today_name()]
    run, feed = await start(new_daemon, feeds, {"session_block_outside": {"enabled": True,
                                                                         "allowed_days": days}})
    # The post-reconcile Sweep already locked the account: today is not a trading day.
    await until(lambda: run.lockouts() == [("RULE-009", "session", None)], "the RULE-009 session lockout")
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)

    await until(lambda: flat(control, run.account), "the position opened outside the session closed")
    await enforced(run, feed, "RULE-009", "CLOSE_ALL_POSITIONS")


async def test_rule_010_broker_disable_locks_and_restore_unlocks(new_daemon: NewDaemon, feeds: Feeds,
                                                                 control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {})
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")

    await control.set_account(run.account, canTrade=False)
    await until(lambda: run.lockouts() == [("RULE-010", "condition", None)], "the RULE-010 condition lockout")
    await until(lambda: flat(control, run.account), "the account flattened")
    await enforced(run, feed, "RULE-010", "CLOSE_ALL_AND_LOCKOUT")

    await control.set_account(run.account, canTrade=True)
    await until(lambda: run.lockouts(active_only=False) == [("RULE-010", "condition", "CAN_TRADE_RESTORED")],
                "the lockout cleared by the broker's restore")
    await until(lambda: any(m["cleared_by"] == "CAN_TRADE_RESTORED" for m in feed.of("lockout_cleared")),
                "lockout_cleared broadcast")


async def test_rule_011_blocked_symbol_is_closed(new_daemon: NewDaemon, feeds: Feeds,
                                                 control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"symbol_blocks": {"blocked_symbols": ["RTY"]},
                                                "max_contracts_per_instrument": {"enabled": False}})
    rty = control.sim.contract("RTY")
    await control.price(rty, 2400)
    await control.market(run.account, rty, BUY, 1)

    await until(lambda: flat(control, run.account), "the blocked position closed")
    closes = await control.called(run.account, "Position/closeContract")
    assert [r["body"]["contractId"] for r in closes] == [rty]
    await enforced(run, feed, "RULE-011", "CLOSE_POSITION")


async def test_rule_012_places_a_protective_stop(new_daemon: NewDaemon, feeds: Feeds,
                                                 control: SimControl) -> None:
    run, feed = await start(new_daemon, feeds, {"trade_management": {"enabled": True, "stop_loss_ticks": 8}})
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)

    async def stop_working() -> bool:  # a quote after the contract's metadata arrived places it
        await control.price(mes, 6000)
        return any(o["type"] == 4 for o in await control.orders(run.account))

    await until(stop_working, "the daemon's stop at the broker", every=0.3)
    placed = await control.called(run.account, "Order/place")
    assert [(p["body"]["type"], p["body"]["stopPrice"]) for p in placed] == [(4, 5998)]  # 8 ticks of 0.25
    assert placed[0]["body"]["customTag"].startswith("RM-")
    await enforced(run, feed, "RULE-012", "AUTO_STOP_LOSS")
