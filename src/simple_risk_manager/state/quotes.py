"""MOD-006 Quote Tracker: the latest quote per contract and the market-hub subscription set.

Gateway quotes may carry only the fields that changed, so each update is merged over the last one.
Which contracts are subscribed follows from the mirror (`modules.md` MOD-006: a contract is wanted
while any monitored account holds a position or a working order in it): `sync_subscriptions` takes
that wanted set and answers which Subscribe/Unsubscribe calls the market hub must make. The count
of holders is never kept incrementally, so a missed event or a reconcile cannot make it drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from simple_risk_manager.domain.models import Quote
from simple_risk_manager.domain.times import ensure_utc


def quote_age(quote: Quote, now: datetime) -> float:
    """Seconds since the quote was received locally (`received_at`, never the gateway's timestamp)."""
    return (ensure_utc(now) - quote.received_at).total_seconds()


def is_quote_stale(quote: Quote | None, now: datetime, max_age: float) -> bool:
    """Missing, or older than `max_age` seconds (`global.max_quote_age_seconds`)."""
    return quote is None or quote_age(quote, now) > max_age


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """Market-hub calls to make: `SubscribeContractQuotes` / `UnsubscribeContractQuotes` per contract."""

    subscribe: tuple[str, ...]
    unsubscribe: tuple[str, ...]


class QuoteTracker:
    """Merged quotes of the subscribed contracts."""

    def __init__(self) -> None:
        self._quotes: dict[str, Quote] = {}
        self._subscribed: set[str] = set()

    def update(self, quote: Quote) -> Quote | None:
        """Merge a (partial) quote; None when the contract is not subscribed (a late quote is dropped)."""
        if quote.contract_id not in self._subscribed:
            return None
        merged = quote.merged_over(self._quotes.get(quote.contract_id))
        self._quotes[quote.contract_id] = merged
        return merged

    def get(self, contract_id: str) -> Quote | None:
        return self._quotes.get(contract_id)

    def age(self, contract_id: str, now: datetime) -> float | None:
        """Seconds since the last update of the contract was received; None without a quote."""
        quote = self._quotes.get(contract_id)
        return None if quote is None else quote_age(quote, now)

    def is_stale(self, contract_id: str, now: datetime, max_age: float) -> bool:
        return is_quote_stale(self._quotes.get(contract_id), now, max_age)

    def sync_subscriptions(self, wanted: Iterable[str]) -> SubscriptionChange:
        """Make the subscription set equal `wanted` (`StateManager.held_contracts()`).

        Dropping a subscription also drops its quote: a price from before the gap must never be
        used when the contract is held again (the first quote after subscribing is complete).
        """
        target = set(wanted)
        added = sorted(target - self._subscribed)
        removed = sorted(self._subscribed - target)
        for contract_id in removed:
            self._quotes.pop(contract_id, None)
        self._subscribed = target
        return SubscriptionChange(subscribe=tuple(added), unsubscribe=tuple(removed))

    def subscribed(self) -> tuple[str, ...]:
        """Every subscribed contract: what the market hub re-subscribes after a reconnect."""
        return tuple(sorted(self._subscribed))
