"""A real broadcast server on 127.0.0.1, port 0, with an in-memory daemon behind it; real clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from websockets.asyncio.client import connect

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.config.daemon_settings import BroadcastSettings

from .harness import NOW, Peer, StaticDaemon

Connect = Callable[..., Awaitable[Peer]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def daemon() -> StaticDaemon:
    return StaticDaemon()


@pytest.fixture
async def make_server(daemon, clock) -> AsyncIterator[Callable[..., Awaitable[BroadcastServer]]]:
    started: list[BroadcastServer] = []

    async def build(port: int = 0, bind_retry_s: float = 30.0, **settings: Any) -> BroadcastServer:
        server = BroadcastServer(BroadcastSettings(**settings), daemon, clock, port=port,
                                 bind_retry_s=bind_retry_s)
        started.append(server)
        await server.start()
        return server

    yield build
    for server in started:
        await server.stop()


@pytest.fixture
async def server(make_server) -> BroadcastServer:
    return await make_server()


@pytest.fixture
async def make_peer() -> AsyncIterator[Callable[..., Awaitable[Peer]]]:
    """`await make_peer(server)` → a connected peer (closed at the end); extra args go to `connect`."""
    peers: list[Peer] = []

    async def open_peer(target: BroadcastServer, **options: Any) -> Peer:
        assert target.port is not None, "server is not listening"
        peer = Peer(await connect(f"ws://127.0.0.1:{target.port}/", compression=None, **options))
        peers.append(peer)
        return peer

    yield open_peer
    for peer in peers:
        await peer.connection.close()


@pytest.fixture
async def peer(server, make_peer) -> Peer:
    """A connected peer past its `hello` and the `daemon_status` that follows it."""
    connected = await make_peer(server)
    await connected.expect("hello")
    await connected.expect("daemon_status")
    return connected
