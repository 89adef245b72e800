"""The fixed rows: header, banner (lockout, alert, data age), summary strip and footer (cli.md §1.4–§1.9)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from simple_risk_manager.broadcast.client import Disconnected
from simple_risk_manager.trader import summary
from simple_risk_manager.trader.account_view import AccountView, DataSource
from simple_risk_manager.trader.ascii_only import to_ascii
from simple_risk_manager.trader.model import SavedState
from simple_risk_manager.trader.summary import Look, plain
from simple_risk_manager.trader.valuation import value_account

from .frames import NOW, SPEC_ENFORCEMENT, connected, event, frame, lockout_data, snapshot_account

LOOK = Look(UTC)
WIDTH = 100


def texts(lines: list[summary.Line]) -> list[str]:
    return [plain(line).rstrip() for line in lines]


def test_spec_header() -> None:
    model = connected()
    line = plain(summary.header(model, NOW, LOOK, WIDTH))
    assert line.startswith(" SRM • Eval 50K (#4411) • trading day 2025-03-04")
    assert line.rstrip().endswith("● LIVE    15:02:11 UTC")
    assert len(line) == WIDTH


def test_ascii_header_uses_no_unicode() -> None:
    line = to_ascii(plain(summary.header(connected(), NOW, LOOK, WIDTH)))
    assert line.isascii() and "SRM - Eval 50K (#4411)" in line
    assert line.rstrip().endswith("* LIVE    15:02:11 UTC")
    assert len(line) == WIDTH


def test_spec_cooldown_banner_with_its_countdown() -> None:
    """cli.md §1.4: ▓▓ COOLDOWN — RULE-007 single-trade loss 120.00 — trading allowed again in 04:12 ▓▓"""
    until = (NOW + timedelta(seconds=252)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{NOW.microsecond // 1000:03d}Z"
    model = connected(snapshot_account(positions=[], lockouts=[
        lockout_data(5, "RULE-007", "duration", until, reason="single-trade loss 120.00")]))
    lines = texts(summary.banner(model, NOW, LOOK, WIDTH))
    assert len(lines) == 1
    assert lines[0] == (" ▓▓ COOLDOWN — RULE-007 single-trade loss 120.00 — trading allowed again in 04:12 "
                        "(at 15:06 UTC) ▓▓").rstrip()
    style = summary.banner(model, NOW, LOOK, WIDTH)[0][0][1]
    assert "yellow" in style


def test_the_countdown_is_live() -> None:
    model = connected(snapshot_account(positions=[], lockouts=[
        lockout_data(5, "RULE-007", "duration", "2025-03-04T15:06:23.507Z")]))
    assert "in 04:12" in texts(summary.banner(model, NOW, LOOK, WIDTH))[0]
    assert "in 03:12" in texts(summary.banner(model, NOW + timedelta(seconds=60), LOOK, WIDTH))[0]
    assert summary.banner(model, NOW + timedelta(seconds=252), LOOK, WIDTH) == []  # reached 0: hidden locally


def test_locked_out_banner_is_red_and_counts_the_others() -> None:
    model = connected(snapshot_account(positions=[], lockouts=[
        lockout_data(1, "RULE-007", "duration", "2025-03-04T15:10:00.000Z"),
        lockout_data(2, "RULE-003", "reset", "2025-03-04T23:00:00.000Z",
                     reason="daily realized loss 512.50 reached limit 500.00")]))
    line = summary.banner(model, NOW, LOOK, 200)[0]
    assert plain(line).rstrip() == (" ▓▓ LOCKED OUT — RULE-003 daily realized loss 512.50 reached limit "
                                    "500.00 — trading allowed again in 7h57m49s (at 23:00 UTC) +1 more ▓▓")
    assert "red" in line[0][1]


def test_a_condition_lockout_waits_for_the_broker() -> None:
    model = connected(snapshot_account(positions=[], lockouts=[
        lockout_data(3, "RULE-010", "condition", None, reason="canTrade is false")]))
    assert "until the broker re-enables trading" in texts(summary.banner(model, NOW, LOOK, WIDTH))[0]


def test_a_long_reason_is_cut_so_the_countdown_stays_visible() -> None:
    model = connected(snapshot_account(positions=[], lockouts=[
        lockout_data(2, "RULE-003", "reset", "2025-03-04T23:00:00.000Z", reason="x" * 200)]))
    first, second = texts(summary.banner(model, NOW, LOOK, 80))
    assert len(first) == 80 and first.startswith(" ▓▓ LOCKED OUT — RULE-003 xxx") and first.endswith("x…")
    assert second == " ▓▓ trading allowed again in 7h57m49s (at 23:00 UTC) ▓▓"


def test_the_alert_shows_in_the_banner_with_the_count_waiting() -> None:
    model = connected()
    model.on_message(frame(SPEC_ENFORCEMENT), NOW)
    model.on_message(event("enforcement_action", {**frame(SPEC_ENFORCEMENT).data, "action": "ALERT",
                                                  "reason": "user hub lost"}, 5300), NOW)
    lines = texts(summary.banner(model, NOW, LOOK, WIDTH))
    assert lines == [" NOTICE RULE-003: user hub lost (+1 waiting)"]


def test_a_failed_enforcement_says_how_to_dismiss_it() -> None:
    model = connected()
    failed = {**frame(SPEC_ENFORCEMENT).data, "outcome": "FAILED"}
    model.on_message(event("enforcement_action", failed, 5300), NOW)
    assert texts(summary.banner(model, NOW, LOOK, 200))[0].endswith("[Enter/Esc to dismiss]")


def test_offline_the_banner_says_how_old_the_saved_state_is() -> None:
    model = connected()
    model.on_disconnected(Disconnected("gone", 1), NOW)
    model.on_disconnected(Disconnected("refused", 1), NOW)
    saved = SavedState({4411: AccountView(4411, DataSource.SAVED)}, NOW - timedelta(minutes=3, seconds=12))
    model.on_saved_state(saved, NOW)
    line = texts(summary.banner(model, NOW, LOOK, 200))[0]
    assert line.startswith(" OFFLINE — daemon unreachable; saved state as of 14:58:59 UTC (3m12s old)")
    assert len(summary.banner(model, NOW, LOOK, 80)) == 2  # wrapped, not cut, at 80 columns
    assert "5 s older than the broker" in line
    assert "OFFLINE — saved state 14:58:59" in plain(summary.header(model, NOW, LOOK, WIDTH))


def test_spec_strip() -> None:
    model = connected()
    view = model.view
    assert view is not None
    value = value_account(view, model.quotes, NOW, live=True)
    first, second = texts(summary.strip(model, view, value, NOW, look=LOOK, width=WIDTH))
    assert first == (" Realized -193.32 (fees 13.32)  Unrealized +37.50  Net -155.82  "
                     "Loss limit [███░░░░░░░] 38%")
    assert second == " Trades 6 (? per min, ? per h)  Contracts 3/n/a  Reset in 7h57m"


@pytest.mark.parametrize(("realized", "words", "style"), [
    (-399, "79%", "green"), (-400, "80% WARN", "yellow"), (-512.5, "102% LIMIT", "bold red"),
])
def test_the_loss_gauge_changes_colour_at_80_and_100_percent(realized: float, words: str, style: str) -> None:
    model = connected(snapshot_account(realized_pnl=realized))
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW, live=True)
    pieces = summary.strip(model, model.view, value, NOW, look=LOOK, width=200)[0]
    gauge = pieces[-1]
    assert gauge[0].endswith(words) and gauge[1] == style


def test_trade_counts_with_the_per_window_limits_when_known() -> None:
    rules = [{"rule_id": "RULE-006", "name": "Trade Frequency", "enabled": True, "limit": 3, "current": 1,
              "status": "OK", "limits": {"minute": 3, "hour": 10, "session": 50}},
             {"rule_id": "RULE-001", "name": "Max Contracts", "enabled": True, "limit": 5, "current": 3,
              "status": "OK"}]
    model = connected(snapshot_account(rules=rules, trade_counts={"minute": 1, "hour": 2, "session": 6}))
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW, live=True)
    second = texts(summary.strip(model, model.view, value, NOW, look=LOOK, width=WIDTH))[1]
    assert second == " Trades 6/50 (1/3 per min, 2/10 per h)  Contracts 3/5  Reset in 7h57m"


def test_without_per_window_limits_the_frequency_gauge_shows_the_nearest() -> None:
    rules = [{"rule_id": "RULE-006", "name": "Trade Frequency", "enabled": True, "limit": 10, "current": 2,
              "status": "OK"}]
    model = connected(snapshot_account(rules=rules, trade_counts={"minute": 1, "hour": 2, "session": 6}))
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW, live=True)
    second = texts(summary.strip(model, model.view, value, NOW, look=LOOK, width=WIDTH))[1]
    assert second.startswith(" Trades 6 (1 per min, 2 per h)  Freq [██░░░░░░░░] 20%")


def test_footer_lists_stale_quotes_and_the_last_event_age() -> None:
    model = connected()
    assert model.view is not None
    later = NOW + timedelta(seconds=7)
    value = value_account(model.view, model.quotes, later, live=True)
    line = plain(summary.footer(model, value, later, LOOK, WIDTH))
    assert line.startswith(" ⚠ MESH5 quote 7s old │ ")
    assert line.rstrip().endswith("│ last event 7.0s")
    assert len(line) <= WIDTH


def test_footer_shows_the_fill_one_liner_for_five_seconds() -> None:
    model = connected(snapshot_account(positions=[]))
    fill = {"trade_id": 1, "contract_id": "CON.F.US.MES.H25", "side": "SELL", "size": 1, "price": 5924,
            "profit_and_loss": -20, "fees": 0.74, "execution_time": "2025-03-04T15:02:11.000Z"}
    model.on_message(event("GatewayUserTrade", fill, 5200), NOW)
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW, live=True)
    assert "MESH5 SELL 1 @ 5924.00  P&L -20.00" in plain(summary.footer(model, value, NOW, LOOK, WIDTH))
