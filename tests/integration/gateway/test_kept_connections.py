"""Enforcement calls over kept connections, against small servers of our own on loopback sockets.

aiohttp servers for well-formed HTTP (chunked, `Connection: close`, idle timeouts, statuses), raw asyncio
servers for misbehaving peers, and one threaded server for the write-before-suspension check (a server in
another thread sees the request while our event loop is blocked).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from simple_risk_manager.clock import SystemClock
from simple_risk_manager.gateway import (
    BadRequest,
    Credentials,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    RateLimited,
    Unauthorized,
)
from simple_risk_manager.gateway.auth import AuthSession
from simple_risk_manager.gateway.kept_connections import ExchangeError, KeptConnections
from simple_risk_manager.gateway.rest import ORDER_CANCEL, RestApi, RestClient

WAIT_S = 15.0
OK = {"success": True, "errorCode": 0, "errorMessage": None}
#: Self-signed certificate and key, CN/SAN localhost and 127.0.0.1 (tests only).
CERT = Path(__file__).parents[2] / "certs" / "tls_localhost_test_only.pem"


async def until(condition: Callable[[], bool], within: float = WAIT_S) -> None:
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


@contextlib.asynccontextmanager
async def serve(handler: Callable[[web.Request], Awaitable[web.StreamResponse]], *,
                keepalive_timeout: float = 75.0,
                ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    """An aiohttp server on a free loopback port answering every path with `handler`; yields its URL."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, keepalive_timeout=keepalive_timeout, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"{'https' if ssl_context else 'http'}://{host}:{port}"
    finally:
        await runner.cleanup()


class RawServer:
    """A TCP server whose every connection runs `script(reader, writer, server)`; it counts what it saw."""

    def __init__(self, script: Callable[[asyncio.StreamReader, asyncio.StreamWriter, RawServer],
                                        Coroutine[Any, Any, None]]) -> None:
        self.script = script
        self.accepted = 0
        self.requests: list[bytes] = []
        self.ended = 0  # connections whose client side closed
        self.writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._run, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self.writers:
            writer.close()

    async def _run(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.writers.append(writer)
        with contextlib.suppress(ConnectionError):
            await self.script(reader, writer, self)

    async def read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        """One request (head and Content-Length body), or None at EOF."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            self.ended += 1
            return None
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        return request


def answer(body: dict[str, Any] | None = None, extra: bytes = b"") -> bytes:
    payload = orjson.dumps(OK if body is None else body)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(payload), extra, payload)


def client_for(url: str, **options: Any) -> RestClient:
    return RestClient(url, SystemClock(), max_attempts=1, **options)


@contextlib.asynccontextmanager
async def opened(client: RestClient | KeptConnections) -> AsyncIterator[None]:
    await client.open()
    try:
        yield
    finally:
        await client.close()


def peer_port(request: web.Request) -> int:
    assert request.transport is not None
    return int(request.transport.get_extra_info("peername")[1])


# --- the request on the wire -----------------------------------------------------------------------


class Recorder(ThreadingHTTPServer):
    """A keep-alive HTTP/1.1 server in its own thread: what it received, with an event per request."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.arrived = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Recorder

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.server.arrived.set()
        payload = orjson.dumps(OK | {"token": "token-from-the-recorder", "orderId": 1})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def recorder():
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def resume(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Drive a coroutine stepped by hand to its end, as its task would have."""
    while True:
        await asyncio.wait([yielded], timeout=WAIT_S)
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            return stop.value


async def test_urgent_request_is_on_the_wire_before_the_caller_first_suspends(recorder):
    client = client_for(recorder.url + "/base", warm_connections=1)
    async with opened(client):
        session = AuthSession(Credentials("trader", "secret-key"), client, SystemClock())
        await session.fresh_login()  # through aiohttp; the token is now held
        await until(lambda: client.kept_connections.idle_count == 1)
        recorder.arrived.clear()

        coro = RestApi(client, SystemClock()).cancel_order(session, 7001, 42, urgent=True)
        yielded = coro.send(None)  # runs the call until its first suspension, and no further
        # The event loop is blocked here, so nothing it might have scheduled can run: only a request
        # written before the suspension can reach the server thread.
        assert recorder.arrived.wait(WAIT_S), "the request was not written before the first suspension"
        assert isinstance(yielded, asyncio.Future) and not yielded.done()
        path, headers, body = recorder.received[-1]
        assert (path, orjson.loads(body)) == ("/base/api/Order/cancel", {"accountId": 7001, "orderId": 42})
        assert headers["authorization"] == "Bearer token-from-the-recorder"
        assert await resume(coro, yielded) is None


async def test_both_roads_send_the_same_request_and_log_it_redacted(recorder, caplog):
    client = client_for(recorder.url, warm_connections=1)
    body = {"accountId": 7001, "contractId": "CON.F.US.MNQ.Z25", "stopPrice": Decimal("20500.25")}
    async with opened(client):
        await until(lambda: client.kept_connections.idle_count == 1)
        for urgent in (False, True):
            with caplog.at_level(logging.DEBUG, logger="simple_risk_manager.gateway.api"):
                reply = await client.send("/api/Order/place", body, token="t0k3n", budget=None, urgent=urgent)
            assert reply["orderId"] == 1
    lines = [r.getMessage() for r in caplog.records if r.name == "simple_risk_manager.gateway.api"]
    assert len(lines) == 4 and lines[0] == lines[2] and lines[0].startswith("POST /api/Order/place {")
    assert all(line.startswith("/api/Order/place -> HTTP 200 in ") for line in (lines[1], lines[3]))
    assert '"token":"<redacted>"' in lines[3]
    assert "t0k3n" not in caplog.text and "token-from-the-recorder" not in caplog.text
    (plain_path, plain, plain_body), (kept_path, kept, kept_body) = recorder.received
    assert plain_path == kept_path == "/api/Order/place"
    assert plain_body == kept_body and orjson.loads(kept_body)["stopPrice"] == 20500.25
    for name in ("host", "authorization", "accept", "content-type", "content-length"):
        assert plain[name] == kept[name], name
    assert "aiohttp" in plain["user-agent"] and "user-agent" not in kept  # each took its own road


# --- response framing and connection reuse ----------------------------------------------------------


async def test_chunked_responses_are_read_and_the_connection_reused():
    ports: list[int] = []

    async def chunked(request: web.Request) -> web.StreamResponse:
        ports.append(peer_port(request))
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        response.content_type = "application/json"
        await response.prepare(request)
        await response.write(b'{"success":true,')
        await response.write(b'"errorCode":0,"orders":[]}')
        await response.write_eof()
        return response

    async with serve(chunked) as url:
        client = client_for(url, warm_connections=1)
        async with opened(client):
            await until(lambda: client.kept_connections.idle_count == 1)
            for _ in range(3):
                assert await client.send(ORDER_CANCEL, {}, token="t", budget=None, urgent=True) == \
                    {"success": True, "errorCode": 0, "orders": []}
            assert client.kept_connections.opened_total == 2  # the warm one and its replacement
    assert len(ports) == 3 and len(set(ports)) <= 2  # so a connection was reused after a chunked reply


async def test_a_connection_close_response_retires_the_connection():
    ports: list[int] = []

    async def closing(request: web.Request) -> web.Response:
        ports.append(peer_port(request))
        response = web.json_response(OK)
        response.force_close()
        return response

    async with serve(closing) as url:
        client = client_for(url, warm_connections=1)
        async with opened(client):
            kept = client.kept_connections
            for _ in range(3):
                assert (await client.send(ORDER_CANCEL, {}, token="t", budget=None, urgent=True))["success"]
            await until(lambda: kept.idle_count == 1 and kept.open_count == 1)
    assert len(set(ports)) == 3  # never reused after `Connection: close`


async def test_idle_connections_closed_by_the_server_are_replaced_without_requests():
    calls: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        calls.append(request.path)
        return web.json_response(OK)

    async with serve(handler, keepalive_timeout=0.3) as url:
        pool = KeptConnections(url, warm=2, stable_after_s=0.05)
        async with opened(pool):
            await until(lambda: pool.idle_count == 2)
            # the server drops both after 0.3 s idle; the pool opens two more, and again, ...
            await until(lambda: pool.opened_total >= 6 and pool.idle_count == 2)
            assert calls == []  # kept warm without a single request
            assert pool.failures == 0
            response = await pool.post("/api/Order/cancel", b"{}", token="t", timeout_s=WAIT_S)
            assert response.status == 200
    assert calls == ["/api/Order/cancel"]


async def test_a_connection_found_closed_is_skipped_before_anything_is_written():
    async def script(reader, writer, server):
        while await server.read_request(reader) is not None:
            writer.write(answer())

    async with RawServer(script) as server:
        pool = KeptConnections(server.url, warm=2)
        async with opened(pool):
            await until(lambda: pool.idle_count == 2)
            newest = pool._idle[-1]  # the one `post` would take first
            assert newest._transport is not None
            newest._transport.close()  # closing, its connection_lost not yet run
            response = await pool.post("/api/Order/cancel", b"{}", token="t", timeout_s=WAIT_S)
            assert response.status == 200
            assert len(server.requests) == 1


async def test_tls_connections_check_the_server_name():
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(CERT)
    trusting = ssl.create_default_context(cafile=str(CERT))

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(OK | {"host": request.host, "secure": request.secure})

    async with serve(handler, ssl_context=server_context) as url:
        port = url.rsplit(":", 1)[1]
        pool = KeptConnections(f"https://localhost:{port}", warm=1, ssl_context=trusting)
        async with opened(pool):
            await until(lambda: pool.idle_count == 1)
            response = await pool.post("/api/Order/cancel", b"{}", token="t", timeout_s=WAIT_S)
            assert orjson.loads(response.body)["host"] == f"localhost:{port}"
            assert orjson.loads(response.body)["secure"] is True
        # the system's trust store does not know this certificate: refused, never sent in clear
        untrusting = KeptConnections(f"https://localhost:{port}", warm=0)
        async with opened(untrusting):
            with pytest.raises(ExchangeError, match="SSLCertVerificationError"):
                await untrusting.post("/api/Order/cancel", b"{}", token="t", timeout_s=WAIT_S)


# --- failures ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("partial", "reason"),
    [(b"", "closed by the server before any response byte"),
     (b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\n\r\n{\"success\":tr", "closed by the server mid-response")],
    ids=["no-byte", "mid-response"],
)
async def test_a_peer_closing_under_a_request_is_unavailable_and_not_resent(partial, reason):
    async def script(reader, writer, server):
        if await server.read_request(reader) is not None:
            writer.write(partial)
            await writer.drain()
            writer.close()

    async with RawServer(script) as server:
        client = client_for(server.url, warm_connections=1)
        async with opened(client):
            await until(lambda: client.kept_connections.idle_count == 1)
            with pytest.raises(GatewayUnavailable) as caught:
                await client.send(ORDER_CANCEL, {}, token="t", budget=None, urgent=True)
            assert caught.value.reason == f"network error: connection {reason}"
            assert caught.value.status is None
    assert len(server.requests) == 1  # ambiguous: it may have run, so it is never resent


async def test_a_server_that_never_answers_times_out_and_its_connection_is_dropped():
    async def script(reader, writer, server):
        while await server.read_request(reader) is not None:
            pass  # never answers

    async with RawServer(script) as server:
        client = client_for(server.url, warm_connections=1, timeout_s=0.2)
        kept = client.kept_connections
        async with opened(client):
            await until(lambda: kept.idle_count == 1)
            with pytest.raises(GatewayUnavailable) as caught:
                await client.send(ORDER_CANCEL, {}, token="t", budget=None, urgent=True)
            assert caught.value.reason == "timed out after 0.2 s"
            await until(lambda: server.ended == 1)  # the timed-out connection is closed ...
            with pytest.raises(GatewayUnavailable):
                await client.send(ORDER_CANCEL, {}, token="t", budget=None, urgent=True)
            await until(lambda: server.ended == 2)
    # ... and each request went out on its own connection
    assert len(server.requests) == 2 and server.accepted >= 2


async def test_an_urgent_call_does_not_wait_for_the_backoff_of_a_refusing_server():
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()  # the port is now free and refuses connections
    client = client_for(f"http://127.0.0.1:{port}", warm_connections=2)
    kept = client.kept_connections
    async with opened(client):
        await until(lambda: kept.failures >= 1)
        with pytest.raises(GatewayUnavailable) as caught:
            async with asyncio.timeout(WAIT_S):
                await client.send(ORDER_CANCEL, {}, token="t", budget=None, urgent=True)
        assert caught.value.reason == "network error: ConnectionRefusedError"
        assert kept.open_count == 0


class Highest(random.Random):
    """Full jitter always at its upper bound, so each backoff is exactly base · 2^n (capped)."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def test_a_server_dropping_connections_at_once_is_not_hammered():
    loop = asyncio.get_running_loop()
    accepted_at: list[float] = []

    async def script(reader, writer, server):
        accepted_at.append(loop.time())
        writer.close()

    async with RawServer(script) as server:
        pool = KeptConnections(server.url, warm=1, backoff_base_s=0.05, backoff_cap_s=0.2, rng=Highest())
        async with opened(pool):
            await until(lambda: len(accepted_at) >= 5)
        gaps = [b - a for a, b in itertools.pairwise(accepted_at)]
    # each drop counts as a failed open: 0.05, 0.1, 0.2, 0.2 s apart at least (not a tight loop)
    for gap, backoff in zip(gaps, (0.05, 0.1, 0.2, 0.2), strict=False):
        assert gap >= backoff * 0.9, gaps
    assert server.requests == []


# --- statuses map exactly as on the aiohttp road --------------------------------------------------------


STATUS_CASES = {
    "429-retry-after": (429, {"Retry-After": "7"}, b""),
    "429-http-date": (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, b""),
    "500": (500, {}, b""),
    "503": (503, {}, b"Service Unavailable"),
    "400-problem": (400, {"Content-Type": "application/problem+json"},
                    b'{"title":"One or more validation errors occurred.","errors":{"size":["must be > 0"]}}'),
    "400-text": (400, {}, b"nope"),
    "401": (401, {"WWW-Authenticate": "Bearer"}, b""),
    "404": (404, {}, b""),
    "rejected": (200, {}, b'{"success":false,"errorCode":2,"errorMessage":"Order not found"}'),
    "not-an-envelope": (200, {}, b"<html>maintenance</html>"),
}


@pytest.mark.parametrize("case", list(STATUS_CASES))
async def test_statuses_map_exactly_as_on_the_aiohttp_road(case):
    status, headers, body = STATUS_CASES[case]

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers=headers, body=body)

    async with serve(handler) as url:
        client = client_for(url, warm_connections=1)
        errors: list[GatewayError] = []
        async with opened(client):
            for urgent in (False, True):
                with pytest.raises(GatewayError) as caught:
                    await client.send(ORDER_CANCEL, {"orderId": 1}, token="t", budget=None, urgent=urgent)
                errors.append(caught.value)
    plain, kept = errors
    assert (type(kept), str(kept), vars(kept)) == (type(plain), str(plain), vars(plain))
    expected = {"429-retry-after": RateLimited, "429-http-date": RateLimited, "500": GatewayUnavailable,
                "503": GatewayUnavailable, "400-problem": BadRequest, "400-text": BadRequest,
                "401": Unauthorized, "404": GatewayError, "rejected": GatewayRejected,
                "not-an-envelope": GatewayUnavailable}[case]
    assert type(kept) is expected
