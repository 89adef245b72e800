"""Bounded logs of REST requests received and hub events sent, stamped with time.monotonic_ns().

Benchmarks measure event → enforcement latency by pairing the time a hub event left the simulator
with the time the daemon's REST call arrived; both logs use the same monotonic clock and sequence
numbers so a reader can poll for "everything after N".
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from projectx_sim.wire import RECORD_SEPARATOR_BYTES


@dataclass(slots=True)
class RequestEntry:
    seq: int
    arrival_ns: int
    method: str
    path: str
    body: Any
    account_id: int | None
    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "arrivalNs": self.arrival_ns,
            "method": self.method,
            "path": self.path,
            "body": self.body,
            "accountId": self.account_id,
            "status": self.status,
        }


@dataclass(slots=True)
class EventEntry:
    seq: int
    sent_ns: int
    hub: str
    connection_id: int
    target: str
    record: bytes  # the framed invocation exactly as sent; decoded only when read

    def to_json(self) -> dict[str, Any]:
        message = orjson.loads(self.record.rstrip(RECORD_SEPARATOR_BYTES))
        return {
            "seq": self.seq,
            "sentNs": self.sent_ns,
            "hub": self.hub,
            "connectionId": self.connection_id,
            "target": self.target,
            "arguments": message.get("arguments"),
        }


T = TypeVar("T", RequestEntry, EventEntry)


class _Log(Generic[T]):
    def __init__(self, size: int) -> None:
        self._entries: deque[T] = deque(maxlen=max(size, 0))
        self._seq = itertools.count(1)
        self.last = 0

    def _next_seq(self) -> int:
        self.last = next(self._seq)
        return self.last

    def since(self, seq: int, limit: int) -> list[T]:
        """Entries with a sequence number above `seq`, oldest first, at most `limit`."""
        newer: list[T] = []
        for entry in reversed(self._entries):
            if entry.seq <= seq:
                break
            newer.append(entry)
        newer.reverse()
        return newer[:limit]

    def clear(self) -> None:
        self._entries.clear()


class RequestLog(_Log[RequestEntry]):
    def record(
        self, arrival_ns: int, method: str, path: str, body: Any, account_id: int | None
    ) -> RequestEntry:
        entry = RequestEntry(self._next_seq(), arrival_ns, method, path, body, account_id)
        self._entries.append(entry)
        return entry


class EventLog(_Log[EventEntry]):
    def record(self, sent_ns: int, hub: str, connection_id: int, target: str, record: bytes) -> None:
        self._entries.append(EventEntry(self._next_seq(), sent_ns, hub, connection_id, target, record))
