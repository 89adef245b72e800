"""The client helper against the real server (`broadcast-api.md` §8)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
from websockets.asyncio.server import ServerConnection, serve

from simple_risk_manager.broadcast import BroadcastClient, Disconnected, Message

from .harness import A1, A2, WAIT_S, lockout


async def next_item(stream: AsyncIterator[Message | Disconnected], *skip: str) -> Message | Disconnected:
    """The next item, passing over messages of the `skip` types."""
    async with asyncio.timeout(WAIT_S):
        while True:
            item = await anext(stream)
            if not (isinstance(item, Message) and item.type in skip):
                return item


async def next_message(stream: AsyncIterator[Message | Disconnected], *skip: str) -> Message:
    item = await next_item(stream, *skip)
    assert isinstance(item, Message), item
    return item


class Attempts:
    """A fast reconnect delay that records the attempt numbers asked for."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def __call__(self, attempt: int) -> float:
        self.asked.append(attempt)
        return 0.01


@pytest.fixture
async def closing() -> AsyncIterator[list[BroadcastClient]]:
    clients: list[BroadcastClient] = []
    yield clients
    for client in clients:
        await client.close()


async def test_hello_subscribe_snapshot_then_events(server, clock, closing):
    client = BroadcastClient(f"ws://127.0.0.1:{server.port}/", [A1], clock=clock)
    closing.append(client)
    stream = client.stream()
    hello = await next_item(stream)
    assert isinstance(hello, Message) and hello.type == "hello" and hello.data["run_id"] == server.run_id
    snapshot = await next_item(stream, "daemon_status")
    assert isinstance(snapshot, Message) and snapshot.type == "snapshot"
    assert [a["account_id"] for a in snapshot.data["accounts"]] == [A1]
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    event = await next_item(stream, "daemon_status")
    assert isinstance(event, Message)
    assert (event.type, event.account_id, event.data) == ("lockout_set", A1, lockout(A1).to_dict())
    assert event.seq > snapshot.seq
    assert client.connected and await client.request_snapshot([A2])
    again = await next_item(stream, "daemon_status")
    assert isinstance(again, Message) and [a["account_id"] for a in again.data["accounts"]] == [A2]


async def test_frames_outside_the_subscription_and_junk_are_dropped(clock, closing):
    received: list[dict] = []

    async def handler(connection: ServerConnection) -> None:
        def frame(message_type: str, account_id: int | None) -> str:
            return orjson.dumps({"v": 1, "type": message_type, "seq": 1, "ts": "2025-03-04T15:02:11.480Z",
                                 "account_id": account_id, "data": {}}).decode()

        await connection.send(frame("hello", None))
        received.append(orjson.loads(await connection.recv()))
        for raw in ("not json", "[1]", '{"type": "lockout_set"}', frame("lockout_set", A2),
                    frame("some_future_type", A1), frame("lockout_set", A1)):
            await connection.send(raw)
        await connection.wait_closed()

    async with serve(handler, "127.0.0.1", 0) as fake:
        port = fake.sockets[0].getsockname()[1]
        client = BroadcastClient(f"ws://127.0.0.1:{port}/", [A1], clock=clock)
        closing.append(client)
        stream = client.stream()
        assert (await next_message(stream)).type == "hello"
        kept = [await next_message(stream), await next_message(stream)]
        assert [(m.type, m.account_id) for m in kept] == [("some_future_type", A1), ("lockout_set", A1)]
        await client.close()
    assert received[0]["type"] == "subscribe" and received[0]["data"] == {"account_ids": [A1]}
    assert "seq" not in received[0] and received[0]["v"] == 1


async def test_reconnects_after_a_daemon_restart_and_subscribes_again(make_server, clock, closing):
    first = await make_server()
    port = first.port
    attempts = Attempts()
    client = BroadcastClient(f"ws://127.0.0.1:{port}/", None, clock=clock, delay=attempts)
    closing.append(client)
    stream = client.stream()
    assert (await next_message(stream)).type == "hello"
    assert (await next_message(stream, "daemon_status")).type == "snapshot"
    await first.stop()
    gone = await next_item(stream, "daemon_status")
    assert isinstance(gone, Disconnected) and "1001" in gone.reason and gone.retry_in_s == 0.01
    refused = await next_item(stream)
    assert isinstance(refused, Disconnected) and "cannot connect" in refused.reason
    second = await make_server(port=port)
    item = await next_item(stream)
    while isinstance(item, Disconnected):
        item = await next_item(stream)
    assert item.type == "hello" and item.data["run_id"] == second.run_id != first.run_id
    assert (await next_message(stream, "daemon_status")).type == "snapshot"
    assert attempts.asked == list(range(len(attempts.asked))), "the delay grows while the daemon is down"
    assert client.connected and await client.request_snapshot()
    assert (await next_message(stream, "daemon_status")).type == "snapshot"


async def test_a_connection_that_lasted_30_s_restarts_the_ladder(make_server, clock, closing):
    server = await make_server()
    port = server.port
    attempts = Attempts()
    client = BroadcastClient(f"ws://127.0.0.1:{port}/", [A1], clock=clock, delay=attempts)
    closing.append(client)
    stream = client.stream()
    await next_item(stream)
    await server.stop()
    assert isinstance(await next_item(stream, "daemon_status"), Disconnected)
    server = await make_server(port=port)
    item = await next_item(stream)
    while isinstance(item, Disconnected):
        item = await next_item(stream)
    before = len(attempts.asked)
    assert before >= 1
    clock.advance(30.0)
    await server.stop()
    assert isinstance(await next_item(stream, "daemon_status", "snapshot"), Disconnected)
    assert attempts.asked[before:] == [0]


async def test_close_ends_the_stream_and_snapshot_requests_report_disconnection(server, clock):
    client = BroadcastClient(f"ws://127.0.0.1:{server.port}/", [A1], clock=clock)
    stream = client.stream()
    await next_item(stream)
    await client.close()
    with pytest.raises(StopAsyncIteration):
        await next_item(stream, "daemon_status", "snapshot")
    assert not client.connected
    assert not await client.request_snapshot()
