"""The SignalR JSON hub client against a scripted peer on a loopback socket (gateway-api.md §4.1–4.2)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve

from simple_risk_manager.gateway.base import HubInvocationFailed
from simple_risk_manager.gateway.signalr import HubConnection, RecordBuffer, hub_socket_url

RS = "\x1e"


@pytest.mark.parametrize(
    ("url", "token", "expected"),
    [
        ("https://rtc.topstepx.com/hubs/user", "abc", "wss://rtc.topstepx.com/hubs/user?access_token=abc"),
        ("http://127.0.0.1:8700/hubs/market", "abc", "ws://127.0.0.1:8700/hubs/market?access_token=abc"),
        ("http://h/hubs/user?x=1&access_token=old", "new", "ws://h/hubs/user?x=1&access_token=new"),
        ("http://h/hubs/user", "a+b/c=", "ws://h/hubs/user?access_token=a%2Bb%2Fc%3D"),
    ],
)
def test_hub_socket_url(url, token, expected):
    assert hub_socket_url(url, token) == expected


@pytest.mark.parametrize("url", ["ftp://h/hubs/user", "not a url", "http:///nohost"])
def test_hub_socket_url_rejects_other_schemes(url):
    with pytest.raises(ValueError, match="hub url"):
        hub_socket_url(url, "t")


def test_record_buffer_keeps_partial_records_and_splits_several():
    buffer = RecordBuffer()
    assert buffer.feed('{"type":6}' + RS + '{"type":1,"tar') == ['{"type":6}']
    assert buffer.feed('get":"A"}' + RS + '{"type":6}' + RS) == ['{"type":1,"target":"A"}', '{"type":6}']
    assert buffer.feed(b'{"type":3}' + RS.encode()) == ['{"type":3}']
    assert buffer.feed("") == []


class Peer:
    """A scripted hub server: records what the client sends and replays canned frames."""

    def __init__(self, script) -> None:
        self.script = script
        self.paths: list[str] = []
        self.received: list[dict] = []
        self.connections = 0

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.paths.append(ws.request.path)
        buffer = RecordBuffer()
        records: list[str] = []
        while not records:
            records = buffer.feed(await ws.recv())
        assert json.loads(records[0]) == {"protocol": "json", "version": 1}
        await self.script(self, ws, buffer)

    async def read(self, ws: ServerConnection, buffer: RecordBuffer) -> dict:
        while True:
            for record in buffer.feed(await ws.recv()):
                message = json.loads(record)
                self.received.append(message)
                if message.get("type") != 6:
                    return message


@pytest.fixture
async def run_peer():
    servers = []

    async def start(script):
        peer = Peer(script)
        server = await serve(peer.handler, "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return peer, f"http://127.0.0.1:{port}/hubs/user"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


def client(url, *, on_connected=None, ping=10.0, received=None, tokens=("t1", "t2", "t3", "t4")):
    token_iter = iter(tokens)
    received = received if received is not None else []

    async def token() -> str:
        return next(token_iter)

    async def connected(reconnect: bool, reason: str | None) -> None:
        if on_connected is not None:
            await on_connected(reconnect, reason)

    async def unauthorized(_: str) -> None:
        return None

    return HubConnection("test", url, token, on_invocation=lambda t, a: received.append((t, a)),
                         on_connected=connected,
                         on_disconnected=lambda reason: received.append(("lost", reason)),
                         on_unauthorized=unauthorized, backoff_cap_s=0.05, ping_interval_s=ping,
                         server_timeout_s=5.0, invoke_timeout_s=5.0)


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def until(condition, within: float = 10.0) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


async def test_records_split_across_frames_and_after_the_handshake_reply(run_peer):
    async def script(peer, ws, buffer):
        await ws.send("{}" + RS + '{"type":1,"target":"GatewayQuote","argu')  # reply + half a record
        await ws.send('ments":["C",{"lastPrice":1}]}' + RS + '{"type":1,"target":"B","arguments":[]}' + RS)
        await ws.wait_closed()

    peer, url = await run_peer(script)
    received: list = []
    hub = client(url, received=received)
    task = asyncio.create_task(hub.run())
    try:
        await until(lambda: len(received) == 2)
        assert received == [("GatewayQuote", ["C", {"lastPrice": 1}]), ("B", [])]
        assert parse_qs(urlsplit(peer.paths[0]).query) == {"access_token": ["t1"]}
    finally:
        await stop(task)


async def test_refused_handshake_is_retried_with_a_fresh_token(run_peer):
    async def script(peer, ws, buffer):
        if peer.connections == 1:
            await ws.send('{"error":"The protocol is not supported."}' + RS)
            await ws.close()
            return
        await ws.send("{}" + RS)
        await ws.wait_closed()

    peer, url = await run_peer(script)
    announced: list = []

    async def on_connected(reconnect, reason):
        announced.append(reconnect)

    hub = client(url, on_connected=on_connected)
    task = asyncio.create_task(hub.run())
    try:
        await until(lambda: announced == [False])
        tokens = [parse_qs(urlsplit(p).query)["access_token"][0] for p in peer.paths]
        assert tokens == ["t1", "t2"]
    finally:
        await stop(task)


async def test_invocations_completions_pings_and_fire_and_forget(run_peer):
    async def script(peer, ws, buffer):
        await ws.send("{}" + RS)
        while True:
            message = await peer.read(ws, buffer)
            if "invocationId" not in message:
                continue
            reply = {"type": 3, "invocationId": message["invocationId"]}
            if message["target"] == "Fails":
                reply["error"] = "Unknown hub method 'Fails'"
            else:
                reply["result"] = message["arguments"]
            await ws.send(json.dumps(reply) + RS)

    peer, url = await run_peer(script)
    results: dict = {}

    async def on_connected(reconnect, reason):
        results["echo"] = await hub.invoke("Echo", 7001, "x")
        with pytest.raises(HubInvocationFailed) as caught:
            await hub.invoke("Fails")
        results["error"] = caught.value
        await hub.send("NoReply", 1)

    hub = client(url, on_connected=on_connected, ping=0.05)
    task = asyncio.create_task(hub.run())
    try:
        await until(lambda: hub.connected)
        await until(lambda: any(m.get("type") == 6 for m in peer.received))
        await until(lambda: any(m.get("target") == "NoReply" for m in peer.received))
        assert results["echo"] == [7001, "x"]
        assert results["error"].endpoint == "Fails" and "Unknown hub method" in results["error"].error
        fire = next(m for m in peer.received if m.get("target") == "NoReply")
        assert fire == {"type": 1, "target": "NoReply", "arguments": [1]}
        ids = [m["invocationId"] for m in peer.received if "invocationId" in m]
        assert len(ids) == len(set(ids)) == 2
    finally:
        await stop(task)


async def test_close_message_ends_the_connection_and_the_client_comes_back(run_peer):
    async def script(peer, ws, buffer):
        await ws.send("{}" + RS)
        if peer.connections == 1:
            await ws.send('{"type":7,"error":"restart","allowReconnect":true}' + RS)
            await ws.wait_closed()  # the client closes on the Close message
            return
        await ws.wait_closed()

    _, url = await run_peer(script)
    received: list = []
    announced: list = []

    async def on_connected(reconnect, reason):
        announced.append((reconnect, reason))

    hub = client(url, on_connected=on_connected, received=received)
    task = asyncio.create_task(hub.run())
    try:
        await until(lambda: len(announced) == 2)
        assert announced == [(False, None), (True, "server sent Close: restart")]
        assert ("lost", "server sent Close: restart") in received
    finally:
        await stop(task)
