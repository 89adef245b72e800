"""Dirty items waiting for the next batched flush (`storage.md` §4).

Positions, orders, trades and contracts change often and the broker can replay them, so callers
only mark them here; items are coalesced by id (last state wins, a close or terminal status becomes
a delete) and a flush takes them all at once for one transaction. Items are encoded when marked, so
a bad object is refused to its caller at once and can never make a later flush fail.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from simple_risk_manager.domain.enums import TERMINAL_STATUSES
from simple_risk_manager.domain.models import ContractMetadata, Order, Position, Trade
from simple_risk_manager.store import codecs
from simple_risk_manager.store.codecs import Row


@dataclass(frozen=True, slots=True)
class Batch:
    """One flush's worth of encoded rows, keyed by id. A `None` value deletes the row with that id."""

    positions: Mapping[int, Row | None] = field(default_factory=dict)
    orders: Mapping[int, Row | None] = field(default_factory=dict)
    trades: Mapping[int, Row] = field(default_factory=dict)
    contracts: Mapping[str, Row] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.positions) + len(self.orders) + len(self.trades) + len(self.contracts)


class PendingWrites:
    """Thread-safe dirty sets: marked on the event loop, taken by a flush, restored if it fails."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._positions: dict[int, Row | None] = {}
        self._orders: dict[int, Row | None] = {}
        self._trades: dict[int, Row] = {}
        self._contracts: dict[str, Row] = {}

    def mark_position(self, position: Position) -> None:
        """Upsert an open position; a size-0 (closed) position deletes its row."""
        row = None if position.is_closed else codecs.encode_position(position)
        with self._lock:
            self._positions[position.id] = row

    def remove_position(self, position_id: int) -> None:
        with self._lock:
            self._positions[position_id] = None

    def mark_order(self, order: Order) -> None:
        """Upsert a non-terminal order (unknown codes included); a terminal status deletes its row."""
        row = None if order.status in TERMINAL_STATUSES else codecs.encode_order(order)
        with self._lock:
            self._orders[order.id] = row

    def remove_order(self, order_id: int) -> None:
        with self._lock:
            self._orders[order_id] = None

    def mark_trade(self, trade: Trade) -> None:
        row = codecs.encode_trade(trade)
        with self._lock:
            self._trades[trade.id] = row

    def mark_contract(self, contract: ContractMetadata) -> None:
        row = codecs.encode_contract(contract)
        with self._lock:
            self._contracts[contract.contract_id] = row

    def __len__(self) -> int:
        with self._lock:
            return len(self._positions) + len(self._orders) + len(self._trades) + len(self._contracts)

    def take(self) -> Batch:
        """Everything marked so far; the dirty sets start empty again."""
        with self._lock:
            batch = Batch(self._positions, self._orders, self._trades, self._contracts)
            self._positions, self._orders, self._trades, self._contracts = {}, {}, {}, {}
        return batch

    def restore(self, batch: Batch) -> None:
        """Put back a batch whose flush failed, except items marked again since (those are newer)."""
        with self._lock:
            for position_id, position_row in batch.positions.items():
                self._positions.setdefault(position_id, position_row)
            for order_id, order_row in batch.orders.items():
                self._orders.setdefault(order_id, order_row)
            for trade_id, trade_row in batch.trades.items():
                self._trades.setdefault(trade_id, trade_row)
            for contract_id, contract_row in batch.contracts.items():
                self._contracts.setdefault(contract_id, contract_row)
