"""The WebSocket client under the hub connection, against a raw loopback server (conftest.RawServer)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus
from websockets.frames import Close, CloseCode, Opcode

from simple_risk_manager.gateway.hub_transport import WebSocketClient
from simple_risk_manager.gateway.tls import default_tls_context


class Reads(WebSocketClient):
    """The real client, also counting the socket reads (to prove a message spanned several)."""

    reads = 0

    def data_received(self, data: bytes) -> None:
        self.reads += 1
        super().data_received(data)


class Opened:
    """A connected client with everything it delivered."""

    def __init__(self, client: WebSocketClient, messages: list[str | bytes], ended: list[bool]) -> None:
        self.client = client
        self.messages = messages
        self.ended = ended


async def opened(server, *, cls: type[WebSocketClient] = WebSocketClient, max_size: int = 2**20,
                 close_timeout_s: float = 2.0, on_message=None, scheme: str = "ws"):
    messages: list[str | bytes] = []
    ended: list[bool] = []
    client = cls(server.url(scheme), on_message or messages.append, on_close=lambda: ended.append(True),
                 max_size=max_size, close_timeout_s=close_timeout_s)
    connecting = asyncio.create_task(client.connect())
    peer = await server.next_peer()
    await peer.upgrade()
    await connecting
    return Opened(client, messages, ended), peer


async def test_a_message_cut_across_tcp_reads_is_delivered_once_and_whole(raw_server, wait_until):
    state, peer = await opened(raw_server, cls=Reads)
    client = state.client
    assert isinstance(client, Reads)
    message = '{"type":1,"target":"GatewayQuote","arguments":["CON.F.US.MNQ.Z25",{"note":"é€"}]}\x1e'
    wire = peer.text(message)
    cuts = [0, 1, 2, 7, 40, len(wire) - 3, len(wire)]  # inside the header, the payload and a 3-byte char
    for start, end in itertools.pairwise(cuts):
        before = client.reads
        await peer.write(wire[start:end])
        await wait_until(lambda before=before: client.reads > before)
        if end < len(wire):
            assert state.messages == []
    assert state.messages == [message]


async def test_several_frames_in_one_read_arrive_in_order(raw_server, wait_until):
    state, peer = await opened(raw_server)
    await peer.write(peer.text("a") + peer.frame(Opcode.BINARY, b"\x00b") + peer.text("c"))
    await wait_until(lambda: len(state.messages) == 3)
    assert state.messages == ["a", b"\x00b", "c"]


async def test_fragments_are_joined_and_a_ping_between_them_is_answered(raw_server, wait_until):
    state, peer = await opened(raw_server)
    await peer.write(peer.text('{"type":1,"tar', fin=False) + peer.frame(Opcode.CONT, 'get":"A",', fin=False)
                     + peer.frame(Opcode.PING, b"p1"))
    pong = await peer.next_frame((Opcode.PONG,))
    assert bytes(pong.data) == b"p1" and state.messages == []
    await peer.write(peer.frame(Opcode.CONT, '"arguments":[]}\x1e'))
    await peer.write(peer.frame(Opcode.BINARY, b"x", fin=False) + peer.frame(Opcode.CONT, b"y"))
    await wait_until(lambda: len(state.messages) == 2)
    assert state.messages == ['{"type":1,"target":"A","arguments":[]}\x1e', b"xy"]


@pytest.mark.parametrize("status", [401, 503])
async def test_a_refused_upgrade_raises_invalid_status_with_the_code(raw_server, status):
    client = WebSocketClient(raw_server.url(), lambda _: None)
    connecting = asyncio.create_task(client.connect())
    peer = await raw_server.next_peer()
    await peer.upgrade(status)
    with pytest.raises(InvalidStatus) as refused:
        await connecting
    assert refused.value.response.status_code == status
    async with asyncio.timeout(5):
        await client.wait_closed()


async def test_a_server_that_hangs_up_during_the_upgrade_is_an_invalid_message(raw_server):
    client = WebSocketClient(raw_server.url(), lambda _: None)
    connecting = asyncio.create_task(client.connect())
    peer = await raw_server.next_peer()
    peer.abort()
    with pytest.raises(InvalidMessage):
        await connecting


async def test_a_connection_refused_is_an_os_error(raw_server):
    url = raw_server.url()
    await raw_server.stop()
    with pytest.raises(OSError):
        await WebSocketClient(url, lambda _: None).connect()


async def test_the_server_close_frame_is_echoed_and_reported(raw_server):
    state, peer = await opened(raw_server)
    echoed = await peer.close(1001, "going away")
    async with asyncio.timeout(5):
        await state.client.wait_closed()
    assert echoed == Close(1001, "going away")
    assert state.client.close_received == Close(1001, "going away")
    assert state.ended == [True] and not state.client.is_open
    with pytest.raises(ConnectionClosed):
        state.client.send_text("late")


async def test_an_abrupt_tcp_close_ends_the_connection_without_a_close_frame(raw_server, wait_until):
    state, peer = await opened(raw_server)
    await peer.write(peer.text("last"))
    await wait_until(lambda: state.messages == ["last"])
    peer.abort()
    async with asyncio.timeout(5):
        await state.client.wait_closed()
    assert state.ended == [True] and state.client.close_received is None
    assert "no close frame received" in str(state.client.close_exc)


async def test_an_oversize_message_fails_the_connection_with_1009(raw_server, caplog):
    state, peer = await opened(raw_server, max_size=1000)
    await peer.write(peer.text("x" * 600, fin=False) + peer.frame(Opcode.CONT, "y" * 600))
    received = await peer.next_frame()
    assert received.opcode is Opcode.CLOSE
    assert Close.parse(received.data).code == CloseCode.MESSAGE_TOO_BIG
    peer.writer.close()
    async with asyncio.timeout(5):
        await state.client.wait_closed()
    assert state.messages == []
    assert any("websocket failed" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


async def test_invalid_utf8_text_fails_the_connection_with_1007(raw_server):
    state, peer = await opened(raw_server)
    await peer.write(peer.frame(Opcode.TEXT, b"ok \xff\xfe") + peer.text("after"))
    received = await peer.next_frame()
    assert Close.parse(received.data).code == CloseCode.INVALID_DATA
    peer.writer.close()
    async with asyncio.timeout(5):
        await state.client.wait_closed()
    assert state.messages == []


async def test_a_handler_that_raises_is_logged_and_the_next_message_still_arrives(raw_server, caplog,
                                                                                   wait_until):
    delivered: list[str | bytes] = []

    def handler(message: str | bytes) -> None:
        if message == "boom":
            raise RuntimeError("consumer bug")
        delivered.append(message)

    state, peer = await opened(raw_server, on_message=handler)
    await peer.write(peer.text("boom") + peer.text("fine"))
    await wait_until(lambda: delivered == ["fine"])
    assert state.client.is_open
    assert any(r.exc_info and "consumer bug" in str(r.exc_info[1]) for r in caplog.records)


async def test_send_text_is_written_at_once_and_close_does_the_handshake(raw_server):
    state, peer = await opened(raw_server)
    state.client.send_text('{"type":6}\x1e')
    assert await peer.next_text() == '{"type":6}\x1e'
    closing = asyncio.create_task(state.client.aclose())
    received = await peer.next_frame()  # the server protocol echoes it and half-closes TCP
    assert Close.parse(received.data) == Close(1000, "")
    async with asyncio.timeout(5):
        await closing
    assert state.ended == [True]


async def test_close_is_bounded_when_the_server_never_answers(raw_server):
    state, peer = await opened(raw_server, close_timeout_s=0.2)
    peer.stop_reading()
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(5):
        await state.client.aclose()
    assert 0.15 <= loop.time() - started < 2.0
    assert state.ended == [True] and state.client.close_received is None


#: Self-signed certificate and key for localhost / 127.0.0.1, shared with the REST TLS tests.
CERT = Path(__file__).parents[2] / "certs" / "tls_localhost_test_only.pem"


def server_tls() -> ssl.SSLContext:
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(CERT)
    return tls


@pytest.fixture
def trusting(monkeypatch):
    """`ssl.create_default_context()` trusts the test certificate (the only one in SSL_CERT_FILE)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(CERT))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default_tls_context.cache_clear()
    yield
    default_tls_context.cache_clear()


@pytest.fixture
def not_trusting(tmp_path, monkeypatch):
    """A trust store without the test certificate."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    default_tls_context.cache_clear()
    yield
    default_tls_context.cache_clear()


async def test_wss_verifies_the_server_and_closes_cleanly_over_tls(trusting, start_raw_server, wait_until):
    server = await start_raw_server(server_tls())
    state, peer = await opened(server, scheme="wss")
    state.client.send_text("hello")
    assert await peer.next_text() == "hello"
    await peer.write(peer.text("back"))
    await wait_until(lambda: state.messages == ["back"])
    started = asyncio.get_running_loop().time()
    assert await peer.close(1000) == Close(1000, "")
    async with asyncio.timeout(5):
        await state.client.wait_closed()
    assert asyncio.get_running_loop().time() - started < 1.5  # TLS cannot half-close: closed, not timed out
    assert state.ended == [True]


async def test_wss_refuses_a_server_certificate_it_does_not_trust(not_trusting, start_raw_server):
    server = await start_raw_server(server_tls())
    with pytest.raises(ssl.SSLCertVerificationError):
        await WebSocketClient(server.url("wss"), lambda _: None).connect()
