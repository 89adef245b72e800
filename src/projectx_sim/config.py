"""SimConfig: every switch of the simulator, including the gateway's open questions.

spec/README.md "Gateway questions the simulator must make configurable" lists readings the live
service does not document; each is a field here with the adopted default, so tests can switch it and
prove the daemon copes with every form. Fields marked as switches may also be changed while the
simulator runs (`POST /sim/config`); the others fix the simulator's identity at start.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

EVENT_KINDS = ("order", "trade", "position", "account")


def _switch() -> dict[str, bool]:
    return {"switch": True}


@dataclass(frozen=True, slots=True)
class AccountSeed:
    """An account created at start for the demo user."""

    name: str
    balance: Decimal
    simulated: bool = True
    can_trade: bool = True


DEFAULT_ACCOUNTS = (
    AccountSeed("SIM-50K-0001", Decimal("50000")),
    AccountSeed("SIM-150K-0002", Decimal("150000")),
)


@dataclass
class SimConfig:
    # Identity, fixed at start.
    host: str = "127.0.0.1"
    port: int = 8700
    seed: int = 1
    front_month: str | None = None  # e.g. "Z25"; None = the current quarterly front from today's date
    user_name: str = "demo"
    api_key: str = "sim-demo-api-key"
    accounts: tuple[AccountSeed, ...] = DEFAULT_ACCOUNTS
    token_secret: bytes | None = None  # None = random per start
    request_log_size: int = 100_000
    event_log_size: int = 100_000
    #: Records queued for one hub connection before it is dropped as a slow consumer.
    max_outbox: int = 200_000

    # Market (switches).
    quote_rate: float = field(default=4.0, metadata=_switch())  # quotes per second per contract
    random_walk: bool = field(default=True, metadata=_switch())  # False = paused
    market_open: bool = field(default=True, metadata=_switch())

    # Tokens (§1.5, README item 9).
    token_lifetime_s: float = field(default=86_400.0, metadata=_switch())
    validate_revokes_old_token: bool = field(default=False, metadata=_switch())
    close_hubs_on_token_expiry: bool = field(default=False, metadata=_switch())

    # Rate limits (§1.6, README item 8): per token, sliding window.
    rate_limit: bool = field(default=True, metadata=_switch())
    rate_limit_requests: int = field(default=200, metadata=_switch())
    rate_limit_window_s: float = field(default=60.0, metadata=_switch())
    bars_rate_limit_requests: int = field(default=50, metadata=_switch())
    bars_rate_limit_window_s: float = field(default=30.0, metadata=_switch())
    retry_after: bool = field(default=False, metadata=_switch())

    # Hubs (§4.3, README item 6).
    ping_interval_s: float = field(default=15.0, metadata=_switch())
    client_timeout_s: float = field(default=30.0, metadata=_switch())
    handshake_timeout_s: float = field(default=15.0, metadata=_switch())
    hub_bearer_auth: bool = field(default=True, metadata=_switch())

    # Payload forms (README items 1-3).
    user_payload: Literal["wrapped", "bare"] = field(default="wrapped", metadata=_switch())
    user_action: int = field(default=1, metadata=_switch())
    flat_position_type: Literal["keep", "zero"] = field(default="keep", metadata=_switch())
    position_id_on_reopen: Literal["new", "reuse"] = field(default="new", metadata=_switch())
    quote_payload: Literal["partial", "full"] = field(default="partial", metadata=_switch())
    quote_form: Literal["object", "array"] = field(default="object", metadata=_switch())
    trade_form: Literal["object", "array"] = field(default="array", metadata=_switch())
    depth_form: Literal["object", "array"] = field(default="array", metadata=_switch())

    # Event order and timing (README items 4-5).
    event_order: tuple[str, ...] = field(default=EVENT_KINDS, metadata=_switch())
    event_delay_s: float = field(default=0.0, metadata=_switch())
    reversal_trades: Literal["two", "one"] = field(default="two", metadata=_switch())
    market_order_open_event: bool = field(default=True, metadata=_switch())
    initial_snapshot: bool = field(default=False, metadata=_switch())
    replay_missed_events: bool = field(default=False, metadata=_switch())

    # Money (README item 10): fees per contract per side.
    fee_micro: Decimal = field(default=Decimal("0.37"), metadata=_switch())
    fee_full: Decimal = field(default=Decimal("1.40"), metadata=_switch())

    # Live accounts (README item 11). Cancel and partial close are always refused for them.
    live_modify_refused: bool = field(default=False, metadata=_switch())
    live_close_refused: bool = field(default=False, metadata=_switch())

    def switches(self) -> dict[str, Any]:
        """The current value of every runtime switch, JSON-friendly."""
        result: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.metadata.get("switch"):
                value = getattr(self, f.name)
                result[f.name] = list(value) if isinstance(value, tuple) else value
        return result

    def apply(self, changes: dict[str, Any]) -> None:
        """Change switches; validates every value first so a bad request changes nothing."""
        hints = typing.get_type_hints(SimConfig)
        switchable = {f.name for f in dataclasses.fields(self) if f.metadata.get("switch")}
        parsed: dict[str, Any] = {}
        for name, raw in changes.items():
            if name not in switchable:
                raise ValueError(f"unknown or fixed setting {name!r}")
            parsed[name] = _coerce(name, hints[name], raw)
        for name, value in parsed.items():
            setattr(self, name, value)


def _coerce(name: str, hint: Any, raw: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin is Literal:
        choices = typing.get_args(hint)
        if raw not in choices:
            raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise ValueError(f"{name} must be true or false")
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise ValueError(f"{name} must be an integer")
        return raw
    if hint is float:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
            raise ValueError(f"{name} must be a non-negative number")
        return float(raw)
    if hint is Decimal:
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ValueError(f"{name} must be a number") from None
        if isinstance(raw, bool) or not value.is_finite() or value < 0:
            raise ValueError(f"{name} must be a non-negative number")
        return value
    if name == "event_order":
        if not isinstance(raw, list | tuple) or sorted(raw) != sorted(EVENT_KINDS):
            raise ValueError(f"event_order must list each of {', '.join(EVENT_KINDS)} once")
        return tuple(raw)
    raise ValueError(f"{name} cannot be changed")
