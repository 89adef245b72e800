"""Market data: a seeded, tick-aligned random walk per contract, plus prices set by the control API.

Prices are kept in whole ticks so they can never leave the tick grid; they become Decimals only on the
way out (`best()` for fills, the quote payloads for the market hub). Every change becomes one
`MarketUpdate`, which renders the GatewayQuote/GatewayTrade/GatewayDepth payloads lazily: nothing is
built for a contract that nobody subscribed to.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from projectx_sim.config import SimConfig
from projectx_sim.contracts import Contract, ContractBook
from projectx_sim.exchange import Bbo, utc_now
from projectx_sim.wire import DomType, TradeLogType, timestamp

PERCENT = Decimal("0.01")
MIN_WALK_INTERVAL_S = 0.005  # at high rates the walk runs several steps per wake-up instead
BURST_CHUNK = 256
PAUSED_RECHECK_S = 1.0


class Keep(Enum):
    """`set_price` argument meaning "leave this side as it is" (None clears a side)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(slots=True)
class _Book:
    contract: Contract
    bid: int | None
    ask: int | None
    last: int
    open: int
    high: int
    low: int
    prev_close: int
    volume: int = 0


@dataclass(slots=True)
class MarketUpdate:
    """One price change of one contract, captured in ticks; payloads are rendered on demand."""

    contract: Contract
    bid: int | None
    ask: int | None
    last: int
    open: int
    high: int
    low: int
    prev_close: int
    volume: int
    changed: tuple[str, ...]  # wire names of the quote fields this update changed
    trade_volume: int  # 0 = no trade printed
    aggressor: TradeLogType
    bid_size: int
    ask_size: int
    stamp: str

    def _price(self, ticks: int | None) -> Decimal | None:
        return None if ticks is None else self.contract.tick_size * ticks

    def _field(self, name: str) -> Any:
        if name == "lastPrice":
            return self._price(self.last)
        if name == "bestBid":
            return self._price(self.bid)
        if name == "bestAsk":
            return self._price(self.ask)
        if name == "change":
            return self.contract.tick_size * (self.last - self.prev_close)
        if name == "changePercent":
            return (Decimal(100 * (self.last - self.prev_close)) / self.prev_close).quantize(PERCENT)
        if name == "open":
            return self._price(self.open)
        if name == "high":
            return self._price(self.high)
        if name == "low":
            return self._price(self.low)
        return self.volume

    def quote(self, full: bool) -> dict[str, Any]:
        """GatewayQuote body: every field, or only the fields this update changed (§4.6)."""
        body: dict[str, Any] = {"symbol": self.contract.symbol_id}
        if full:
            body["symbolName"] = self.contract.symbol_name
        for name in QUOTE_FIELDS if full else self.changed:
            body[name] = self._field(name)
        body["lastUpdated"] = self.stamp
        body["timestamp"] = self.stamp
        return body

    def tape(self) -> list[dict[str, Any]]:
        """GatewayTrade entries (empty when this update printed no trade)."""
        if not self.trade_volume:
            return []
        return [
            {
                "symbolId": self.contract.symbol_id,
                "price": self._price(self.last),
                "timestamp": self.stamp,
                "type": int(self.aggressor),
                "volume": self.trade_volume,
            }
        ]

    def depth(self) -> list[dict[str, Any]]:
        """GatewayDepth entries for the top of book."""
        entries = []
        if self.ask is not None:
            entries.append(self._level(DomType.BEST_ASK, self.ask, self.ask_size))
        if self.bid is not None:
            entries.append(self._level(DomType.BEST_BID, self.bid, self.bid_size))
        return entries

    def _level(self, kind: DomType, ticks: int, size: int) -> dict[str, Any]:
        return {
            "timestamp": self.stamp,
            "type": int(kind),
            "price": self._price(ticks),
            "volume": size,
            "currentVolume": size,
        }


QUOTE_FIELDS = ("lastPrice", "bestBid", "bestAsk", "change", "changePercent", "open", "high", "low", "volume")


class Market:
    """Quotes of every front-month contract; implements the exchange's PriceSource."""

    def __init__(
        self,
        config: SimConfig,
        contracts: ContractBook,
        listener: Callable[[MarketUpdate], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._config = config
        self._listener = listener
        self._clock = clock
        self._rng = random.Random(config.seed)
        self._books: dict[str, _Book] = {}
        for contract in contracts.front:
            start = int(contract.instrument.base_price / contract.tick_size)
            self._books[contract.id] = _Book(contract, start, start + 1, start, start, start, start, start)
        self._wake = asyncio.Event()

    def best(self, contract_id: str) -> Bbo | None:
        book = self._books.get(contract_id)
        if book is None:
            return None
        tick = book.contract.tick_size
        return Bbo(
            bid=None if book.bid is None else tick * book.bid,
            ask=None if book.ask is None else tick * book.ask,
            last=tick * book.last,
        )

    def snapshot(self, contract_id: str) -> MarketUpdate | None:
        """The current state as an update that changed nothing (for complete quotes on subscribe)."""
        book = self._books.get(contract_id)
        if book is None:
            return None
        return self._update(book, (), 0, TradeLogType.BUY)

    def set_price(
        self,
        contract_id: str,
        *,
        bid: Decimal | Keep | None = KEEP,
        ask: Decimal | Keep | None = KEEP,
        last: Decimal | Keep = KEEP,
    ) -> MarketUpdate:
        """Set prices (None clears a side); a lone `last` makes a one-tick market at it."""
        book = self._books.get(contract_id)
        if book is None:
            raise KeyError(contract_id)

        def ticks(price: Decimal) -> int:
            count = book.contract.ticks(price)
            if count is None:
                tick = book.contract.tick_size
                raise ValueError(f"{price} is not a positive multiple of the tick size {tick}")
            return count

        new_last = book.last if isinstance(last, Keep) else ticks(last)
        if not isinstance(last, Keep) and isinstance(bid, Keep) and isinstance(ask, Keep):
            new_bid: int | None = new_last
            new_ask: int | None = new_last + 1
        else:
            new_bid = book.bid if isinstance(bid, Keep) else (None if bid is None else ticks(bid))
            new_ask = book.ask if isinstance(ask, Keep) else (None if ask is None else ticks(ask))
        if new_bid is not None and new_ask is not None and new_bid > new_ask:
            raise ValueError("bid must not be above ask")
        traded = not isinstance(last, Keep)
        aggressor = TradeLogType.BUY if new_last >= book.last else TradeLogType.SELL
        return self._apply(book, new_bid, new_ask, new_last, volume=1 if traded else 0, aggressor=aggressor)

    def step(self, contract_id: str) -> MarketUpdate:
        """One random-walk step: the bid moves by at most one tick, a trade prints at bid or ask."""
        book = self._books[contract_id]
        rng = self._rng
        bid = book.bid if book.bid is not None else (book.ask - 1 if book.ask is not None else book.last)
        draw = rng.random()
        move = -1 if draw < 0.25 else (1 if draw >= 0.75 else 0)
        bid = max(bid + move, 1)
        ask = bid + 1
        aggressor = TradeLogType.BUY if rng.random() < 0.5 else TradeLogType.SELL
        last = ask if aggressor == TradeLogType.BUY else bid
        return self._apply(book, bid, ask, last, volume=rng.randint(1, 5), aggressor=aggressor)

    def _apply(
        self,
        book: _Book,
        bid: int | None,
        ask: int | None,
        last: int,
        *,
        volume: int,
        aggressor: TradeLogType,
    ) -> MarketUpdate:
        changed: list[str] = []
        if last != book.last:
            changed += ("lastPrice", "change", "changePercent")
        if bid != book.bid:
            changed.append("bestBid")
        if ask != book.ask:
            changed.append("bestAsk")
        if last > book.high:
            book.high = last
            changed.append("high")
        if last < book.low:
            book.low = last
            changed.append("low")
        if volume:
            book.volume += volume
            changed.append("volume")
        book.bid, book.ask, book.last = bid, ask, last
        update = self._update(book, tuple(changed), volume, aggressor)
        self._listener(update)
        return update

    def _update(
        self, book: _Book, changed: tuple[str, ...], volume: int, aggressor: TradeLogType
    ) -> MarketUpdate:
        sizes = self._rng.randint(1, 40), self._rng.randint(1, 40)
        return MarketUpdate(
            contract=book.contract,
            bid=book.bid,
            ask=book.ask,
            last=book.last,
            open=book.open,
            high=book.high,
            low=book.low,
            prev_close=book.prev_close,
            volume=book.volume,
            changed=changed,
            trade_volume=volume,
            aggressor=aggressor,
            bid_size=sizes[0],
            ask_size=sizes[1],
            stamp=timestamp(self._clock()),
        )

    def wake(self) -> None:
        """Re-read the walk switches now (after pause/resume or a rate change)."""
        self._wake.set()

    async def run(self) -> None:
        """The random walk: `quote_rate` steps per second for every front-month contract."""
        owed = 0.0
        previous = time.monotonic()
        while True:
            rate = self._config.quote_rate
            if not self._config.random_walk or rate <= 0:
                self._wake.clear()
                # a switch set directly on the config (not through /sim/) is noticed within a second
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), PAUSED_RECHECK_S)
                previous, owed = time.monotonic(), 0.0
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), max(1.0 / rate, MIN_WALK_INTERVAL_S))
                continue  # a switch changed: start over with the new settings
            except TimeoutError:
                pass
            now = time.monotonic()
            owed = min(owed + (now - previous) * rate, rate)  # never more than one second's backlog
            previous = now
            steps = int(owed)
            owed -= steps
            for _ in range(steps):
                for contract_id in self._books:
                    self.step(contract_id)

    async def burst(self, contract_id: str, count: int, backpressure: Callable[[], Awaitable[None]]) -> None:
        """`count` walk steps on one contract as fast as the subscribers take them (benchmarks)."""
        if contract_id not in self._books:
            raise KeyError(contract_id)
        for done in range(count):
            self.step(contract_id)
            if done % BURST_CHUNK == BURST_CHUNK - 1:
                await backpressure()
