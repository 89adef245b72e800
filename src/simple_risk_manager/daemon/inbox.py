"""The dispatcher's one queue (`daemon.md` §4): hub events and internal items, in arrival order.

Quotes are coalesced on the way in: while a quote of a contract still waits in the queue, a newer one
is merged over it in place (fields the newer one lacks keep the older value, exactly what the quote
tracker would have made of the two), so a burst of quotes never grows the queue. Every other item is
kept as it came: user-hub events are never coalesced or dropped.
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

from simple_risk_manager.domain.events import QuoteUpdated
from simple_risk_manager.domain.models import Quote

T = TypeVar("T")


class _WaitingQuote:
    """A queued quote that later quotes of the same contract are merged into."""

    __slots__ = ("quote",)

    def __init__(self, quote: Quote) -> None:
        self.quote = quote


class Inbox(Generic[T]):
    """`put` from any task on the loop (never blocks); one consumer `get`s and calls `task_done`."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[T | _WaitingQuote] = asyncio.Queue()
        self._waiting_quotes: dict[str, _WaitingQuote] = {}
        #: Quotes merged into one still waiting (for the daemon's counters and tests).
        self.coalesced = 0

    def put(self, item: T) -> None:
        if isinstance(item, QuoteUpdated):
            contract_id = item.quote.contract_id
            waiting = self._waiting_quotes.get(contract_id)
            if waiting is not None:
                waiting.quote = item.quote.merged_over(waiting.quote)
                self.coalesced += 1
                return
            waiting = _WaitingQuote(item.quote)
            self._waiting_quotes[contract_id] = waiting
            self._queue.put_nowait(waiting)
            return
        self._queue.put_nowait(item)

    async def get(self) -> T | QuoteUpdated:
        entry = await self._queue.get()
        if isinstance(entry, _WaitingQuote):
            del self._waiting_quotes[entry.quote.contract_id]
            return QuoteUpdated(entry.quote)
        return entry

    def task_done(self) -> None:
        self._queue.task_done()

    async def join(self) -> None:
        """Wait until every item put so far has been taken and marked done."""
        await self._queue.join()

    def qsize(self) -> int:
        return self._queue.qsize()
