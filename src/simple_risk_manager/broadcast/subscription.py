"""Which accounts one client follows (§4.2; filtering is done on the server, B2)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Subscription:
    """`everything` follows every enabled account; before any `subscribe` nothing is followed."""

    everything: bool
    account_ids: frozenset[int]

    @classmethod
    def nothing(cls) -> Subscription:
        return cls(False, frozenset())

    @classmethod
    def all_accounts(cls) -> Subscription:
        return cls(True, frozenset())

    @classmethod
    def of(cls, account_ids: Collection[int]) -> Subscription:
        return cls(False, frozenset(account_ids))

    def covers(self, account_id: int) -> bool:
        return self.everything or account_id in self.account_ids

    def covers_any(self, account_ids: Collection[int]) -> bool:
        return bool(account_ids) and (self.everything or not self.account_ids.isdisjoint(account_ids))
