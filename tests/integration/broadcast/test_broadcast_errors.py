"""Bad input: `error` replies that change nothing, rate limits, and disconnects (`broadcast-api.md` §1,
§2, §4.5, §9)."""

from __future__ import annotations

import pytest

from .harness import A1, A2, MARKER, lockout

BAD_INPUTS = [
    pytest.param("{not json", "bad_json", None, id="not-json"),
    pytest.param(b'{"v":1,"type":"subscribe","data":{"account_ids":[4412]}}', "bad_json", None,
                 id="binary-frame"),
    pytest.param("[1, 2]", "bad_request", None, id="not-an-object"),
    pytest.param('{"v":1,"data":{}}', "bad_request", None, id="no-type"),
    pytest.param('{"v":1,"type":7}', "bad_request", None, id="type-not-a-string"),
    pytest.param('{"v":1,"type":"hello","data":{}}', "unknown_type", "hello", id="server-only-type"),
    pytest.param('{"v":1,"type":"clear_lockout","data":{"account_id":4411}}', "unknown_type", "clear_lockout",
                 id="write-attempt"),
    pytest.param('{"v":2,"type":"subscribe","data":{"account_ids":[4412]}}', "bad_request", "subscribe",
                 id="other-protocol-version"),
    pytest.param('{"v":1,"type":"subscribe","data":[4412]}', "bad_request", "subscribe",
                 id="data-not-object"),
    pytest.param('{"v":1,"type":"subscribe","data":{}}', "bad_request", "subscribe",
                 id="account-ids-missing"),
    pytest.param('{"v":1,"type":"subscribe","data":{"account_ids":"4412"}}', "bad_request", "subscribe",
                 id="account-ids-not-a-list"),
    pytest.param('{"v":1,"type":"subscribe","data":{"account_ids":[true]}}', "bad_request", "subscribe",
                 id="account-id-bool"),
    pytest.param('{"v":1,"type":"snapshot_request","data":{"account_ids":[4411.5]}}', "bad_request",
                 "snapshot_request", id="account-id-float"),
    pytest.param('{"v":1,"type":"snapshot_request","data":{"account_ids":[9999]}}', "unknown_account",
                 "snapshot_request", id="snapshot-of-unknown-account"),
]


@pytest.mark.parametrize(("frame", "code", "request_type"), BAD_INPUTS)
async def test_each_bad_input_gets_its_error_and_changes_nothing(frame, code, request_type, server, peer):
    await peer.subscribe([A1])
    await peer.send(frame)
    error = await peer.skip_to("error")
    assert error["account_id"] is None and error["seq"] == server.last_seq
    assert (error["data"]["code"], error["data"]["request_type"]) == (code, request_type)
    assert error["data"]["message"]
    for account in (A1, A2):
        server.publish("lockout_set", account, lockout(account).to_dict())
    server.publish("daemon_status", None, MARKER)
    received = await peer.until_marker()
    if code == "unknown_account":  # a snapshot_request is still answered, for the known ids (none here)
        assert received[0]["type"] == "snapshot" and received[0]["data"]["accounts"] == []
        received = received[1:]
    assert [(m["type"], m["account_id"]) for m in received] == [("lockout_set", A1)], "subscription unchanged"
    assert server.client_count == 1


async def test_a_frame_over_4_kib_closes_with_1009(server, peer):
    await peer.send('{"v":1,"type":"subscribe","data":{"account_ids":[' + "1," * 2500 + "1]}}")
    assert await peer.closed_with() == 1009


async def test_more_than_five_messages_a_second_are_refused(server, peer, clock):
    for _ in range(5):
        await peer.request("snapshot_request")
    for _ in range(2):
        await peer.request("snapshot_request")
    replies = [(await peer.skip_to("snapshot", "error")) for _ in range(7)]
    assert [m["type"] for m in replies] == ["snapshot"] * 5 + ["error"] * 2
    assert replies[-1]["data"] == {"code": "rate_limited", "request_type": None,
                                   "message": "more than 5 messages per second; this one was ignored"}
    clock.advance(1.0)
    await peer.request("snapshot_request")
    assert (await peer.skip_to("snapshot"))["type"] == "snapshot"


async def test_a_client_sending_garbage_is_closed_with_4001_while_others_keep_receiving(
        server, make_peer, clock):
    flooder, bystander = await make_peer(server), await make_peer(server)
    await bystander.subscribe([A1])
    for n in range(11):
        await flooder.send(f"garbage {n}")
        assert (await flooder.skip_to("error"))["data"]["code"] == "bad_json"
        clock.advance(0.5)  # under the rate limit, well within 60 s
    assert await flooder.closed_with() == 4001, "the eleventh error within 60 s closes the connection"
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    assert (await bystander.skip_to("lockout_set"))["account_id"] == A1
    assert server.client_count == 1


async def test_errors_older_than_a_minute_are_forgiven(server, peer, clock):
    for round_ in range(2):
        for _ in range(10):
            await peer.send("garbage")
            assert (await peer.skip_to("error"))["data"]["code"] == "bad_json"
            clock.advance(1.0)
        if round_ == 0:
            clock.advance(60.0)
    await peer.request("snapshot_request")
    assert (await peer.skip_to("snapshot"))["type"] == "snapshot", "20 errors, never 11 within 60 s"


async def test_a_flood_is_rate_limited_then_closed(server, peer):
    await peer.send_until_closed(['{"v":1,"type":"snapshot_request","data":{}}'] * 40)
    assert await peer.closed_with() == 4001
    codes = [frame for frame in peer.raw if '"code":"rate_limited"' in frame]
    assert len(codes) == 11


async def test_a_failing_snapshot_closes_only_that_connection_with_1011(server, make_peer, daemon):
    victim, bystander = await make_peer(server), await make_peer(server)
    await bystander.subscribe([A1])
    daemon.fail_snapshots = True
    await victim.request("subscribe", {"account_ids": [A2]})
    assert await victim.closed_with() == 1011
    daemon.fail_snapshots = False
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    assert (await bystander.skip_to("lockout_set"))["account_id"] == A1
