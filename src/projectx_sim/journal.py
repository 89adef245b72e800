"""Bounded logs of REST requests received and hub events sent, stamped with time.monotonic_ns().

Benchmarks measure event → enforcement latency by pairing the time a hub event left the simulator
with the time the daemon's REST call arrived; both logs use the same monotonic clock and sequence
numbers so a reader can poll for "everything after N".
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, Generic, TypeVar

import orjson

from projectx_sim.wire import RECORD_SEPARATOR_BYTES

T = TypeVar("T")


@dataclass(slots=True)
class RequestEntry:
    """One REST request; `status` is filled in once the response is known.

    The body stays the raw bytes received and is decoded only when the log is read: a parsed body is a
    tree of dicts the cyclic garbage collector would scan on every full collection."""

    seq: int
    arrival_ns: int
    method: str
    path: str
    raw_body: bytes
    account_id: int | None
    status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "arrivalNs": self.arrival_ns,
            "method": self.method,
            "path": self.path,
            "body": readable_body(self.raw_body),
            "accountId": self.account_id,
            "status": self.status,
        }


def readable_body(raw: bytes) -> Any:
    """A request body as the control API shows it: JSON when it parses, else the text, None when empty."""
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode("utf-8", "replace")


#: One hub event sent: (seq, sent_ns, hub, connection_id, target, framed record). A plain tuple of
#: numbers, strings and bytes, which the cyclic garbage collector stops tracking: a full log of 100,000
#: events then costs the simulator's collections nothing (as objects it made them pause for ~100 ms).
EventEntry = tuple[int, int, str, int, str, bytes]


def event_json(entry: EventEntry) -> dict[str, Any]:
    seq, sent_ns, hub, connection_id, target, record = entry
    message = orjson.loads(record.rstrip(RECORD_SEPARATOR_BYTES))
    return {
        "seq": seq,
        "sentNs": sent_ns,
        "hub": hub,
        "connectionId": connection_id,
        "target": target,
        "arguments": message.get("arguments"),
    }


class _Log(Generic[T]):
    """A bounded log; `seq_of` reads an entry's sequence number and `to_json` its control-API form."""

    def __init__(self, size: int, seq_of: Callable[[T], int], to_json: Callable[[T], dict[str, Any]]) -> None:
        self._entries: deque[T] = deque(maxlen=max(size, 0))
        self._seq = itertools.count(1)
        self._seq_of = seq_of
        self._to_json = to_json
        self.last = 0

    def _next_seq(self) -> int:
        self.last = next(self._seq)
        return self.last

    def since(self, seq: int, limit: int) -> list[dict[str, Any]]:
        """Entries with a sequence number above `seq`, oldest first, at most `limit`, as JSON objects."""
        newer: list[T] = []
        for entry in reversed(self._entries):
            if self._seq_of(entry) <= seq:
                break
            newer.append(entry)
        newer.reverse()
        return [self._to_json(entry) for entry in newer[:limit]]

    def clear(self) -> None:
        self._entries.clear()


class RequestLog(_Log[RequestEntry]):
    def __init__(self, size: int) -> None:
        super().__init__(size, attrgetter("seq"), RequestEntry.to_json)

    def record(
        self, arrival_ns: int, method: str, path: str, raw_body: bytes, account_id: int | None
    ) -> RequestEntry:
        entry = RequestEntry(self._next_seq(), arrival_ns, method, path, raw_body, account_id)
        self._entries.append(entry)
        return entry


class EventLog(_Log[EventEntry]):
    def __init__(self, size: int) -> None:
        super().__init__(size, itemgetter(0), event_json)

    def record(self, sent_ns: int, hub: str, connection_id: int, target: str, record: bytes) -> None:
        self._entries.append((self._next_seq(), sent_ns, hub, connection_id, target, record))
