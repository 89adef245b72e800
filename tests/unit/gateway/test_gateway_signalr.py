"""The SignalR JSON hub client against a scripted peer on a loopback socket (gateway-api.md §4.1–4.2)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Close, CloseCode, Opcode

from simple_risk_manager.gateway import signalr
from simple_risk_manager.gateway.base import GatewayUnavailable, HubInvocationFailed
from simple_risk_manager.gateway.hub_transport import WebSocketClient
from simple_risk_manager.gateway.signalr import MAX_MESSAGE_BYTES, HubConnection, RecordBuffer, hub_socket_url

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


def client(url, *, on_connected=None, ping=10.0, received=None, tokens=("t1", "t2", "t3", "t4"),
           unauthorized=None, on_invocation=None, **options):
    """A HubConnection with short delays; `received` collects events and ("lost", reason) pairs."""
    token_iter = iter(tokens)
    received = received if received is not None else []

    async def token() -> str:
        return next(token_iter)

    async def connected(reconnect: bool, reason: str | None) -> None:
        if on_connected is not None:
            await on_connected(reconnect, reason)

    async def on_unauthorized(stale: str) -> None:
        if unauthorized is not None:
            unauthorized.append(stale)

    settings = dict(backoff_cap_s=0.05, ping_interval_s=ping, server_timeout_s=5.0, invoke_timeout_s=5.0)
    return HubConnection("test", url, token,
                         on_invocation=on_invocation or (lambda t, a: received.append((t, a))),
                         on_connected=connected,
                         on_disconnected=lambda reason: received.append(("lost", reason)),
                         on_unauthorized=on_unauthorized, **(settings | options))


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_records_split_across_frames_and_after_the_handshake_reply(run_peer, wait_until):
    async def script(peer, ws, buffer):
        await ws.send("{}" + RS + '{"type":1,"target":"GatewayQuote","argu')  # reply + half a record
        await ws.send('ments":["C",{"lastPrice":1}]}' + RS + '{"type":1,"target":"B","arguments":[]}' + RS)
        await ws.wait_closed()

    peer, url = await run_peer(script)
    received: list = []
    hub = client(url, received=received)
    task = asyncio.create_task(hub.run())
    try:
        await wait_until(lambda: len(received) == 2)
        assert received == [("GatewayQuote", ["C", {"lastPrice": 1}]), ("B", [])]
        assert parse_qs(urlsplit(peer.paths[0]).query) == {"access_token": ["t1"]}
    finally:
        await stop(task)


async def test_refused_handshake_is_retried_with_a_fresh_token(run_peer, wait_until):
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
        await wait_until(lambda: announced == [False])
        tokens = [parse_qs(urlsplit(p).query)["access_token"][0] for p in peer.paths]
        assert tokens == ["t1", "t2"]
    finally:
        await stop(task)


async def test_invocations_completions_pings_and_fire_and_forget(run_peer, wait_until):
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
        await wait_until(lambda: hub.connected)
        await wait_until(lambda: any(m.get("type") == 6 for m in peer.received))
        await wait_until(lambda: any(m.get("target") == "NoReply" for m in peer.received))
        assert results["echo"] == [7001, "x"]
        assert results["error"].endpoint == "Fails" and "Unknown hub method" in results["error"].error
        fire = next(m for m in peer.received if m.get("target") == "NoReply")
        assert fire == {"type": 1, "target": "NoReply", "arguments": [1]}
        ids = [m["invocationId"] for m in peer.received if "invocationId" in m]
        assert len(ids) == len(set(ids)) == 2
    finally:
        await stop(task)


async def test_close_message_ends_the_connection_and_the_client_comes_back(run_peer, wait_until):
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
        await wait_until(lambda: len(announced) == 2)
        assert announced == [(False, None), (True, "server sent Close: restart")]
        assert ("lost", "server sent Close: restart") in received
    finally:
        await stop(task)


# --- over a raw server: every byte the client reads is chosen by the test (conftest.RawServer) ----


class ReadSpy(WebSocketClient):
    """The real socket client, also noting how many events were dispatched when each read returned."""

    dispatched_after_read: list[int]
    received: list

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.dispatched_after_read.append(len(self.received))


async def served(raw_server, hub: HubConnection):
    """Start `hub`, accept its connection and complete the upgrade and the SignalR handshake."""
    task = asyncio.create_task(hub.run())
    peer = await raw_server.next_peer()
    await peer.hub_handshake()
    return task, peer


def query_token(peer) -> str:
    return parse_qs(urlsplit(peer.request.path).query)["access_token"][0]


async def test_records_are_dispatched_inside_the_read_that_completes_them(raw_server, wait_until,
                                                                         monkeypatch):
    received: list = []
    spies: list[ReadSpy] = []

    class Spy(ReadSpy):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.dispatched_after_read, self.received = [], received
            spies.append(self)

    monkeypatch.setattr(signalr, "WebSocketClient", Spy)
    hub = client(raw_server.url(), received=received)
    task = asyncio.create_task(hub.run())
    try:
        peer = await raw_server.next_peer()
        await peer.upgrade()
        assert await peer.next_text() == '{"protocol":"json","version":1}' + RS
        (spy,) = spies
        # the reply, then record A cut inside its JSON and across two WebSocket fragments
        await peer.write(peer.text("{}" + RS + '{"type":1,"target":"A","argu', fin=False))
        await wait_until(lambda: len(spy.dispatched_after_read) == 2)  # the 101 response, then this frame
        assert received == []
        wire = peer.frame(Opcode.CONT, 'ments":[1]}' + RS + '{"type":1,"target":"B","arguments":[2]}' + RS
                          + '{"type":6}' + RS + '{"type":1,"target":"C","arguments":[3]}' + RS)
        await peer.write(wire[:5])  # the continuation frame's header, cut across TCP reads
        await wait_until(lambda: len(spy.dispatched_after_read) == 3)
        assert received == []
        await peer.write(wire[5:])
        await wait_until(lambda: len(spy.dispatched_after_read) == 4)
        assert received == [("A", [1]), ("B", [2]), ("C", [3])]
        assert spy.dispatched_after_read[-1] == 3  # all three were handled before the read returned
    finally:
        await stop(task)


async def test_an_upgrade_refused_with_401_logs_in_again_and_retries_at_once(raw_server, wait_until, caplog):
    caplog.set_level(logging.INFO, logger="simple_risk_manager.gateway.signalr")
    stale: list[str] = []
    announced: list = []

    async def on_connected(reconnect, reason):
        announced.append((reconnect, reason))

    hub = client(raw_server.url(), unauthorized=stale, on_connected=on_connected, backoff_cap_s=30.0)
    task = asyncio.create_task(hub.run())
    try:
        first = await raw_server.next_peer()
        await first.upgrade(401)
        second = await raw_server.next_peer()  # no backoff pause (its first rung would be ~1 s)
        await second.hub_handshake()
        await wait_until(lambda: hub.connected)
        assert stale == ["t1"]
        assert [query_token(first), query_token(second)] == ["t1", "t2"]
        assert announced == [(False, None)] and hub.token_in_use == "t2"
        messages = [r.getMessage() for r in caplog.records]
        assert "test hub: upgrade refused with HTTP 401" in messages
        assert not any("reconnecting in" in m for m in messages)
    finally:
        await stop(task)


async def test_an_upgrade_refused_with_503_backs_off_without_a_login(raw_server, wait_until, caplog):
    caplog.set_level(logging.INFO, logger="simple_risk_manager.gateway.signalr")
    stale: list[str] = []
    hub = client(raw_server.url(), unauthorized=stale)
    task = asyncio.create_task(hub.run())
    try:
        for _ in range(2):
            await (await raw_server.next_peer()).upgrade(503)
        await (await raw_server.next_peer()).hub_handshake()
        await wait_until(lambda: hub.connected)
        assert stale == []
        messages = [r.getMessage() for r in caplog.records]
        assert messages.count("test hub: upgrade refused with HTTP 503") == 2
        assert sum("reconnecting in" in m for m in messages) == 2
    finally:
        await stop(task)


async def test_pings_and_a_silent_server_after_its_replies_stop(raw_server, wait_until):
    """Each server message moves the deadline: the connection outlives the timeout several times
    while the server answers pings, and ends with the timeout reason once it falls silent."""
    received: list = []
    hub = client(raw_server.url(), received=received, ping=0.05, server_timeout_s=0.5)
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)
        started = asyncio.get_running_loop().time()
        for _ in range(15):  # 15 pings at 0.05 s: longer than the 0.5 s timeout
            assert await peer.next_text() == '{"type":6}' + RS
            await peer.write(peer.text('{"type":6}' + RS))
        assert asyncio.get_running_loop().time() - started > 0.5
        await wait_until(lambda: ("lost", "no message from the server for 0.5 s") in received)
        assert received == [("lost", "no message from the server for 0.5 s")]
        close = await peer.next_frame((Opcode.CLOSE,))
        assert Close.parse(close.data).code == CloseCode.NORMAL_CLOSURE  # the closing handshake
        await (await raw_server.next_peer()).hub_handshake()  # and it comes back
    finally:
        await stop(task)


@pytest.mark.parametrize(
    ("end", "reason"),
    [("close-frame", "connection closed (code 1001)"), ("tcp-drop", "connection closed (code none)")],
)
async def test_a_lost_connection_is_reported_and_the_client_reconnects(raw_server, wait_until, end, reason):
    received: list = []
    announced: list = []

    async def on_connected(reconnect, why):
        announced.append((reconnect, why))

    hub = client(raw_server.url(), received=received, on_connected=on_connected)
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)
        if end == "close-frame":
            await peer.close(1001, "server going down")
        else:
            peer.abort()
        await wait_until(lambda: ("lost", reason) in received)
        second = await raw_server.next_peer()
        await second.hub_handshake()
        await wait_until(lambda: len(announced) == 2)
        assert announced == [(False, None), (True, reason)]
        assert query_token(second) == "t2"
    finally:
        await stop(task)


async def test_a_message_over_the_size_limit_fails_the_connection(raw_server, wait_until):
    received: list = []
    hub = client(raw_server.url(), received=received)
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)
        header = peer.frame(Opcode.TEXT, b"x" * 70_000)[:10]  # 127 + 8-byte length: claim a size instead
        await peer.write(header[:2] + (MAX_MESSAGE_BYTES + 1).to_bytes(8, "big"))
        close = await peer.next_frame((Opcode.CLOSE,))
        assert Close.parse(close.data).code == CloseCode.MESSAGE_TOO_BIG
        peer.writer.close()
        await wait_until(lambda: ("lost", "connection closed (code none)") in received)
        await (await raw_server.next_peer()).hub_handshake()
    finally:
        await stop(task)


async def test_a_failing_event_handler_is_logged_and_the_connection_goes_on(raw_server, wait_until, caplog):
    delivered: list = []

    def on_invocation(target, arguments):
        if target == "Broken":
            raise ValueError("consumer bug")
        delivered.append(target)

    hub = client(raw_server.url(), on_invocation=on_invocation)
    task, peer = await served(raw_server, hub)
    try:
        await peer.write(peer.text('{"type":1,"target":"Broken","arguments":[]}' + RS
                                   + '{"type":1,"target":"Fine","arguments":[]}' + RS))
        await wait_until(lambda: delivered == ["Fine"])
        assert any("handler for Broken failed" in r.getMessage() and r.exc_info for r in caplog.records)
        assert hub.connected and len(raw_server.accepted) == 1
    finally:
        await stop(task)


async def test_a_pending_invoke_fails_when_the_connection_drops(raw_server, wait_until):
    hub = client(raw_server.url())
    with pytest.raises(GatewayUnavailable, match="not connected"):
        await hub.invoke("SubscribeAccounts")
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)
        pending = asyncio.create_task(hub.invoke("SubscribeAccounts"))
        sent = json.loads((await peer.next_text()).rstrip(RS))
        assert sent == {"type": 1, "invocationId": sent["invocationId"], "target": "SubscribeAccounts",
                        "arguments": []}
        peer.abort()
        with pytest.raises(GatewayUnavailable, match="hub connection lost"):
            await pending
    finally:
        await stop(task)


@pytest.mark.parametrize("stall", ["upgrade", "handshake"])
async def test_open_timeout_bounds_the_upgrade_and_the_handshake(raw_server, wait_until, caplog, stall):
    hub = client(raw_server.url(), open_timeout_s=0.3)
    task = asyncio.create_task(hub.run())
    try:
        first = await raw_server.next_peer()
        if stall == "handshake":
            await first.upgrade()  # then never answer the SignalR handshake
        await first.wait_eof()  # the client gives up on this socket
        await (await raw_server.next_peer()).hub_handshake()
        await wait_until(lambda: hub.connected)
        assert "test hub: connect failed: TimeoutError" in [r.getMessage() for r in caplog.records]
    finally:
        await stop(task)


async def test_reconnect_now_takes_a_new_token_and_reports_no_loss(raw_server, wait_until):
    received: list = []
    announced: list = []

    async def on_connected(reconnect, reason):
        announced.append((reconnect, reason))

    hub = client(raw_server.url(), received=received, on_connected=on_connected)
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)
        hub.reconnect_now("token renewed")
        assert Close.parse((await peer.next_frame()).data).code == CloseCode.NORMAL_CLOSURE
        second = await raw_server.next_peer()
        await second.hub_handshake()
        await wait_until(lambda: len(announced) == 2)
        assert announced == [(False, None), (True, "token renewed")]
        assert query_token(second) == "t2" and received == []
    finally:
        await stop(task)


async def test_tokens_never_reach_the_logs(raw_server, wait_until, caplog):
    caplog.set_level(logging.DEBUG)
    hub = client(raw_server.url(), tokens=("tok-SECRET-1", "tok-SECRET-2"))
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)
        assert query_token(peer) == "tok-SECRET-1"
        peer.abort()
        await (await raw_server.next_peer()).hub_handshake()
        await wait_until(lambda: hub.connected and hub.token_in_use == "tok-SECRET-2")
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("simple_risk_manager")]
        assert any("access_token=<redacted>" in m for m in ours)  # the upgrade request line, masked
        assert not any("SECRET" in m for m in ours)
    finally:
        await stop(task)


async def test_cancelling_run_closes_the_socket_with_a_closing_handshake(raw_server, wait_until):
    hub = client(raw_server.url())
    task, peer = await served(raw_server, hub)
    await wait_until(lambda: hub.connected)
    stopping = asyncio.create_task(stop(task))
    assert Close.parse((await peer.next_frame()).data).code == CloseCode.NORMAL_CLOSURE
    async with asyncio.timeout(5):
        await stopping
    assert not hub.connected


async def test_frame_end_follows_each_frames_records_and_survives_a_failing_handler(raw_server, wait_until,
                                                                                    caplog):
    """`on_frame_end` runs once after the records of every frame (the market hub merges quotes per frame);
    a handler that raises is logged and the connection goes on."""
    received: list = []
    failures = iter([True, False])

    def frame_end() -> None:
        received.append("end")
        if next(failures, False):
            raise RuntimeError("frame handler bug")

    hub = client(raw_server.url(), received=received, on_frame_end=frame_end)
    task, peer = await served(raw_server, hub)
    try:
        await wait_until(lambda: hub.connected)  # the handshake reply's frame has ended (and raised)
        received.clear()
        await peer.write(peer.text('{"type":1,"target":"A","arguments":[1]}' + RS
                                   + '{"type":1,"target":"B","arguments":[2]}' + RS))
        await wait_until(lambda: received.count("end") == 1)
        await peer.write(peer.text('{"type":1,"target":"C","arguments":[3]}' + RS))
        await wait_until(lambda: received.count("end") == 2)
        assert received == [("A", [1]), ("B", [2]), "end", ("C", [3]), "end"]
        assert "frame-end handler failed" in caplog.text and hub.connected
    finally:
        await stop(task)
