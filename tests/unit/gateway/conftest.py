"""A raw WebSocket server on a free loopback port whose tests decide every byte the client receives.

websockets' Sans-I/O `ServerProtocol` answers the upgrade and reads the client's frames; frames to
the client are serialized by the test and written as plain bytes, so a test can cut a message
across TCP writes, fragment it, refuse the upgrade, send a Close frame or drop the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.frames import Close, Frame, Opcode
from websockets.http11 import Request
from websockets.server import ServerProtocol

RS = "\x1e"
WAIT_S = 10.0
DATA_AND_CLOSE = (Opcode.TEXT, Opcode.BINARY, Opcode.CLOSE)


async def until(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    """Poll real state until `condition` holds; nothing else signals it."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.002)


class RawPeer:
    """One accepted client connection. `frame`/`text` build server frames for `write`.

    After an accepted upgrade a pump task reads the client all the time, so the server protocol
    answers pings and echoes the client's Close frame whether or not the test is reading; the
    test takes the client's frames from a queue with `next_frame`.
    """

    @staticmethod
    def frame(opcode: Opcode, data: bytes | str, *, fin: bool = True) -> bytes:
        """One unmasked server → client frame, as bytes on the wire."""
        payload = data.encode() if isinstance(data, str) else data
        return Frame(opcode, payload, fin).serialize(mask=False, extensions=[])

    @staticmethod
    def text(data: str, *, fin: bool = True) -> bytes:
        return RawPeer.frame(Opcode.TEXT, data, fin=fin)

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.protocol = ServerProtocol(max_size=None)
        self.request: Request | None = None
        self.frames: asyncio.Queue[Frame | None] = asyncio.Queue()  # None: the client's EOF
        self.eof = False
        self._pump: asyncio.Task[None] | None = None

    async def upgrade(self, status: int = 101) -> Request:
        """Read the upgrade request; accept it (101) or refuse it with `status`."""
        while self.request is None:
            if self.eof:
                raise EOFError("client closed before the upgrade")
            await self._read()
        if status == 101:
            response = self.protocol.accept(self.request)
        else:
            response = self.protocol.reject(status, "refused\n")
        self.protocol.send_response(response)
        await self._flush()
        if status == 101:
            self._pump = asyncio.create_task(self._pump_frames())
        return self.request

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def next_frame(self, kinds: tuple[Opcode, ...] = DATA_AND_CLOSE) -> Frame:
        """The client's next frame of one of `kinds` (others are skipped)."""
        async with asyncio.timeout(WAIT_S):
            while True:
                received = await self.frames.get()
                if received is None:
                    self.frames.put_nowait(None)
                    raise EOFError("client closed the connection")
                if received.opcode in kinds:
                    return received

    async def next_text(self) -> str:
        received = await self.next_frame()
        assert received.opcode is Opcode.TEXT, received
        return bytes(received.data).decode()

    async def hub_handshake(self, reply: str = "{}" + RS) -> None:
        """Upgrade, read the SignalR handshake record and answer it."""
        await self.upgrade()
        assert await self.next_text() == '{"protocol":"json","version":1}' + RS
        await self.write(self.text(reply))

    async def close(self, code: int = 1000, reason: str = "") -> Close | None:
        """Send a Close frame and wait for the client's echo and EOF; returns the echoed close."""
        self.protocol.send_close(code, reason)
        await self._flush()
        await self.wait_eof()
        self.writer.close()
        return self.protocol.close_rcvd

    async def wait_eof(self) -> None:
        """Until the client has closed its side of the socket."""
        async with asyncio.timeout(WAIT_S):
            if self._pump is not None:
                await asyncio.shield(self._pump)
            while not self.eof:
                await self._read()

    def stop_reading(self) -> None:
        """Play a peer that hangs: nothing the client sends is read or answered any more."""
        if self._pump is not None:
            self._pump.cancel()

    def abort(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
        self.writer.transport.abort()

    async def _pump_frames(self) -> None:
        while not self.eof:
            await self._read()

    async def _read(self) -> None:
        try:
            data = await self.reader.read(65536)
        except ConnectionError:
            data = b""
        if not data:
            self.eof = True
            self.protocol.receive_eof()
        else:
            self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Request):
                self.request = event
            elif isinstance(event, Frame):
                self.frames.put_nowait(event)
        if self.eof:
            self.frames.put_nowait(None)
        await self._flush()

    async def _flush(self) -> None:
        for data in self.protocol.data_to_send():
            if data:
                self.writer.write(data)
            elif not self.writer.is_closing():
                if not self.writer.can_write_eof():  # TLS cannot half-close
                    self.writer.close()
                    continue
                with contextlib.suppress(OSError):  # the client may be gone already
                    self.writer.write_eof()
        with contextlib.suppress(ConnectionError):
            await self.writer.drain()


class RawServer:
    def __init__(self) -> None:
        self.peers: asyncio.Queue[RawPeer] = asyncio.Queue()
        self.accepted: list[RawPeer] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]

    def url(self, scheme: str = "ws", path: str = "/hubs/user") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    async def next_peer(self) -> RawPeer:
        async with asyncio.timeout(WAIT_S):
            return await self.peers.get()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = RawPeer(reader, writer)
        self.accepted.append(peer)
        await self.peers.put(peer)

    async def stop(self) -> None:
        for peer in self.accepted:
            peer.abort()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
def wait_until() -> Callable[..., object]:
    return until


@pytest.fixture
async def start_raw_server() -> AsyncIterator[Callable[..., Awaitable[RawServer]]]:
    """Start raw servers (`tls` for wss://); all are stopped at the end of the test."""
    started: list[RawServer] = []

    async def start(tls: ssl.SSLContext | None = None) -> RawServer:
        server = RawServer()
        await server.start(tls)
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def raw_server(start_raw_server: Callable[..., Awaitable[RawServer]]) -> RawServer:
    return await start_raw_server()
