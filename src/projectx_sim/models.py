"""The exchange's records and their wire shapes (gateway-api.md §2.7).

REST payloads and user-hub events use the same shapes, so each record renders itself once here;
`to_wire()` returns a fresh dict, i.e. a snapshot that later changes to the record do not alter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from projectx_sim.contracts import Contract
from projectx_sim.wire import OrderSide, OrderStatus, OrderType, PositionType, timestamp


@dataclass(slots=True)
class User:
    id: int
    name: str
    api_key: str


@dataclass(slots=True)
class Account:
    id: int
    user_id: int
    name: str
    balance: Decimal
    can_trade: bool = True
    is_visible: bool = True
    simulated: bool = True
    active: bool = True

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "balance": self.balance,
            "canTrade": self.can_trade,
            "isVisible": self.is_visible,
            "simulated": self.simulated,
        }


@dataclass(slots=True)
class Order:
    id: int
    account_id: int
    contract: Contract
    created: datetime
    updated: datetime
    status: OrderStatus
    type: OrderType
    side: OrderSide
    size: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    custom_tag: str | None = None
    fill_volume: int = 0
    filled_price: Decimal | None = None
    trail_ticks: int | None = None  # TrailingStop only: distance from the best price, in ticks

    @property
    def remaining(self) -> int:
        return self.size - self.fill_volume

    @property
    def is_buy(self) -> bool:
        return self.side == OrderSide.BID

    def to_wire(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract.id,
            "symbolId": self.contract.symbol_id,
            "creationTimestamp": timestamp(self.created),
            "updateTimestamp": timestamp(self.updated),
            "status": int(self.status),
            "type": int(self.type),
            "side": int(self.side),
            "size": self.size,
            "limitPrice": self.limit_price,
            "stopPrice": self.stop_price,
            "fillVolume": self.fill_volume,
            "filledPrice": self.filled_price,
            "customTag": self.custom_tag,
        }
        if self.trail_ticks is not None:
            # Schema extras: the distance in ticks and, read back, in price units (§2.7).
            payload["trailDistance"] = self.trail_ticks
            payload["trailPrice"] = self.trail_ticks * self.contract.tick_size
        return payload


@dataclass(slots=True)
class Position:
    id: int
    account_id: int
    contract_id: str
    created: datetime
    type: PositionType
    size: int
    average_price: Decimal

    @property
    def signed_size(self) -> int:
        return self.size if self.type == PositionType.LONG else -self.size

    def to_wire(self, type_override: PositionType | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract_id,
            "creationTimestamp": timestamp(self.created),
            "type": int(self.type if type_override is None else type_override),
            "size": self.size,
            "averagePrice": self.average_price,
        }


@dataclass(slots=True)
class Trade:
    """One fill ("half-turn"); `profit_and_loss` is gross and None for an opening fill (§5.1)."""

    id: int
    account_id: int
    contract_id: str
    created: datetime
    price: Decimal
    profit_and_loss: Decimal | None
    fees: Decimal
    side: OrderSide
    size: int
    order_id: int
    voided: bool = False

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accountId": self.account_id,
            "contractId": self.contract_id,
            "creationTimestamp": timestamp(self.created),
            "price": self.price,
            "profitAndLoss": self.profit_and_loss,
            "fees": self.fees,
            "side": int(self.side),
            "size": self.size,
            "voided": self.voided,
            "orderId": self.order_id,
        }
