"""Frozen data objects of `storage.md` §9.2.

`from_api` builds an object from one gateway payload (already unwrapped from `{action, data}`) and
raises `ValueError` naming the field when a hard requirement of `storage.md` §10 fails, so the caller
can drop that one item and log it. `to_dict` is the broadcast form (`broadcast-api.md` §4–5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from simple_risk_manager.domain.enums import (
    STOP_ORDER_TYPES,
    WORKING_STATUSES,
    EnforcementActionType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
    code_name,
    decode_order_status,
    decode_order_type,
)
from simple_risk_manager.domain.money import ZERO, to_json_number
from simple_risk_manager.domain.payload import (
    flag,
    instant,
    integer,
    number,
    opt_instant,
    opt_integer,
    opt_number,
    opt_text,
    text,
)
from simple_risk_manager.domain.times import ensure_utc, format_utc

Payload = Mapping[str, Any]


# --- payload field readers: one error message shape for every hard requirement -----------------

def _side(payload: Payload) -> OrderSide:
    code = integer(payload, "side")
    try:
        return OrderSide(code)
    except ValueError:
        raise ValueError(f"side: unknown OrderSide code {code}") from None


def _num(value: Decimal | None) -> float | int | None:
    return None if value is None else to_json_number(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


# --- broker objects --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Account:
    """A TradingAccount as the gateway reports it; the state manager keeps its flags.

    `can_trade` is None when the payload did not carry `canTrade`: RULE-010 then fails open and warns,
    which it could not do if a missing flag were read as true here.
    """

    id: int
    name: str
    balance: Decimal
    can_trade: bool | None
    is_visible: bool = True
    simulated: bool = True

    @classmethod
    def from_api(cls, payload: Payload) -> Account:
        return cls(
            id=integer(payload, "id"),
            name=opt_text(payload, "name") or "",
            balance=number(payload, "balance"),
            can_trade=None if payload.get("canTrade") is None else flag(payload, "canTrade", True),
            is_visible=flag(payload, "isVisible", True),
            simulated=flag(payload, "simulated", True),
        )


@dataclass(frozen=True, slots=True)
class Position:
    id: int
    account_id: int
    contract_id: str
    type: PositionType
    size: int
    average_price: Decimal
    created_at: datetime
    updated_at: datetime
    unrealized_pnl: Decimal | None = None

    def __post_init__(self) -> None:
        if self.size < 0:
            raise ValueError(f"size: must be >= 0 (got {self.size})")
        if self.size > 0 and self.type not in (PositionType.LONG, PositionType.SHORT):
            raise ValueError(f"type: an open position must be LONG or SHORT (got {self.type!r})")

    @property
    def is_closed(self) -> bool:
        return self.size == 0

    @property
    def signed_size(self) -> int:
        """+size for a long, −size for a short (net counting)."""
        return -self.size if self.type is PositionType.SHORT else self.size

    @classmethod
    def from_api(cls, payload: Payload, received_at: datetime) -> Position:
        size = integer(payload, "size")
        code = integer(payload, "type")
        try:
            ptype = PositionType(code)
        except ValueError:
            if size > 0:
                raise ValueError(f"type: unknown PositionType code {code} on an open position") from None
            ptype = PositionType.UNDEFINED  # a size-0 update is a close whatever its type
        return cls(
            id=integer(payload, "id"),
            account_id=integer(payload, "accountId"),
            contract_id=text(payload, "contractId"),
            type=ptype,
            size=size,
            average_price=number(payload, "averagePrice"),
            created_at=opt_instant(payload, "creationTimestamp") or received_at,
            updated_at=received_at,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "position_id": self.id,
            "contract_id": self.contract_id,
            "type": self.type.name,
            "size": self.size,
            "average_price": _num(self.average_price),
            "opened_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "unrealized_pnl": _num(self.unrealized_pnl),
        }


@dataclass(frozen=True, slots=True)
class Order:
    id: int
    account_id: int
    contract_id: str
    type: OrderType | int
    side: OrderSide
    size: int
    status: OrderStatus | int
    created_at: datetime
    updated_at: datetime
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    fill_price: Decimal | None = None
    filled_size: int = 0
    custom_tag: str | None = None
    is_stop_loss: bool = False

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"size: must be > 0 (got {self.size})")
        if not 0 <= self.filled_size <= self.size:
            raise ValueError(f"fillVolume: must be between 0 and size {self.size} (got {self.filled_size})")

    @property
    def is_working(self) -> bool:
        """Working for the rules: Open, Pending or Suspended (`rules.md` §0); unknown codes are not."""
        return self.status in WORKING_STATUSES

    @property
    def is_stop_type(self) -> bool:
        return self.type in STOP_ORDER_TYPES

    @property
    def is_own(self) -> bool:
        """The daemon's own orders carry a customTag starting with `RM-` (`rules.md` §5)."""
        return self.custom_tag is not None and self.custom_tag.startswith("RM-")

    def with_stop_flag(self, is_stop_loss: bool) -> Order:
        return self if is_stop_loss == self.is_stop_loss else replace(self, is_stop_loss=is_stop_loss)

    @classmethod
    def from_api(cls, payload: Payload, received_at: datetime) -> Order:
        created = opt_instant(payload, "creationTimestamp") or received_at
        return cls(
            id=integer(payload, "id"),
            account_id=integer(payload, "accountId"),
            contract_id=text(payload, "contractId"),
            type=decode_order_type(integer(payload, "type")),
            side=_side(payload),
            size=integer(payload, "size"),
            status=decode_order_status(integer(payload, "status")),
            created_at=created,
            updated_at=opt_instant(payload, "updateTimestamp") or created,
            limit_price=opt_number(payload, "limitPrice"),
            stop_price=opt_number(payload, "stopPrice"),
            fill_price=opt_number(payload, "filledPrice"),
            filled_size=opt_integer(payload, "fillVolume") or 0,
            custom_tag=opt_text(payload, "customTag"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.id,
            "contract_id": self.contract_id,
            "type": code_name(self.type),
            "side": self.side.name,
            "size": self.size,
            "limit_price": _num(self.limit_price),
            "stop_price": _num(self.stop_price),
            "status": code_name(self.status),
            "filled_size": self.filled_size,
            "fill_price": _num(self.fill_price),
            "is_stop_loss": self.is_stop_loss,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill (a gateway HalfTrade). `profit_and_loss` is gross and None for an opening fill."""

    id: int
    account_id: int
    contract_id: str
    side: OrderSide
    size: int
    price: Decimal
    execution_time: datetime
    received_at: datetime
    profit_and_loss: Decimal | None = None
    fees: Decimal = ZERO
    voided: bool = False
    order_id: int | None = None

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ValueError(f"size: must be > 0 (got {self.size})")

    @classmethod
    def from_api(cls, payload: Payload, received_at: datetime) -> Trade:
        return cls(
            id=integer(payload, "id"),
            account_id=integer(payload, "accountId"),
            contract_id=text(payload, "contractId"),
            side=_side(payload),
            size=integer(payload, "size"),
            price=number(payload, "price"),
            execution_time=instant(payload, "creationTimestamp"),
            received_at=received_at,
            profit_and_loss=opt_number(payload, "profitAndLoss"),
            fees=opt_number(payload, "fees") or ZERO,
            voided=flag(payload, "voided", False),
            order_id=opt_integer(payload, "orderId"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "trade_id": self.id,
            "contract_id": self.contract_id,
            "side": self.side.name,
            "size": self.size,
            "price": _num(self.price),
            "profit_and_loss": _num(self.profit_and_loss),
            "fees": _num(self.fees),
            "voided": self.voided,
            "order_id": self.order_id,
            "execution_time": _iso(self.execution_time),
            "received_at": _iso(self.received_at),
        }


@dataclass(frozen=True, slots=True)
class Quote:
    """Latest quote of a contract; gateway quotes may be partial, so None means "not sent"."""

    contract_id: str
    received_at: datetime
    bid: Decimal | None = None
    ask: Decimal | None = None
    last: Decimal | None = None
    quote_time: datetime | None = None

    @classmethod
    def from_api(cls, contract_id: str, payload: Payload, received_at: datetime) -> Quote:
        if not contract_id:
            raise ValueError("contractId: must be a non-empty string")
        return cls(
            contract_id=contract_id,
            received_at=received_at,
            bid=opt_number(payload, "bestBid"),
            ask=opt_number(payload, "bestAsk"),
            last=opt_number(payload, "lastPrice"),
            quote_time=opt_instant(payload, "timestamp"),
        )

    def merged_over(self, previous: Quote | None) -> Quote:
        """This (partial) update on top of the previous quote: absent fields keep their old value."""
        if previous is None:
            return self
        return Quote(
            contract_id=self.contract_id,
            received_at=self.received_at,
            bid=self.bid if self.bid is not None else previous.bid,
            ask=self.ask if self.ask is not None else previous.ask,
            last=self.last if self.last is not None else previous.last,
            quote_time=self.quote_time if self.quote_time is not None else previous.quote_time,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "contract_id": self.contract_id,
            "bid": _num(self.bid),
            "ask": _num(self.ask),
            "last": _num(self.last),
            "quote_time": _iso(self.quote_time),
            "received_at": _iso(self.received_at),
        }


@dataclass(frozen=True, slots=True)
class ContractMetadata:
    contract_id: str
    symbol_id: str
    tick_size: Decimal
    tick_value: Decimal
    cached_at: datetime
    name: str | None = None

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.tick_value <= 0:
            raise ValueError(f"tickSize/tickValue: must be > 0 (got {self.tick_size}/{self.tick_value})")

    @property
    def point_value(self) -> Decimal:
        return self.tick_value / self.tick_size

    @classmethod
    def from_api(cls, payload: Payload, cached_at: datetime) -> ContractMetadata:
        return cls(
            contract_id=text(payload, "id"),
            symbol_id=text(payload, "symbolId"),
            tick_size=number(payload, "tickSize"),
            tick_value=number(payload, "tickValue"),
            cached_at=cached_at,
            name=opt_text(payload, "name"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "symbol_id": self.symbol_id,
            "name": self.name,
            "tick_size": _num(self.tick_size),
            "tick_value": _num(self.tick_value),
        }


# --- the daemon's own records ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Lockout:
    account_id: int
    rule_id: str
    kind: str
    reason: str
    locked_at: datetime
    locked_until: datetime | None
    created_at: datetime
    updated_at: datetime
    lockout_id: int | None = None
    cleared_at: datetime | None = None
    cleared_by: str | None = None

    def __post_init__(self) -> None:
        if (self.locked_until is None) != (self.kind == "condition"):
            raise ValueError("locked_until is None exactly for condition lockouts")

    def is_active(self, now: datetime) -> bool:
        """Active until cleared or until `now` reaches `locked_until` (expiry is inclusive)."""
        if self.cleared_at is not None:
            return False
        return self.locked_until is None or now < self.locked_until

    def remaining_s(self, now: datetime) -> float | None:
        """Seconds left (never negative); None for a condition lockout, which has no end time."""
        if self.locked_until is None:
            return None
        return max(0.0, (self.locked_until - ensure_utc(now)).total_seconds())

    def to_dict(self) -> dict[str, Any]:
        return {
            "lockout_id": self.lockout_id,
            "rule_id": self.rule_id,
            "reason": self.reason,
            "kind": self.kind,
            "locked_at": _iso(self.locked_at),
            "locked_until": _iso(self.locked_until),
        }


@dataclass(frozen=True, slots=True)
class EnforcementAction:
    """One rule decision (`rules.md` §1). `lockout_kind` set means a lockout record is requested."""

    action: EnforcementActionType
    account_id: int
    rule_id: str
    reason: str
    created_at: datetime
    contract_id: str | None = None
    order_id: int | None = None
    size: int | None = None
    stop_price: Decimal | None = None
    lockout_kind: str | None = None
    lockout_until: datetime | None = None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EnforcementLog:
    timestamp: datetime
    account_id: int
    rule_id: str
    action: str
    reason: str
    success: bool
    outcome: str
    id: int | None = None
    positions_closed: int = 0
    orders_cancelled: int = 0
    lockout_until: datetime | None = None
    error_message: str | None = None
    superseded_by: str | None = None
    cleared_by: str | None = None
    execution_time_ms: int | None = None

    def details(self) -> dict[str, Any]:
        """The `details` JSON column (`storage.md` §3.8)."""
        return {
            "positions_closed": self.positions_closed,
            "orders_cancelled": self.orders_cancelled,
            "lockout_until": _iso(self.lockout_until),
            "error": self.error_message,
            "superseded_by": self.superseded_by,
            "cleared_by": self.cleared_by,
        }

    def to_dict(self) -> dict[str, Any]:
        details = self.details()
        del details["superseded_by"], details["cleared_by"]
        return {
            "action": self.action,
            "rule_id": self.rule_id,
            "reason": self.reason,
            "success": self.success,
            "outcome": self.outcome,
            "timestamp": _iso(self.timestamp),
            "execution_time_ms": self.execution_time_ms,
            "details": details,
        }


@dataclass(frozen=True, slots=True)
class Timer:
    name: str
    kind: str
    fire_at: datetime
    account_id: int | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DailyPnl:
    account_id: int
    date: date
    last_updated: datetime
    realized_pnl: Decimal = ZERO
    gross_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    trade_count: int = 0


@dataclass(frozen=True, slots=True)
class ResetSchedule:
    account_id: int
    trading_date: date
    last_reset_at: datetime
    next_reset_at: datetime
    reset_time_config: str
    timezone: str


@dataclass(frozen=True, slots=True)
class SessionState:
    account_id: int
    session_start: datetime
    updated_at: datetime


# --- configuration objects (built by `config/` after validation) ------------------------------

@dataclass(frozen=True, slots=True)
class RuleConfig:
    rule_id: str
    key: str
    name: str
    enabled: bool
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AccountConfig:
    account_id: int
    enabled: bool = True
    username: str | None = None
    api_key: str | None = field(default=None, repr=False)
    nickname: str | None = None
    reset_time: str | None = None
    timezone: str | None = None
    risk_overrides: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Safe form: the api key is never part of it."""
        return {
            "account_id": self.account_id,
            "enabled": self.enabled,
            "username": self.username,
            "nickname": self.nickname,
            "reset_time": self.reset_time,
            "timezone": self.timezone,
            "risk_overrides": dict(self.risk_overrides),
        }


# --- broadcast payloads built by the daemon --------------------------------------------------

@dataclass(frozen=True, slots=True)
class DaemonStatus:
    status: str
    message: str
    started_at: datetime
    uptime_s: int
    hubs: Mapping[str, str]
    clients: int
    accounts: tuple[Mapping[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "started_at": _iso(self.started_at),
            "uptime_s": self.uptime_s,
            "hubs": dict(self.hubs),
            "clients": self.clients,
            "accounts": [dict(a) for a in self.accounts],
        }


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """One account of a broadcast `snapshot` (`broadcast-api.md` §4.4); parts already in broadcast form."""

    account_id: int
    nickname: str | None
    can_trade: bool | None
    balance: Decimal | None
    trading_date: date
    session_start: datetime
    next_reset_at: datetime
    realized_pnl: Decimal
    gross_pnl: Decimal
    fees: Decimal
    unrealized_pnl: Decimal
    trade_count: int
    trade_counts: Mapping[str, int]
    lockouts: tuple[Mapping[str, Any], ...]
    positions: tuple[Mapping[str, Any], ...]
    orders: tuple[Mapping[str, Any], ...]
    quotes: Mapping[str, Mapping[str, Any]]
    contracts: Mapping[str, Mapping[str, Any]]
    rules: tuple[Mapping[str, Any], ...]
    recent_trades: tuple[Mapping[str, Any], ...]
    recent_enforcement: tuple[Mapping[str, Any], ...]
    stale: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "nickname": self.nickname,
            "can_trade": self.can_trade,
            "balance": _num(self.balance),
            "trading_date": self.trading_date.isoformat(),
            "session_start": _iso(self.session_start),
            "next_reset_at": _iso(self.next_reset_at),
            "realized_pnl": _num(self.realized_pnl),
            "gross_pnl": _num(self.gross_pnl),
            "fees": _num(self.fees),
            "unrealized_pnl": _num(self.unrealized_pnl),
            "trade_count": self.trade_count,
            "trade_counts": dict(self.trade_counts),
            "lockouts": [dict(x) for x in self.lockouts],
            "positions": [dict(x) for x in self.positions],
            "orders": [dict(x) for x in self.orders],
            "quotes": {k: dict(v) for k, v in self.quotes.items()},
            "contracts": {k: dict(v) for k, v in self.contracts.items()},
            "rules": [dict(x) for x in self.rules],
            "recent_trades": [dict(x) for x in self.recent_trades],
            "recent_enforcement": [dict(x) for x in self.recent_enforcement],
            "stale": self.stale,
        }
