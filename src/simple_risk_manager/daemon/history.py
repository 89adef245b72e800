"""What the snapshot's `recent_trades` and `recent_enforcement` show (`broadcast-api.md` §4.4).

The dispatcher and MOD-001 already hand every fill (hub and reconcile alike) and every audit row to the
journal, so `RecordingJournal` sits in front of the store and keeps the newest of each per account in
memory: a snapshot is then built without touching SQLite (it must be built in one synchronous step,
§6). At startup the buffers are seeded from what the store loaded.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from datetime import datetime
from typing import Final

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
from simple_risk_manager.engine.ports import Batch, Journal

RECENT_TRADES: Final = 200
RECENT_ENFORCEMENT: Final = 50


class RecentHistory:
    """The newest fills (by execution time, one entry per trade id) and audit rows of each account."""

    def __init__(self, trades: int = RECENT_TRADES, enforcement: int = RECENT_ENFORCEMENT) -> None:
        self._trade_cap = trades
        self._enforcement_cap = enforcement
        self._trades: dict[int, dict[int, Trade]] = {}
        self._enforcement: dict[int, deque[EnforcementLog]] = {}

    def add_trade(self, trade: Trade) -> None:
        """A later copy of the same trade id (e.g. voided) replaces the earlier one."""
        kept = self._trades.setdefault(trade.account_id, {})
        kept[trade.id] = trade
        if len(kept) > self._trade_cap:
            oldest = min(kept.values(), key=_trade_order)
            del kept[oldest.id]

    def add_enforcement(self, entry: EnforcementLog) -> None:
        rows = self._enforcement.get(entry.account_id)
        if rows is None:
            rows = self._enforcement[entry.account_id] = deque(maxlen=self._enforcement_cap)
        rows.append(entry)

    def seed(self, trades: Iterable[Trade], enforcement: Iterable[EnforcementLog]) -> None:
        """Rows read from the store at startup, oldest first."""
        for trade in trades:
            self.add_trade(trade)
        for entry in enforcement:
            self.add_enforcement(entry)

    def trades(self, account_id: int, since: datetime) -> list[Trade]:
        """The account's fills executed at or after `since` (the trading day's start), newest first."""
        kept = self._trades.get(account_id, {})
        return sorted((t for t in kept.values() if t.execution_time >= since), key=_trade_order, reverse=True)

    def enforcement(self, account_id: int) -> list[EnforcementLog]:
        """The account's newest audit rows, newest first."""
        return list(reversed(self._enforcement.get(account_id, ())))


def _trade_order(trade: Trade) -> tuple[datetime, int]:
    return trade.execution_time, trade.id


class _RecordingBatch:
    """The store's batch, noting each marked fill in the history on the way."""

    def __init__(self, batch: Batch, history: RecentHistory) -> None:
        self._batch = batch
        self._history = history

    def mark_position(self, position: Position) -> None:
        self._batch.mark_position(position)

    def remove_position(self, position_id: int) -> None:
        self._batch.remove_position(position_id)

    def mark_order(self, order: Order) -> None:
        self._batch.mark_order(order)

    def remove_order(self, order_id: int) -> None:
        self._batch.remove_order(order_id)

    def mark_trade(self, trade: Trade) -> None:
        self._batch.mark_trade(trade)
        self._history.add_trade(trade)

    def mark_contract(self, contract: ContractMetadata) -> None:
        self._batch.mark_contract(contract)


class RecordingJournal:
    """A `Journal` that forwards everything to `journal` and records fills and audit rows in `history`."""

    def __init__(self, journal: Journal, history: RecentHistory) -> None:
        self._journal = journal
        self._history = history
        self._pending = _RecordingBatch(journal.pending, history)

    @property
    def pending(self) -> Batch:
        return self._pending

    def save_lockouts(self, *lockouts: Lockout) -> Future[None]:
        return self._journal.save_lockouts(*lockouts)

    def save_daily_pnl(self, pnl: DailyPnl) -> Future[None]:
        return self._journal.save_daily_pnl(pnl)

    def add_enforcement_log(self, entry: EnforcementLog) -> Future[int]:
        self._history.add_enforcement(entry)
        return self._journal.add_enforcement_log(entry)

    def save_reset_schedule(self, schedule: ResetSchedule) -> Future[None]:
        return self._journal.save_reset_schedule(schedule)

    def save_session_state(self, state: SessionState) -> Future[None]:
        return self._journal.save_session_state(state)
