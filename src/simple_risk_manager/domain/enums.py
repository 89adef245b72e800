"""Enums. Integer codes are the broker's published values (`gateway-api.md` §3, `storage.md` §9.1).

This is the one module that maps codes to names; the simulator keeps its own copy on purpose.
Codes the daemon does not know are kept as raw ints (``decode_*`` returns the int unchanged).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


class OrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


class OrderSide(IntEnum):
    """Broker names: 0 Bid (buy), 1 Ask (sell)."""

    BUY = 0
    SELL = 1

    @property
    def opposite(self) -> OrderSide:
        return OrderSide.SELL if self is OrderSide.BUY else OrderSide.BUY


class OrderStatus(IntEnum):
    NONE = 0
    OPEN = 1
    FILLED = 2
    CANCELLED = 3
    EXPIRED = 4
    REJECTED = 5
    PENDING = 6
    PENDING_CANCELLATION = 7
    SUSPENDED = 8


#: Statuses mirrored by the state manager and stored in `orders`.
NON_TERMINAL_STATUSES = frozenset({OrderStatus.OPEN, OrderStatus.PENDING,
                                   OrderStatus.PENDING_CANCELLATION, OrderStatus.SUSPENDED})
#: Statuses that make an order "working" for the rules (`rules.md` §0).
WORKING_STATUSES = frozenset({OrderStatus.OPEN, OrderStatus.PENDING, OrderStatus.SUSPENDED})
TERMINAL_STATUSES = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED,
                               OrderStatus.EXPIRED, OrderStatus.REJECTED})
#: Order types that protect a position when working opposite it (RULE-008, `is_stop_loss`).
STOP_ORDER_TYPES = frozenset({OrderType.STOP, OrderType.STOP_LIMIT, OrderType.TRAILING_STOP})


class EnforcementActionType(StrEnum):
    """Decision actions; the first seven in severity order, most severe first (`rules.md` §3)."""

    CLOSE_ALL_AND_LOCKOUT = "CLOSE_ALL_AND_LOCKOUT"
    COOLDOWN = "COOLDOWN"
    CLOSE_ALL_POSITIONS = "CLOSE_ALL_POSITIONS"
    CLOSE_POSITION = "CLOSE_POSITION"
    REDUCE_TO_LIMIT = "REDUCE_TO_LIMIT"
    REJECT_ORDER = "REJECT_ORDER"
    AUTO_STOP_LOSS = "AUTO_STOP_LOSS"
    UNLOCK = "UNLOCK"
    ALERT = "ALERT"

    @property
    def severity(self) -> int:
        """Rank for merging: 0 is the most severe; UNLOCK and ALERT rank after every enforcement."""
        return _SEVERITY[self]

    @property
    def is_account_wide(self) -> bool:
        return self in _ACCOUNT_WIDE


_SEVERITY = {action: rank for rank, action in enumerate(EnforcementActionType)}
_ACCOUNT_WIDE = frozenset({EnforcementActionType.CLOSE_ALL_AND_LOCKOUT, EnforcementActionType.COOLDOWN,
                           EnforcementActionType.CLOSE_ALL_POSITIONS})


class LockoutKind(StrEnum):
    RESET = "reset"
    SESSION = "session"
    DURATION = "duration"
    CONDITION = "condition"


class ClearedBy(StrEnum):
    TIMER_EXPIRY = "TIMER_EXPIRY"
    DAILY_RESET = "DAILY_RESET"
    CAN_TRADE_RESTORED = "CAN_TRADE_RESTORED"
    ADMIN = "ADMIN"


class EnforcementOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SUPERSEDED = "SUPERSEDED"
    DRY_RUN = "DRY_RUN"


class TimerKind(StrEnum):
    GRACE = "grace"
    SESSION_BOUNDARY = "session_boundary"
    LOCKOUT_EXPIRY = "lockout_expiry"
    RESET = "reset"


def decode_order_type(code: int) -> OrderType | int:
    """Known code → enum member; unknown code → the raw int (kept, never dropped)."""
    try:
        return OrderType(code)
    except ValueError:
        return code


def decode_order_status(code: int) -> OrderStatus | int:
    try:
        return OrderStatus(code)
    except ValueError:
        return code


def code_name(value: IntEnum | int) -> str:
    """Broadcast name of a code: the member name, or ``UNKNOWN_<n>`` for a raw code."""
    return value.name if isinstance(value, IntEnum) else f"UNKNOWN_{value}"
