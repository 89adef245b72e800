"""The dispatcher's inbox: other items first in arrival order, then quotes, coalesced per contract while
they wait."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.daemon.inbox import Inbox
from simple_risk_manager.domain.events import QuoteUpdated
from simple_risk_manager.domain.models import Quote
from simple_risk_manager.engine.items import ResetDue, TimerTick

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MES, MNQ = "CON.F.US.MES.H25", "CON.F.US.MNQ.H25"


def quote(contract_id: str, seconds: float, **prices: str) -> QuoteUpdated:
    values = {k: Decimal(v) for k, v in prices.items()}
    return QuoteUpdated(Quote(contract_id=contract_id, received_at=T0 + timedelta(seconds=seconds), **values))


async def drain(inbox: Inbox[object]) -> list[object]:
    items = []
    while inbox.qsize():
        items.append(await inbox.get())
        inbox.task_done()
    return items


async def test_a_waiting_quote_absorbs_newer_ones_of_its_contract_in_place() -> None:
    inbox: Inbox[object] = Inbox()
    inbox.put(quote(MES, 0, bid="6000", ask="6000.25", last="6000"))
    inbox.put(TimerTick())
    inbox.put(quote(MNQ, 1, last="21000"))
    inbox.put(quote(MES, 2, last="6001"))  # partial: bid and ask keep the waiting values
    inbox.put(ResetDue())

    items = await drain(inbox)

    assert items == [
        TimerTick(), ResetDue(),
        QuoteUpdated(Quote(contract_id=MES, received_at=T0 + timedelta(seconds=2), bid=Decimal("6000"),
                           ask=Decimal("6000.25"), last=Decimal("6001"))),
        quote(MNQ, 1, last="21000")]
    assert inbox.coalesced == 1


async def test_a_quote_taken_from_the_queue_is_no_longer_merged_into() -> None:
    inbox: Inbox[object] = Inbox()
    inbox.put(quote(MES, 0, last="6000"))
    first = await inbox.get()
    inbox.task_done()
    inbox.put(quote(MES, 1, last="6001"))
    assert first == quote(MES, 0, last="6000")
    assert await drain(inbox) == [quote(MES, 1, last="6001")]
    assert inbox.coalesced == 0


async def test_join_waits_for_every_item_to_be_done() -> None:
    inbox: Inbox[object] = Inbox()
    inbox.put(TimerTick())
    inbox.put(quote(MES, 0, last="6000"))
    await drain(inbox)
    await inbox.join()  # returns at once: both were marked done
    assert inbox.qsize() == 0


async def test_an_order_event_is_served_before_a_burst_of_waiting_quotes() -> None:
    """A user-hub event that arrives behind quotes of ten contracts is the next item taken."""
    inbox: Inbox[object] = Inbox()
    contracts = [f"CON.F.US.C{n}.H25" for n in range(10)]
    for n, contract_id in enumerate(contracts):
        inbox.put(quote(contract_id, n, last="100"))
    inbox.put(TimerTick())
    assert await inbox.get() == TimerTick()
    inbox.task_done()
    rest = await drain(inbox)
    assert [item.quote.contract_id for item in rest if isinstance(item, QuoteUpdated)] == contracts


async def test_get_waits_for_the_next_put() -> None:
    inbox: Inbox[object] = Inbox()
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    inbox.put(quote(MES, 0, last="6000"))
    async with asyncio.timeout(5):
        assert await waiting == quote(MES, 0, last="6000")


async def test_join_waits_until_the_taken_item_is_done_and_task_done_cannot_overrun() -> None:
    inbox: Inbox[object] = Inbox()
    inbox.put(ResetDue())
    await inbox.get()
    joined = asyncio.create_task(inbox.join())
    await asyncio.sleep(0)
    assert not joined.done()
    inbox.task_done()
    async with asyncio.timeout(5):
        await joined
    with pytest.raises(ValueError, match="more times"):
        inbox.task_done()
