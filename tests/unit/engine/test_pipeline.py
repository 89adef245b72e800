"""The dispatcher end to end on real parts: config loader, trackers, SQLite store; recording fakes only at
the broadcaster and MOD-001 ports (`daemon.md` §4–§7, `rules.md` §2–§3, `modules.md` MOD-002/-003/-004)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind, OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.events import (
    HubConnectionChanged,
    OrderUpdated,
    PositionUpdated,
    SessionLoggedOut,
)
from simple_risk_manager.domain.models import (
    Account,
    DailyPnl,
    Lockout,
    Order,
    Position,
    ResetSchedule,
    Trade,
)
from simple_risk_manager.engine.gate import REASON
from simple_risk_manager.engine.items import ContractFetchFailed, Reconciled, ResetDue, TimerTick
from simple_risk_manager.engine.plan import EnforcementPlan
from simple_risk_manager.gateway.reconcile import ReconcileResult

from .harness import A1, A2, ES, MNQ, NOW, RTY, Harness, HarnessFactory, chicago, harness_factory, summary


@pytest.fixture
def make(tmp_path: Path) -> Iterator[HarnessFactory]:
    yield from harness_factory(tmp_path)


@pytest.fixture
def h(make: HarnessFactory) -> Harness:
    return make()


def timers(h: Harness) -> dict[str, datetime]:
    return {t.name: t.fire_at for t in h.dispatcher.timers.timers()}


def lockout_rows(h: Harness) -> list[tuple[Any, ...]]:
    return h.sql("SELECT rule_id, kind, locked_until, cleared_by FROM lockouts ORDER BY lockout_id")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


# --- startup ---------------------------------------------------------------------------------------

def test_startup_on_an_empty_database_persists_the_day_and_arms_the_timers(h: Harness) -> None:
    assert timers(h) == {
        "reset:7001": chicago(2025, 11, 24, 17), "reset:7002": chicago(2025, 11, 24, 17),
        "session_end:7001": chicago(2025, 11, 24, 15), "session_end:7002": chicago(2025, 11, 24, 15)}
    assert h.sql("SELECT account_id, trading_date, next_reset_at FROM reset_schedule") == [
        (A1, "2025-11-24", "2025-11-24T23:00:00.000Z"), (A2, "2025-11-24", "2025-11-24T23:00:00.000Z")]
    assert h.wanted == [frozenset()]
    assert h.broadcaster.messages == [] and h.enforcer.submitted == []


def _stored_lockout(lockout_id: int, rule_id: str, kind: LockoutKind, until: datetime | None,
                    at: datetime) -> Lockout:
    return Lockout(account_id=A1, rule_id=rule_id, kind=kind.value, reason=f"{rule_id} stored", locked_at=at,
                   locked_until=until, created_at=at, updated_at=at, lockout_id=lockout_id)


def test_startup_runs_one_catch_up_reset_then_clears_what_expired_while_down(make: HarnessFactory) -> None:
    """daemon.md §2 steps 6–7, D21: the catch-up reset owns the `reset` records; then the rest that
    ended while down are cleared TIMER_EXPIRY; timers are armed for what remains."""
    h = make(start=False)
    friday_reset, friday_open = chicago(2025, 11, 21, 17), chicago(2025, 11, 20, 17)
    h.store.save_reset_schedule(ResetSchedule(account_id=A1, trading_date=date(2025, 11, 21),
                                              last_reset_at=friday_open, next_reset_at=friday_reset,
                                              reset_time_config="17:00", timezone="America/Chicago"))
    h.store.save_daily_pnl(DailyPnl(account_id=A1, date=date(2025, 11, 21), last_updated=friday_reset,
                                    realized_pnl=Decimal("-600"), gross_pnl=Decimal("-600")))
    then = friday_reset - timedelta(hours=2)
    h.store.save_lockouts(
        _stored_lockout(1, "RULE-003", LockoutKind.RESET, friday_reset, then),
        _stored_lockout(2, "RULE-007", LockoutKind.DURATION, NOW - timedelta(hours=1), then),
        _stored_lockout(3, "RULE-009", LockoutKind.SESSION, NOW + timedelta(hours=1), then),
        _stored_lockout(4, "RULE-010", LockoutKind.CONDITION, None, then)).result()
    loaded = h.store.load({A1: date(2025, 11, 21), A2: date(2025, 11, 24)},
                          friday_open).result()

    report = h.start(loaded)

    assert [(r.account_id, r.previous_trading_date, r.trading_date) for r in report.resets] == [
        (A1, date(2025, 11, 21), date(2025, 11, 24))]
    assert [(r.rule_id, r.cleared_by) for r in report.expired] == [("RULE-007", "TIMER_EXPIRY")]
    assert lockout_rows(h) == [
        ("RULE-003", "reset", "2025-11-21T23:00:00.000Z", "DAILY_RESET"),
        ("RULE-007", "duration", "2025-11-24T14:00:00.000Z", "TIMER_EXPIRY"),
        ("RULE-009", "session", "2025-11-24T16:00:00.000Z", None),
        ("RULE-010", "condition", None, None)]
    assert [(t, m.get("rule_id")) for t, _, m in h.broadcaster.messages] == [
        ("lockout_cleared", "RULE-003"), ("daily_reset", None), ("lockout_cleared", "RULE-007")]
    reset = h.broadcaster.of("daily_reset")[0]
    assert (reset["previous_trading_date"], reset["trading_date"], reset["previous_realized_pnl"],
            reset["lockouts_cleared"]) == ("2025-11-21", "2025-11-24", -600, True)
    assert h.retention_runs == 1
    armed = timers(h)
    assert armed["lockout:3"] == NOW + timedelta(hours=1) and "lockout:4" not in armed
    assert armed["reset:7001"] == chicago(2025, 11, 24, 17)
    assert h.sql("SELECT date, realized_pnl FROM daily_pnl WHERE account_id = ? ORDER BY date", A1) == [
        ("2025-11-21", "-600"), ("2025-11-24", "0")]
    assert h.trackers.lockouts.is_locked(A1, NOW)


def test_startup_publishes_held_contracts_and_refreshes_their_metadata(make: HarnessFactory) -> None:
    h = make(start=False)
    h.store.pending.mark_position(_rest_position(MNQ, 1))
    h.store.flush().result()
    h.start()
    assert h.wanted == [frozenset({MNQ})]
    assert h.fetches == [MNQ]
    assert h.trackers.quotes.subscribed() == (MNQ,)


# --- position, order, fill, account events --------------------------------------------------------

def test_position_event_updates_state_broadcasts_enriched_and_enforces(h: Harness) -> None:
    h.position(MNQ, "long", 6)

    assert h.trackers.state.position(A1, MNQ) is not None
    assert h.fetches == [MNQ] and h.wanted[-1] == frozenset({MNQ})
    assert [p.size for p in h.enforcer.positions] == [6]
    (message,) = h.broadcaster.messages
    assert message[:2] == ("GatewayUserPosition", A1)
    assert message[2] | {"opened_at": None, "updated_at": None} == {
        "position_id": 500, "contract_id": MNQ, "type": "LONG", "size": 6, "average_price": 21000,
        "opened_at": None, "updated_at": None, "unrealized_pnl": None, "has_stop": False,
        "no_stop_deadline": "2025-11-24T15:00:30.000Z"}
    (plan,) = h.enforcer.plans
    assert summary(plan)["flatten"] == ("RULE-001", "CLOSE_ALL_POSITIONS")
    assert summary(plan)["superseded"] == [(("RULE-002", "REDUCE_TO_LIMIT", MNQ),
                                            ("RULE-001", "CLOSE_ALL_POSITIONS"))]
    assert timers(h)[f"grace:{A1}:{MNQ}"] == NOW + timedelta(seconds=30)
    h.store.flush().result()
    assert h.sql("SELECT id, size FROM positions") == [(500, 6)]


def test_spec_example_session_lockout_supersedes_max_contracts(make: HarnessFactory) -> None:
    """`rules.md` §3 example at 15:00:05 CT: one RULE-009 lockout (persisted before MOD-001 starts),
    one flatten, RULE-001 superseded; `lockout_set` follows the event that caused it."""
    tuesday = chicago(2025, 11, 25, 15, 0, 5)
    h = make(now=tuesday)
    seen_at_submit: list[bool] = []
    h.enforcer.on_submit = lambda plan: seen_at_submit.append(h.trackers.lockouts.is_locked(A1, tuesday))

    h.position(MNQ, "long", 6)

    ((plan, written),) = h.enforcer.submitted
    assert summary(plan)["lockouts"] == [("RULE-009", "CLOSE_ALL_AND_LOCKOUT")]
    assert summary(plan)["flatten"] == ("RULE-009", "CLOSE_ALL_AND_LOCKOUT")
    assert [s[0][0] for s in summary(plan)["superseded"]] == ["RULE-001", "RULE-002"]
    assert seen_at_submit == [True]
    assert written is not None
    written.result(timeout=5)
    wednesday_open = chicago(2025, 11, 26, 8, 30)
    assert lockout_rows(h) == [("RULE-009", "session", "2025-11-26T14:30:00.000Z", None)]
    assert h.broadcaster.types() == ["GatewayUserPosition", "lockout_set"]
    assert h.broadcaster.of("lockout_set")[0] | {"locked_at": None} == {
        "lockout_id": 1, "rule_id": "RULE-009", "kind": "session", "locked_at": None,
        "locked_until": "2025-11-26T14:30:00.000Z", "reason": plan.lockouts[0].reason}
    assert timers(h)["lockout:1"] == wednesday_open


def test_fill_writes_the_day_at_once_broadcasts_its_totals_and_records_both_lockouts(h: Harness) -> None:
    h.fill(MNQ, "sell", 1, "20900", pnl="-549", fees="1")

    assert h.sql("SELECT date, realized_pnl, fees, trade_count FROM daily_pnl") == [
        ("2025-11-24", "-550", "1", 1)]
    trade = h.broadcaster.of("GatewayUserTrade")[0]
    totals = ("daily_realized_pnl", "daily_fees", "trade_count", "trade_counts")
    assert [trade[key] for key in totals] == [-550, 1, 1, {"minute": 1, "hour": 1, "session": 1}]
    assert h.broadcaster.types() == ["GatewayUserTrade", "lockout_set", "lockout_set"]
    (plan,) = h.enforcer.plans
    assert summary(plan)["lockouts"] == [("RULE-003", "CLOSE_ALL_AND_LOCKOUT"), ("RULE-007", "COOLDOWN")]
    assert summary(plan)["flatten"] == ("RULE-003", "CLOSE_ALL_AND_LOCKOUT")
    assert lockout_rows(h) == [("RULE-003", "reset", "2025-11-24T23:00:00.000Z", None),
                               ("RULE-007", "duration", "2025-11-24T15:30:00.000Z", None)]
    armed = timers(h)
    assert armed["lockout:2"] == NOW + timedelta(seconds=1800) and "lockout:1" not in armed  # reset kind
    h.store.flush().result()
    assert h.sql("SELECT count(*) FROM trade_history") == [(1,)]


def test_a_redelivered_fill_changes_nothing(h: Harness) -> None:
    trade = h.fill(MNQ, "sell", 1, pnl="-50", trade_id=77)
    h.broadcaster.clear()
    h.fill(MNQ, "sell", 1, pnl="-50", trade_id=77, order_id=trade.order_id)
    assert h.broadcaster.messages == [] and h.enforcer.submitted == []
    assert h.trackers.pnl.daily_realized(A1) == Decimal("-50")


def test_order_events_carry_the_stop_flag_also_when_terminal(h: Harness) -> None:
    h.position(MNQ, "long", 1)
    stop = h.order(MNQ, "sell", 1, order_type=OrderType.STOP, stop_price="20950")
    h.order(MNQ, "sell", 1, order_type=OrderType.STOP, stop_price="20950", status=OrderStatus.CANCELLED,
            order_id=stop.id)
    orders = h.broadcaster.of("GatewayUserOrder")
    assert [(o["status"], o["is_stop_loss"]) for o in orders] == [("OPEN", True), ("CANCELLED", True)]
    assert [(o.id, o.status, o.is_stop_loss) for o in h.enforcer.orders] == [
        (stop.id, OrderStatus.OPEN, True), (stop.id, OrderStatus.CANCELLED, True)]
    h.store.flush().result()
    assert h.sql("SELECT count(*) FROM orders") == [(0,)]


def test_an_order_event_older_than_the_mirror_is_ignored(h: Harness) -> None:
    order = h.order(MNQ, "buy", 1, limit_price="20900")
    h.broadcaster.clear()
    h.clock.set(NOW - timedelta(seconds=5))
    h.order(MNQ, "buy", 1, limit_price="20800", order_id=order.id)
    assert h.broadcaster.messages == [] and len(h.enforcer.orders) == 1


def test_can_trade_false_locks_and_true_unlocks_only_rule_010(h: Harness) -> None:
    """RULE-010 examples 1 and 2: the UNLOCK is applied to MOD-002 before MOD-001 sees the plan."""
    h.account(True)
    h.account(False)
    (lock_plan,) = h.enforcer.plans
    assert summary(lock_plan)["lockouts"] == [("RULE-010", "CLOSE_ALL_AND_LOCKOUT")]
    assert "lockout:1" not in timers(h)  # condition records have no timer
    h.fill(MNQ, "sell", 1, pnl="-600")  # RULE-003 locks too (RULE-003 runs while locked, D-04)
    h.broadcaster.clear()
    h.enforcer.clear()
    locked_at_submit: list[bool] = []
    h.enforcer.on_submit = lambda plan: locked_at_submit.append(
        any(r.rule_id == "RULE-010" for r in h.trackers.lockouts.active(A1, NOW)))

    h.account(True)

    (plan,) = h.enforcer.plans
    assert summary(plan)["unlocks"] == [("RULE-010", "UNLOCK")] and locked_at_submit == [False]
    assert h.broadcaster.messages == [("lockout_cleared", A1, {
        "lockout_id": 1, "rule_id": "RULE-010", "cleared_at": "2025-11-24T15:00:00.000Z",
        "cleared_by": "CAN_TRADE_RESTORED", "still_locked": True})]
    assert [(r[0], r[3]) for r in lockout_rows(h)] == [
        ("RULE-010", "CAN_TRADE_RESTORED"), ("RULE-003", None), ("RULE-007", None)]


def test_an_account_event_without_can_trade_warns_and_never_locks(h: Harness,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        h.account(None)
    assert "sent no canTrade" in caplog.text
    assert h.enforcer.submitted == [] and h.broadcaster.messages == []


def test_rule_012_places_the_initial_stop_through_the_pipeline(make: HarnessFactory) -> None:
    h = make(overrides={A1: {"trade_management": {"enabled": True}}})
    h.metadata(MNQ)
    h.position(MNQ, "long", 2, "21000.00")
    (plan,) = h.enforcer.plans
    (stop,) = plan.contract_actions
    assert (stop.action, stop.rule_id, stop.size, stop.stop_price, stop.details["op"]) == (
        A.AUTO_STOP_LOSS, "RULE-012", 2, Decimal("20997.50"), "place")
    assert "RULE-012" in h.dispatcher.rule_memory(A1)


def test_metadata_arriving_after_the_position_places_the_stop_at_once(make: HarnessFactory) -> None:
    """RULE-012 skips a contract without tick data; the fetch's answer, not the next quote, unblocks it."""
    h = make(overrides={A1: {"trade_management": {"enabled": True}}})
    h.position(MNQ, "long", 2, "21000.00")
    assert h.fetches == [MNQ]
    assert all(not plan.contract_actions for plan in h.enforcer.plans)

    h.metadata(MNQ)
    stops = [a for plan in h.enforcer.plans for a in plan.contract_actions]
    assert [(a.rule_id, a.details["op"], a.stop_price) for a in stops] == [
        ("RULE-012", "place", Decimal("20997.50"))]


# --- the gate ---------------------------------------------------------------------------------------

def test_activity_during_a_lockout_is_flattened_each_time_until_it_clears(h: Harness) -> None:
    h.fill(MNQ, "sell", 1, pnl="-100")  # RULE-007 tier 100: cooldown 300 s
    h.enforcer.clear()

    h.order(MNQ, "buy", 1, limit_price="20900")
    h.position(MNQ, "long", 6)  # would breach RULE-001/-002, but only the gate runs while locked
    h.order(MNQ, "sell", 1, order_type=OrderType.STOP, stop_price="20000", custom_tag="RM-run-1")  # own

    assert [summary(p) for p in h.enforcer.plans] == [
        {**summary(EnforcementPlan(A1)), "flatten": ("RULE-007", "CLOSE_ALL_POSITIONS")}] * 2
    assert all(p.flatten is not None and p.flatten.reason == REASON for p in h.enforcer.plans)

    h.enforcer.clear()
    h.advance(300)
    h.tick()
    assert h.broadcaster.of("lockout_cleared")[-1]["cleared_by"] == "TIMER_EXPIRY"
    h.order(MNQ, "buy", 1, limit_price="20900")
    h.position(MNQ, "long", 1)
    assert h.enforcer.submitted == []


def test_lockout_producing_rules_still_run_while_locked(h: Harness) -> None:
    """D-04: a longer lockout is recorded during a cooldown."""
    h.fill(MNQ, "sell", 1, pnl="-100")
    h.enforcer.clear()
    h.fill(MNQ, "sell", 1, pnl="-450")
    (plan,) = h.enforcer.plans
    assert [x[0] for x in summary(plan)["lockouts"]] == ["RULE-003", "RULE-007"]
    assert [r[0] for r in lockout_rows(h)] == ["RULE-007", "RULE-003"]


# --- quotes ----------------------------------------------------------------------------------------

def test_a_quote_is_broadcast_once_and_evaluated_for_each_holding_account(h: Harness) -> None:
    h.metadata(MNQ, ES)
    h.position(MNQ, "long", 2, "21000", account_id=A1)
    h.position(ES, "long", 1, "5800", account_id=A2)
    h.broadcaster.clear()
    h.enforcer.clear()

    h.quote(MNQ, last="20925.00")

    assert h.broadcaster.messages[0][:2] == ("MarketQuote", None)
    assert h.broadcaster.messages[0][2]["last"] == 20925
    assert len(h.broadcaster.messages) == 1
    (plan,) = h.enforcer.plans
    assert plan.account_id == A1
    assert summary(plan)["contract_actions"] == [("RULE-004", "CLOSE_POSITION", MNQ)]


def test_a_quote_of_a_contract_nobody_holds_is_dropped(h: Harness) -> None:
    h.quote(RTY, last="2400")
    assert h.broadcaster.messages == [] and h.enforcer.submitted == []


def test_missing_metadata_is_fetched_with_backoff_while_quotes_arrive(h: Harness) -> None:
    h.position(MNQ, "long", 1)
    assert h.fetches == [MNQ]
    h.quote(MNQ, last="21000")
    assert h.fetches == [MNQ]  # still in flight
    h.handle(ContractFetchFailed(MNQ, "HTTP 503"))
    h.quote(MNQ, last="21000")
    assert h.fetches == [MNQ]  # retry waits 1 s
    h.advance(1)
    h.quote(MNQ, last="21000")
    assert h.fetches == [MNQ, MNQ]
    h.metadata(MNQ)
    h.store.flush().result()
    assert h.sql("SELECT contract_id FROM contract_cache") == [(MNQ,)]


# --- timers ----------------------------------------------------------------------------------------

def test_grace_timer_closes_a_position_without_a_stop(h: Harness) -> None:
    h.position(MNQ, "long", 1)
    h.enforcer.clear()
    h.advance(29)
    h.tick()
    assert h.enforcer.submitted == []
    h.advance(1)
    h.tick()
    (plan,) = h.enforcer.plans
    assert summary(plan)["contract_actions"] == [("RULE-008", "CLOSE_POSITION", MNQ)]


def test_grace_timer_of_a_protected_position_does_nothing(h: Harness) -> None:
    h.position(MNQ, "long", 1)
    h.order(MNQ, "sell", 1, order_type=OrderType.STOP, stop_price="20950")
    h.enforcer.clear()
    h.advance(30)
    h.tick()
    assert h.enforcer.submitted == []
    assert f"grace:{A1}:{MNQ}" not in timers(h)


def test_closing_the_position_cancels_its_grace_timer(h: Harness) -> None:
    h.position(MNQ, "long", 1)
    assert f"grace:{A1}:{MNQ}" in timers(h)
    h.close(MNQ)
    assert f"grace:{A1}:{MNQ}" not in timers(h)
    assert h.wanted[-1] == frozenset()


def test_session_end_locks_until_the_next_session_and_rearms(h: Harness) -> None:
    """RULE-009 example 2 through the timer: lockout until the next session start, timer for tomorrow."""
    h.clock.set(chicago(2025, 11, 24, 15))
    h.tick()
    plans = {p.account_id: summary(p) for p in h.enforcer.plans}
    assert plans[A1]["lockouts"] == plans[A2]["lockouts"] == [("RULE-009", "CLOSE_ALL_AND_LOCKOUT")]
    armed = timers(h)
    assert armed["session_end:7001"] == chicago(2025, 11, 25, 15)
    assert armed["lockout:1"] == chicago(2025, 11, 25, 8, 30)
    h.clock.set(chicago(2025, 11, 25, 8, 30))
    h.tick()
    assert [m["rule_id"] for m in h.broadcaster.of("lockout_cleared")] == ["RULE-009", "RULE-009"]
    assert not h.trackers.lockouts.is_locked(A1, h.clock.now())


# --- the daily reset --------------------------------------------------------------------------------

def test_daily_reset_procedure(make: HarnessFactory) -> None:
    """MOD-004: new day at 0, session count 0, `reset` records cleared, longer records kept, immediate
    writes, retention, then one `lockout_cleared` per record and `daily_reset`."""
    one_day = [{"loss_amount": 100, "cooldown_duration": 86400}]
    overrides = {"session_block_outside": {"enabled": False},
                 "cooldown_after_loss": {"loss_thresholds": one_day}}
    h = make(overrides={A1: overrides, A2: overrides})
    h.fill(MNQ, "sell", 1, pnl="-550")
    h.broadcaster.clear()

    h.clock.set(chicago(2025, 11, 24, 17))
    h.tick()

    assert [m[0] for m in h.broadcaster.messages] == ["lockout_cleared", "daily_reset", "daily_reset"]
    cleared, reset = h.broadcaster.messages[0][2], h.broadcaster.messages[1]
    assert (cleared["rule_id"], cleared["cleared_by"]) == ("RULE-003", "DAILY_RESET")
    assert cleared["still_locked"] is True  # the day-long RULE-007 cooldown survives the reset
    assert reset == ("daily_reset", A1, {
        "reset_at": "2025-11-24T23:00:00.000Z", "previous_trading_date": "2025-11-24",
        "trading_date": "2025-11-25", "previous_realized_pnl": -550, "previous_trade_count": 1,
        "lockouts_cleared": True, "next_reset_at": "2025-11-25T23:00:00.000Z"})
    assert h.broadcaster.messages[2][2]["lockouts_cleared"] is False  # A2 had none
    assert lockout_rows(h) == [("RULE-003", "reset", "2025-11-24T23:00:00.000Z", "DAILY_RESET"),
                               ("RULE-007", "duration", "2025-11-25T15:00:00.000Z", None)]
    assert h.sql("SELECT date, realized_pnl, trade_count FROM daily_pnl WHERE account_id = ? ORDER BY date",
                 A1) == [("2025-11-24", "-550", 1), ("2025-11-25", "0", 0)]
    assert h.sql("SELECT session_start FROM session_state WHERE account_id = ?", A1) == [
        ("2025-11-24T23:00:00.000Z",)]
    assert h.sql("SELECT trading_date FROM reset_schedule WHERE account_id = ?", A1) == [("2025-11-25",)]
    assert h.retention_runs == 1
    assert timers(h)["reset:7001"] == chicago(2025, 11, 25, 17)
    assert h.trackers.pnl.daily_realized(A1) == 0

    h.handle(ResetDue())  # the 10-s poll after the timer: nothing is due any more
    assert h.retention_runs == 1 and len(h.broadcaster.of("daily_reset")) == 2


def test_the_reset_poll_runs_a_reset_the_timer_missed(h: Harness) -> None:
    h.dispatcher.timers.cancel("reset:7001")
    h.clock.set(chicago(2025, 11, 24, 17, 0, 10))
    h.handle(ResetDue())
    assert [m[1] for m in h.broadcaster.messages if m[0] == "daily_reset"] == [A1, A2]


# --- reconcile ---------------------------------------------------------------------------------------

def _rest_position(contract: str, size: int, position_id: int = 900) -> Position:
    return Position(id=position_id, account_id=A1, contract_id=contract, type=PositionType.LONG, size=size,
                    average_price=Decimal("21000"), created_at=NOW, updated_at=NOW)


def _rest_trade(trade_id: int, pnl: str | None, at: datetime = NOW) -> Trade:
    return Trade(id=trade_id, account_id=A1, contract_id=MNQ, side=OrderSide.SELL, size=1,
                 price=Decimal("21000"), execution_time=at, received_at=NOW,
                 profit_and_loss=None if pnl is None else Decimal(pnl), order_id=trade_id + 1000)


def _reconciled(*, can_trade: bool = True, positions: tuple[Position, ...] = (),
                trades: tuple[Trade, ...] = ()) -> Reconciled:
    account = Account(id=A1, name="ACC", balance=Decimal("50000"), can_trade=can_trade)
    return Reconciled(ReconcileResult(account_id=A1, account=account, positions=positions, orders=(),
                                      trades=trades, day_start=chicago(2025, 11, 23, 17), fetched_at=NOW))


def test_reconcile_applies_the_differences_as_events_then_sweeps(h: Harness) -> None:
    h.handle(_reconciled(positions=(_rest_position(MNQ, 2),),
                         trades=(_rest_trade(1, None), _rest_trade(2, "-600"))))

    position = h.broadcaster.of("GatewayUserPosition")[0]
    assert (position["size"], position["source"]) == (2, "reconcile")
    assert h.sql("SELECT realized_pnl, trade_count FROM daily_pnl WHERE account_id = ?", A1) == [("-600", 2)]
    assert timers(h)[f"grace:{A1}:{MNQ}"] == NOW + timedelta(seconds=30)
    sweep_plan = h.enforcer.plans[-1]
    assert summary(sweep_plan)["lockouts"] == [("RULE-003", "CLOSE_ALL_AND_LOCKOUT")]
    h.store.flush().result()
    assert h.sql("SELECT count(*) FROM trade_history") == [(2,)]


def test_an_account_still_locked_after_restart_is_flattened_by_the_sweep(h: Harness) -> None:
    """D-49: locked ⇒ flat after every reconcile."""
    h.trackers.lockouts.lock(A1, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=NOW)
    h.trackers.state.load([_rest_position(MNQ, 1)], [], NOW)  # the stored mirror, unchanged at REST

    h.handle(_reconciled(can_trade=False, positions=(_rest_position(MNQ, 1),)))

    (plan,) = h.enforcer.plans  # RULE-010 already holds its record: only the gate acts
    assert plan.flatten is not None
    assert (plan.flatten.rule_id, plan.flatten.action, plan.flatten.reason) == (
        "RULE-010", A.CLOSE_ALL_POSITIONS, REASON)
    assert plan.flatten.details["trigger"] == "reconcile"


# --- hub connections ---------------------------------------------------------------------------------

def test_a_lost_user_hub_alerts_the_accounts_of_its_login(make: HarnessFactory) -> None:
    h = make(logins={A2: "second-login"})
    lost = HubConnectionChanged(hub="user", login="trader@example.com", connected=False, at=NOW)
    h.handle(HubConnectionChanged(hub="user", login="trader@example.com", connected=True, at=NOW))
    h.handle(HubConnectionChanged(hub="market", login="trader@example.com", connected=False, at=NOW))
    assert h.enforcer.submitted == []
    h.handle(lost)
    h.handle(HubConnectionChanged(hub="user", login="trader@example.com", connected=True, at=NOW,
                                  reconnect=True))
    assert [(p.account_id, summary(p)["alerts"]) for p in h.enforcer.plans] == [
        (A1, [("RULE-010", "ALERT")]), (A1, [("RULE-010", "ALERT")])]
    assert [p.alerts[0].details["connected"] for p in h.enforcer.plans] == [False, True]


# --- robustness ---------------------------------------------------------------------------------------

def test_a_bad_item_is_logged_and_skipped_without_raising(h: Harness,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    foreign = Position(id=1, account_id=A2, contract_id=MNQ, type=PositionType.LONG, size=1,
                       average_price=Decimal("1"), created_at=NOW, updated_at=NOW)
    with caplog.at_level(logging.ERROR):
        h.handle(Reconciled(ReconcileResult(A1, None, (foreign,), (), (), NOW, NOW)))  # A2's row for A1
        h.handle(object())  # type: ignore[arg-type]
    assert h.dispatcher.dropped == 2
    assert "dropped Reconciled" in caplog.text and "unknown type object" in caplog.text
    h.position(MNQ, "long", 6)
    assert len(h.enforcer.plans) == 1  # the next item is handled normally


def test_port_failures_never_escape(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    h.enforcer.fail = True
    with caplog.at_level(logging.CRITICAL):
        h.position(MNQ, "long", 6)
    assert "enforcement could not be started" in caplog.text
    assert h.dispatcher.dropped == 0 and h.trackers.state.position(A1, MNQ) is not None


def test_events_of_accounts_not_monitored_are_ignored(h: Harness, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        h.position(MNQ, "long", 1, account_id=9999)
        h.position(MNQ, "long", 2, account_id=9999)
    assert caplog.text.count("events of account 9999 ignored") == 1
    assert h.broadcaster.messages == [] and h.trackers.state.position(9999, MNQ) is None


def test_logged_out_and_timer_tick_items_are_handled(h: Harness) -> None:
    h.handle(SessionLoggedOut(hub="user", login="trader@example.com", at=NOW))
    h.handle(TimerTick(at=NOW))
    h.handle(PositionUpdated(_rest_position(MNQ, 1)))
    assert h.dispatcher.dropped == 0


# --- enforcement before follow-up work ---------------------------------------------------------------

def test_begin_submits_the_enforcement_before_any_broadcast_or_writer_row(h: Harness) -> None:
    """Architecture principle 5: `begin` decides and submits; the order's broadcast, its row for the
    batched writer and the quote subscription follow in `finish`, in the order they were made."""
    h.broadcaster.clear()
    h.enforcer.clear()
    h.store.pending.take()
    wanted_before = len(h.wanted)
    now = h.clock.now()
    order = Order(id=901, account_id=A1, contract_id=RTY, type=OrderType.LIMIT, side=OrderSide.BUY, size=1,
                  status=OrderStatus.OPEN, created_at=now, updated_at=now, limit_price=Decimal("2000"))
    h.dispatcher.begin(OrderUpdated(order))
    assert h.enforcer.plans[0].rejects[0].order_id == 901  # RULE-011 blocks RTY in the shipped config
    assert h.broadcaster.messages == []
    assert len(h.wanted) == wanted_before
    assert len(h.store.pending) == 0
    h.dispatcher.finish()
    assert len(h.store.pending) == 1
    assert h.broadcaster.types() == ["GatewayUserOrder"]
    assert h.broadcaster.of("GatewayUserOrder")[0]["order_id"] == 901
    assert RTY in h.wanted[-1]


def test_a_new_item_finishes_the_follow_up_of_the_one_before(h: Harness) -> None:
    """Two `begin`s in a row (the reconciler releasing held events): the first item's messages go out
    before the second item changes anything, so each carries the state its own event left."""
    h.broadcaster.clear()
    h.dispatcher.begin(PositionUpdated(_rest_position(MNQ, 2)))
    h.dispatcher.begin(PositionUpdated(_rest_position(MNQ, 0)))
    assert [m[2]["size"] for m in h.broadcaster.messages] == [2]
    h.dispatcher.finish()
    assert [m[2]["size"] for m in h.broadcaster.messages] == [2, 0]


def test_a_failing_follow_up_step_is_logged_and_the_rest_still_runs(h: Harness,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    h.broadcaster.clear()
    calls = 0

    def failing(message_type: str, account_id: int | None, data: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("broadcast down")
        h.broadcaster.messages.append((message_type, account_id, dict(data)))

    h.broadcaster.publish = failing  # type: ignore[method-assign]
    h.dispatcher.begin(PositionUpdated(_rest_position(MNQ, 1)))
    h.dispatcher.begin(PositionUpdated(_rest_position(MNQ, 2)))
    h.dispatcher.finish()
    assert "broadcast of GatewayUserPosition failed" in caplog.text
    assert [m[2]["size"] for m in h.broadcaster.messages] == [2]
    assert h.trackers.state.position(A1, MNQ) is not None
