"""Origin check, client cap and secrets (`broadcast-api.md` §1, §9)."""

from __future__ import annotations

import logging

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .harness import A1, A2, CONFIGS, SECRET, StaticDaemon, lockout


async def refused_status(port: int, **options) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"ws://127.0.0.1:{port}/", **options):
            pass
    return refused.value.response.status_code


@pytest.mark.parametrize("origin", [
    "http://evil.example", "https://127.0.0.1:{port}", "http://127.0.0.1:1", "http://localhost",
    "null", "http://127.0.0.1:{port}.evil.example",
])
async def test_a_foreign_origin_is_refused_with_403(origin, server, caplog):
    assert await refused_status(server.port, origin=origin.format(port=server.port)) == 403
    assert server.client_count == 0
    assert any("403" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_two_origin_headers_are_refused(server):
    allowed = f"http://127.0.0.1:{server.port}"
    headers = [("Origin", allowed), ("Origin", allowed)]
    assert await refused_status(server.port, additional_headers=headers) == 403


@pytest.mark.parametrize("origin", [None, "http://127.0.0.1:{port}", "http://localhost:{port}"])
async def test_no_origin_or_the_loopback_origin_is_accepted(origin, server, make_peer):
    options = {} if origin is None else {"origin": origin.format(port=server.port)}
    peer = await make_peer(server, **options)
    assert (await peer.next())["type"] == "hello"


async def test_handshakes_beyond_max_clients_get_503_until_a_slot_frees(make_server, make_peer):
    server = await make_server(max_clients=2)
    first, second = await make_peer(server), await make_peer(server)
    await first.expect("hello")
    await second.expect("hello")
    assert await refused_status(server.port) == 503
    await first.connection.close()
    third = await make_peer(server)
    assert (await third.next())["type"] == "hello"
    assert await refused_status(server.port) == 503


async def test_refused_handshakes_do_not_take_a_slot(make_server, make_peer):
    server = await make_server(max_clients=1)
    for _ in range(3):
        assert await refused_status(server.port, origin="http://evil.example") == 403
    peer = await make_peer(server)
    assert (await peer.next())["type"] == "hello"


async def test_secrets_never_reach_the_wire_or_the_log(server, peer, daemon: StaticDaemon, caplog):
    caplog.set_level(logging.DEBUG)
    assert all(c.api_key == SECRET for c in CONFIGS), "the accounts behind the snapshots carry a key"
    snapshot = await peer.subscribe(None)
    assert len(snapshot["data"]["accounts"]) == 3
    server.publish("lockout_set", A1, {"account": daemon.configs[A1]})  # an object, not a payload: refused
    server.publish("lockout_set", A2, lockout(A2).to_dict())
    assert (await peer.skip_to("lockout_set"))["account_id"] == A2
    wire = "".join(peer.raw)
    assert '"nickname":"Eval 50K"' in wire
    for secret in (SECRET, "trader@example.com"):
        assert secret not in wire
        assert secret not in caplog.text
