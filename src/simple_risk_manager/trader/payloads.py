"""Broadcast `data` (`broadcast-api.md` §4–5) → the domain objects the dashboard works with.

Parsing happens once, at the edge: past this module the dashboard sees `Position`, `Order`, `Quote`,
`Lockout`, … with `Decimal` money and UTC datetimes, so it can value positions with the daemon's own
P&L function. A field that breaks the contract raises `ValueError` naming the field; the caller drops
that one item. Unknown fields are ignored (§3).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import TypeVar

from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.models import (
    ContractMetadata,
    EnforcementLog,
    Lockout,
    Order,
    Position,
    Quote,
    Trade,
)
from simple_risk_manager.domain.payload import (
    Data,
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

E = TypeVar("E", bound=IntEnum)


# --- field readers ---------------------------------------------------------------------------

def member(data: Data, key: str, enum: type[E]) -> E:
    name = data.get(key)
    if not isinstance(name, str) or name not in enum.__members__:
        raise ValueError(f"{key}: unknown {enum.__name__} {name!r}")
    return enum[name]


def code_or_member(data: Data, key: str, enum: type[E]) -> E | int:
    """A member name, or `UNKNOWN_<code>` for a broker code the daemon does not know (§3) → the int."""
    name = data.get(key)
    if isinstance(name, str) and name.startswith("UNKNOWN_") and name[8:].lstrip("-").isdigit():
        return int(name[8:])
    return member(data, key, enum)


# --- objects ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PositionLine:
    """An open position with what the daemon says about its stop (RULE-008); None = not known (saved)."""

    position: Position
    has_stop: bool | None = None
    no_stop_deadline: datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleGauge:
    """One row of the snapshot's `rules` (§4.4). `limits`: per-window limits when the daemon sends them."""

    rule_id: str
    name: str
    enabled: bool
    limit: Decimal | None
    current: Decimal | None
    status: str
    limits: Mapping[str, Decimal] | None = None


def position_line(data: Data, account_id: int) -> PositionLine:
    """§5.2 / the snapshot's `positions`; a size-0 update (a close) parses too, as UNDEFINED or its side."""
    size = integer(data, "size")
    kind = member(data, "type", PositionType)
    opened = instant(data, "opened_at")
    position = Position(id=integer(data, "position_id"), account_id=account_id,
                        contract_id=text(data, "contract_id"),
                        type=kind, size=size, average_price=number(data, "average_price"),
                        created_at=opened, updated_at=opt_instant(data, "updated_at") or opened,
                        unrealized_pnl=opt_number(data, "unrealized_pnl"))
    has_stop = data.get("has_stop")
    return PositionLine(position, has_stop if isinstance(has_stop, bool) else None,
                        opt_instant(data, "no_stop_deadline"))


def order(data: Data, account_id: int) -> Order:
    created = instant(data, "created_at")
    return Order(id=integer(data, "order_id"), account_id=account_id, contract_id=text(data, "contract_id"),
                 type=code_or_member(data, "type", OrderType), side=member(data, "side", OrderSide),
                 size=integer(data, "size"), status=code_or_member(data, "status", OrderStatus),
                 created_at=created, updated_at=opt_instant(data, "updated_at") or created,
                 limit_price=opt_number(data, "limit_price"), stop_price=opt_number(data, "stop_price"),
                 fill_price=opt_number(data, "fill_price"), filled_size=opt_integer(data, "filled_size") or 0,
                 is_stop_loss=flag(data, "is_stop_loss"))


def quote(data: Data, contract_id: str | None = None) -> Quote:
    """§5.4, or a snapshot `quotes` entry (keyed by contract, so `contract_id` is passed)."""
    return Quote(contract_id=contract_id or text(data, "contract_id"),
                 received_at=instant(data, "received_at"), bid=opt_number(data, "bid"),
                 ask=opt_number(data, "ask"), last=opt_number(data, "last"),
                 quote_time=opt_instant(data, "quote_time"))


def contract(contract_id: str, data: Data, cached_at: datetime) -> ContractMetadata:
    return ContractMetadata(contract_id=contract_id, symbol_id=text(data, "symbol_id"),
                            tick_size=number(data, "tick_size"), tick_value=number(data, "tick_value"),
                            cached_at=cached_at, name=opt_text(data, "name"))


def lockout(data: Data, account_id: int) -> Lockout:
    """§5.5 / the snapshot's `lockouts` (active records)."""
    locked_at = instant(data, "locked_at")
    return Lockout(account_id=account_id, rule_id=text(data, "rule_id"), kind=text(data, "kind"),
                   reason=opt_text(data, "reason") or "", locked_at=locked_at,
                   locked_until=opt_instant(data, "locked_until"), created_at=locked_at, updated_at=locked_at,
                   lockout_id=integer(data, "lockout_id"))


def trade(data: Data, account_id: int) -> Trade:
    executed = instant(data, "execution_time")
    return Trade(id=integer(data, "trade_id"), account_id=account_id, contract_id=text(data, "contract_id"),
                 side=member(data, "side", OrderSide), size=integer(data, "size"),
                 price=number(data, "price"), execution_time=executed,
                 received_at=opt_instant(data, "received_at") or executed,
                 profit_and_loss=opt_number(data, "profit_and_loss"),
                 fees=opt_number(data, "fees") or Decimal(0),
                 voided=flag(data, "voided"), order_id=opt_integer(data, "order_id"))


def enforcement(data: Data, account_id: int) -> EnforcementLog:
    """§5.7 / the snapshot's `recent_enforcement`."""
    details = data.get("details")
    details = details if isinstance(details, Mapping) else {}
    error = details.get("error")
    return EnforcementLog(timestamp=instant(data, "timestamp"), account_id=account_id,
                          rule_id=text(data, "rule_id"), action=text(data, "action"),
                          reason=opt_text(data, "reason") or "", success=flag(data, "success"),
                          outcome=text(data, "outcome"),
                          positions_closed=opt_integer(details, "positions_closed") or 0,
                          orders_cancelled=opt_integer(details, "orders_cancelled") or 0,
                          lockout_until=opt_instant(details, "lockout_until"),
                          error_message=error if isinstance(error, str) else None,
                          cleared_by=opt_text(details, "cleared_by"),
                          execution_time_ms=opt_integer(data, "execution_time_ms"))


def rule_gauge(data: Data) -> RuleGauge:
    raw_limits = data.get("limits")
    limits = None
    if isinstance(raw_limits, Mapping):
        limits = {str(window): number(raw_limits, window) for window in raw_limits
                  if raw_limits.get(window) is not None}
    return RuleGauge(rule_id=text(data, "rule_id"), name=opt_text(data, "name") or "",
                     enabled=flag(data, "enabled", True), limit=opt_number(data, "limit"),
                     current=opt_number(data, "current"), status=opt_text(data, "status") or "OK",
                     limits=limits)


def trade_counts(data: Data, key: str = "trade_counts") -> dict[str, int]:
    """`{minute, hour, session}`; missing windows are left out rather than guessed."""
    raw = data.get(key)
    if not isinstance(raw, Mapping):
        return {}
    return {window: integer(raw, window) for window in ("minute", "hour", "session") if window in raw}
