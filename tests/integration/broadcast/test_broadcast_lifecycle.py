"""Start, bind retries and shutdown (`daemon.md` §2 step 8, §3.1 step 6; `broadcast-api.md` §2)."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.config.daemon_settings import BroadcastSettings

from .harness import A1, WAIT_S, lockout


async def test_stop_delivers_what_is_queued_then_closes_with_1001(make_server, make_peer):
    server = await make_server()
    peer = await make_peer(server)
    await peer.subscribe([A1])
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    await server.stop()
    assert await peer.closed_with() == 1001
    assert '"type":"lockout_set"' in peer.raw[-1]
    assert server.port is None and server.client_count == 0


async def test_stop_drops_a_client_that_does_not_read_after_the_grace(make_server, make_peer):
    server = await make_server()
    stalled = await make_peer(server, max_queue=1)
    await stalled.request("subscribe", {"account_ids": [A1]})
    for n in range(900):  # fills the socket buffers, stays under the 1000-frame queue limit
        server.publish("lockout_set", A1, {"n": n, "pad": "x" * 16_000})
        if n % 100 == 0:
            await asyncio.sleep(0)
    async with asyncio.timeout(WAIT_S):
        await server.stop()
    assert server.client_count == 0
    assert await stalled.closed_with() in (1001, 1006), "closed (the handshake could not complete)"


async def test_a_busy_port_is_retried_without_failing_start(daemon, clock, make_peer, caplog):
    blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    server = BroadcastServer(BroadcastSettings(), daemon, clock, port=port, bind_retry_s=0.05)
    try:
        await server.start()
        assert server.port is None
        server.publish("lockout_set", A1, lockout(A1).to_dict())  # publishing without a socket is fine
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert errors and f"cannot listen on 127.0.0.1:{port}" in errors[0]
        blocker.close()
        async with asyncio.timeout(WAIT_S):
            while server.port is None:  # noqa: ASYNC110 - nothing signals a successful retry
                await asyncio.sleep(0.01)
        assert server.port == port
        peer = await make_peer(server)
        assert (await peer.next())["type"] == "hello"
    finally:
        blocker.close()
        await server.stop()


async def test_the_listening_port_is_discoverable_and_start_runs_once(server):
    assert isinstance(server.port, int) and server.port > 0
    with socket.create_connection(("127.0.0.1", server.port), timeout=WAIT_S):
        pass
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()
