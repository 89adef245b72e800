"""The engine's outward interfaces, so the pipeline and enforcement never depend on how the daemon
persists or broadcasts (the daemon wires the SQLite store and the broadcast server to these).

Persistence calls return a `concurrent.futures.Future` (the store's immediate writes): the dispatcher
never waits on them; enforcement waits only for the lockout write before its first broker call.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from typing import Any, Protocol

from simple_risk_manager.domain.models import (
    ContractMetadata,
    DailyPnl,
    EnforcementLog,
    Lockout,
    Order,
    Position,
    ResetSchedule,
    SessionState,
    Trade,
)
from simple_risk_manager.engine.plan import EnforcementPlan


class Batch(Protocol):
    """Batched writes (positions, orders, trades, contracts): marked now, flushed every 5 s."""

    def mark_position(self, position: Position) -> None: ...

    def remove_position(self, position_id: int) -> None: ...

    def mark_order(self, order: Order) -> None: ...

    def remove_order(self, order_id: int) -> None: ...

    def mark_trade(self, trade: Trade) -> None: ...

    def mark_contract(self, contract: ContractMetadata) -> None: ...


class Journal(Protocol):
    """Persistence (`storage.md` §4), shaped so `store.StateStore` satisfies it as it is."""

    @property
    def pending(self) -> Batch: ...

    def save_lockouts(self, *lockouts: Lockout) -> Future[None]: ...

    def save_daily_pnl(self, pnl: DailyPnl) -> Future[None]: ...

    def add_enforcement_log(self, entry: EnforcementLog) -> Future[int]: ...

    def save_reset_schedule(self, schedule: ResetSchedule) -> Future[None]: ...

    def save_session_state(self, state: SessionState) -> Future[None]: ...


class Broadcaster(Protocol):
    """The nine event messages of `broadcast-api.md` §5; must never block or raise into the caller."""

    def publish(self, message_type: str, account_id: int | None, data: Mapping[str, Any]) -> None: ...


class Enforcer(Protocol):
    """MOD-001 as the dispatcher sees it: submit never blocks; results come back as journal rows,
    broadcasts and, for confirmations, the position and order events the dispatcher forwards.

    The enforcer writes every `enforcement_log` row of a plan (executed, DRY_RUN, FAILED, SUPERSEDED,
    UNLOCK, ALERT) and every `enforcement_action` broadcast; the dispatcher writes none. The dispatcher
    records the plan's lockouts (and clears the lockout of an UNLOCK) before calling `submit`."""

    def submit(self, plan: EnforcementPlan, lockouts_written: Future[None] | None) -> None:
        """Run the plan's broker calls as background work, after `lockouts_written` has committed."""
        ...

    def is_own_order(self, order: Order) -> bool:
        """`rules.md` §5: an `RM-` tag, or a market order matching an in-flight close/reduce (≤ 10 s)."""
        ...

    def observe_position(self, position: Position) -> None:
        """Every position event after the state update: confirms closes and reductions in flight."""
        ...

    def observe_order(self, order: Order) -> None:
        """Every order event after the state update: learns placed stops, confirms cancels."""
        ...
