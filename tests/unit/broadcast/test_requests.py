"""Inbound parsing (`broadcast-api.md` §4.2, §4.3, §4.5, §9): every frame ends as a request or an error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.broadcast.protocol import ErrorCode
from simple_risk_manager.broadcast.requests import RequestError, SnapshotRequest, Subscribe, parse_request

SPEC_SUBSCRIBE = """{"v":1,"type":"subscribe","ts":"2025-03-04T15:02:11.502Z","account_id":null,
                     "data":{"account_ids":[4411]}}"""
SPEC_SNAPSHOT_REQUEST = """{"v":1,"type":"snapshot_request","ts":"2025-03-04T15:20:40.010Z","account_id":null,
                            "data":{}}"""


@pytest.mark.parametrize(("frame", "expected"), [
    pytest.param(SPEC_SUBSCRIBE, Subscribe((4411,)), id="spec-4.2-example"),
    pytest.param(SPEC_SNAPSHOT_REQUEST, SnapshotRequest(None, use_subscription=True), id="spec-4.3-example"),
    pytest.param('{"type":"subscribe","data":{"account_ids":null}}', Subscribe(None), id="null-is-all"),
    pytest.param('{"type":"subscribe","data":{"account_ids":[4412,4411,4412]}}', Subscribe((4412, 4411)),
                 id="repeats-dropped-order-kept"),
    pytest.param('{"type":"subscribe","data":{"account_ids":[]}}', Subscribe(()), id="empty-list"),
    pytest.param('{"type":"snapshot_request"}', SnapshotRequest(None, use_subscription=True), id="no-data"),
    pytest.param('{"type":"snapshot_request","data":null}', SnapshotRequest(None, use_subscription=True),
                 id="null-data"),
    pytest.param('{"v":1,"type":"snapshot_request","data":{"account_ids":null}}',
                 SnapshotRequest(None, use_subscription=False), id="snapshot-of-all"),
    pytest.param('{"v":1,"type":"snapshot_request","data":{"account_ids":[4413]},"extra":true}',
                 SnapshotRequest((4413,), use_subscription=False), id="unknown-fields-ignored"),
])
def test_valid_requests(frame, expected):
    assert parse_request(frame) == expected


@pytest.mark.parametrize(("frame", "code", "message"), [
    ("{", ErrorCode.BAD_JSON, "frame is not valid JSON"),
    (b"{}", ErrorCode.BAD_JSON, "binary frames are not accepted: send JSON in a text frame"),
    ('"subscribe"', ErrorCode.BAD_REQUEST, "frame must be a JSON object (the §3 envelope)"),
    ('{"type":"subscribe","v":true,"data":{"account_ids":null}}', ErrorCode.BAD_REQUEST,
     "v: protocol version True is not supported (this server speaks 1)"),
    ('{"type":"subscribe","data":{"account_ids":[1,"2"]}}', ErrorCode.BAD_REQUEST,
     "data.account_ids: must be a list of integer account ids, or null for all accounts"),
    ('{"type":"subscribe","data":{}}', ErrorCode.BAD_REQUEST,
     "data.account_ids: required; it must be a list of integer account ids, or null for all accounts"),
    ('{"type":"' + "x" * 300 + '"}', ErrorCode.UNKNOWN_TYPE,
     f"unknown message type {'x' * 64!r}: the server accepts only subscribe and snapshot_request"),
])
def test_errors_name_the_problem(frame, code, message):
    error = parse_request(frame)
    assert isinstance(error, RequestError)
    assert error.code is code
    assert error.message.startswith(message)
    assert error.request_type is None or len(error.request_type) <= 64


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20)


@given(st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    json_values.map(json.dumps),  # big integers, Infinity and deep nesting included
    st.fixed_dictionaries({"type": st.sampled_from(["subscribe", "snapshot_request"])},
                          optional={"v": json_values, "data": json_values}).map(
        json.dumps),
))
def test_any_frame_parses_to_a_request_or_an_error_without_raising(frame):
    assert isinstance(parse_request(frame), Subscribe | SnapshotRequest | RequestError)
