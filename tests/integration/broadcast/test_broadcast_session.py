"""Connection lifecycle, snapshots, routing and sequencing (`broadcast-api.md` §2–§6)."""

from __future__ import annotations

import re

import pytest

from simple_risk_manager import __version__
from simple_risk_manager.domain.times import format_utc

from .harness import A1, A2, A3, MARKER, MES, lockout, position, quote, trade

EVENTS_FOR = {
    "GatewayUserTrade": lambda a: {**trade(a).to_dict(), "daily_realized_pnl": -154.29, "daily_fees": 15.54,
                                   "trade_count": 7, "trade_counts": {"minute": 1, "hour": 4, "session": 7}},
    "GatewayUserPosition": lambda a: {**position(a).to_dict(), "has_stop": True, "no_stop_deadline": None},
    "GatewayUserOrder": lambda a: {"order_id": 771203, "contract_id": MES, "status": "CANCELLED"},
    "lockout_set": lambda a: lockout(a).to_dict(),
    "lockout_cleared": lambda a: {"lockout_id": 78, "rule_id": "RULE-007", "cleared_by": "TIMER_EXPIRY",
                                  "cleared_at": "2025-03-04T16:45:12.001Z", "still_locked": False},
    "enforcement_action": lambda a: {"action": "CLOSE_ALL_AND_LOCKOUT", "rule_id": "RULE-003",
                                     "success": True, "outcome": "SUCCESS"},
    "daily_reset": lambda a: {"trading_date": "2025-03-05", "lockouts_cleared": True},
}


async def test_hello_comes_first_with_the_spec_fields(server, make_peer, clock, daemon):
    peer = await make_peer(server)
    hello = await peer.next()
    assert hello == {
        "v": 1, "type": "hello", "seq": server.last_seq - 1, "ts": format_utc(clock.now()),
        "account_id": None,
        "data": {"protocol": 1, "daemon_version": __version__, "run_id": server.run_id,
                 "started_at": "2025-03-04T13:30:02.114Z",
                 "accounts": [{"account_id": A1, "nickname": "Eval 50K"},
                              {"account_id": A2, "nickname": None},
                              {"account_id": A3, "nickname": "Funded"}],
                 "quote_max_hz": 4}}
    assert re.fullmatch(r"[0-9a-f]{8}", server.run_id)
    status = await peer.expect("daemon_status")
    assert status["data"] == {**daemon.status.to_dict(), "clients": 1}
    assert status["seq"] == hello["seq"] + 1


async def test_a_new_server_run_has_a_new_run_id(server, make_server):
    other = await make_server()
    assert other.run_id != server.run_id


async def test_before_subscribe_only_daemon_status_arrives(server, peer):
    server.publish("GatewayUserTrade", A1, EVENTS_FOR["GatewayUserTrade"](A1))
    server.publish("daemon_status", None, MARKER)
    assert await peer.until_marker() == []


async def test_subscribe_is_answered_by_a_snapshot(server, peer, daemon):
    server.publish("GatewayUserTrade", A1, EVENTS_FOR["GatewayUserTrade"](A1))
    snapshot = await peer.subscribe([A1])
    assert snapshot["seq"] == server.last_seq
    assert snapshot["account_id"] is None
    assert snapshot["data"] == {"daemon": {**daemon.status.to_dict(), "clients": 1},
                                "accounts": [daemon.snapshot(A1).to_dict()]}


async def test_subscribe_null_covers_every_enabled_account(server, peer):
    snapshot = await peer.subscribe(None)
    assert [a["account_id"] for a in snapshot["data"]["accounts"]] == [A1, A2, A3]
    for account in (A3, A2):
        server.publish("lockout_set", account, lockout(account).to_dict())
        assert (await peer.expect("lockout_set"))["account_id"] == account


async def test_unknown_accounts_are_reported_and_left_out(server, peer):
    await peer.request("subscribe", {"account_ids": [A1, 9999, 4499]})
    error = await peer.expect("error")
    assert error["data"] == {"code": "unknown_account", "request_type": "subscribe",
                             "message": "accounts 9999, 4499 are not configured (or not enabled)"}
    snapshot = await peer.expect("snapshot")
    assert [a["account_id"] for a in snapshot["data"]["accounts"]] == [A1]
    server.publish("daily_reset", A1, EVENTS_FOR["daily_reset"](A1))
    assert (await peer.expect("daily_reset"))["account_id"] == A1


async def test_subscribe_replaces_the_previous_subscription(server, peer):
    await peer.subscribe([A1])
    await peer.subscribe([A2])
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    server.publish("lockout_set", A2, lockout(A2).to_dict())
    assert (await peer.expect("lockout_set"))["account_id"] == A2


async def test_snapshot_request_defaults_to_the_subscription_and_changes_nothing(server, peer):
    await peer.subscribe([A2])
    await peer.request("snapshot_request")
    assert [a["account_id"] for a in (await peer.expect("snapshot"))["data"]["accounts"]] == [A2]
    await peer.request("snapshot_request", {"account_ids": [A3, A1]})
    assert [a["account_id"] for a in (await peer.expect("snapshot"))["data"]["accounts"]] == [A3, A1]
    await peer.request("snapshot_request", {"account_ids": None})
    assert [a["account_id"] for a in (await peer.expect("snapshot"))["data"]["accounts"]] == [A1, A2, A3]
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    server.publish("lockout_set", A2, lockout(A2).to_dict())
    assert (await peer.expect("lockout_set"))["account_id"] == A2, "a snapshot_request never subscribes"


async def test_snapshot_request_before_subscribe_covers_no_account(server, peer, daemon):
    await peer.request("snapshot_request")
    snapshot = await peer.expect("snapshot")
    assert snapshot["data"] == {"daemon": {**daemon.status.to_dict(), "clients": 1}, "accounts": []}


@pytest.mark.parametrize("message_type", sorted(EVENTS_FOR))
async def test_each_account_event_reaches_only_the_clients_of_its_account(
        message_type, server, make_peer):
    first, second = await make_peer(server), await make_peer(server)
    await first.subscribe([A1])
    await second.subscribe([A2, A3])
    for account in (A1, A2, A3):
        server.publish(message_type, account, EVENTS_FOR[message_type](account))
    server.publish("daemon_status", None, MARKER)
    assert [(m["type"], m["account_id"], m["data"]) for m in await first.until_marker()] == [
        (message_type, A1, EVENTS_FOR[message_type](A1))]
    assert [(m["type"], m["account_id"]) for m in await second.until_marker()] == [
        (message_type, A2), (message_type, A3)]


async def test_seq_grows_and_control_frames_carry_the_latest(server, peer):
    snapshot = await peer.subscribe([A1])
    for n in range(5):
        server.publish("GatewayUserTrade", A1, EVENTS_FOR["GatewayUserTrade"](A1) | {"trade_id": n})
        server.publish("GatewayUserTrade", A2, EVENTS_FOR["GatewayUserTrade"](A2))
    seqs = [(await peer.expect("GatewayUserTrade"))["seq"] for _ in range(5)]
    assert seqs == sorted(set(seqs)) and seqs[0] > snapshot["seq"]
    assert seqs == list(range(seqs[0], seqs[0] + 10, 2)), "A2's events take numbers too (not contiguous)"
    await peer.send("not json")
    error = await peer.expect("error")
    assert error["seq"] == server.last_seq == seqs[-1] + 1


async def test_a_snapshot_reflects_the_last_seq_and_the_stream_continues_after_it(server, peer):
    server.publish("GatewayUserPosition", A1, EVENTS_FOR["GatewayUserPosition"](A1))
    snapshot = await peer.subscribe([A1])
    assert snapshot["seq"] == server.last_seq
    server.publish("GatewayUserPosition", A1, EVENTS_FOR["GatewayUserPosition"](A1))
    assert (await peer.expect("GatewayUserPosition"))["seq"] == snapshot["seq"] + 1


async def test_daemon_status_counts_clients_as_they_come_and_go(server, peer, make_peer):
    other = await make_peer(server)
    assert (await peer.expect("daemon_status"))["data"]["clients"] == 2
    await other.connection.close()
    assert (await peer.expect("daemon_status"))["data"]["clients"] == 1
    assert server.client_count == 1


async def test_heartbeat_repeats_daemon_status(make_server, make_peer, daemon):
    server = await make_server(heartbeat_seconds=1)
    peer = await make_peer(server)
    await peer.expect("hello")
    first = await peer.expect("daemon_status")
    beat = await peer.expect("daemon_status", within=3.0)
    assert beat["seq"] > first["seq"]
    assert beat["data"] == {**daemon.status.to_dict(), "clients": 1}


@pytest.mark.parametrize(("message_type", "account_id", "data"), [
    pytest.param("GatewayUserAccount", A1, {"can_trade": True}, id="not-one-of-the-nine"),
    pytest.param("lockout_set", None, {"lockout_id": 1}, id="account-event-without-account"),
    pytest.param("MarketQuote", A1, quote(MES, "1").to_dict(), id="quote-with-an-account"),
    pytest.param("MarketQuote", None, {"bid": 1}, id="quote-without-contract"),
    pytest.param("lockout_set", A1, {"when": object()}, id="data-with-no-json-form"),
])
async def test_bad_publications_are_dropped_without_raising(message_type, account_id, data, server, peer,
                                                            daemon, caplog):
    await peer.subscribe([A1])
    daemon.holdings[MES] = {A1}
    server.publish(message_type, account_id, data)
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    assert (await peer.next())["type"] == "lockout_set"
    assert any(r.levelname == "ERROR" and "not sent" in r.getMessage() for r in caplog.records)

