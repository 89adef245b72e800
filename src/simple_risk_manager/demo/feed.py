"""The daemon's broadcast feed as the demo sees it: every message kept in order, shown by the view, and
waited on by the scripted trader ("go on once RULE-003 has flattened the account").

A wait looks at messages from a mark taken *before* the trader acted, so a broadcast that arrives
before the trader's own REST call has returned is never missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from simple_risk_manager.broadcast.client import BroadcastClient, Disconnected
from simple_risk_manager.broadcast.frames import Message

Predicate = Callable[[Message], bool]


class DemoView(Protocol):
    """What the demo shows: the plain live log today; the Trader dashboard implements the same calls."""

    def notice(self, text: str) -> None:
        """A line from the demo itself (starting, stopping, problems)."""

    def narrate(self, account_id: int, text: str) -> None:
        """What the scripted trader is about to do on an account."""

    def message(self, message: Message) -> None:
        """One broadcast message from the daemon."""

    def summary(self, lines: list[str]) -> None:
        """The final summary."""


class Feed:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._waiters: list[tuple[Predicate, asyncio.Future[Message]]] = []

    def mark(self) -> int:
        """A position in the feed; `wait_for(since=mark)` considers messages from here on."""
        return len(self.messages)

    def add(self, message: Message) -> None:
        self.messages.append(message)
        pending = []
        for predicate, future in self._waiters:
            if future.done():
                continue
            if predicate(message):
                future.set_result(message)
            else:
                pending.append((predicate, future))
        self._waiters = pending

    def find(self, predicate: Predicate, since: int = 0) -> Message | None:
        return next((m for m in self.messages[since:] if predicate(m)), None)

    def all(self, predicate: Predicate, since: int = 0) -> list[Message]:
        return [m for m in self.messages[since:] if predicate(m)]

    async def wait_for(self, predicate: Predicate, *, since: int, within_s: float) -> Message | None:
        """The first matching message at or after `since`; None when none came within `within_s`."""
        found = self.find(predicate, since)
        if found is not None:
            return found
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        try:
            return await asyncio.wait_for(future, within_s)
        except TimeoutError:
            return None


async def follow(client: BroadcastClient, feed: Feed, view: DemoView) -> None:
    """Feed and show every message until the client is closed. A lost connection becomes a notice; failed
    attempts before the daemon's server is up are expected and not shown (the runner times start-up)."""
    async for item in client.stream():
        if isinstance(item, Disconnected):
            if feed.messages:
                view.notice(f"broadcast feed: {item.reason}; retrying in {item.retry_in_s:.1f} s")
            continue
        feed.add(item)
        view.message(item)
