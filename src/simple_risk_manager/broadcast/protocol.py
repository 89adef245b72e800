"""The constants of the broadcast protocol (`broadcast-api.md`), in one place so the server, the client
helper and the tests agree on every name, code and limit."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

PROTOCOL_VERSION: Final = 1
DEFAULT_URL: Final = "ws://127.0.0.1:8765/"

# §4: control messages.
HELLO: Final = "hello"
SUBSCRIBE: Final = "subscribe"
SNAPSHOT_REQUEST: Final = "snapshot_request"
SNAPSHOT: Final = "snapshot"
ERROR: Final = "error"
#: The only inbound types; everything else is refused (§9: read-only).
REQUEST_TYPES: Final = frozenset({SUBSCRIBE, SNAPSHOT_REQUEST})

# §5: exactly nine event types.
MARKET_QUOTE: Final = "MarketQuote"
DAEMON_STATUS: Final = "daemon_status"
EVENT_TYPES: Final = frozenset({
    "GatewayUserTrade", "GatewayUserPosition", "GatewayUserOrder", MARKET_QUOTE, "lockout_set",
    "lockout_cleared", "enforcement_action", "daily_reset", DAEMON_STATUS,
})
#: The events without an owning account (§5.4, §5.9); every other event names its account.
ACCOUNTLESS_EVENTS: Final = frozenset({MARKET_QUOTE, DAEMON_STATUS})


class ErrorCode(StrEnum):
    """§4.5."""

    BAD_JSON = "bad_json"
    UNKNOWN_TYPE = "unknown_type"
    BAD_REQUEST = "bad_request"
    UNKNOWN_ACCOUNT = "unknown_account"
    RATE_LIMITED = "rate_limited"


class CloseCode(IntEnum):
    """§2."""

    NORMAL = 1000
    GOING_AWAY = 1001
    MESSAGE_TOO_BIG = 1009
    SERVER_ERROR = 1011
    SLOW_CONSUMER = 4000
    PROTOCOL_VIOLATIONS = 4001


# §1, §2, §7: limits.
MAX_INBOUND_FRAME_BYTES: Final = 4096
INBOUND_MESSAGES_PER_SECOND: Final = 5
ERROR_REPLY_LIMIT: Final = 10
ERROR_WINDOW_S: Final = 60.0
OUTBOUND_QUEUE_FRAMES: Final = 1000
PING_INTERVAL_S: Final = 20.0
PING_TIMEOUT_S: Final = 20.0
#: `daemon.md` §2 step 8: a failed bind is retried this often; enforcement never waits for it.
BIND_RETRY_S: Final = 30.0
#: How long a closing handshake may take before the TCP connection is dropped (a stalled peer never
#: reads the close frame).
CLOSE_TIMEOUT_S: Final = 5.0
#: How long `stop()` lets clients receive what is already queued before their connections are dropped.
SHUTDOWN_GRACE_S: Final = 2.0
