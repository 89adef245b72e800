"""Domain model: enums with the broker's codes, frozen data objects, and time/money conventions.

Everything inside the daemon speaks these types; wire JSON is parsed into them once, at the edge.
"""

from simple_risk_manager.domain.enums import (
    ClearedBy,
    EnforcementActionType,
    EnforcementOutcome,
    LockoutKind,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
    TimerKind,
)
from simple_risk_manager.domain.models import (
    Account,
    AccountConfig,
    AccountSnapshot,
    ContractMetadata,
    DaemonStatus,
    DailyPnl,
    EnforcementAction,
    EnforcementLog,
    Lockout,
    Order,
    Position,
    Quote,
    ResetSchedule,
    RuleConfig,
    SessionState,
    Timer,
    Trade,
)

__all__ = [
    "Account",
    "AccountConfig",
    "AccountSnapshot",
    "ClearedBy",
    "ContractMetadata",
    "DaemonStatus",
    "DailyPnl",
    "EnforcementAction",
    "EnforcementActionType",
    "EnforcementLog",
    "EnforcementOutcome",
    "Lockout",
    "LockoutKind",
    "Order",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionType",
    "Quote",
    "ResetSchedule",
    "RuleConfig",
    "SessionState",
    "Timer",
    "TimerKind",
    "Trade",
]
