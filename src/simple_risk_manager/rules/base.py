"""The rule interface: a pure `evaluate(view, event) -> RuleResult` over one account's read-only view.

`AccountView` wraps the live trackers instead of copying them, so building one per event costs nothing
(quotes arrive thousands of times a second); rules only see its read methods. Rule memory lives outside
the rule: the engine stores each rule's `state_patch` and hands it back as `view.rule_state(rule_id)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, Protocol

from simple_risk_manager.config.risk_config import GlobalSettings
from simple_risk_manager.config.rule_sections import RulesConfig
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.domain.models import (
    Account,
    ContractMetadata,
    EnforcementAction,
    Lockout,
    Order,
    Position,
    Quote,
)
from simple_risk_manager.rules.events import RuleEvent
from simple_risk_manager.state.calendar import SessionConfig
from simple_risk_manager.state.contracts import ContractCache
from simple_risk_manager.state.lockouts import LockoutManager
from simple_risk_manager.state.pnl import AccountUpnl, PnlTracker, account_upnl, position_upnl
from simple_risk_manager.state.positions import CountType, StateManager
from simple_risk_manager.state.quotes import QuoteTracker
from simple_risk_manager.state.trade_counter import TradeCounter, TradeCounts


@dataclass(frozen=True, slots=True)
class Trackers:
    """The in-memory modules a view reads (MOD-002 and MOD-005 … MOD-009)."""

    state: StateManager
    pnl: PnlTracker
    quotes: QuoteTracker
    contracts: ContractCache
    counter: TradeCounter
    lockouts: LockoutManager


@dataclass(frozen=True, slots=True)
class AccountView:
    """Read-only view of one account at `now`, with its effective config (`rules.md` §1 "Snapshot")."""

    account_id: int
    now: datetime
    rules: RulesConfig
    settings: GlobalSettings
    next_reset_at: datetime
    session: SessionConfig
    trackers: Trackers
    is_own_order: Callable[[Order], bool]
    rule_states: Mapping[str, Any] = field(default_factory=dict)

    # --- account and positions (MOD-009) ---------------------------------------------------------
    def account(self) -> Account | None:
        return self.trackers.state.account(self.account_id)

    def positions(self) -> tuple[Position, ...]:
        return self.trackers.state.positions(self.account_id)

    def position(self, contract_id: str) -> Position | None:
        return self.trackers.state.position(self.account_id, contract_id)

    def working_orders(self, contract_id: str | None = None) -> tuple[Order, ...]:
        return self.trackers.state.working_orders(self.account_id, contract_id)

    def has_stop(self, contract_id: str) -> bool:
        """A qualifying protective stop is working for the contract's open position (RULE-008)."""
        return self.trackers.state.has_stop(self.account_id, contract_id)

    def contract_count(self, mode: CountType | str) -> int:
        return self.trackers.state.contract_count(self.account_id, mode)

    def root_count(self, root: str) -> int:
        return self.trackers.state.root_count(self.account_id, root, self.trackers.contracts.root_of)

    # --- P&L and counts (MOD-005, MOD-008) -------------------------------------------------------
    def daily_realized(self) -> Decimal:
        return self.trackers.pnl.daily_realized(self.account_id)

    def order_realized(self, order_id: int) -> Decimal:
        return self.trackers.pnl.order_realized(self.account_id, order_id)

    def trade_counts(self, at: datetime) -> TradeCounts:
        return self.trackers.counter.counts(self.account_id, at)

    def upnl(self, position: Position) -> Decimal | None:
        """Unrealized P&L of one position; None without a quote or contract metadata (D-17)."""
        contract_id = position.contract_id
        return position_upnl(position, self.trackers.quotes.get(contract_id),
                             self.trackers.contracts.get(contract_id))

    def account_upnl(self) -> AccountUpnl:
        return account_upnl(self.positions(), self.trackers.quotes.get, self.trackers.contracts.get,
                            self.now, self.settings.max_quote_age_seconds)

    # --- market data and contracts (MOD-006, MOD-007) --------------------------------------------
    def quote(self, contract_id: str) -> Quote | None:
        return self.trackers.quotes.get(contract_id)

    def is_quote_stale(self, contract_id: str) -> bool:
        return self.trackers.quotes.is_stale(contract_id, self.now, self.settings.max_quote_age_seconds)

    def contract(self, contract_id: str) -> ContractMetadata | None:
        return self.trackers.contracts.get(contract_id)

    def root_of(self, contract_id: str) -> str:
        return self.trackers.contracts.root_of(contract_id)

    # --- lockouts (MOD-002) ----------------------------------------------------------------------
    def is_locked(self) -> bool:
        return self.trackers.lockouts.is_locked(self.account_id, self.now)

    def active_lockouts(self) -> list[Lockout]:
        return self.trackers.lockouts.active(self.account_id, self.now)

    def active_lockout(self, rule_id: str) -> Lockout | None:
        return next((r for r in self.active_lockouts() if r.rule_id == rule_id), None)

    # --- rule memory -----------------------------------------------------------------------------
    def rule_state(self, rule_id: str) -> Any:
        """This rule's memory from its last `state_patch`, or None before the first one."""
        return self.rule_states.get(rule_id)


@dataclass(frozen=True, slots=True)
class RuleResult:
    """Decisions, plus the rule's new memory: `state_patch` replaces it when `has_patch` is set."""

    decisions: tuple[EnforcementAction, ...] = ()
    state_patch: Any = None
    has_patch: bool = False

    @staticmethod
    def patched(state: Any, decisions: tuple[EnforcementAction, ...] = ()) -> RuleResult:
        return RuleResult(decisions=decisions, state_patch=state, has_patch=True)


NOTHING = RuleResult()


class Rule(Protocol):
    """A risk rule. Implementations are stateless; everything they know comes from the view."""

    rule_id: ClassVar[str]
    key: ClassVar[str]

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult: ...


def decision(view: AccountView, rule_id: str, action: EnforcementActionType, reason: str, *,
             contract_id: str | None = None, order_id: int | None = None, size: int | None = None,
             stop_price: Decimal | None = None, lockout_kind: LockoutKind | None = None,
             lockout_until: datetime | None = None, details: Mapping[str, Any] | None = None
             ) -> EnforcementAction:
    """One decision of `rule_id` for the view's account, stamped with the view's `now`."""
    return EnforcementAction(
        action=action, account_id=view.account_id, rule_id=rule_id, reason=reason, created_at=view.now,
        contract_id=contract_id, order_id=order_id, size=size, stop_price=stop_price,
        lockout_kind=None if lockout_kind is None else lockout_kind.value, lockout_until=lockout_until,
        details=dict(details or {}),
    )
