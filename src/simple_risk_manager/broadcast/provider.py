"""What the broadcast server reads from the daemon, so the server never knows about trackers.

Every method is called on the event loop, synchronously, and must return without awaiting: a snapshot
built and enqueued in one step is what lets clients apply exactly the events with `seq` above the
snapshot's (§6). For the same reason the daemon publishes each event in the same synchronous step as
the state change it reports.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from simple_risk_manager.domain.models import AccountSnapshot, DaemonStatus


@dataclass(frozen=True, slots=True)
class AccountRef:
    """An enabled account as `hello` lists it: the configured nickname, else the gateway's name, else None."""

    account_id: int
    nickname: str | None


class SnapshotProvider(Protocol):
    def accounts(self) -> Sequence[AccountRef]:
        """The enabled accounts: what `hello` lists and what `subscribe` accepts."""
        ...

    def daemon_status(self) -> DaemonStatus:
        """The current status; the server fills in `clients` itself."""
        ...

    def account_snapshots(self, account_ids: Sequence[int]) -> Sequence[AccountSnapshot]:
        """One snapshot per id, in that order; ids are always among `accounts()`."""
        ...

    def accounts_holding(self, contract_id: str) -> Collection[int]:
        """Accounts with a position or working order in the contract: who gets its `MarketQuote`."""
        ...
