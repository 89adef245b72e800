"""Broadcast frames for the trader tests: the worked examples of `broadcast-api.md` verbatim, and small
builders for the states the spec examples do not show."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import orjson

from simple_risk_manager.broadcast.frames import Message, decode_message
from simple_risk_manager.trader.model import Dashboard

A1, A2 = 4411, 4412
MES, MNQ = "CON.F.US.MES.H25", "CON.F.US.MNQ.H25"
#: The spec's snapshot time; the quotes in it were received 0.185 s before.
NOW = datetime(2025, 3, 4, 15, 2, 11, 507_000, tzinfo=UTC)

SPEC_HELLO = """{"v":1,"type":"hello","seq":5120,"ts":"2025-03-04T15:02:11.480Z","account_id":null,
 "data":{"protocol":1,"daemon_version":"1.0.0","run_id":"6f1c2e9a","started_at":"2025-03-04T13:30:02.114Z",
         "accounts":[{"account_id":4411,"nickname":"Eval 50K"},{"account_id":4412,"nickname":null}],
   "quote_max_hz":4}}"""

SPEC_SNAPSHOT = """{"v":1,"type":"snapshot","seq":5120,"ts":"2025-03-04T15:02:11.507Z","account_id":null,
 "data":{"daemon":{"status":"RUNNING","message":"ok","started_at":"2025-03-04T13:30:02.114Z",
   "uptime_s":5529,
                   "hubs":{"user":"CONNECTED","market":"CONNECTED"},"clients":2,
   "accounts":[{"account_id":4411,"state":"OK"}]},
         "accounts":[{"account_id":4411,"nickname":"Eval 50K","can_trade":true,"balance":50210.5,
           "trading_date":"2025-03-04","session_start":"2025-03-03T23:00:00.000Z",
   "next_reset_at":"2025-03-04T23:00:00.000Z",
           "realized_pnl":-193.32,"gross_pnl":-180.0,"fees":13.32,"unrealized_pnl":37.5,
   "trade_count":6,"lockouts":[],
           "positions":[{"position_id":90211,"contract_id":"CON.F.US.MES.H25","type":"LONG","size":3,
                         "average_price":5921.25,"opened_at":"2025-03-04T14:51:09.300Z",
   "unrealized_pnl":37.5,
                         "has_stop":true,"no_stop_deadline":null}],
           "orders":[{"order_id":771203,"contract_id":"CON.F.US.MES.H25","type":"STOP",
   "side":"SELL","size":3,
                      "limit_price":null,"stop_price":5912.0,"status":"OPEN","filled_size":0,
   "is_stop_loss":true,
                      "created_at":"2025-03-04T14:51:15.020Z","updated_at":"2025-03-04T14:51:15.020Z"}],
           "quotes":{"CON.F.US.MES.H25":{"bid":5923.5,"ask":5923.75,"last":5923.75,
   "quote_time":"2025-03-04T15:02:11.301Z",
                                          "received_at":"2025-03-04T15:02:11.322Z"}},
           "contracts":{"CON.F.US.MES.H25":{"symbol_id":"F.US.MES","name":"MESH5","tick_size":0.25,
   "tick_value":1.25}},
           "rules":[{"rule_id":"RULE-003","name":"Daily Realized Loss","enabled":true,"limit":500.0,
   "current":193.32,"status":"OK"}],
           "recent_trades":[{"trade_id":310031,"contract_id":"CON.F.US.MES.H25","side":"BUY",
   "size":3,"price":5921.25,
                             "profit_and_loss":null,"fees":2.22,"voided":false,"order_id":771190,
                             "execution_time":"2025-03-04T14:51:09.280Z"}],
           "recent_enforcement":[],"stale":false}]}}"""

SPEC_ERROR = """{"v":1,"type":"error","seq":5120,"ts":"2025-03-04T15:02:11.503Z","account_id":null,
 "data":{"code":"unknown_account","message":"account 9999 is not configured","request_type":"subscribe"}}"""

SPEC_TRADE = """{"v":1,"type":"GatewayUserTrade","seq":5133,"ts":"2025-03-04T15:03:02.118Z",
   "account_id":4411,
 "data":{"trade_id":310045,"contract_id":"CON.F.US.MES.H25","side":"SELL","size":3,"price":5924.0,
   "profit_and_loss":41.25,
         "fees":2.22,"voided":false,"order_id":771240,"execution_time":"2025-03-04T15:03:02.051Z",
         "received_at":"2025-03-04T15:03:02.110Z","daily_realized_pnl":-154.29,"daily_fees":15.54,
         "trade_count":7,"trade_counts":{"minute":1,"hour":4,"session":7}}}"""

SPEC_POSITION_CLOSED = """{"v":1,"type":"GatewayUserPosition","seq":5134,
   "ts":"2025-03-04T15:03:02.121Z","account_id":4411,
 "data":{"position_id":90211,"contract_id":"CON.F.US.MES.H25","type":"LONG","size":0,
   "average_price":5921.25,
         "opened_at":"2025-03-04T14:51:09.300Z","updated_at":"2025-03-04T15:03:02.112Z",
   "unrealized_pnl":null,
         "has_stop":false,"no_stop_deadline":null}}"""

SPEC_ORDER_CANCELLED = """{"v":1,"type":"GatewayUserOrder","seq":5135,
   "ts":"2025-03-04T15:03:02.140Z","account_id":4411,
 "data":{"order_id":771203,"contract_id":"CON.F.US.MES.H25","type":"STOP","side":"SELL","size":3,
   "limit_price":null,
         "stop_price":5912.0,"status":"CANCELLED","filled_size":0,"fill_price":null,"is_stop_loss":true,
         "created_at":"2025-03-04T14:51:15.020Z","updated_at":"2025-03-04T15:03:02.131Z"}}"""

SPEC_QUOTE = """{"v":1,"type":"MarketQuote","seq":5140,"ts":"2025-03-04T15:03:02.402Z","account_id":null,
 "data":{"contract_id":"CON.F.US.MNQ.H25","bid":21004.25,"ask":21004.5,"last":21004.5,
         "quote_time":"2025-03-04T15:03:02.377Z","received_at":"2025-03-04T15:03:02.395Z"}}"""

SPEC_LOCKOUT_SET = """{"v":1,"type":"lockout_set","seq":5201,"ts":"2025-03-04T16:40:12.730Z",
   "account_id":4411,
 "data":{"lockout_id":77,"rule_id":"RULE-003",
   "reason":"daily realized loss 512.50 reached limit 500.00","kind":"reset",
         "locked_at":"2025-03-04T16:40:12.702Z","locked_until":"2025-03-04T23:00:00.000Z"}}"""

SPEC_LOCKOUT_CLEARED = """{"v":1,"type":"lockout_cleared","seq":5230,
   "ts":"2025-03-04T16:45:12.004Z","account_id":4412,
 "data":{"lockout_id":78,"rule_id":"RULE-007","cleared_at":"2025-03-04T16:45:12.001Z",
   "cleared_by":"TIMER_EXPIRY",
         "still_locked":false}}"""

SPEC_ENFORCEMENT = """{"v":1,"type":"enforcement_action","seq":5202,"ts":"2025-03-04T16:40:12.911Z",
   "account_id":4411,
 "data":{"action":"CLOSE_ALL_AND_LOCKOUT","rule_id":"RULE-003",
   "reason":"daily realized loss 512.50 reached limit 500.00",
         "success":true,"outcome":"SUCCESS","timestamp":"2025-03-04T16:40:12.905Z","execution_time_ms":184,
         "details":{"positions_closed":1,"orders_cancelled":2,
   "lockout_until":"2025-03-04T23:00:00.000Z","error":null}}}"""

SPEC_DAILY_RESET = """{"v":1,"type":"daily_reset","seq":6001,"ts":"2025-03-04T23:00:00.120Z",
   "account_id":4411,
 "data":{"reset_at":"2025-03-04T23:00:00.010Z","previous_trading_date":"2025-03-04",
   "trading_date":"2025-03-05",
         "previous_realized_pnl":-512.5,"previous_trade_count":11,"lockouts_cleared":true,
   "next_reset_at":"2025-03-05T23:00:00.000Z"}}"""

SPEC_DAEMON_STATUS = """{"v":1,"type":"daemon_status","seq":5300,"ts":"2025-03-04T16:50:00.000Z",
   "account_id":null,
 "data":{"status":"DEGRADED","message":"market hub reconnecting (attempt 3)",
   "started_at":"2025-03-04T13:30:02.114Z",
         "uptime_s":11998,"hubs":{"user":"CONNECTED","market":"RECONNECTING"},"clients":2,
         "accounts":[{"account_id":4411,"state":"OK"},{"account_id":4412,"state":"OK"}]}}"""


def frame(text: str) -> Message:
    message = decode_message(text)
    assert message is not None, text
    return message


def with_changes(message: Message, *, seq: int | None = None, **data: Any) -> Message:
    """The same frame with another `seq` or other `data` fields."""
    payload = copy.deepcopy(dict(message.data))
    payload.update(data)
    return Message(type=message.type, seq=message.seq if seq is None else seq, ts=message.ts,
                   account_id=message.account_id, data=payload)


def snapshot_account(**changes: Any) -> dict[str, Any]:
    """The spec snapshot's account 4411 with some fields changed."""
    account = copy.deepcopy(orjson.loads(SPEC_SNAPSHOT)["data"]["accounts"][0])
    account.update(changes)
    return dict(account)


def snapshot(*accounts: dict[str, Any], seq: int = 5120, daemon: dict[str, Any] | None = None) -> Message:
    data = orjson.loads(SPEC_SNAPSHOT)["data"]
    if accounts:
        data["accounts"] = list(accounts)
    if daemon is not None:
        data["daemon"] = {**data["daemon"], **daemon}
    return Message(type="snapshot", seq=seq, ts="2025-03-04T15:02:11.507Z", account_id=None, data=data)


def event(message_type: str, data: dict[str, Any], seq: int, account_id: int | None = A1) -> Message:
    return Message(type=message_type, seq=seq, ts="2025-03-04T15:02:12.000Z", account_id=account_id,
                   data=data)


def lockout_data(lockout_id: int, rule_id: str, kind: str, until: str | None, reason: str = "reason",
                 locked_at: str = "2025-03-04T15:00:00.000Z") -> dict[str, Any]:
    return {"lockout_id": lockout_id, "rule_id": rule_id, "reason": reason, "kind": kind,
            "locked_at": locked_at, "locked_until": until}


def status_data(status: str = "RUNNING", message: str = "ok", **hubs: str) -> dict[str, Any]:
    return {"status": status, "message": message, "started_at": "2025-03-04T13:30:02.114Z", "uptime_s": 60,
            "hubs": {"user": "CONNECTED", "market": "CONNECTED", **hubs}, "clients": 1,
            "accounts": [{"account_id": A1, "state": "OK"}]}


def connected(*accounts: dict[str, Any], requested: int | None = A1, now: datetime = NOW) -> Dashboard:
    """A dashboard after the spec's `hello` and a snapshot (the spec's, or of `accounts`)."""
    model = Dashboard(requested=requested)
    model.on_message(frame(SPEC_HELLO), now)
    model.on_message(snapshot(*accounts), now)
    return model
