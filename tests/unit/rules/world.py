"""A small live account for rule tests: real trackers, a validated risk config, and a real `AccountView`.

Rules are pure functions of `(view, event)`, so a test builds the state a worked example describes
(positions, orders, quotes, fills, lockouts) with the same trackers the daemon uses, asks for a view,
and evaluates the rule on the event the state change produced. Nothing here is mocked.

The base risk config is the shipped `config/risk_config.yaml` (whose values tests/unit/config pins to
`config.md` §4.5), read and validated through the config package. `configure()` deep-merges
parameters over one section and validates the whole `rules` mapping again, so a test can only run
with a config the daemon would accept.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from simple_risk_manager.config.issues import format_path
from simple_risk_manager.config.risk_config import GlobalSettings, RiskConfig
from simple_risk_manager.config.rule_sections import RulesConfig
from simple_risk_manager.config.validation import validate_model
from simple_risk_manager.config.yaml_reader import read_yaml
from simple_risk_manager.domain.enums import (
    EnforcementActionType,
    LockoutKind,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
)
from simple_risk_manager.domain.models import (
    ContractMetadata,
    Lockout,
    Order,
    Position,
    Quote,
    ResetSchedule,
    Trade,
)
from simple_risk_manager.domain.money import to_decimal
from simple_risk_manager.rules.base import AccountView, RuleResult, Trackers
from simple_risk_manager.rules.events import FillApplied, OrderChanged, PositionChanged, QuoteChanged
from simple_risk_manager.state.calendar import (
    SessionConfig,
    next_reset_after,
    session_start,
    trading_day_of,
)
from simple_risk_manager.state.contracts import ContractCache
from simple_risk_manager.state.lockouts import LockoutManager
from simple_risk_manager.state.pnl import PnlTracker
from simple_risk_manager.state.positions import StateManager
from simple_risk_manager.state.quotes import QuoteTracker
from simple_risk_manager.state.trade_counter import TradeCounter

Number = int | str | Decimal

ACCOUNT_ID = 1001
#: Monday 2025-11-24 09:00 America/Chicago (CST, UTC−6): inside the default 08:30–15:00 session,
#: trading day 2025-11-24 (17:00 reset the evening before, next reset 2025-11-24 23:00 UTC).
NOW = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)

MNQ = "CON.F.US.MNQ.Z25"
MNQ_H26 = "CON.F.US.MNQ.H26"
MES = "CON.F.US.MES.Z25"
ES = "CON.F.US.EP.Z25"
NQ = "CON.F.US.ENQ.Z25"
RTY = "CON.F.US.RTY.Z25"
M2K = "CON.F.US.M2K.Z25"

#: `gateway-api.md` §5.3: contract id → (tick size, tick value, exchange-style name).
_TICKS: Mapping[str, tuple[str, str, str]] = {
    MNQ: ("0.25", "0.50", "MNQZ5"),
    MNQ_H26: ("0.25", "0.50", "MNQH6"),
    MES: ("0.25", "1.25", "MESZ5"),
    ES: ("0.25", "12.50", "ESZ5"),
    NQ: ("0.25", "5.00", "NQZ5"),
    RTY: ("0.10", "5.00", "RTYZ5"),
    M2K: ("0.10", "0.50", "M2KZ5"),
}

#: The shipped `risk_config.yaml`; tests/unit/config pins its values to `config.md` §4.5 "Complete example".
SHIPPED_RISK_CONFIG = Path(__file__).resolve().parents[3] / "config" / "risk_config.yaml"


def metadata(contract_id: str, cached_at: datetime = NOW) -> ContractMetadata:
    """Contract metadata of one of the constants above."""
    tick_size, tick_value, name = _TICKS[contract_id]
    symbol_id = contract_id.removeprefix("CON.").rsplit(".", 1)[0]
    return ContractMetadata(contract_id=contract_id, symbol_id=symbol_id, tick_size=Decimal(tick_size),
                            tick_value=Decimal(tick_value), cached_at=cached_at, name=name)


def _validated(model: type[Any], raw: object, what: str) -> Any:
    value, problems = validate_model(model, raw)
    if value is None or problems:
        lines = "; ".join(f"{format_path(p.path)}: {p.message}" for p in problems)
        raise ValueError(f"{what}: {lines or 'invalid'}")
    return value


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key; any other value replaces (`config.md` §3.3 deep merge)."""
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def _side(side: str | PositionType) -> PositionType:
    if isinstance(side, PositionType):
        return side
    return {"long": PositionType.LONG, "short": PositionType.SHORT}[side.lower()]


def _order_side(side: str | OrderSide) -> OrderSide:
    if isinstance(side, OrderSide):
        return side
    return {"buy": OrderSide.BUY, "sell": OrderSide.SELL}[side.lower()]


class World:
    """One account's live state at `now`, built with the real MOD-002 and MOD-005 … MOD-009 trackers."""

    def __init__(self, now: datetime = NOW, account_id: int = ACCOUNT_ID) -> None:
        raw, problems = read_yaml(SHIPPED_RISK_CONFIG.read_text(encoding="utf-8"))
        if problems:
            raise ValueError(f"{SHIPPED_RISK_CONFIG}: {problems}")
        assert isinstance(raw, dict)
        self._raw: dict[str, Any] = raw
        risk: RiskConfig = _validated(RiskConfig, raw, SHIPPED_RISK_CONFIG.name)
        self.rules: RulesConfig = risk.rules
        self.settings: GlobalSettings = risk.global_
        self.now = now
        self.account_id = account_id
        self.state = StateManager()
        self.pnl = PnlTracker(include_fees=self.settings.include_fees)
        self.quotes = QuoteTracker()
        self.contracts = ContractCache(self.settings.symbol_aliases)
        self.contracts.load(metadata(c, now) for c in _TICKS)
        self.counter = TradeCounter()
        self.lockouts = LockoutManager()
        self._ids = itertools.count(1)
        self._start_day()

    # --- config ----------------------------------------------------------------------------------

    def configure(self, key: str, **params: Any) -> RulesConfig:
        """Merge `params` over rule section `key` (nested mappings merge) and validate all rules again."""
        rules = copy.deepcopy(self._raw["rules"])
        if key not in rules:
            raise KeyError(f"configure: unknown rule section {key!r}")
        rules[key] = _merge(rules[key], params)
        self.rules = _validated(RulesConfig, rules, f"configure({key!r})")
        self._raw["rules"] = rules
        return self.rules

    def configure_global(self, **params: Any) -> GlobalSettings:
        """Merge `params` over `global`; P&L and the trading day follow the new settings from here."""
        merged = _merge(self._raw.get("global", {}), params)
        self.settings = _validated(GlobalSettings, merged, "configure_global")
        self._raw["global"] = merged
        self.pnl = PnlTracker(include_fees=self.settings.include_fees)
        self.contracts = ContractCache(self.settings.symbol_aliases)
        self.contracts.load(metadata(c, self.now) for c in _TICKS)
        self._start_day()
        return self.settings

    # --- time ------------------------------------------------------------------------------------

    def advance(self, seconds: float) -> datetime:
        self.now = self.now + timedelta(seconds=seconds)
        return self.now

    @property
    def next_reset_at(self) -> datetime:
        return next_reset_after(self.now, self.settings.daily_reset_time, self.settings.timezone)

    @property
    def session_start(self) -> datetime:
        return session_start(self.now, self.settings.daily_reset_time, self.settings.timezone)

    def _start_day(self) -> None:
        reset_time, tz = self.settings.daily_reset_time, self.settings.timezone
        day = ResetSchedule(account_id=self.account_id, trading_date=trading_day_of(self.now, reset_time, tz),
                            last_reset_at=session_start(self.now, reset_time, tz),
                            next_reset_at=next_reset_after(self.now, reset_time, tz),
                            reset_time_config=reset_time, timezone=tz)
        self.pnl.start_day(day, self.now)
        self.counter.reset_session(self.account_id, day.last_reset_at)

    # --- state changes ---------------------------------------------------------------------------

    def open_position(self, contract_id: str, side: str | PositionType, size: int, avg: Number,
                      *, position_id: int | None = None) -> PositionChanged:
        """Set the account's position in the contract (opens, changes or, with size 0, closes it)."""
        held = self.state.position(self.account_id, contract_id)
        if position_id is None:
            position_id = held.id if held is not None else next(self._ids)
        position = Position(id=position_id, account_id=self.account_id, contract_id=contract_id,
                            type=_side(side), size=size, average_price=to_decimal(avg),
                            created_at=held.created_at if held is not None else self.now, updated_at=self.now)
        transition = self.state.apply_position(position, self.now)
        return PositionChanged(position=position, transition=transition)

    def close_position(self, contract_id: str) -> PositionChanged:
        held = self.state.position(self.account_id, contract_id)
        if held is None:
            raise ValueError(f"close_position: no open position in {contract_id}")
        return self.open_position(contract_id, held.type, 0, held.average_price)

    def order(self, contract_id: str, side: str | OrderSide, size: int = 1, *,
              type: OrderType = OrderType.LIMIT, status: OrderStatus = OrderStatus.OPEN,
              limit_price: Number | None = None, stop_price: Number | None = None,
              order_id: int | None = None, custom_tag: str | None = None) -> OrderChanged:
        """Add or update a mirrored order (a terminal status removes it)."""
        order = Order(id=order_id if order_id is not None else next(self._ids), account_id=self.account_id,
                      contract_id=contract_id, type=type, side=_order_side(side), size=size, status=status,
                      created_at=self.now, updated_at=self.now,
                      limit_price=None if limit_price is None else to_decimal(limit_price),
                      stop_price=None if stop_price is None else to_decimal(stop_price),
                      custom_tag=custom_tag)
        self.state.apply_order(order)
        mirrored = next((o for o in self.state.orders(self.account_id) if o.id == order.id), order)
        return OrderChanged(order=mirrored)

    def quote(self, contract_id: str, last: Number | None = None, bid: Number | None = None,
              ask: Number | None = None, *, age: float = 0.0) -> QuoteChanged:
        """A quote received `age` seconds before `now` (subscribes the contract first)."""
        self.quotes.sync_subscriptions({*self.quotes.subscribed(), contract_id})
        self.quotes.update(Quote(contract_id=contract_id, received_at=self.now - timedelta(seconds=age),
                                 bid=None if bid is None else to_decimal(bid),
                                 ask=None if ask is None else to_decimal(ask),
                                 last=None if last is None else to_decimal(last)))
        return QuoteChanged(contract_id=contract_id)

    def fill(self, contract_id: str, side: str | OrderSide, size: int = 1, price: Number = 0, *,
             pnl: Number | None = None, fees: Number = 0, order_id: int | None = None,
             trade_id: int | None = None, at: datetime | None = None, voided: bool = False) -> FillApplied:
        """One fill through MOD-005 and MOD-008, as the pipeline applies it; a new order id by default."""
        trade = Trade(id=trade_id if trade_id is not None else next(self._ids), account_id=self.account_id,
                      contract_id=contract_id, side=_order_side(side), size=size, price=to_decimal(price),
                      execution_time=at if at is not None else self.now, received_at=self.now,
                      profit_and_loss=None if pnl is None else to_decimal(pnl), fees=to_decimal(fees),
                      voided=voided, order_id=order_id if order_id is not None else next(self._ids))
        self.pnl.apply_fill(trade)
        counted = self.counter.record_fill(trade)
        assert trade.order_id is not None
        return FillApplied(trade=trade, new_order=counted.new_order, counts=counted.counts,
                           order_pnl=self.pnl.order_realized(self.account_id, trade.order_id))

    def lock(self, rule_id: str, kind: LockoutKind = LockoutKind.RESET, until: datetime | None = None,
             reason: str = "test lockout") -> Lockout:
        """An active lockout of `rule_id`; `until` defaults to the next reset (None for `condition`)."""
        if until is None and kind is not LockoutKind.CONDITION:
            until = self.next_reset_at
        change = self.lockouts.lock(self.account_id, rule_id, kind, reason, until, now=self.now)
        assert change.current is not None
        return change.current

    # --- the view ----------------------------------------------------------------------------------

    @property
    def session(self) -> SessionConfig:
        rule = self.rules.session_block_outside
        return SessionConfig.from_rule(start=rule.global_session.start, end=rule.global_session.end,
                                       timezone=rule.global_session.timezone,
                                       global_timezone=self.settings.timezone,
                                       allowed_days=rule.allowed_days, respect_holidays=rule.respect_holidays,
                                       holidays=self.settings.holidays)

    def view(self, rule_states: Mapping[str, Any] | None = None) -> AccountView:
        """The view at the current `now` over the live trackers.

        It reads the trackers live but fixes `now` when built: after moving time (`advance`, or a
        fill helper that sets `now`), build the view after the event, not in the same argument list
        before it (`event = world.fill(...)`, then `rule.evaluate(world.view(), event)`).
        """
        trackers = Trackers(state=self.state, pnl=self.pnl, quotes=self.quotes, contracts=self.contracts,
                            counter=self.counter, lockouts=self.lockouts)
        return AccountView(account_id=self.account_id, now=self.now, rules=self.rules, settings=self.settings,
                           next_reset_at=self.next_reset_at, session=self.session, trackers=trackers,
                           is_own_order=lambda order: order.is_own, rule_states=dict(rule_states or {}))


def chicago(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0,
            microsecond: int = 0) -> datetime:
    """A wall-clock time in America/Chicago (the default reset and session zone) as UTC."""
    local = datetime(year, month, day, hour, minute, second, microsecond, tzinfo=ZoneInfo("America/Chicago"))
    return local.astimezone(UTC)


def summary(result: RuleResult) -> list[tuple[EnforcementActionType, str | None, int | None]]:
    """`(action, contract_id, size)` of each decision, in order: what most examples assert."""
    return [(d.action, d.contract_id, d.size) for d in result.decisions]
