"""Injected REST faults: fail, hang or delay the next N calls, optionally only for one path.

A fault can strike before the endpoint runs (the call has no effect) or after it (the effect happens
but the client never learns it) — the case an enforcement engine must verify through REST.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

HANG_S = 3600.0  # a "timeout" without seconds hangs until the client gives up


class FaultKind(StrEnum):
    STATUS = "status"  # answer with an HTTP status (500, 429, 503 ...) and an empty body
    TIMEOUT = "timeout"  # never answer in time: hang, then 504
    DELAY = "delay"  # answer normally, late


class Phase(StrEnum):
    BEFORE = "before"
    AFTER = "after"


@dataclass(slots=True)
class RestFault:
    kind: FaultKind
    remaining: int
    status: int = 500
    path: str | None = None  # matched case-insensitively against the request path
    seconds: float | None = None
    phase: Phase = Phase.BEFORE

    @property
    def wait_s(self) -> float:
        if self.seconds is not None:
            return self.seconds
        return HANG_S if self.kind == FaultKind.TIMEOUT else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "remaining": self.remaining,
            "status": self.status,
            "path": self.path,
            "seconds": self.seconds,
            "phase": self.phase.value,
        }


class RestFaults:
    """Pending faults in the order they were added; each call consumes at most one."""

    def __init__(self) -> None:
        self._faults: list[RestFault] = []

    def add(self, fault: RestFault) -> None:
        self._faults.append(fault)

    def take(self, path: str) -> RestFault | None:
        lowered = path.lower()
        for fault in self._faults:
            if fault.path is None or fault.path.lower() == lowered:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self._faults]
