"""The dashboard model fed by broadcast frames, disconnections and saved state (broadcast-api.md §4–§8,
cli.md §1.2, §1.5–§1.7). The spec's example frames drive it; time is passed in."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from simple_risk_manager.broadcast.client import Disconnected
from simple_risk_manager.trader.account_view import AccountStatus, AccountView, DataSource
from simple_risk_manager.trader.alerts import AlertKind
from simple_risk_manager.trader.model import ConnectionMode, Dashboard, IndicatorKind, SavedState

from .frames import (
    A1,
    A2,
    MES,
    MNQ,
    NOW,
    SPEC_DAEMON_STATUS,
    SPEC_DAILY_RESET,
    SPEC_ENFORCEMENT,
    SPEC_ERROR,
    SPEC_HELLO,
    SPEC_LOCKOUT_CLEARED,
    SPEC_LOCKOUT_SET,
    SPEC_ORDER_CANCELLED,
    SPEC_POSITION_CLOSED,
    SPEC_QUOTE,
    SPEC_TRADE,
    connected,
    event,
    frame,
    lockout_data,
    snapshot_account,
    status_data,
    with_changes,
)

LATER = NOW + timedelta(minutes=1)
LOST = Disconnected("connection lost (1006)", 1.0)
REFUSED = Disconnected("cannot connect to ws://127.0.0.1:8765/ (refused)", 2.0)


def saved_state(*account_ids: int) -> SavedState:
    accounts = {a: AccountView(account_id=a, source=DataSource.SAVED, realized_pnl=Decimal("-50"))
                for a in account_ids}
    return SavedState(accounts=accounts, written_at=NOW - timedelta(minutes=3))


# --- the spec's hello and snapshot -----------------------------------------------------------

def test_spec_snapshot_builds_the_account() -> None:
    model = connected()
    assert model.mode is ConnectionMode.LIVE and model.selected == A1
    view = model.view
    assert view is not None
    assert (view.nickname, view.trading_date, view.balance) == (
        "Eval 50K", date(2025, 3, 4), Decimal("50210.5"))
    assert (view.realized_pnl, view.fees, view.trade_count) == (Decimal("-193.32"), Decimal("13.32"), 6)
    assert list(view.positions) == [MES] and view.positions[MES].position.size == 3
    assert list(view.orders) == [771203]
    assert view.contract_name(MES) == "MESH5"
    assert view.rules["RULE-003"].limit == Decimal("500.0")
    assert [t.id for t in view.trades] == [310031]
    assert model.quotes[MES].last == Decimal("5923.75")
    assert model.indicator(NOW).kind is IndicatorKind.LIVE


def test_events_not_after_the_snapshot_seq_are_ignored() -> None:
    model = connected()
    model.on_message(with_changes(frame(SPEC_POSITION_CLOSED), seq=5120), LATER)
    assert model.view is not None and MES in model.view.positions
    model.on_message(with_changes(frame(SPEC_POSITION_CLOSED), seq=5121), LATER)
    assert MES not in model.view.positions


def test_events_before_any_snapshot_are_ignored() -> None:
    model = Dashboard(requested=A1)
    model.on_message(frame(SPEC_HELLO), NOW)
    model.on_message(frame(SPEC_TRADE), NOW)
    assert model.view is None


def test_a_new_run_id_discards_everything() -> None:
    model = connected()
    model.on_message(with_changes(frame(SPEC_HELLO), run_id="0badc0de"), LATER)
    assert model.accounts == {} and model.quotes == {}


def test_the_same_run_id_keeps_the_data_until_the_new_snapshot() -> None:
    model = connected()
    model.on_message(frame(SPEC_HELLO), LATER)
    assert A1 in model.accounts


# --- account choice ------------------------------------------------------------------------------

def test_without_account_the_only_one_is_chosen() -> None:
    model = Dashboard()
    only = [{"account_id": A1, "nickname": "Eval 50K"}]
    model.on_message(with_changes(frame(SPEC_HELLO), accounts=only), NOW)
    assert model.selected == A1 and not model.needs_selection


def test_several_accounts_ask_for_a_choice() -> None:
    model = Dashboard()
    model.on_message(frame(SPEC_HELLO), NOW)
    assert model.selected is None and model.needs_selection
    model.select(A2)
    assert not model.needs_selection


def test_an_unknown_requested_account_is_reported_on_the_selection_screen() -> None:
    model = Dashboard(requested=9999)
    model.on_message(frame(SPEC_HELLO), NOW)
    assert model.selected is None and model.needs_selection
    assert model.notice is not None and "9999" in model.notice


def test_spec_unknown_account_error_returns_to_the_selection() -> None:
    model = Dashboard(requested=9999)
    model.select(9999)
    model.on_message(frame(SPEC_ERROR), NOW)
    assert model.selected is None
    assert model.notice == "Account 9999: account 9999 is not configured"


# --- events ----------------------------------------------------------------------------------

def test_spec_trade_updates_the_days_totals_and_notes_the_fill() -> None:
    model = connected()
    model.on_message(frame(SPEC_TRADE), LATER)
    view = model.view
    assert view is not None
    assert (view.realized_pnl, view.fees, view.trade_count) == (Decimal("-154.29"), Decimal("15.54"), 7)
    assert view.trade_counts == {"minute": 1, "hour": 4, "session": 7}
    assert [t.id for t in view.trades] == [310045, 310031]
    assert model.footer_note is not None and model.footer_note.text == "MESH5 SELL 3 @ 5924.00  P&L +41.25"
    model.tick(LATER + timedelta(seconds=5))
    assert model.footer_note is None


def test_a_redelivered_trade_is_listed_once() -> None:
    model = connected()
    model.on_message(frame(SPEC_TRADE), LATER)
    model.on_message(with_changes(frame(SPEC_TRADE), seq=5136), LATER)
    assert model.view is not None and [t.id for t in model.view.trades] == [310045, 310031]


def test_spec_position_close_and_order_cancel_remove_them() -> None:
    model = connected()
    model.on_message(frame(SPEC_POSITION_CLOSED), LATER)
    model.on_message(frame(SPEC_ORDER_CANCELLED), LATER)
    assert model.view is not None and model.view.positions == {} and model.view.orders == {}


def test_a_position_in_an_unknown_contract_asks_for_a_snapshot() -> None:
    model = connected()
    data = {**frame(SPEC_POSITION_CLOSED).data, "contract_id": MNQ, "size": 1, "position_id": 1}
    model.on_message(event("GatewayUserPosition", data, 5200), LATER)
    assert model.take_snapshot_wish() and not model.take_snapshot_wish()


def test_spec_quote_is_kept_and_an_older_one_does_not_replace_it() -> None:
    model = connected()
    model.on_message(frame(SPEC_QUOTE), LATER)
    older = with_changes(frame(SPEC_QUOTE), seq=5141, last=1.0, received_at="2025-03-04T15:03:01.000Z")
    model.on_message(older, LATER)
    assert model.quotes[MNQ].last == Decimal("21004.5")


def test_spec_lockout_set_locks_the_account_and_is_kept_in_history() -> None:
    model = connected()
    model.on_message(frame(SPEC_LOCKOUT_SET), LATER)
    view = model.view
    assert view is not None
    assert view.status(LATER) is AccountStatus.LOCKED
    assert view.history[0].action == "LOCKOUT (reset)" and view.history[0].rule_id == "RULE-003"


def test_a_duration_lockout_is_a_cooldown() -> None:
    model = connected()
    model.on_message(event("lockout_set", lockout_data(5, "RULE-007", "duration", "2025-03-04T15:10:00.000Z"),
                           5200), NOW)
    assert model.view is not None and model.view.status(NOW) is AccountStatus.COOLDOWN


def test_the_effective_lockout_is_a_condition_else_the_one_ending_last() -> None:
    view = connected().view
    assert view is not None
    view.apply_lockout_set(lockout_data(1, "RULE-007", "duration", "2025-03-04T15:10:00.000Z"))
    view.apply_lockout_set(lockout_data(2, "RULE-003", "reset", "2025-03-04T23:00:00.000Z"))
    assert [r.lockout_id for r in view.active_lockouts(NOW)] == [2, 1]
    view.apply_lockout_set(lockout_data(3, "RULE-010", "condition", None))
    assert [r.lockout_id for r in view.active_lockouts(NOW)] == [3, 2, 1]


def test_an_expired_record_no_longer_locks_locally() -> None:
    view = connected().view
    assert view is not None
    view.apply_lockout_set(lockout_data(1, "RULE-007", "duration", "2025-03-04T15:10:00.000Z"))
    assert view.status(NOW.replace(minute=10, second=0, microsecond=0)) is AccountStatus.OK


def test_spec_lockout_cleared_allows_trading_again() -> None:
    model = connected(snapshot_account(account_id=A2, nickname=None,
                                       lockouts=[lockout_data(78, "RULE-007", "duration",
                                                              "2025-03-04T16:45:12.000Z")]), requested=A2)
    assert model.view is not None and model.view.status(NOW) is AccountStatus.COOLDOWN
    alerts = model.on_message(frame(SPEC_LOCKOUT_CLEARED), LATER)
    assert model.view.status(NOW) is AccountStatus.OK
    assert [(a.kind, a.text) for a in alerts] == [
        (AlertKind.UNLOCKED, "Trading allowed again: RULE-007 lockout cleared (TIMER_EXPIRY)")]
    assert alerts[0].lifetime_s == 5.0


def test_a_clear_with_another_lock_left_says_so() -> None:
    model = connected()
    model.on_message(frame(SPEC_LOCKOUT_SET), NOW)
    data = {"lockout_id": 99, "rule_id": "RULE-007", "cleared_by": "TIMER_EXPIRY", "still_locked": True}
    alerts = model.on_message(event("lockout_cleared", data, 5300), NOW)
    assert "still locked" in alerts[0].text
    assert model.view is not None and model.view.status(NOW) is AccountStatus.LOCKED


def test_spec_enforcement_action_flashes_red_with_the_bell() -> None:
    model = connected()
    alerts = model.on_message(frame(SPEC_ENFORCEMENT), LATER)
    assert len(alerts) == 1
    alert = alerts[0]
    assert (alert.kind, alert.bell, alert.lifetime_s) == (AlertKind.ENFORCEMENT, True, 10.0)
    assert alert.text == ("CLOSE_ALL_AND_LOCKOUT — RULE-003 — daily realized loss 512.50 reached limit "
                          "500.00 — 1 position(s) closed, 2 order(s) cancelled")
    assert model.alerts.current() == alert
    assert model.view is not None and model.view.history[0].from_log


def test_a_failed_enforcement_stays_until_dismissed() -> None:
    model = connected()
    failed = with_changes(frame(SPEC_ENFORCEMENT), outcome="FAILED", success=False,
                          details={"positions_closed": 0, "orders_cancelled": 0, "error": "timeout"})
    alert = model.on_message(failed, LATER)[0]
    assert (alert.kind, alert.lifetime_s, alert.bell) == (AlertKind.FAILED, None, False)
    assert alert.text.startswith("ENFORCEMENT FAILED — contact your administrator")
    assert alert.text.endswith("timeout")
    model.tick(LATER + timedelta(hours=1))
    assert model.alerts.current() == alert
    model.dismiss_alert(LATER + timedelta(hours=1))
    assert model.alerts.current() is None


def test_a_dry_run_is_tagged() -> None:
    model = connected()
    alert = model.on_message(with_changes(frame(SPEC_ENFORCEMENT), outcome="DRY_RUN"), LATER)[0]
    assert alert.text.startswith("DRY RUN CLOSE_ALL_AND_LOCKOUT")


def test_alert_and_unlock_actions_are_notices() -> None:
    model = connected()
    notice = model.on_message(with_changes(frame(SPEC_ENFORCEMENT), action="ALERT", rule_id="RULE-010",
                                           reason="user hub lost"), LATER)[0]
    assert (notice.kind, notice.text, notice.bell) == (
        AlertKind.NOTICE, "NOTICE RULE-010: user hub lost", False)
    unlock = model.on_message(with_changes(frame(SPEC_ENFORCEMENT), seq=5203, action="UNLOCK"), LATER)[0]
    assert unlock.kind is AlertKind.UNLOCKED and unlock.text.startswith("Lock lifted — RULE-003")


def test_spec_daily_reset_starts_a_new_day() -> None:
    model = connected()
    alerts = model.on_message(frame(SPEC_DAILY_RESET), LATER)
    view = model.view
    assert view is not None
    assert (view.trading_date, view.realized_pnl, view.trade_count, view.trades) == (
        date(2025, 3, 5), 0, 0, [])
    assert [(a.kind, a.text) for a in alerts] == [
        (AlertKind.RESET, "New trading day 2025-03-05: 2025-03-04 closed at net -512.50 with 11 trade(s)")]
    assert model.take_snapshot_wish()


def test_events_of_another_account_raise_no_alert() -> None:
    model = connected(snapshot_account(), snapshot_account(account_id=A2, nickname=None))
    assert model.on_message(with_changes(frame(SPEC_ENFORCEMENT)), LATER)
    other = frame(SPEC_ENFORCEMENT)
    other = type(other)(type=other.type, seq=5300, ts=other.ts, account_id=A2, data=other.data)
    assert model.on_message(other, LATER) == []


def test_a_malformed_event_is_dropped_and_noted() -> None:
    model = connected()
    assert model.on_message(with_changes(frame(SPEC_TRADE), price="cheap"), LATER) == []
    assert model.problems and "price" in model.problems[-1]
    assert model.view is not None and model.view.trade_count == 6


# --- connection status -----------------------------------------------------------------------

def test_spec_degraded_status_shows_its_reasons() -> None:
    model = connected()
    model.on_message(frame(SPEC_DAEMON_STATUS), NOW)
    indicator = model.indicator(NOW)
    assert indicator.kind is IndicatorKind.DEGRADED
    assert "market hub RECONNECTING" in indicator.reason
    assert "market hub reconnecting (attempt 3)" in indicator.reason


def test_a_stale_snapshot_is_degraded() -> None:
    model = connected(snapshot_account(stale=True))
    assert model.indicator(NOW).kind is IndicatorKind.DEGRADED


def test_silence_is_degraded_after_25_seconds() -> None:
    model = connected()
    assert model.indicator(NOW + timedelta(seconds=25)).kind is IndicatorKind.LIVE
    assert model.indicator(NOW + timedelta(seconds=26)).kind is IndicatorKind.DEGRADED


def test_stopping_shows_and_alerts_until_the_state_changes() -> None:
    model = connected()
    stopping = event("daemon_status", status_data("STOPPING", "shutting down"), 5200, None)
    alerts = model.on_message(stopping, NOW)
    assert model.indicator(NOW).kind is IndicatorKind.STOPPING
    assert alerts[0].kind is AlertKind.STATE and alerts[0].lifetime_s is None
    model.on_message(event("daemon_status", status_data(), 5201, None), NOW)
    assert model.alerts.current() is None


def test_a_lost_connection_reconnects_with_the_data_greyed_then_goes_offline() -> None:
    model = connected()
    model.on_disconnected(LOST, LATER)
    assert model.mode is ConnectionMode.RECONNECTING and model.greyed
    assert model.indicator(LATER).kind is IndicatorKind.RECONNECTING and model.attempts == 1
    lost = model.alerts.current()
    assert lost is not None and lost.text.startswith("Connection to the daemon lost")
    assert not model.wants_saved_state
    model.on_disconnected(REFUSED, LATER)
    assert model.mode is ConnectionMode.OFFLINE and model.wants_saved_state and model.attempts == 2
    assert model.alerts.current() is None  # the offline line says it from now on
    model.on_saved_state(saved_state(A1), LATER)
    assert model.view is not None and model.view.source is DataSource.SAVED and not model.greyed
    assert model.indicator(LATER).kind is IndicatorKind.OFFLINE


def test_a_reconnect_in_time_comes_back_live() -> None:
    model = connected()
    model.on_disconnected(LOST, LATER)
    model.on_message(frame(SPEC_HELLO), LATER)
    assert model.mode is ConnectionMode.LIVE and model.attempts == 0 and model.alerts.current() is None


def test_a_failed_first_connect_goes_offline_at_once() -> None:
    model = Dashboard(requested=A1)
    model.on_disconnected(REFUSED, NOW)
    assert model.mode is ConnectionMode.OFFLINE and model.wants_saved_state


def test_the_start_up_timeout_goes_offline_only_while_connecting() -> None:
    model = Dashboard(requested=A1)
    model.on_connect_timeout(NOW)
    assert model.mode is ConnectionMode.OFFLINE
    live = connected()
    live.on_connect_timeout(NOW)
    assert live.mode is ConnectionMode.LIVE


def test_saved_state_is_ignored_once_live_again() -> None:
    model = connected()
    model.on_saved_state(saved_state(A1), NOW)
    assert model.view is not None and model.view.source is DataSource.LIVE


def test_offline_the_saved_accounts_are_the_selection() -> None:
    model = Dashboard()
    model.on_disconnected(REFUSED, NOW)
    model.on_saved_state(saved_state(A1, A2), NOW)
    assert [ref.account_id for ref in model.known_accounts()] == [A1, A2]
    assert model.needs_selection and model.saved_at == NOW - timedelta(minutes=3)


def test_an_unreadable_database_is_reported() -> None:
    model = Dashboard(requested=A1)
    model.on_disconnected(REFUSED, NOW)
    model.on_saved_state_error("no saved state: state.db does not exist")
    assert model.saved_error is not None and model.indicator(NOW).kind is IndicatorKind.OFFLINE
