"""The dispatcher's one inbox (`daemon.md` §4): hub events and internal items, quotes behind the rest.

Two lanes. Every item that is not a quote (user-hub events, timer ticks, reconcile results, metadata)
is taken in arrival order and never coalesced or dropped. Quotes wait in their own lane, one entry per
contract: while a quote of a contract waits, a newer one is merged over it in place (fields the newer
one lacks keep the older value, exactly what the quote tracker would have made of the two), so a burst
of quotes never grows the inbox; contracts are served oldest first.

The dispatcher takes the first lane while it holds anything. A waiting quote is the latest state of a
contract, not a step in a sequence, so serving an order or fill event before it changes no outcome —
the quote is evaluated a moment later against the newer positions — while a breach on the user hub no
longer waits behind a burst of quotes (docs/performance.md).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, TypeVar

from simple_risk_manager.domain.events import QuoteUpdated
from simple_risk_manager.domain.models import Quote

T = TypeVar("T")


class Inbox(Generic[T]):
    """`put` from any task on the loop (never blocks); one consumer `get`s and calls `task_done`."""

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        #: Contract id → its waiting (merged) quote; dict order is the order the contracts started waiting.
        self._quotes: dict[str, Quote] = {}
        self._getter: asyncio.Future[None] | None = None
        self._unfinished = 0
        self._all_done = asyncio.Event()
        self._all_done.set()
        #: Quotes merged into one still waiting (for the daemon's counters and tests).
        self.coalesced = 0

    def put(self, item: T) -> None:
        if isinstance(item, QuoteUpdated):
            contract_id = item.quote.contract_id
            waiting = self._quotes.get(contract_id)
            if waiting is not None:
                self._quotes[contract_id] = item.quote.merged_over(waiting)
                self.coalesced += 1
                return
            self._quotes[contract_id] = item.quote
        else:
            self._items.append(item)
        self._unfinished += 1
        self._all_done.clear()
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    async def get(self) -> T | QuoteUpdated:
        """The oldest item that is not a quote, else the quote of the contract waiting longest."""
        while not self._items and not self._quotes:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        if self._items:
            return self._items.popleft()
        contract_id = next(iter(self._quotes))
        return QuoteUpdated(self._quotes.pop(contract_id))

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called more times than items were taken")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._all_done.set()

    async def join(self) -> None:
        """Wait until every item put so far has been taken and marked done."""
        await self._all_done.wait()

    def qsize(self) -> int:
        return len(self._items) + len(self._quotes)
