"""The request log's `arrivalNs` is when the request's bytes were read from the socket, not when aiohttp
ran its handler (projectx_sim.arrivals): bench/latency.py measures the daemon against it."""

from __future__ import annotations

import asyncio
import time

import orjson

from projectx_sim import Simulator
from projectx_sim.faults import FaultKind, RestFault

from .sim_support import DEMO_KEY, DEMO_USER, eventually

LOGIN = "/api/Auth/loginKey"
DELAY_S = 2.0  # how long the first request is held; the second's bytes arrive well inside it


def login_request() -> bytes:
    body = orjson.dumps({"userName": DEMO_USER, "apiKey": DEMO_KEY})
    head = (f"POST {LOGIN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> int:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    lines = head.decode().split("\r\n")
    length = next(int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:"))
    await asyncio.wait_for(reader.readexactly(length), 30)
    return int(lines[0].split()[1])


async def test_a_request_queued_behind_a_slow_one_is_stamped_when_its_bytes_arrived(sim: Simulator) -> None:
    sim.faults.add(RestFault(FaultKind.DELAY, remaining=1, path=LOGIN, seconds=DELAY_S))
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        writer.write(login_request())
        await eventually(lambda: len(sim.requests.since(0, 10)) == 1)  # the first is in its handler, held
        written_ns = time.monotonic_ns()
        writer.write(login_request())  # pipelined: aiohttp runs its handler only after the first answer
        assert [await read_response(reader), await read_response(reader)] == [200, 200]
    finally:
        writer.close()
    first, second = sim.requests.since(0, 10)
    assert second["arrivalNs"] >= written_ns
    # A stamp taken in the handler could not be earlier than the first request's delayed answer.
    assert second["arrivalNs"] < first["arrivalNs"] + DELAY_S * 1e9


async def test_each_request_is_stamped_between_its_write_and_its_answer(sim: Simulator) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        stamps = []
        for _ in range(3):
            before = time.monotonic_ns()
            writer.write(login_request())
            assert await read_response(reader) == 200
            stamps.append((before, time.monotonic_ns()))
    finally:
        writer.close()
    logged = [entry["arrivalNs"] for entry in sim.requests.since(0, 10)]
    assert len(logged) == 3
    for (before, after), arrival in zip(stamps, logged, strict=True):
        assert before <= arrival <= after
