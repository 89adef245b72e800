"""The demo's live log: one readable line per broadcast message, from the examples of broadcast-api.md."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.demo.live_log import (
    LiveLog,
    LogFormat,
    ascii_text,
    contract_name,
    money,
    price,
    signed_money,
)

CHICAGO = ZoneInfo("America/Chicago")
PAD = " " * 20
EVAL = "4411 Eval 50K".ljust(20)
OTHER = "4412".ljust(20)


def msg(type_: str, ts: str, account_id: int | None, data: dict[str, Any], seq: int = 1) -> Message:
    return Message(type=type_, seq=seq, ts=ts, account_id=account_id, data=data)


HELLO = msg("hello", "2025-03-04T15:02:11.480Z", None, {
    "protocol": 1, "daemon_version": "1.0.0", "run_id": "6f1c2e9a", "started_at": "2025-03-04T13:30:02.114Z",
    "accounts": [{"account_id": 4411, "nickname": "Eval 50K"}, {"account_id": 4412, "nickname": None}],
    "quote_max_hz": 4})

# broadcast-api.md §4.4 (trimmed to the fields the log reads), §4.5, §5.1 … §5.9.
SPEC_EXAMPLES = [
    pytest.param(HELLO, [f"09:02:11  {PAD}  connected to daemon 1.0.0 (run 6f1c2e9a), 2 accounts"],
                 id="4.1 hello"),
    pytest.param(msg("snapshot", "2025-03-04T15:02:11.507Z", None, {
        "daemon": {"status": "RUNNING"},
        "accounts": [{"account_id": 4411, "realized_pnl": -193.32, "lockouts": [],
                      "positions": [{"position_id": 90211, "size": 3}]}]}),
        [f"09:02:11  {EVAL}  snapshot: realized -193.32, 1 open position; not locked"],
        id="4.4 snapshot"),
    pytest.param(msg("error", "2025-03-04T15:02:11.503Z", None, {
        "code": "unknown_account", "message": "account 9999 is not configured", "request_type": "subscribe"}),
        [f"09:02:11  {PAD}  daemon refused a request: unknown_account: account 9999 is not configured"],
        id="4.5 error"),
    pytest.param(msg("GatewayUserTrade", "2025-03-04T15:03:02.118Z", 4411, {
        "trade_id": 310045, "contract_id": "CON.F.US.MES.H25", "side": "SELL", "size": 3, "price": 5924.0,
        "profit_and_loss": 41.25, "fees": 2.22, "voided": False, "order_id": 771240,
        "daily_realized_pnl": -154.29, "daily_fees": 15.54, "trade_count": 7}),
        [f"09:03:02  {EVAL}  fill SELL 3 MES H25 @ 5924.00 (P&L +41.25, fees 2.22) -> day -154.29, "
         "7 trades"], id="5.1 GatewayUserTrade"),
    pytest.param(msg("GatewayUserPosition", "2025-03-04T15:03:02.121Z", 4411, {
        "position_id": 90211, "contract_id": "CON.F.US.MES.H25", "type": "LONG", "size": 0,
        "average_price": 5921.25, "unrealized_pnl": None, "has_stop": False, "no_stop_deadline": None}),
        [f"09:03:02  {EVAL}  position MES H25 closed"], id="5.2 GatewayUserPosition"),
    pytest.param(msg("GatewayUserOrder", "2025-03-04T15:03:02.140Z", 4411, {
        "order_id": 771203, "contract_id": "CON.F.US.MES.H25", "type": "STOP", "side": "SELL", "size": 3,
        "limit_price": None, "stop_price": 5912.0, "status": "CANCELLED", "filled_size": 0,
        "fill_price": None, "is_stop_loss": True}),
        [f"09:03:02  {EVAL}  order 771203 SELL STOP 3 MES H25 stop 5912.00 CANCELLED (stop-loss)"],
        id="5.3 GatewayUserOrder"),
    pytest.param(msg("MarketQuote", "2025-03-04T15:03:02.402Z", None, {
        "contract_id": "CON.F.US.MNQ.H25", "bid": 21004.25, "ask": 21004.5, "last": 21004.5}),
        [], id="5.4 MarketQuote is not logged"),
    pytest.param(msg("lockout_set", "2025-03-04T16:40:12.730Z", 4411, {
        "lockout_id": 77, "rule_id": "RULE-003", "reason": "daily realized loss 512.50 reached limit 500.00",
        "kind": "reset", "locked_at": "2025-03-04T16:40:12.702Z",
        "locked_until": "2025-03-04T23:00:00.000Z"}),
        [f"10:40:12  {EVAL}  LOCKED by RULE-003 until 17:00 CST (reset) - daily realized loss "
         "512.50 reached limit 500.00"], id="5.5 lockout_set"),
    pytest.param(msg("lockout_cleared", "2025-03-04T16:45:12.004Z", 4412, {
        "lockout_id": 78, "rule_id": "RULE-007", "cleared_at": "2025-03-04T16:45:12.001Z",
        "cleared_by": "TIMER_EXPIRY", "still_locked": False}),
        [f"10:45:12  {OTHER}  lock of RULE-007 lifted (TIMER_EXPIRY); trading allowed again"],
        id="5.6 lockout_cleared"),
    pytest.param(msg("enforcement_action", "2025-03-04T16:40:12.911Z", 4411, {
        "action": "CLOSE_ALL_AND_LOCKOUT", "rule_id": "RULE-003",
        "reason": "daily realized loss 512.50 reached limit 500.00", "success": True, "outcome": "SUCCESS",
        "timestamp": "2025-03-04T16:40:12.905Z", "execution_time_ms": 184,
        "details": {"positions_closed": 1, "orders_cancelled": 2, "lockout_until": "2025-03-04T23:00:00.000Z",
                    "error": None}}),
        [f"10:40:12  {EVAL}  RULE-003 CLOSE_ALL_AND_LOCKOUT - daily realized loss 512.50 reached "
         "limit 500.00 -> 1 position closed, 2 orders cancelled, locked until 17:00 CST [SUCCESS, 184 ms]"],
        id="5.7 enforcement_action"),
    pytest.param(msg("daily_reset", "2025-03-04T23:00:00.120Z", 4411, {
        "reset_at": "2025-03-04T23:00:00.010Z", "previous_trading_date": "2025-03-04",
        "trading_date": "2025-03-05", "previous_realized_pnl": -512.5, "previous_trade_count": 11,
        "lockouts_cleared": True, "next_reset_at": "2025-03-05T23:00:00.000Z"}),
        [f"17:00:00  {EVAL}  new trading day 2025-03-05: previous day -512.50 over 11 trades"],
        id="5.8 daily_reset"),
    pytest.param(msg("daemon_status", "2025-03-04T16:50:00.000Z", None, {
        "status": "DEGRADED", "message": "market hub reconnecting (attempt 3)",
        "hubs": {"user": "CONNECTED", "market": "RECONNECTING"}, "clients": 2}),
        [f"10:50:00  {PAD}  daemon DEGRADED - market hub reconnecting (attempt 3) (user hub CONNECTED, "
         "market hub RECONNECTING)"], id="5.9 daemon_status"),
]

MORE_CASES = [
    pytest.param(msg("GatewayUserTrade", "2025-03-04T15:03:02.118Z", 4411, {
        "contract_id": "CON.F.US.EP.Z26", "side": "BUY", "size": 1, "price": 6000.25, "profit_and_loss": None,
        "fees": 1.4, "voided": False, "daily_realized_pnl": -1.4, "trade_count": 1}),
        [f"09:03:02  {EVAL}  fill BUY 1 EP Z26 @ 6000.25 (opening, fees 1.40) -> day -1.40, 1 trade"],
        id="opening fill"),
    pytest.param(msg("GatewayUserPosition", "2025-03-04T15:03:02.121Z", 4411, {
        "contract_id": "CON.F.US.MNQ.Z26", "type": "LONG", "size": 1, "average_price": 21000.25,
        "has_stop": True}),
        [f"09:03:02  {EVAL}  position LONG 1 MNQ Z26 @ 21000.25, protected by a stop"],
        id="open position with a stop"),
    pytest.param(msg("GatewayUserOrder", "2025-03-04T15:03:02.140Z", 4411, {
        "order_id": 9, "contract_id": "CON.F.US.MES.Z26", "type": "MARKET", "side": "BUY", "size": 6,
        "status": "OPEN"}), [], id="a market order's own events are shown by its fill"),
    pytest.param(msg("GatewayUserOrder", "2025-03-04T15:03:02.140Z", 4411, {
        "order_id": 10, "contract_id": "CON.F.US.RTY.Z26", "type": "LIMIT", "side": "BUY", "size": 1,
        "limit_price": 2390.0, "status": "OPEN"}),
        [f"09:03:02  {EVAL}  order 10 BUY LIMIT 1 RTY Z26 limit 2390.00 OPEN"], id="limit order"),
    pytest.param(msg("lockout_set", "2025-03-04T16:40:12.730Z", 4411, {
        "rule_id": "RULE-010", "reason": "canTrade is false", "kind": "condition", "locked_until": None}),
        [f"10:40:12  {EVAL}  LOCKED by RULE-010 until the broker re-enables trading (condition) - "
         "canTrade is false"], id="condition lockout"),
    pytest.param(msg("lockout_set", "2025-03-04T23:30:00.000Z", 4411, {
        "rule_id": "RULE-009", "reason": "outside the session", "kind": "session",
        "locked_until": "2025-03-05T14:30:00.000Z"}),
        [f"17:30:00  {EVAL}  LOCKED by RULE-009 until Wed 08:30 CST (session) - outside the session"],
        id="lock ending on another day names the day"),
    pytest.param(msg("lockout_cleared", "2025-03-04T16:45:12.004Z", 4411, {
        "rule_id": "RULE-007", "cleared_by": "TIMER_EXPIRY", "still_locked": True}),
        [f"10:45:12  {EVAL}  lock of RULE-007 lifted (TIMER_EXPIRY); account still locked"],
        id="cleared while another lock holds"),
    pytest.param(msg("enforcement_action", "2025-03-04T16:40:12.911Z", 4411, {
        "action": "CLOSE_POSITION", "rule_id": "RULE-011", "reason": "RTY is blocked", "outcome": "FAILED",
        "execution_time_ms": 6050,
        "details": {"positions_closed": 0, "orders_cancelled": 0, "lockout_until": None,
                    "error": "closeContract: errorCode 5"}}),
        [f"10:40:12  {EVAL}  RULE-011 CLOSE_POSITION - RTY is blocked "
         "[FAILED, 6050 ms: closeContract: errorCode 5]"], id="failed enforcement shows its error"),
    pytest.param(msg("enforcement_action", "2025-03-04T16:40:12.911Z", 4411, {
        "action": "AUTO_STOP_LOSS", "rule_id": "RULE-012", "reason": "stop 20997.25", "outcome": "SUCCESS",
        "execution_time_ms": 3, "details": {"positions_closed": 0, "orders_cancelled": 0}}),
        [f"10:40:12  {EVAL}  RULE-012 AUTO_STOP_LOSS - stop 20997.25 [SUCCESS, 3 ms]"],
        id="action without effects"),
    pytest.param(msg("enforcement_action", "2025-03-04T16:40:12.911Z", 4411, {
        "action": "AUTO_STOP_LOSS", "rule_id": "RULE-012", "outcome": "SUCCESS", "execution_time_ms": 1,
        "reason": "move stop 20997.25 → 21000.50 (breakeven: best +11 ticks ≥ trigger 8)", "details": {}}),
        [f"10:40:12  {EVAL}  RULE-012 AUTO_STOP_LOSS - move stop 20997.25 -> 21000.50 (breakeven: best +11 "
         "ticks >= trigger 8) [SUCCESS, 1 ms]"], id="the daemon's typographic symbols become ASCII"),
    pytest.param(msg("lockout_set", "2025-03-04T16:40:12.730Z", 4411, {
        "rule_id": "RULE-007", "reason": "loss tier 100.00", "kind": "duration",
        "locked_until": "2025-03-04T16:40:27.730Z"}),
        [f"10:40:12  {EVAL}  LOCKED by RULE-007 until 10:40:27 CST (duration) - loss tier 100.00"],
        id="a short lock shows its seconds"),
    pytest.param(msg("some_future_type", "2025-03-04T16:40:12.911Z", None, {}), [], id="unknown type"),
]


def formatter() -> LogFormat:
    form = LogFormat(CHICAGO)
    form.lines(HELLO)  # learns the nicknames
    return form


@pytest.mark.parametrize(("message", "expected"), SPEC_EXAMPLES + MORE_CASES)
def test_one_line_per_message(message: Message, expected: list[str]) -> None:
    assert formatter().lines(message) == expected


def test_hello_teaches_the_nicknames() -> None:
    form = LogFormat(CHICAGO)
    assert form.account(4411).strip() == "4411"
    form.lines(HELLO)
    assert form.account(4411).strip() == "4411 Eval 50K"
    assert form.account(4412).strip() == "4412"


def test_snapshot_lists_every_account_and_its_locks() -> None:
    snapshot = msg("snapshot", "2025-03-04T16:41:00.000Z", None, {"accounts": [
        {"account_id": 4411, "realized_pnl": -512.5, "positions": [],
         "lockouts": [{"rule_id": "RULE-003", "locked_until": "2025-03-04T23:00:00.000Z"},
                      {"rule_id": "RULE-010", "locked_until": None}]},
        {"account_id": 4412, "realized_pnl": 0, "positions": [], "lockouts": []}]})
    assert formatter().lines(snapshot) == [
        f"10:41:00  {EVAL}  snapshot: realized -512.50, 0 open positions; locked by RULE-003 until "
        "17:00 CST; locked by RULE-010 until the broker re-enables trading",
        f"10:41:00  {OTHER}  snapshot: realized 0.00, 0 open positions; not locked",
    ]


@pytest.mark.parametrize(("value", "text"), [(-562.5, "-562.50"), (41.25, "+41.25"), (0, "0.00"),
                                             (0.1 + 0.2, "+0.30")])
def test_signed_money_is_exact_to_the_cent(value: float, text: str) -> None:
    assert signed_money(value) == text


def test_money_prices_and_contract_names() -> None:
    assert money(1.4) == "1.40"
    assert [price(p) for p in (21000, 2400.1, 21000.25, 60.015)] == ["21000.00", "2400.10", "21000.25",
                                                                     "60.015"]
    assert ascii_text("a → b ≥ c – d é") == "a -> b >= c - d ?"
    assert contract_name("CON.F.US.MES.Z26") == "MES Z26"
    assert contract_name("odd-id") == "odd-id"


def test_live_log_prints_daemon_status_only_when_it_changes() -> None:
    out = io.StringIO()
    log = LiveLog(out, CHICAGO, ManualClock(datetime(2025, 3, 4, 15, 0, tzinfo=UTC)))
    running = {"status": "RUNNING", "message": "ok", "hubs": {"user": "CONNECTED", "market": "CONNECTED"}}
    log.message(msg("daemon_status", "2025-03-04T15:00:00.000Z", None, running, seq=1))
    log.message(msg("daemon_status", "2025-03-04T15:00:10.000Z", None, running, seq=2))  # heartbeat
    log.message(msg("daemon_status", "2025-03-04T15:00:20.000Z", None,
                    {**running, "status": "STOPPING"}, seq=3))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "RUNNING" in lines[0] and "STOPPING" in lines[1]


def test_live_log_narration_and_notices_carry_the_clock_time() -> None:
    out = io.StringIO()
    log = LiveLog(out, CHICAGO, ManualClock(datetime(2025, 3, 4, 15, 0, 5, tzinfo=UTC)))
    log.message(HELLO)
    log.narrate(4411, "buys 6 MES")
    log.notice("stopping")
    log.summary(["Summary: ok"])
    assert out.getvalue().splitlines()[1:] == [
        f"09:00:05  {EVAL}  trader: buys 6 MES",
        f"09:00:05  {PAD}  stopping",
        "",
        "Summary: ok",
    ]


def test_output_is_plain_ascii() -> None:
    form = formatter()
    for case in SPEC_EXAMPLES + MORE_CASES:
        for line in form.lines(case.values[0]):  # type: ignore[arg-type]
            assert line.isascii(), line
