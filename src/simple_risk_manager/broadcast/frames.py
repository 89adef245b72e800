"""The §3 envelope on the wire: server frames are serialised here exactly once (orjson) and fanned out
as bytes; clients decode them back into `Message`.

`data` is expected in broadcast form already (the `to_dict()` of the domain objects); as a safety net
`Decimal`, `datetime`, `date` and non-dict mappings are converted the way §3 prescribes. Dataclasses are
refused rather than written field by field (orjson's default), since that would put fields such as
`AccountConfig.api_key` on the wire. Enums are not converted (orjson writes their values): pass member
names, as every `to_dict()` does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeGuard

import orjson

from simple_risk_manager.broadcast.protocol import PROTOCOL_VERSION
from simple_risk_manager.domain.money import to_json_number
from simple_risk_manager.domain.times import format_utc

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return to_json_number(value)
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} has no broadcast form")


def encode_frame(message_type: str, seq: int, ts: datetime, account_id: int | None,
                 data: Mapping[str, Any]) -> bytes:
    """One server frame (UTF-8 JSON, sent as a text frame). Raises TypeError for data with no JSON form."""
    envelope = {"v": PROTOCOL_VERSION, "type": message_type, "seq": seq, "ts": format_utc(ts),
                "account_id": account_id, "data": data}
    return orjson.dumps(envelope, default=_to_json, option=_OPTIONS)


def encode_request(message_type: str, ts: datetime, data: Mapping[str, Any]) -> str:
    """One client frame: the envelope without `seq` (§3)."""
    envelope = {"v": PROTOCOL_VERSION, "type": message_type, "ts": format_utc(ts), "account_id": None,
                "data": data}
    return orjson.dumps(envelope, default=_to_json, option=_OPTIONS).decode()


@dataclass(frozen=True, slots=True)
class Message:
    """A server frame as a client sees it; unknown fields are ignored, unknown types kept (§3)."""

    type: str
    seq: int
    ts: str
    account_id: int | None
    data: Mapping[str, Any]


def decode_message(raw: str | bytes) -> Message | None:
    """A server frame, or None when it is not a §3 envelope (a client ignores such frames)."""
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(envelope, dict):
        return None
    message_type, seq, ts = envelope.get("type"), envelope.get("seq"), envelope.get("ts")
    account_id, data = envelope.get("account_id"), envelope.get("data")
    if (not isinstance(message_type, str) or not _is_int(seq) or not isinstance(ts, str)
            or not (account_id is None or _is_int(account_id)) or not isinstance(data, dict)):
        return None
    return Message(type=message_type, seq=seq, ts=ts, account_id=account_id, data=data)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
