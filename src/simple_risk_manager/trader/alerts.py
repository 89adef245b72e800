"""Flash alerts (`cli.md` §1.7): what each event says to the trader, and the queue they wait in.

The newest alert shows, a counter says how many wait. An alert's lifetime runs only while it is on
screen, so an alert pushed aside by a newer one is still seen later. Alerts bound to a state (the
daemon stopping, the connection lost) stay until that state changes; a failed enforcement stays until
the trader dismisses it. Time is always passed in, so the queue is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

ENFORCEMENT_LIFETIME_S: Final = 10.0
NOTICE_LIFETIME_S: Final = 10.0
CLEARED_LIFETIME_S: Final = 5.0
RESET_LIFETIME_S: Final = 5.0
TRADE_NOTE_LIFETIME_S: Final = 5.0

#: Keys of the alerts that last as long as a state: resolved when the state changes.
CONNECTION_KEY: Final = "connection"
DAEMON_KEY: Final = "daemon"


class AlertKind(StrEnum):
    ENFORCEMENT = "enforcement"
    FAILED = "failed"
    NOTICE = "notice"
    UNLOCKED = "unlocked"
    RESET = "reset"
    STATE = "state"

    @property
    def style(self) -> str:
        return _STYLES[self]


_STYLES = {
    AlertKind.ENFORCEMENT: "bold white on red",
    AlertKind.FAILED: "bold white on magenta",
    AlertKind.NOTICE: "bold black on yellow",
    AlertKind.UNLOCKED: "bold black on green",
    AlertKind.RESET: "bold black on cyan",
    AlertKind.STATE: "bold black on yellow",
}


@dataclass(frozen=True, slots=True)
class Alert:
    """`lifetime_s` None: shown until dismissed (Enter/Esc) or, with a `key`, until its state changes."""

    kind: AlertKind
    text: str
    created_at: datetime
    lifetime_s: float | None
    key: str | None = None
    bell: bool = False


@dataclass(slots=True)
class _Entry:
    alert: Alert
    shown_s: float = 0.0


class AlertQueue:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._ticked_at: datetime | None = None

    def push(self, alert: Alert, now: datetime) -> None:
        """Show `alert` now; a state alert replaces the one with the same key."""
        self.tick(now)
        if alert.key is not None:
            self.resolve(alert.key)
        self._entries.append(_Entry(alert))

    def tick(self, now: datetime) -> None:
        """Count the time since the last tick against the alert on screen; drop what has expired."""
        if self._ticked_at is not None and self._entries:
            elapsed = max(0.0, (now - self._ticked_at).total_seconds())
            self._entries[-1].shown_s += elapsed
        self._ticked_at = now
        self._entries = [e for e in self._entries
                         if e.alert.lifetime_s is None or e.shown_s < e.alert.lifetime_s]

    def current(self) -> Alert | None:
        """The newest alert still to be seen (call `tick` first)."""
        return self._entries[-1].alert if self._entries else None

    @property
    def waiting(self) -> int:
        """Alerts behind the one on screen."""
        return max(0, len(self._entries) - 1)

    def dismiss(self) -> Alert | None:
        """Enter/Esc: remove the alert on screen; the next one shows."""
        return self._entries.pop().alert if self._entries else None

    def resolve(self, key: str) -> None:
        """The state behind `key` changed: its alert is no longer true."""
        self._entries = [e for e in self._entries if e.alert.key != key]

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, slots=True)
class FooterNote:
    """The dim one-liner for a fill with P&L (§1.7), shown in the footer until `until`."""

    text: str
    until: datetime
