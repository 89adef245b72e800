"""Slow clients (`broadcast-api.md` §7, B10): a client that stops reading never holds up `publish` or the
other clients; once 1000 frames wait for it, it is dropped with 4000."""

from __future__ import annotations

import logging
import time

from websockets.asyncio.client import connect

from .harness import A1, Peer

PAD = "x" * 16_000  # big frames fill the socket buffers quickly
BATCH = 100
MAX_EVENTS = 6000


async def test_a_client_that_stops_reading_is_dropped_with_4000_and_others_get_everything(
        server, make_peer, caplog):
    good = await make_peer(server)
    await good.subscribe([A1])
    # max_queue=1: this client's library stops reading the socket after one unread message.
    stalled = Peer(await connect(f"ws://127.0.0.1:{server.port}/", max_queue=1))
    await stalled.request("subscribe", {"account_ids": [A1]})
    await good.skip_to("daemon_status")  # the stalled client is registered (it counts as a client)
    published, slowest_publish = 0, 0.0
    received: list[int] = []
    def dropped() -> bool:
        return any("slow consumer" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)

    while not dropped():
        assert published < MAX_EVENTS, "the stalled client was never dropped"
        for _ in range(BATCH):
            started = time.perf_counter()
            server.publish("enforcement_action", A1, {"n": published, "pad": PAD})
            slowest_publish = max(slowest_publish, time.perf_counter() - started)
            published += 1
        while len(received) < published:
            message = await good.skip_to("enforcement_action")
            received.append(message["data"]["n"])
    assert received == list(range(published)), "the reading client got every event, in order"
    assert published > 1000, published
    assert slowest_publish < 0.05, "publish only enqueues; it never waits for a client"
    stalled.raw.clear()
    assert await stalled.closed_with(within=10.0) == 4000, "reading again, it finds the 4000 close"
    while (await good.skip_to("daemon_status"))["data"]["clients"] != 1:
        pass
    assert server.client_count == 1
