"""Wire constants and JSON encoding of the ProjectX Gateway, as the simulator serves them.

The numbers are copied from spec/gateway-api.md (§1.3-§2.6 error codes, §3 enums, §4 hub names), not
imported from `simple_risk_manager`: a mistake in the product's client must not be cancelled by the
same mistake here (architecture principle 7).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any

import orjson

RECORD_SEPARATOR = "\x1e"
RECORD_SEPARATOR_BYTES = b"\x1e"


class OrderType(IntEnum):
    UNKNOWN = 0
    LIMIT = 1
    MARKET = 2
    STOP_LIMIT = 3
    STOP = 4
    TRAILING_STOP = 5
    JOIN_BID = 6
    JOIN_ASK = 7


#: §3.1 adopted reading: place accepts these; 0 and 3 are rejected with errorCode 2.
PLACEABLE_ORDER_TYPES = frozenset(
    {
        OrderType.LIMIT,
        OrderType.MARKET,
        OrderType.STOP,
        OrderType.TRAILING_STOP,
        OrderType.JOIN_BID,
        OrderType.JOIN_ASK,
    }
)
#: Order types that rest at a limit price (JoinBid/JoinAsk are limits pegged at placement).
LIMIT_LIKE_TYPES = frozenset({OrderType.LIMIT, OrderType.JOIN_BID, OrderType.JOIN_ASK})


class OrderSide(IntEnum):
    BID = 0  # buy
    ASK = 1  # sell


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


class PositionType(IntEnum):
    UNDEFINED = 0
    LONG = 1
    SHORT = 2


class TradeLogType(IntEnum):
    BUY = 0
    SELL = 1


class DomType(IntEnum):
    UNKNOWN = 0
    ASK = 1
    BID = 2
    BEST_ASK = 3
    BEST_BID = 4
    TRADE = 5
    RESET = 6
    LOW = 7
    HIGH = 8
    NEW_BEST_BID = 9
    NEW_BEST_ASK = 10
    FILL = 11


class BarUnit(IntEnum):
    SECOND = 1
    MINUTE = 2
    HOUR = 3
    DAY = 4
    WEEK = 5
    MONTH = 6


# Per-endpoint errorCode enums (the same number means different things on different endpoints).


class LoginCode(IntEnum):
    SUCCESS = 0
    USER_NOT_FOUND = 1
    PASSWORD_VERIFICATION_FAILED = 2
    INVALID_CREDENTIALS = 3


class PlaceCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_REJECTED = 2
    INSUFFICIENT_FUNDS = 3
    ACCOUNT_VIOLATION = 4
    OUTSIDE_TRADING_HOURS = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    CONTRACT_NOT_FOUND = 8
    CONTRACT_NOT_ACTIVE = 9
    ACCOUNT_REJECTED = 10


class CancelCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6


class ModifyCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    ORDER_NOT_FOUND = 2
    REJECTED = 3
    PENDING = 4
    UNKNOWN_ERROR = 5
    ACCOUNT_REJECTED = 6
    CONTRACT_NOT_FOUND = 7


class CloseCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    ORDER_REJECTED = 5
    ORDER_PENDING = 6
    UNKNOWN_ERROR = 7
    ACCOUNT_REJECTED = 8


class PartialCloseCode(IntEnum):
    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1
    POSITION_NOT_FOUND = 2
    CONTRACT_NOT_FOUND = 3
    CONTRACT_NOT_ACTIVE = 4
    INVALID_CLOSE_SIZE = 5
    ORDER_REJECTED = 6
    ORDER_PENDING = 7
    UNKNOWN_ERROR = 8
    ACCOUNT_REJECTED = 9


class AccountQueryCode(IntEnum):
    """Position/searchOpen, Order/search, Order/searchOpen, Trade/search."""

    SUCCESS = 0
    ACCOUNT_NOT_FOUND = 1


class OrderByIdCode(IntEnum):
    SUCCESS = 0
    ORDER_NOT_FOUND = 1


class ContractByIdCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1


class BarsCode(IntEnum):
    SUCCESS = 0
    CONTRACT_NOT_FOUND = 1
    UNIT_INVALID = 2
    UNIT_NUMBER_INVALID = 3
    LIMIT_INVALID = 4


MAX_BARS = 20_000
MAX_CONTRACT_SEARCH_RESULTS = 20
MAX_TRAIL_TICKS = 1000

# Hub method and event names (§4.4), spelled exactly.
USER_ACCOUNT_EVENT = "GatewayUserAccount"
USER_ORDER_EVENT = "GatewayUserOrder"
USER_POSITION_EVENT = "GatewayUserPosition"
USER_TRADE_EVENT = "GatewayUserTrade"
QUOTE_EVENT = "GatewayQuote"
MARKET_TRADE_EVENT = "GatewayTrade"
DEPTH_EVENT = "GatewayDepth"
LOGOUT_EVENT = "GatewayLogout"

# SignalR JSON hub protocol message types (§4.2).
INVOCATION = 1
STREAM_ITEM = 2
COMPLETION = 3
STREAM_INVOCATION = 4
CANCEL_INVOCATION = 5
PING = 6
CLOSE = 7


def _encode_default(value: object) -> Any:
    """Decimals go on the wire as exact JSON numbers (never strings, never rounded floats)."""
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f").encode())
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: object) -> bytes:
    """Encode a payload as JSON; Decimal prices and money become JSON numbers."""
    return orjson.dumps(value, default=_encode_default)


def timestamp(moment: datetime) -> str:
    """ISO-8601 with a `+00:00` offset and microseconds, as the gateway prints its times."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_timestamp(text: str) -> datetime:
    """Parse a request timestamp (`Z` or an offset accepted; a naive time is taken as UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def invocation_record(target: str, arguments: list[Any]) -> bytes:
    """A server-to-client hub event: an Invocation without invocationId, framed with 0x1E."""
    return dumps({"type": INVOCATION, "target": target, "arguments": arguments}) + RECORD_SEPARATOR_BYTES


def message_record(message: dict[str, Any]) -> bytes:
    """Any other hub message (completion, ping, close, handshake reply), framed with 0x1E."""
    return dumps(message) + RECORD_SEPARATOR_BYTES


PING_RECORD = message_record({"type": PING})
