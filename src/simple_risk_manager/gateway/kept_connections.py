"""Kept HTTP/1.1 connections for enforcement calls: the request is on the wire before the caller awaits.

aiohttp's client writes a request body from a separate task one loop iteration after the call, and its
request machinery is the largest single cost between a hub event and the enforcement call it causes.
Enforcement calls (`urgent=True`, `rules.md` D-52) therefore go through this small pool instead: a few
keep-alive connections, each a plain `asyncio.Protocol`, and a non-async `post` that writes the whole
request in one `transport.write` when a connection is idle. Everything else stays on aiohttp.

The pool keeps `warm` idle connections open in the background (opened at `open`, replaced when one is
taken into use or closed by the server, with backoff while the server refuses or drops them) and never
sends a request just to keep one alive: every request counts against the broker's request budget.
Idle connections are retired by the pool itself after `idle_timeout_s`, before the common server idle
timeouts (aiohttp 75 s, Kestrel 130 s), so a request is rarely written into a connection the server is
closing at that moment. Such a request is ambiguous (it may have run): the EOF is raised, never resent.
Only a connection found closed before anything was written is skipped for another one.

Timers here are the event loop's (real time), like every socket timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from simple_risk_manager.gateway.backoff import full_jitter_delay
from simple_risk_manager.gateway.tls import default_tls_context

log = logging.getLogger(__name__)

#: A response head (status line and headers) longer than this is refused.
MAX_HEAD_BYTES = 64 * 1024
#: A response body longer than this is refused (enforcement replies are a few hundred bytes; an urgent
#: `searchOpen` of a busy account a few tens of kilobytes).
MAX_BODY_BYTES = 16 * 1024 * 1024
#: How long `close` waits for connections to finish closing before aborting them.
CLOSE_WAIT_S = 1.0


class ExchangeError(Exception):
    """The HTTP exchange failed on the network side; `reason` says how, without any secret."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: Mapping[str, str] = field(repr=False)  # names in lower case; repeated headers joined by ", "
    body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


_HEAD_TOO_LONG = f"response head longer than {MAX_HEAD_BYTES} bytes"
_TRAILERS_TOO_LONG = f"response trailers longer than {MAX_HEAD_BYTES} bytes"

# Parser states.
_HEAD, _LENGTH, _CHUNK_SIZE, _CHUNK_DATA, _TRAILERS, _UNTIL_CLOSE = range(6)


class _ResponseParser:
    """One HTTP/1.1 response, fed as it arrives: Content-Length, chunked or read-until-close bodies."""

    __slots__ = ("_body", "_buffer", "_headers", "_max_body", "_remaining", "_state", "_status",
                 "keep_alive", "started")

    def __init__(self, max_body: int) -> None:
        self._max_body = max_body
        self._buffer = bytearray()
        self._state = _HEAD
        self._status = 0
        self._headers: dict[str, str] = {}
        self._body = bytearray()
        self._remaining = 0
        self.keep_alive = True
        self.started = False

    def feed(self, data: bytes) -> HttpResponse | None:
        """The response once complete, else None; `ExchangeError` for a malformed or oversized one."""
        self.started = True
        buffer = self._buffer
        buffer += data
        while True:
            state = self._state
            if state == _HEAD:
                end = _find(buffer, b"\r\n\r\n", MAX_HEAD_BYTES, _HEAD_TOO_LONG)
                if end is None:
                    return None
                if end > MAX_HEAD_BYTES:
                    raise ExchangeError(_HEAD_TOO_LONG)
                head = bytes(buffer[:end])
                del buffer[:end + 4]
                self._head(head)
            elif state == _LENGTH:
                if len(buffer) < self._remaining:
                    return None
                self._body += buffer[:self._remaining]
                del buffer[:self._remaining]
                return self._done()
            elif state == _CHUNK_SIZE:
                end = _find(buffer, b"\r\n", 1024, "malformed chunked response (chunk size line too long)")
                if end is None:
                    return None
                size = _chunk_size(bytes(buffer[:end]))
                del buffer[:end + 2]
                if len(self._body) + size > self._max_body:
                    raise ExchangeError(f"response larger than {self._max_body} bytes")
                self._remaining = size
                self._state = _CHUNK_DATA if size else _TRAILERS
            elif state == _CHUNK_DATA:
                size = self._remaining
                if len(buffer) < size + 2:
                    return None
                if buffer[size:size + 2] != b"\r\n":
                    raise ExchangeError("malformed chunked response (no CRLF after a chunk)")
                self._body += buffer[:size]
                del buffer[:size + 2]
                self._state = _CHUNK_SIZE
            elif state == _TRAILERS:
                end = _find(buffer, b"\r\n", MAX_HEAD_BYTES, _TRAILERS_TOO_LONG)
                if end is None:
                    return None
                del buffer[:end + 2]
                if end == 0:
                    return self._done()
            else:  # _UNTIL_CLOSE
                self._body += buffer
                buffer.clear()
                if len(self._body) > self._max_body:
                    raise ExchangeError(f"response larger than {self._max_body} bytes")
                return None

    def finish(self) -> HttpResponse:
        """At EOF: the response if its body was delimited by the close, else `ExchangeError`."""
        if self._state == _UNTIL_CLOSE:
            return self._done()
        if not self.started:
            raise ExchangeError("connection closed by the server before any response byte")
        raise ExchangeError("connection closed by the server mid-response")

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
            raise ExchangeError("malformed response status line")
        status = int(code)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name[0] in " \t" or name != name.rstrip():
                raise ExchangeError("malformed response header line")
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if 100 <= status < 200:
            if status == 101:
                raise ExchangeError("unexpected HTTP 101 (protocol switch)")
            return  # an interim response: the final one follows
        self._status = status
        self._headers = headers
        connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
        if "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection):
            self.keep_alive = False
        if status in (204, 304):
            self._state = _LENGTH
            self._remaining = 0
            return
        encoding = headers.get("transfer-encoding")
        if encoding is not None:
            if "content-length" in headers:
                self.keep_alive = False  # both framings: trust chunked, never reuse (RFC 9112 §6.3)
            if encoding.rsplit(",", 1)[-1].strip().lower() == "chunked":
                self._state = _CHUNK_SIZE
            else:
                self._state = _UNTIL_CLOSE
                self.keep_alive = False
            return
        length = headers.get("content-length")
        if length is None:
            self._state = _UNTIL_CLOSE
            self.keep_alive = False
            return
        values = {v.strip() for v in length.split(",")}
        value = values.pop()
        if values or not value.isdigit():
            raise ExchangeError("malformed response Content-Length")
        size = int(value)
        if size > self._max_body:
            raise ExchangeError(f"response larger than {self._max_body} bytes")
        self._state = _LENGTH
        self._remaining = size

    def _done(self) -> HttpResponse:
        if self._buffer:
            self.keep_alive = False  # bytes beyond the response: the stream is out of step
        return HttpResponse(self._status, self._headers, bytes(self._body))


def _find(buffer: bytearray, separator: bytes, limit: int, too_long: str) -> int | None:
    """Where `separator` starts in `buffer`; None while it has not arrived, `ExchangeError(too_long)` once
    more than `limit` bytes came without it."""
    end = buffer.find(separator)
    if end >= 0:
        return end
    if len(buffer) > limit:
        raise ExchangeError(too_long)
    return None


def _chunk_size(line: bytes) -> int:
    text = line.split(b";", 1)[0].strip()
    if not text or len(text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in text):
        raise ExchangeError("malformed chunked response (bad chunk size)")
    return int(text, 16)


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one request at a time."""

    def __init__(self, pool: KeptConnections, loop: asyncio.AbstractEventLoop) -> None:
        self._pool = pool
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser: _ResponseParser | None = None
        self._waiter: asyncio.Future[HttpResponse] | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.opened_at = loop.time()
        self.closed = False
        self.retired = False  # closed by us, not by the server
        self.lost: asyncio.Future[None] = loop.create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    @property
    def usable(self) -> bool:
        return not self.closed and self._transport is not None and not self._transport.is_closing()

    def send(self, request: bytes, timeout_s: float) -> asyncio.Future[HttpResponse]:
        """Write `request` now; the future resolves with the response (or `ExchangeError`/timeout)."""
        assert self._transport is not None
        self._transport.write(request)
        waiter: asyncio.Future[HttpResponse] = self._loop.create_future()
        self._waiter = waiter
        self._parser = _ResponseParser(self._pool.max_response_bytes)
        self._deadline = self._loop.call_later(timeout_s, self._time_out)
        return waiter

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing asked: a server speaking out of turn (e.g. a 408 before closing)
            self.retire(abort=True)
            return
        try:
            response = parser.feed(data)
        except ExchangeError as exc:
            self._end(exc)
            return
        if response is not None:
            self._end(response, keep=parser.keep_alive)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._pool._lost(self)
        parser = self._parser
        if parser is not None:
            try:
                self._end(parser.finish())
            except ExchangeError as failure:
                self._end(failure)
        if not self.lost.done():
            self.lost.set_result(None)

    def stop_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def retire(self, *, abort: bool = False) -> None:
        """Close it for good (ours, not the server's doing); `abort` for a broken stream."""
        self.retired = True
        if self._transport is not None and not self.closed:
            if abort:
                self._transport.abort()
            else:
                self._transport.close()

    def fail(self, error: ExchangeError) -> None:
        """End the request in flight, if any, with `error`, and close the connection."""
        if self._parser is not None:
            self._end(error)
        self.retire(abort=True)

    def _time_out(self) -> None:
        self._end(TimeoutError())

    def _end(self, outcome: HttpResponse | BaseException, keep: bool = False) -> None:
        waiter = self._waiter
        self._parser = self._waiter = None
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        if keep and self.usable:
            self._pool._release(self)
        else:
            self.retire(abort=not isinstance(outcome, HttpResponse))
        if waiter is not None and not waiter.done():  # done: the caller was cancelled
            if isinstance(outcome, HttpResponse):
                waiter.set_result(outcome)
            else:
                waiter.set_exception(outcome)


class KeptConnections:
    """JSON POSTs to one origin over kept-alive connections; `post` writes before it returns."""

    def __init__(self, base_url: str, *, warm: int = 2, max_idle: int = 8, idle_timeout_s: float = 50.0,
                 connect_timeout_s: float = 10.0, backoff_base_s: float = 0.5, backoff_cap_s: float = 30.0,
                 stable_after_s: float = 1.0, max_response_bytes: int = MAX_BODY_BYTES,
                 ssl_context: ssl.SSLContext | None = None, rng: random.Random | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"api_url: must be an http(s) URL with a host (got {base_url!r})")
        if parts.query or parts.fragment:
            raise ValueError(f"api_url: must not carry a query or fragment (got {base_url!r})")
        if warm < 0 or max_idle < max(warm, 1):
            raise ValueError(f"KeptConnections: need 0 <= warm <= max_idle, max_idle >= 1 "
                             f"(got warm={warm}, max_idle={max_idle})")
        if min(idle_timeout_s, connect_timeout_s, backoff_base_s, backoff_cap_s, stable_after_s) <= 0:
            raise ValueError("KeptConnections: timeouts, backoff and stable_after_s must be > 0")
        self._host = parts.hostname
        self._tls = parts.scheme == "https"
        try:
            self._port = parts.port or (443 if self._tls else 80)
        except ValueError:
            raise ValueError(f"api_url: bad port (got {base_url!r})") from None
        host = f"[{self._host}]" if ":" in self._host else self._host
        if parts.port is not None and parts.port != (443 if self._tls else 80):
            host = f"{host}:{parts.port}"
        self._prefix = parts.path.rstrip("/")
        self._host_header = host
        self._ssl_context = ssl_context
        self.warm = warm
        self.max_idle = max_idle
        self.idle_timeout_s = idle_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._backoff = (backoff_base_s, backoff_cap_s)
        self.stable_after_s = stable_after_s
        self.max_response_bytes = max_response_bytes
        self._rng = rng or random.Random()
        self._idle: list[_Connection] = []  # most recently used last
        self._all: set[_Connection] = set()
        self._failures = 0
        self._opened = 0
        self._wanted: asyncio.Event | None = None
        self._keeper: asyncio.Task[None] | None = None

    @property
    def is_open(self) -> bool:
        return self._keeper is not None

    @property
    def idle_count(self) -> int:
        """Connections open and ready for a request now."""
        return len(self._idle)

    @property
    def open_count(self) -> int:
        """Connections open, idle or carrying a request."""
        return len(self._all)

    @property
    def opened_total(self) -> int:
        """Connections opened since the pool was made (warm ones and those opened for a request)."""
        return self._opened

    @property
    def failures(self) -> int:
        """Consecutive failed background opens (refused, or dropped by the server at once)."""
        return self._failures

    async def open(self) -> None:
        """Start keeping `warm` connections open; returns at once (they open in the background)."""
        if self._keeper is not None:
            return
        self._wanted = asyncio.Event()
        self._wanted.set()
        self._keeper = asyncio.get_running_loop().create_task(self._keep_warm(), name="kept-connections")

    async def close(self) -> None:
        """Close every connection; a request in flight fails with `ExchangeError`."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
        connections = list(self._all)
        for conn in connections:
            conn.fail(ExchangeError("connections closed by the client"))
        self._idle.clear()
        if connections:
            _, slow = await asyncio.wait([c.lost for c in connections], timeout=CLOSE_WAIT_S)
            if slow:
                log.debug("kept connections: %d did not close within %.1f s", len(slow), CLOSE_WAIT_S)

    def post(self, target: str, body: bytes | None, *, token: str | None,
             timeout_s: float) -> Awaitable[HttpResponse]:
        """POST `body` (JSON) to `target` (a path under the base URL), answer within `timeout_s`.

        With an idle connection the request is written before this returns; otherwise a new
        connection is opened when the result is awaited. The awaitable raises `ExchangeError`
        (network trouble, malformed reply) or `TimeoutError`.
        """
        if self._keeper is None:
            raise RuntimeError("KeptConnections.post: the pool is not open")
        request = self._request(target, body, token)
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable:  # one found closed never carried this request: another is used
                response = conn.send(request, timeout_s)
                conn.stop_idle_timer()
                self._want_more()
                return response
        return self._post_on_new(request, timeout_s)

    def _request(self, target: str, body: bytes | None, token: str | None) -> bytes:
        auth = ""
        if token is not None:
            if not (token.isascii() and token.isprintable()):
                raise ExchangeError("token has characters a header cannot carry")
            auth = f"Authorization: Bearer {token}\r\n"
        content_type = "" if body is None else "Content-Type: application/json\r\n"
        payload = body or b""
        head = (f"POST {self._prefix}{target} HTTP/1.1\r\nHost: {self._host_header}\r\n{auth}"
                f"Accept: application/json\r\n{content_type}Content-Length: {len(payload)}\r\n\r\n")
        return head.encode("ascii") + payload

    async def _post_on_new(self, request: bytes, timeout_s: float) -> HttpResponse:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with asyncio.timeout(timeout_s):
            conn = await self._connect()
        if not conn.usable:
            raise ExchangeError("connection closed by the server before the request was sent")
        return await conn.send(request, deadline - loop.time())

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        context = (self._ssl_context or default_tls_context()) if self._tls else None
        try:
            _, conn = await loop.create_connection(
                lambda: _Connection(self, loop), self._host, self._port, ssl=context,
                server_hostname=self._host if context is not None else None)
        except OSError as exc:  # refused, unreachable, DNS, TLS (ssl.SSLError is an OSError)
            raise ExchangeError(type(exc).__name__) from None
        self._all.add(conn)
        self._opened += 1
        return conn

    async def _keep_warm(self) -> None:
        assert self._wanted is not None
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            while len(self._idle) < self.warm:
                if self._failures:
                    delay = full_jitter_delay(self._failures - 1, *self._backoff, rng=self._rng)
                    await asyncio.sleep(delay)
                    if len(self._idle) >= self.warm:
                        break
                try:
                    async with asyncio.timeout(self.connect_timeout_s):
                        conn = await self._connect()
                except (ExchangeError, TimeoutError) as exc:
                    self._failures += 1
                    reason = exc.reason if isinstance(exc, ExchangeError) else "connect timed out"
                    log.log(logging.INFO if self._failures == 1 else logging.DEBUG,
                            "kept connection to %s failed (%s); retrying with backoff", self._host, reason)
                    continue
                if not conn.usable:  # accepted and dropped at once
                    self._failures += 1
                    continue
                self._add_idle(conn)

    def _want_more(self) -> None:
        if self._wanted is not None and len(self._idle) < self.warm:
            self._wanted.set()

    def _add_idle(self, conn: _Connection) -> None:
        if len(self._idle) >= self.max_idle or self._keeper is None:
            conn.retire()
            return
        self._idle.append(conn)
        conn.idle_timer = asyncio.get_running_loop().call_later(self.idle_timeout_s, self._expire, conn)

    def _release(self, conn: _Connection) -> None:
        """`conn` answered in full and stays open: back to the idle connections."""
        self._failures = 0
        self._add_idle(conn)

    def _expire(self, conn: _Connection) -> None:
        conn.idle_timer = None
        if conn in self._idle:
            self._idle.remove(conn)
            conn.retire()
            self._want_more()

    def _lost(self, conn: _Connection) -> None:
        """`conn` closed (by either side): forget it, and count an early drop of an idle one."""
        self._all.discard(conn)
        conn.stop_idle_timer()
        if conn in self._idle:
            self._idle.remove(conn)
            if not conn.retired:
                young = asyncio.get_running_loop().time() - conn.opened_at < self.stable_after_s
                self._failures = self._failures + 1 if young else 0
        self._want_more()
