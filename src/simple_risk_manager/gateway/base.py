"""What the engine and the daemon call: the `Gateway` protocol and the errors its calls raise.

The protocol is the seam of `architecture.md` principle 6: `gateway.projectx` implements it over REST
and SignalR, and everything else depends only on this module. Errors are typed so MOD-001 can decide
what to retry (`modules.md` MOD-001 "Outcome handling") without parsing text, and none of them ever
carries a token or an API key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from simple_risk_manager.domain.enums import OrderSide, OrderType
from simple_risk_manager.domain.models import Account, ContractMetadata, Order, Position, Trade
from simple_risk_manager.gateway.codes import error_code_name


class GatewayError(Exception):
    """Any failure of a gateway call; `endpoint` is the REST path or the hub method."""

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"{endpoint}: {message}")
        self.endpoint = endpoint


class GatewayRejected(GatewayError):  # noqa: N818 (names shared with the engine)
    """HTTP 200 with `success: false`: the gateway understood the call and refused it."""

    def __init__(self, endpoint: str, error_code: int, message: str | None) -> None:
        self.error_code = error_code
        self.code_name = error_code_name(endpoint, error_code)
        self.message = message
        detail = f" ({message})" if message else ""
        super().__init__(endpoint, f"rejected with errorCode {error_code} {self.code_name}{detail}")


class GatewayUnavailable(GatewayError):  # noqa: N818 (names shared with the engine)
    """Network error, timeout or HTTP 5xx after the allowed retries; the outcome of a write is unknown."""

    def __init__(self, endpoint: str, reason: str, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(endpoint, reason)


class RateLimited(GatewayUnavailable):
    """HTTP 429; `retry_after` is the server's `Retry-After` in seconds when it sent one."""

    def __init__(self, endpoint: str, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        hint = f", retry after {retry_after:g} s" if retry_after is not None else ""
        super().__init__(endpoint, f"rate limited (HTTP 429{hint})", status=429)


class Unauthorized(GatewayError):  # noqa: N818 (names shared with the engine)
    """HTTP 401 (or a refused hub upgrade): the token was not accepted, even after one fresh login."""

    def __init__(self, endpoint: str) -> None:
        super().__init__(endpoint, "token not accepted (HTTP 401)")


class AuthenticationFailed(GatewayError):  # noqa: N818 (names shared with the engine)
    """The credentials of `login` were refused; the daemon marks that login's accounts AUTH_FAILED."""

    def __init__(self, login: str, endpoint: str, reason: str, error_code: int | None = None) -> None:
        self.login = login
        self.error_code = error_code
        self.code_name = None if error_code is None else error_code_name(endpoint, error_code)
        code = "" if self.code_name is None else f" (errorCode {error_code} {self.code_name})"
        super().__init__(endpoint, f"login {login!r}: {reason}{code}")


class BadRequest(GatewayError):  # noqa: N818 (names shared with the engine)
    """HTTP 400 ProblemDetails: our request was malformed; `errors` maps field → messages."""

    def __init__(self, endpoint: str, title: str, errors: Mapping[str, tuple[str, ...]]) -> None:
        self.title = title
        self.errors = dict(errors)
        fields = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in self.errors.items())
        super().__init__(endpoint, f"bad request: {title}" + (f" [{fields}]" if fields else ""))


class HubInvocationFailed(GatewayError):  # noqa: N818 (names shared with the engine)
    """A hub method answered with an error Completion (unknown method, arguments that do not bind)."""

    def __init__(self, target: str, error: str) -> None:
        self.error = error
        super().__init__(target, f"hub invocation failed: {error}")


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """Result of the first login of one credential set (startup step 9)."""

    login: str
    account_ids: tuple[int, ...]
    error: AuthenticationFailed | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Gateway(Protocol):
    """The broker as the daemon sees it. Account calls are routed to the account's own login.

    Hub events reach the daemon through the sink the implementation was built with, not through
    this protocol. Calls flagged ``urgent=True`` are enforcement calls: they count against the
    client-side rate budget but never wait for it and are never retried by the client (MOD-001 owns
    their retries, `rules.md` D-52). `place_order` is never retried blindly, urgent or not.
    """

    async def start(self) -> Mapping[str, LoginOutcome]:
        """Log in every credential set, then connect the hubs; returns the outcome per login."""
        ...

    async def close(self) -> None: ...

    async def wait_closed(self) -> None:
        """Returns once closed; raises what crashed the gateway's own tasks (for the daemon's supervision)."""
        ...

    def login_of(self, account_id: int) -> str:
        """The login (username) whose token serves `account_id`."""
        ...

    def set_wanted_contracts(self, contract_ids: Iterable[str]) -> None:
        """The full set of contracts whose quotes are wanted; the market hub subscribes the difference."""
        ...

    async def search_accounts(self, login: str | None = None, only_active: bool = True) -> list[Account]:
        """`Account/search` for one login, or for every authenticated login when `login` is None."""
        ...

    async def get_contract(self, contract_id: str) -> ContractMetadata: ...

    async def search_contracts(self, text: str, live: bool = False) -> list[ContractMetadata]: ...

    async def open_positions(self, account_id: int, *, urgent: bool = False) -> list[Position]:
        """`Position/searchOpen`; `urgent` (enforcement) never waits for the request budget (D-52)."""
        ...

    async def close_position(self, account_id: int, contract_id: str, *, urgent: bool = False) -> None: ...

    async def partial_close_position(self, account_id: int, contract_id: str, size: int, *,
                                     urgent: bool = False) -> None: ...

    async def open_orders(self, account_id: int, *, urgent: bool = False) -> list[Order]:
        """`Order/searchOpen`; `urgent` as for `open_positions`."""
        ...

    async def search_orders(self, account_id: int, start: datetime,
                            end: datetime | None = None) -> list[Order]: ...

    async def place_order(self, account_id: int, contract_id: str, order_type: OrderType, side: OrderSide,
                          size: int, *, limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                          custom_tag: str | None = None, urgent: bool = False) -> int:
        """`Order/place`; returns the new order id."""
        ...

    async def cancel_order(self, account_id: int, order_id: int, *, urgent: bool = False) -> None: ...

    async def modify_order(self, account_id: int, order_id: int, *, size: int | None = None,
                           limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                           urgent: bool = False) -> None: ...

    async def search_trades(self, account_id: int, start: datetime,
                            end: datetime | None = None) -> list[Trade]: ...
