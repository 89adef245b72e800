"""Inbound frames → the two requests the server accepts (§4.2, §4.3), or the `error` to answer.

Pure parsing with no access to any state, so no inbound frame can change anything (§9): whatever
arrives ends as a `Subscribe`, a `SnapshotRequest` or a `RequestError`; this never raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from simple_risk_manager.broadcast.protocol import (
    PROTOCOL_VERSION,
    REQUEST_TYPES,
    SUBSCRIBE,
    ErrorCode,
)

#: Longest echo of a client-chosen type name in an error, so errors stay small.
_TYPE_ECHO_CHARS: Final = 64
_IDS_SHAPE: Final = "must be a list of integer account ids, or null for all accounts"


@dataclass(frozen=True, slots=True)
class Subscribe:
    """Replace the subscription; None = every enabled account."""

    account_ids: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A fresh snapshot; `use_subscription` when the request named no accounts (§4.3)."""

    account_ids: tuple[int, ...] | None
    use_subscription: bool


@dataclass(frozen=True, slots=True)
class RequestError:
    code: ErrorCode
    message: str
    request_type: str | None


Request = Subscribe | SnapshotRequest


def parse_request(raw: str | bytes) -> Request | RequestError:
    if isinstance(raw, bytes):
        return RequestError(ErrorCode.BAD_JSON, "binary frames are not accepted: send JSON in a text frame",
                            None)
    try:
        envelope = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return RequestError(ErrorCode.BAD_JSON, f"frame is not valid JSON ({exc.msg})", None)
    if not isinstance(envelope, dict):
        return RequestError(ErrorCode.BAD_REQUEST, "frame must be a JSON object (the §3 envelope)", None)
    message_type = envelope.get("type")
    if not isinstance(message_type, str):
        return RequestError(ErrorCode.BAD_REQUEST, "type: must be a string", None)
    request_type = message_type[:_TYPE_ECHO_CHARS]
    if message_type not in REQUEST_TYPES:
        return RequestError(ErrorCode.UNKNOWN_TYPE,
                            f"unknown message type {request_type!r}: the server accepts only "
                            "subscribe and snapshot_request", request_type)
    version = envelope.get("v", PROTOCOL_VERSION)
    if isinstance(version, bool) or version != PROTOCOL_VERSION:
        return RequestError(ErrorCode.BAD_REQUEST,
                            f"v: protocol version {version!r} is not supported (this server speaks "
                            f"{PROTOCOL_VERSION})", request_type)
    data = envelope.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return RequestError(ErrorCode.BAD_REQUEST, "data: must be an object", request_type)
    if message_type == SUBSCRIBE:
        if "account_ids" not in data:
            return RequestError(ErrorCode.BAD_REQUEST, f"data.account_ids: required; it {_IDS_SHAPE}",
                                request_type)
        ids = _account_ids(data["account_ids"])
        if isinstance(ids, str):
            return RequestError(ErrorCode.BAD_REQUEST, ids, request_type)
        return Subscribe(ids)
    if "account_ids" not in data:
        return SnapshotRequest(None, use_subscription=True)
    ids = _account_ids(data["account_ids"])
    if isinstance(ids, str):
        return RequestError(ErrorCode.BAD_REQUEST, ids, request_type)
    return SnapshotRequest(ids, use_subscription=False)


def _account_ids(value: Any) -> tuple[int, ...] | str | None:
    """The ids in first-seen order without repeats, None for all, or the problem as text."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in value):
        return f"data.account_ids: {_IDS_SHAPE}"
    return tuple(dict.fromkeys(value))
