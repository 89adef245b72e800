"""A WebSocket client connection on an `asyncio.Protocol` that hands each message over inside `data_received`.

Why not `websockets.asyncio.client`: there every message costs a task wake-up in `recv()`, its
assembler and (in the caller) a timeout per receive — the largest library cost on the daemon's
event → enforcement path. Here websockets' Sans-I/O `ClientProtocol` still does everything a
WebSocket needs (upgrade request and its validation, framing, masking, size limit, ping answers,
the close handshake); this class only moves bytes between it and the socket, joins fragmented
messages and calls `on_message` synchronously for every complete TEXT (as `str`) or BINARY (as
`bytes`) message. Writes go straight to `transport.write`. The end is reported once through
`on_close`, and `wait_closed()` returns when the socket is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed
from websockets.frames import Close, CloseCode, Frame, Opcode
from websockets.http11 import USER_AGENT, Response
from websockets.protocol import State
from websockets.uri import parse_uri

from simple_risk_manager.gateway.tls import default_tls_context

log = logging.getLogger(__name__)

MessageHandler = Callable[[str | bytes], None]

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT


class WebSocketClient(asyncio.Protocol):
    """One client WebSocket: `await connect()`, then `send_text`, `close`, `aclose`, `wait_closed`.

    `on_message(data)` runs inside the socket's read callback; an exception from it is logged and
    the connection goes on. `on_close()` runs once, when the socket is gone (after `connect()`
    succeeded or failed). `max_size` bounds one message (all its fragments); a larger one fails the
    connection with close code 1009. After a Close frame is sent or received the server has
    `close_timeout_s` to close TCP before the socket is aborted.
    """

    def __init__(self, url: str, on_message: MessageHandler, *, on_close: Callable[[], None] | None = None,
                 max_size: int | None = 2**20, close_timeout_s: float = 2.0,
                 logger: logging.Logger | None = None) -> None:
        self._uri = parse_uri(url)
        self._log = logger or log
        self._protocol = ClientProtocol(self._uri, max_size=max_size, logger=self._log)
        self._on_message = on_message
        self._on_close = on_close
        self._close_timeout = close_timeout_s
        self._transport: asyncio.Transport | None = None
        self._loop = asyncio.get_running_loop()
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._closed: asyncio.Future[None] = self._loop.create_future()
        self._close_timer: asyncio.TimerHandle | None = None
        self._parts: list[bytes] = []  # the fragments of a message still in progress
        self._parts_are_text = False
        self._discarding = False  # set when a message fails UTF-8: the connection is being failed

    # --- public operations ---------------------------------------------------------------------

    async def connect(self) -> None:
        """Open TCP (TLS for wss://) and complete the upgrade. Unbounded: the caller sets a deadline.

        Raises OSError for the socket, `InvalidStatus` when the server answers other than 101 (its
        `response.status_code` says which), another `InvalidHandshake` for a bad upgrade reply.
        """
        uri = self._uri
        tls = default_tls_context() if uri.secure else None
        try:
            await self._loop.create_connection(lambda: self, uri.host, uri.port, ssl=tls,
                                               server_hostname=uri.host if tls is not None else None)
            await self._opened
        except BaseException:
            self.abort()
            raise

    @property
    def is_open(self) -> bool:
        """True from the accepted upgrade until a Close frame is sent or received or the socket drops."""
        transport = self._transport
        return self._protocol.state is State.OPEN and transport is not None and not transport.is_closing()

    @property
    def close_received(self) -> Close | None:
        """The server's Close frame (code and reason), if one arrived."""
        return self._protocol.close_rcvd

    @property
    def close_exc(self) -> ConnectionClosed:
        """How the connection ended (or is ending), as websockets reports it."""
        protocol = self._protocol
        return ConnectionClosed(protocol.close_rcvd, protocol.close_sent, protocol.close_rcvd_then_sent)

    def send_text(self, text: str) -> None:
        """Write one TEXT message now; raises `ConnectionClosed` once the connection is not open."""
        if not self.is_open:
            raise self.close_exc
        self._protocol.send_text(text.encode())
        self._flush()

    def close(self) -> None:
        """Start the closing handshake (code 1000); the socket is aborted if it takes too long."""
        protocol = self._protocol
        if self._transport is None or self._transport.is_closing():
            return
        if protocol.state is State.OPEN:
            protocol.send_close(CloseCode.NORMAL_CLOSURE)
            self._flush()
            self._arm_close_timer()
        elif protocol.state is State.CONNECTING:
            self.abort()

    def abort(self) -> None:
        """Drop the socket at once, without a closing handshake."""
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        """Return once the socket is gone (cancelling the wait does not affect the connection)."""
        if self._transport is not None:
            await asyncio.shield(self._closed)

    async def aclose(self) -> None:
        """`close()` and wait for the end, bounded by the close timeout; aborts if cancelled meanwhile."""
        self.close()
        try:
            await self.wait_closed()
        except BaseException:
            self.abort()
            raise

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        request = self._protocol.connect()
        request.headers["User-Agent"] = USER_AGENT
        self._protocol.send_request(request)
        self._flush()

    def data_received(self, data: bytes) -> None:
        protocol = self._protocol
        protocol.receive_data(data)
        events = protocol.events_received()
        self._flush()  # pong answers, close echoes
        if protocol.close_expected():
            self._arm_close_timer()
        for event in events:
            if self._discarding:
                break
            if isinstance(event, Frame):
                opcode = event.opcode
                if opcode is _TEXT or opcode is _BINARY:
                    if event.fin:
                        self._deliver(event.data, opcode is _TEXT)
                    else:
                        self._parts = [bytes(event.data)]
                        self._parts_are_text = opcode is _TEXT
                elif opcode is _CONT:
                    self._parts.append(bytes(event.data))
                    if event.fin:
                        message, self._parts = b"".join(self._parts), []
                        self._deliver(message, self._parts_are_text)
                # ping, pong and close frames are answered by the protocol itself
            elif isinstance(event, Response):
                self._handshake_done()

    def eof_received(self) -> bool | None:
        protocol = self._protocol
        protocol.receive_eof()
        for event in protocol.events_received():  # only a reply whose body ran to EOF
            if isinstance(event, Response):
                self._handshake_done()
        self._flush()
        return None  # the WebSocket closing handshake is over (or broken): let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        protocol = self._protocol
        protocol.receive_eof()  # idempotent; makes the state CLOSED
        protocol.events_received()
        if self._close_timer is not None:
            self._close_timer.cancel()
        if not self._opened.done():
            self._opened.set_exception(protocol.handshake_exc or ConnectionError(
                f"connection lost during the WebSocket upgrade: {exc or 'closed by the server'}"))
        failure = protocol.parser_exc
        if failure is not None and not isinstance(failure, EOFError):
            self._log.warning("websocket failed: %s", failure)
        self._parts = []
        self._closed.set_result(None)
        if self._on_close is not None:
            self._on_close()

    # --- internals -----------------------------------------------------------------------------

    def _deliver(self, data: bytes | bytearray | memoryview, text: bool) -> None:
        if text:
            try:
                message: str | bytes = str(data, "utf-8")
            except UnicodeDecodeError as exc:
                self._discarding = True
                self._protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                self._flush()
                self._arm_close_timer()
                return
        else:
            message = bytes(data)
        try:
            self._on_message(message)
        except Exception:  # a consumer bug must not take the connection down
            self._log.exception("websocket message handler failed")

    def _handshake_done(self) -> None:
        if self._opened.done():
            return
        failure = self._protocol.handshake_exc
        if failure is None:
            self._opened.set_result(None)
        else:
            self._opened.set_exception(failure)
            self._arm_close_timer()

    def _flush(self) -> None:
        transport = self._transport
        if transport is None:
            return
        for data in self._protocol.data_to_send():
            if data:
                transport.write(data)
            elif transport.can_write_eof():
                transport.write_eof()
            else:  # TLS cannot half-close
                transport.close()

    def _arm_close_timer(self) -> None:
        if self._close_timer is None and not self._closed.done():
            self._close_timer = self._loop.call_later(self._close_timeout, self.abort)
