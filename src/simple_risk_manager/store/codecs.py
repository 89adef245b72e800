"""Explicit domain object ↔ row conversion (`storage.md` §2), never the driver's adapters.

Times are `YYYY-MM-DDTHH:MM:SS.sssZ` text, trading dates `YYYY-MM-DD`, money and prices plain
decimal text read back with `Decimal(text)`, booleans 0/1, broker enums their integer codes (unknown
codes stay raw ints). Each `encode_*` returns values in the column order of `tables.py`; each
`decode_*` reads that order back.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from simple_risk_manager.domain.enums import OrderSide, PositionType, decode_order_status, decode_order_type
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
from simple_risk_manager.domain.money import decimal_text
from simple_risk_manager.domain.times import format_date, format_utc, parse_date, parse_utc

Row = tuple[Any, ...]


# --- optional values and flags -------------------------------------------------------------

def opt_time_text(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def read_opt_time(text: str | None) -> datetime | None:
    return None if text is None else parse_utc(text)


def opt_money_text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def read_opt_money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def flag(value: bool) -> int:
    return 1 if value else 0


# --- lockouts --------------------------------------------------------------------------------

def encode_lockout(lockout: Lockout) -> Row:
    if lockout.lockout_id is None:
        raise ValueError(f"lockout for account {lockout.account_id} rule {lockout.rule_id}: "
                         "lockout_id is None; the lockout manager assigns ids before saving")
    return (lockout.lockout_id, lockout.account_id, lockout.rule_id, str(lockout.kind), lockout.reason,
            format_utc(lockout.locked_at), opt_time_text(lockout.locked_until),
            opt_time_text(lockout.cleared_at),
            None if lockout.cleared_by is None else str(lockout.cleared_by),
            format_utc(lockout.created_at), format_utc(lockout.updated_at))


def decode_lockout(row: Sequence[Any]) -> Lockout:
    (lockout_id, account_id, rule_id, kind, reason, locked_at, locked_until, cleared_at, cleared_by,
     created_at, updated_at) = row
    return Lockout(lockout_id=lockout_id, account_id=account_id, rule_id=rule_id, kind=kind, reason=reason,
                   locked_at=parse_utc(locked_at), locked_until=read_opt_time(locked_until),
                   cleared_at=read_opt_time(cleared_at), cleared_by=cleared_by,
                   created_at=parse_utc(created_at), updated_at=parse_utc(updated_at))


# --- daily_pnl -------------------------------------------------------------------------------

def encode_daily_pnl(pnl: DailyPnl) -> Row:
    return (pnl.account_id, format_date(pnl.date), decimal_text(pnl.realized_pnl),
            decimal_text(pnl.gross_pnl), decimal_text(pnl.fees), pnl.trade_count,
            format_utc(pnl.last_updated))


def decode_daily_pnl(row: Sequence[Any]) -> DailyPnl:
    account_id, day, realized, gross, fees, trade_count, last_updated = row
    return DailyPnl(account_id=account_id, date=parse_date(day), realized_pnl=Decimal(realized),
                    gross_pnl=Decimal(gross), fees=Decimal(fees), trade_count=trade_count,
                    last_updated=parse_utc(last_updated))


# --- contract_cache --------------------------------------------------------------------------

def encode_contract(contract: ContractMetadata) -> Row:
    return (contract.contract_id, contract.symbol_id, contract.name, decimal_text(contract.tick_size),
            decimal_text(contract.tick_value), format_utc(contract.cached_at))


def decode_contract(row: Sequence[Any]) -> ContractMetadata:
    contract_id, symbol_id, name, tick_size, tick_value, cached_at = row
    return ContractMetadata(contract_id=contract_id, symbol_id=symbol_id, name=name,
                            tick_size=Decimal(tick_size), tick_value=Decimal(tick_value),
                            cached_at=parse_utc(cached_at))


# --- trade_history ---------------------------------------------------------------------------

def encode_trade(trade: Trade) -> Row:
    """`created_at` holds the local receive time (`Trade.received_at`)."""
    return (trade.id, trade.account_id, trade.contract_id, format_utc(trade.execution_time), int(trade.side),
            trade.size, decimal_text(trade.price), opt_money_text(trade.profit_and_loss),
            decimal_text(trade.fees), flag(trade.voided), trade.order_id, format_utc(trade.received_at))


def decode_trade(row: Sequence[Any]) -> Trade:
    (trade_id, account_id, contract_id, timestamp, side, size, price, pnl, fees, voided, order_id,
     created_at) = row
    return Trade(id=trade_id, account_id=account_id, contract_id=contract_id, side=OrderSide(side), size=size,
                 price=Decimal(price), execution_time=parse_utc(timestamp), received_at=parse_utc(created_at),
                 profit_and_loss=read_opt_money(pnl), fees=Decimal(fees), voided=bool(voided),
                 order_id=order_id)


# --- session_state ---------------------------------------------------------------------------

def encode_session_state(state: SessionState) -> Row:
    return (state.account_id, format_utc(state.session_start), format_utc(state.updated_at))


def decode_session_state(row: Sequence[Any]) -> SessionState:
    account_id, session_start, updated_at = row
    return SessionState(account_id=account_id, session_start=parse_utc(session_start),
                        updated_at=parse_utc(updated_at))


# --- positions -------------------------------------------------------------------------------

def encode_position(position: Position) -> Row:
    """Open positions only: a size-0 position is a delete, never a row."""
    if position.size <= 0:
        raise ValueError(f"position {position.id}: size {position.size} is a close; delete the row instead")
    return (position.id, position.account_id, position.contract_id, int(position.type), position.size,
            decimal_text(position.average_price), format_utc(position.created_at),
            format_utc(position.updated_at))


def decode_position(row: Sequence[Any]) -> Position:
    position_id, account_id, contract_id, ptype, size, average_price, created_at, updated_at = row
    return Position(id=position_id, account_id=account_id, contract_id=contract_id, type=PositionType(ptype),
                    size=size, average_price=Decimal(average_price), created_at=parse_utc(created_at),
                    updated_at=parse_utc(updated_at))


# --- orders ----------------------------------------------------------------------------------

def encode_order(order: Order) -> Row:
    """`fill_price`, `custom_tag` and `is_stop_loss` stay in memory (`storage.md` S21)."""
    return (order.id, order.account_id, order.contract_id, int(order.type), int(order.side), order.size,
            opt_money_text(order.limit_price), opt_money_text(order.stop_price), int(order.status),
            order.filled_size, format_utc(order.created_at), format_utc(order.updated_at))


def decode_order(row: Sequence[Any]) -> Order:
    (order_id, account_id, contract_id, otype, side, size, limit_price, stop_price, status, filled_size,
     created_at, updated_at) = row
    return Order(id=order_id, account_id=account_id, contract_id=contract_id, type=decode_order_type(otype),
                 side=OrderSide(side), size=size, status=decode_order_status(status),
                 limit_price=read_opt_money(limit_price), stop_price=read_opt_money(stop_price),
                 filled_size=filled_size, created_at=parse_utc(created_at), updated_at=parse_utc(updated_at))


# --- enforcement_log -------------------------------------------------------------------------

def encode_enforcement_log(entry: EnforcementLog) -> Row:
    details = json.dumps(entry.details(), sort_keys=True, separators=(",", ":"))
    return (entry.id, format_utc(entry.timestamp), entry.account_id, entry.rule_id, str(entry.action),
            entry.reason, flag(entry.success), str(entry.outcome), details, entry.execution_time_ms)


def decode_enforcement_log(row: Sequence[Any]) -> EnforcementLog:
    (entry_id, timestamp, account_id, rule_id, action, reason, success, outcome, details_text,
     execution_time_ms) = row
    details: dict[str, Any] = json.loads(details_text) if details_text else {}
    return EnforcementLog(id=entry_id, timestamp=parse_utc(timestamp), account_id=account_id, rule_id=rule_id,
                          action=action, reason=reason, success=bool(success), outcome=outcome,
                          positions_closed=int(details.get("positions_closed") or 0),
                          orders_cancelled=int(details.get("orders_cancelled") or 0),
                          lockout_until=read_opt_time(details.get("lockout_until")),
                          error_message=details.get("error"), superseded_by=details.get("superseded_by"),
                          cleared_by=details.get("cleared_by"), execution_time_ms=execution_time_ms)


# --- reset_schedule --------------------------------------------------------------------------

def encode_reset_schedule(schedule: ResetSchedule, updated_at: datetime) -> Row:
    """`updated_at` is the write time; the domain object does not carry it."""
    return (schedule.account_id, format_date(schedule.trading_date), format_utc(schedule.last_reset_at),
            format_utc(schedule.next_reset_at), schedule.reset_time_config, schedule.timezone,
            format_utc(updated_at))


def decode_reset_schedule(row: Sequence[Any]) -> ResetSchedule:
    account_id, trading_date, last_reset_at, next_reset_at, reset_time_config, timezone, _updated_at = row
    return ResetSchedule(account_id=account_id, trading_date=parse_date(trading_date),
                         last_reset_at=parse_utc(last_reset_at), next_reset_at=parse_utc(next_reset_at),
                         reset_time_config=reset_time_config, timezone=timezone)
