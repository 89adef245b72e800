"""When a REST request reached the simulator: the socket read that delivered it, not aiohttp's hand-over.

The request log's `arrivalNs` is what bench/latency.py measures a client's latency against. aiohttp
runs a handler one or two loop turns after the bytes were read, later still while the simulator's
loop is busy with its random walk; stamping inside the handler counted that wait as the client's
time (75–100 µs at the median, up to 0.4 ms at p99, measured). So the site below wraps each of
aiohttp's connection protocols, stamps every read with `time.monotonic_ns()`, and a handler asks
for the stamp of the read that preceded it. When a pipelined request's bytes arrive before the
handler of the one ahead of it runs, that earlier request gets the later stamp: the stamp is never
earlier than the request's arrival, only sometimes later.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web


class ArrivalClock:
    """The monotonic time of the last read on each open connection of the simulator's site."""

    def __init__(self) -> None:
        self._last_read: dict[asyncio.BaseTransport, int] = {}

    def of(self, request: web.BaseRequest) -> int:
        """When `request`'s bytes were read (now, if its connection is already gone)."""
        transport = request.transport
        stamp = self._last_read.get(transport) if transport is not None else None
        return stamp if stamp is not None else time.monotonic_ns()

    def site(self, runner: web.AppRunner, host: str, port: int) -> web.BaseSite:
        """A TCP site for `runner` whose connections stamp their reads on this clock."""
        return _StampingSite(runner, host, port, self)

    def _stamp(self, transport: asyncio.BaseTransport) -> None:
        self._last_read[transport] = time.monotonic_ns()

    def _forget(self, transport: asyncio.BaseTransport) -> None:
        self._last_read.pop(transport, None)


class _StampingProtocol(asyncio.Protocol):
    """aiohttp's connection protocol with each read stamped first; everything else passes through."""

    __slots__ = ("_clock", "_inner", "_transport")

    def __init__(self, inner: asyncio.Protocol, clock: ArrivalClock) -> None:
        self._inner = inner
        self._clock = clock
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self._transport is not None:
            self._clock._stamp(self._transport)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._clock._forget(self._transport)
        self._inner.connection_lost(exc)


class _StampingSite(web.BaseSite):
    """`web.TCPSite` with every connection's protocol wrapped in `_StampingProtocol`."""

    __slots__ = ("_clock", "_host", "_port")

    def __init__(self, runner: web.AppRunner, host: str, port: int, clock: ArrivalClock) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._clock = clock

    @property
    def name(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None  # BaseSite's constructor refuses a runner that is not set up
        clock = self._clock
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _StampingProtocol(server(), clock), self._host, self._port, backlog=self._backlog)
