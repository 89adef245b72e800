"""The §3 envelope: spec examples reproduced from domain objects, conversions, and refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from simple_risk_manager.broadcast.frames import Message, decode_message, encode_frame, encode_request
from simple_risk_manager.domain.models import AccountConfig, Lockout, Quote
from simple_risk_manager.domain.times import parse_utc

SPEC_QUOTE = """{"v":1,"type":"MarketQuote","seq":5140,"ts":"2025-03-04T15:03:02.402Z","account_id":null,
 "data":{"contract_id":"CON.F.US.MNQ.H25","bid":21004.25,"ask":21004.5,"last":21004.5,
         "quote_time":"2025-03-04T15:03:02.377Z","received_at":"2025-03-04T15:03:02.395Z"}}"""
SPEC_LOCKOUT_SET = """{"v":1,"type":"lockout_set","seq":5201,"ts":"2025-03-04T16:40:12.730Z",
 "account_id":4411, "data":{"lockout_id":77,"rule_id":"RULE-003",
 "reason":"daily realized loss 512.50 reached limit 500.00",
 "kind":"reset","locked_at":"2025-03-04T16:40:12.702Z","locked_until":"2025-03-04T23:00:00.000Z"}}"""
SPEC_ERROR = """{"v":1,"type":"error","seq":5120,"ts":"2025-03-04T15:02:11.503Z","account_id":null,
 "data":{"code":"unknown_account","message":"account 9999 is not configured","request_type":"subscribe"}}"""


def test_spec_5_4_market_quote_from_a_quote():
    quote = Quote(contract_id="CON.F.US.MNQ.H25", received_at=parse_utc("2025-03-04T15:03:02.395Z"),
                  bid=Decimal("21004.25"), ask=Decimal("21004.50"), last=Decimal("21004.5"),
                  quote_time=parse_utc("2025-03-04T15:03:02.377Z"))
    frame = encode_frame("MarketQuote", 5140, parse_utc("2025-03-04T15:03:02.402Z"), None, quote.to_dict())
    assert orjson.loads(frame) == orjson.loads(SPEC_QUOTE)


def test_spec_5_5_lockout_set_from_a_lockout():
    at = parse_utc("2025-03-04T16:40:12.702Z")
    record = Lockout(account_id=4411, rule_id="RULE-003", kind="reset",
                     reason="daily realized loss 512.50 reached limit 500.00", locked_at=at,
                     locked_until=parse_utc("2025-03-04T23:00:00Z"), created_at=at, updated_at=at,
                     lockout_id=77)
    frame = encode_frame("lockout_set", 5201, parse_utc("2025-03-04T16:40:12.730Z"), 4411, record.to_dict())
    assert orjson.loads(frame) == orjson.loads(SPEC_LOCKOUT_SET)


def test_spec_4_5_error():
    frame = encode_frame("error", 5120, parse_utc("2025-03-04T15:02:11.503Z"), None, {
        "code": "unknown_account", "message": "account 9999 is not configured", "request_type": "subscribe"})
    assert orjson.loads(frame) == orjson.loads(SPEC_ERROR)
    assert decode_message(frame) == Message("error", 5120, "2025-03-04T15:02:11.503Z", None,
                                            orjson.loads(SPEC_ERROR)["data"])


def test_raw_decimals_and_times_get_their_wire_form():
    at = datetime(2025, 3, 4, 15, 2, 11, 480_999, tzinfo=UTC)
    data = {"price": Decimal("21000.125"), "size": Decimal(3), "at": at, "day": date(2025, 3, 5)}
    payload = orjson.loads(encode_frame("daily_reset", 1, at, 4411, data))
    assert payload["ts"] == "2025-03-04T15:02:11.480Z"
    assert payload["data"] == {"price": 21000.125, "size": 3, "at": "2025-03-04T15:02:11.480Z",
                               "day": "2025-03-05"}


@dataclass(frozen=True)
class _Opaque:
    secret: str


@pytest.mark.parametrize("value", [
    AccountConfig(account_id=1, api_key="sk-secret-never"), _Opaque("sk-secret-never"), object(), {1, 2}])
def test_objects_without_a_broadcast_form_are_refused(value):
    with pytest.raises(TypeError) as refused:
        encode_frame("lockout_set", 1, datetime(2025, 3, 4, tzinfo=UTC), 4411, {"value": value})
    assert "sk-secret-never" not in str(refused.value)


def test_client_requests_carry_no_seq():
    request = orjson.loads(encode_request("subscribe", datetime(2025, 3, 4, 15, 2, 11, 502_000, tzinfo=UTC),
                                          {"account_ids": [4411]}))
    assert request == {"v": 1, "type": "subscribe", "ts": "2025-03-04T15:02:11.502Z", "account_id": None,
                       "data": {"account_ids": [4411]}}


@pytest.mark.parametrize("raw", [
    "not json", "[]", '{"type":"x"}', '{"type":"x","seq":true,"ts":"t","account_id":null,"data":{}}',
    '{"type":"x","seq":1,"ts":"t","account_id":"4411","data":{}}',
    '{"type":"x","seq":1,"ts":"t","account_id":null,"data":[]}',
])
def test_malformed_server_frames_decode_to_none(raw):
    assert decode_message(raw) is None
