"""The simulator's request and event logs: bounded, read back as JSON, and invisible to the cyclic GC."""

from __future__ import annotations

import argparse
import gc

import orjson

from projectx_sim.cli import add_arguments, config_from_args
from projectx_sim.journal import EventLog, RequestLog

RS = b"\x1e"


def record(target: str, *arguments: object) -> bytes:
    return orjson.dumps({"type": 1, "target": target, "arguments": list(arguments)}) + RS


def test_events_read_back_after_a_sequence_number_and_the_log_keeps_the_newest() -> None:
    log = EventLog(3)
    for n in range(5):
        framed = record("GatewayQuote", "CON.F.US.EP.Z25", {"n": n})
        log.record(1_000 + n, "market", 7, "GatewayQuote", framed)
    assert log.last == 5
    assert [e["seq"] for e in log.since(0, 100)] == [3, 4, 5]
    assert log.since(3, 1) == [{"seq": 4, "sentNs": 1_003, "hub": "market", "connectionId": 7,
                                "target": "GatewayQuote", "arguments": ["CON.F.US.EP.Z25", {"n": 3}]}]


def test_a_full_event_log_is_not_tracked_by_the_cyclic_garbage_collector() -> None:
    """100,000 tracked entries made every full collection of the simulator pause for tens of ms."""
    log = EventLog(1_000)
    for n in range(1_000):
        log.record(n, "user", 1, "GatewayUserOrder", record("GatewayUserOrder", {"id": n}))
    gc.collect()
    entries = list(log._entries)  # what the log holds, not what it shows
    assert not any(gc.is_tracked(entry) for entry in entries)


def test_request_bodies_are_kept_raw_and_shown_decoded() -> None:
    log = RequestLog(10)
    first = log.record(5, "POST", "/api/Order/cancel", b'{"accountId": 7, "orderId": 9}', 7)
    log.record(6, "POST", "/api/Order/cancel", b"not json", None)
    log.record(7, "POST", "/api/Status/ping", b"  ", None)
    first.status = 200
    bodies = [(e["body"], e["status"]) for e in log.since(0, 10)]
    assert bodies == [({"accountId": 7, "orderId": 9}, 200), ("not json", None), (None, None)]


def test_log_size_option_sizes_both_logs() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    config = config_from_args(parser.parse_args(["--log-size", "400000"]))
    assert (config.request_log_size, config.event_log_size) == (400_000, 400_000)
    default = config_from_args(parser.parse_args([]))
    assert (default.request_log_size, default.event_log_size) == (100_000, 100_000)
