"""Domain objects with realistic values for the store tests (times at millisecond precision,
as the database keeps them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain import (
    ContractMetadata,
    DailyPnl,
    EnforcementLog,
    Lockout,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionType,
    ResetSchedule,
    SessionState,
    Trade,
)
from simple_risk_manager.store import StateStore

T0 = datetime(2025, 3, 4, 15, 2, 11, 480_000, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def open_store(tmp_path: Path, clock: ManualClock | None = None) -> StateStore:
    return StateStore.open(tmp_path / "state.db", clock or ManualClock(T0))


def lockout(
    lockout_id: int = 1,
    account_id: int = 1001,
    rule_id: str = "RULE-003",
    kind: str = "reset",
    until: datetime | None = None,
    **changes: object,
) -> Lockout:
    fields: dict[str, object] = dict(
        lockout_id=lockout_id,
        account_id=account_id,
        rule_id=rule_id,
        kind=kind,
        reason="Daily loss -500.00 reached limit -500",
        locked_at=T0,
        locked_until=None if kind == "condition" else until or at(3600),
        created_at=T0,
        updated_at=T0,
    )
    fields.update(changes)
    return Lockout(**fields)


def daily_pnl(account_id: int = 1001, day: date = date(2025, 3, 4), realized: str = "-193.32") -> DailyPnl:
    return DailyPnl(
        account_id=account_id,
        date=day,
        last_updated=at(1),
        realized_pnl=Decimal(realized),
        gross_pnl=Decimal("-180.12"),
        fees=Decimal("13.20"),
        trade_count=4,
    )


def position(position_id: int = 501, size: int = 2, price: str = "21000.125", **changes: object) -> Position:
    fields: dict[str, object] = dict(
        id=position_id,
        account_id=1001,
        contract_id="CON.F.US.MNQ.H25",
        type=PositionType.LONG,
        size=size,
        average_price=Decimal(price),
        created_at=T0,
        updated_at=at(2),
    )
    fields.update(changes)
    return Position(**fields)


def order(
    order_id: int = 9001,
    status: OrderStatus | int = OrderStatus.OPEN,
    otype: OrderType | int = OrderType.STOP,
    **changes: object,
) -> Order:
    fields: dict[str, object] = dict(
        id=order_id,
        account_id=1001,
        contract_id="CON.F.US.MNQ.H25",
        type=otype,
        side=OrderSide.SELL,
        size=3,
        status=status,
        created_at=T0,
        updated_at=at(3),
        limit_price=None,
        stop_price=Decimal("20950.25"),
        filled_size=1,
    )
    fields.update(changes)
    return Order(**fields)


def trade(
    trade_id: int = 7001, execution: datetime = T0, pnl: str | None = "-193.32", **changes: object
) -> Trade:
    fields: dict[str, object] = dict(
        id=trade_id,
        account_id=1001,
        contract_id="CON.F.US.MNQ.H25",
        side=OrderSide.BUY,
        size=1,
        price=Decimal("21000.125"),
        execution_time=execution,
        received_at=execution + timedelta(milliseconds=35),
        profit_and_loss=None if pnl is None else Decimal(pnl),
        fees=Decimal("0.37"),
        voided=False,
        order_id=9001,
    )
    fields.update(changes)
    return Trade(**fields)


def contract(contract_id: str = "CON.F.US.MNQ.H25") -> ContractMetadata:
    return ContractMetadata(
        contract_id=contract_id,
        symbol_id="F.US.MNQ",
        name="MNQH5",
        tick_size=Decimal("0.25"),
        tick_value=Decimal("0.5"),
        cached_at=T0,
    )


def enforcement(timestamp: datetime = T0, account_id: int = 1001, **changes: object) -> EnforcementLog:
    fields: dict[str, object] = dict(
        timestamp=timestamp,
        account_id=account_id,
        rule_id="RULE-003",
        action="CLOSE_ALL_AND_LOCKOUT",
        reason="Daily loss limit",
        success=True,
        outcome="SUCCESS",
        positions_closed=2,
        orders_cancelled=1,
        lockout_until=at(3600),
        execution_time_ms=142,
    )
    fields.update(changes)
    return EnforcementLog(**fields)


def reset_schedule(account_id: int = 1001) -> ResetSchedule:
    return ResetSchedule(
        account_id=account_id,
        trading_date=date(2025, 3, 5),
        last_reset_at=datetime(2025, 3, 3, 23, 0, tzinfo=UTC),
        next_reset_at=datetime(2025, 3, 4, 23, 0, tzinfo=UTC),
        reset_time_config="17:00",
        timezone="America/Chicago",
    )


def session_state(account_id: int = 1001) -> SessionState:
    return SessionState(
        account_id=account_id, session_start=datetime(2025, 3, 3, 23, 0, tzinfo=UTC), updated_at=at(5)
    )
