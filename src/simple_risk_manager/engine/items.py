"""The dispatcher's internal items: what the daemon's own tasks enqueue next to the gateway's events.

Periodic and I/O tasks never touch state (`daemon.md` §4); they put one of these on the dispatcher's
queue and the dispatcher applies it like any hub event, so every mutation happens in one place and in
queue order. Timers are owned by the dispatcher: the expiry task only says "check now" (`TimerTick`)
and the dispatcher turns each due timer into its internal event (grace / session boundary → rules,
lockout expiry, daily reset).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from simple_risk_manager.domain.events import GatewayEvent
from simple_risk_manager.domain.models import ContractMetadata
from simple_risk_manager.gateway.reconcile import ReconcileResult


@dataclass(frozen=True, slots=True)
class TimerTick:
    """The `expiry-check` task's 1-s tick: fire every MOD-003 timer due at `at` (default: clock now)."""

    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ResetDue:
    """The `reset-check` task's 10-s poll: run every daily reset that is due (`modules.md` MOD-004).

    A reset that already ran (the `reset` timer was first) is not due any more, so it runs once.
    """

    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Reconciled:
    """REST truth for one account (`gateway.reconcile.fetch_reconcile`): applied, then its Sweep."""

    result: ReconcileResult


@dataclass(frozen=True, slots=True)
class ContractFetched:
    """A `Contract/searchById` the dispatcher asked for (`fetch_contract`) succeeded (MOD-007)."""

    metadata: ContractMetadata


@dataclass(frozen=True, slots=True)
class ContractFetchFailed:
    """That fetch failed; the next attempt waits 1, 2, 4 … 60 s and is asked for by a later event."""

    contract_id: str
    error: str


InternalItem = TimerTick | ResetDue | Reconciled | ContractFetched | ContractFetchFailed
Item = GatewayEvent | InternalItem
"""Everything `Dispatcher.handle` accepts."""
