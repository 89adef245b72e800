"""Helpers for the simulator's fidelity tests: REST calls, a raw hub client, waiting for conditions.

The raw hub client is written here on `websockets` from the protocol description (gateway-api.md §4.2),
independently of the simulator's own framing code, so the two cannot share a mistake.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from projectx_sim import Simulator

WAIT_S = 15.0
RS = "\x1e"
MNQ = "CON.F.US.MNQ.Z25"
MES = "CON.F.US.MES.Z25"
DEMO_USER = "demo"
DEMO_KEY = "sim-demo-api-key"
ACCOUNT = 7001
SECOND_ACCOUNT = 7002


async def eventually(check: Callable[[], bool], within: float = WAIT_S) -> None:
    """Wait for a condition on real state; fails the test after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


async def eventually_async(check: Callable[[], Awaitable[bool]], within: float = WAIT_S) -> None:
    """Poll an async condition (e.g. a REST call's outcome) every 20 ms until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


class Api:
    """REST calls against the simulator, returning (HTTP status, decoded body)."""

    def __init__(self, sim: Simulator, http: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.http = http
        self.token = ""

    async def login(self, user: str = DEMO_USER, key: str = DEMO_KEY) -> str:
        status, body = await self.call("/api/Auth/loginKey", {"userName": user, "apiKey": key}, token=None)
        assert status == 200 and body["success"], body
        self.token = body["token"]
        return self.token

    async def call(
        self,
        path: str,
        body: Any = None,
        *,
        token: str | bool | None = True,
        method: str = "POST",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        sent = dict(headers or {})
        if token is True:
            sent["Authorization"] = f"Bearer {self.token}"
        elif isinstance(token, str):
            sent["Authorization"] = f"Bearer {token}"
        kwargs: dict[str, Any] = {"headers": sent}
        if data is not None:
            kwargs["data"] = data
        elif body is not None:
            kwargs["json"] = body
        async with self.http.request(method, self.sim.url + path, **kwargs) as response:
            text = await response.text()
            try:
                return response.status, orjson.loads(text) if text else None
            except orjson.JSONDecodeError:
                return response.status, text

    async def ok(self, path: str, body: Any = None) -> dict[str, Any]:
        status, reply = await self.call(path, body)
        assert status == 200, (status, reply)
        assert reply["success"] is True and reply["errorCode"] == 0 and reply["errorMessage"] is None, reply
        return reply

    async def control(self, path: str, body: Any = None, method: str = "POST") -> Any:
        status, reply = await self.call(
            f"/sim/{path}", body if body is not None else {}, token=False, method=method
        )
        assert status in (200, 201), (status, reply)
        return reply


class RawHub:
    """A minimal SignalR JSON-hub client: handshake, 0x1E framing, invocations, a queue of messages."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[str] = []
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._ids = itertools.count(1)
        self._partial = ""
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                text = frame if isinstance(frame, str) else frame.decode()
                self.frames.append(text)
                *records, self._partial = (self._partial + text).split(RS)
                for record in records:
                    if record:
                        self.messages.put_nowait(orjson.loads(record))
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()

    async def send_text(self, text: str) -> None:
        await self.ws.send(text)

    async def handshake(self, protocol: str = "json", version: Any = 1) -> dict[str, Any]:
        await self.send_text(orjson.dumps({"protocol": protocol, "version": version}).decode() + RS)
        return await self.next()

    async def invoke(self, target: str, *arguments: Any) -> dict[str, Any]:
        """Invoke with an invocationId and return the matching Completion."""
        invocation_id = str(next(self._ids))
        message = {"type": 1, "invocationId": invocation_id, "target": target, "arguments": list(arguments)}
        await self.send_text(orjson.dumps(message).decode() + RS)
        return await self.next(lambda m: m.get("type") == 3 and m.get("invocationId") == invocation_id)

    async def send(self, target: str, *arguments: Any) -> None:
        """Fire-and-forget invocation (no invocationId)."""
        message = {"type": 1, "target": target, "arguments": list(arguments)}
        await self.send_text(orjson.dumps(message).decode() + RS)

    async def next(
        self, predicate: Callable[[dict[str, Any]], bool] = lambda _: True, within: float = WAIT_S
    ) -> dict[str, Any]:
        """The next message matching `predicate`; others before it are dropped."""
        async with asyncio.timeout(within):
            while True:
                message = await self.messages.get()
                if predicate(message):
                    return message

    async def event(self, target: str, within: float = WAIT_S) -> list[Any]:
        """The arguments of the next server invocation of `target`."""
        message = await self.next(lambda m: m.get("type") == 1 and m.get("target") == target, within)
        return message["arguments"]

    def pending(self) -> list[dict[str, Any]]:
        drained = []
        while not self.messages.empty():
            drained.append(self.messages.get_nowait())
        return drained

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


HubFactory = Callable[..., Awaitable[RawHub]]


def hub_url(sim: Simulator, hub: str, token: str | None, extra: str = "") -> str:
    base = sim.user_hub_url if hub == "user" else sim.market_hub_url
    query = (
        f"?access_token={quote(token, safe='')}{extra}"
        if token
        else (f"?{extra.lstrip('&')}" if extra else "")
    )
    return base.replace("http://", "ws://", 1) + query
