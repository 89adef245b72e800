"""What RULE-004 (floating loss) and RULE-005 (floating profit) share: one threshold on unrealized P&L.

Unrealized P&L is MOD-005's (`view.account_upnl()`): positions without a quote or contract metadata are
skipped and listed in `details`, stale quotes are used and flagged (D-17). `per_position` closes each
breaching position; a quote or position event checks only its own contract (the others are checked
on their own events and on `Sweep`). `total` compares Σ over the valued positions and flattens the
account, with a lockout until the next daily reset when `lockout` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from simple_risk_manager.config.rule_sections import DailyUnrealizedLoss, MaxUnrealizedProfit
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.domain.models import EnforcementAction
from simple_risk_manager.domain.money import decimal_text
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import PositionChanged, QuoteChanged, RuleEvent, Sweep
from simple_risk_manager.state.pnl import AccountUpnl


@dataclass(frozen=True, slots=True)
class Threshold:
    """`loss_limit` (breach at upnl ≤ −value) or `profit_target` (upnl ≥ value); inclusive (D-06)."""

    key: str
    value: Decimal

    @property
    def what(self) -> str:
        return "loss" if self.key == "loss_limit" else "profit"

    def breached(self, upnl: Decimal) -> bool:
        return upnl <= -self.value if self.key == "loss_limit" else upnl >= self.value


def evaluate_unrealized(view: AccountView, event: RuleEvent, rule_id: str,
                        config: DailyUnrealizedLoss | MaxUnrealizedProfit,
                        threshold: Threshold) -> RuleResult:
    """The decisions of RULE-004 or RULE-005 for one event (quote, position or `Sweep`)."""
    if not config.enabled:
        return NOTHING
    if isinstance(event, QuoteChanged):
        only: str | None = event.contract_id
    elif isinstance(event, PositionChanged):
        only = event.position.contract_id
    elif isinstance(event, Sweep):
        only = None
    else:
        return NOTHING
    if config.scope == "total":
        return _total(view, rule_id, view.account_upnl(), config.lockout, threshold)
    if only is not None and not _breached_alone(view, only, threshold):
        return NOTHING  # the hot path: one quote values one position, not the whole account
    upnl = view.account_upnl()  # a breach (or a Sweep): the details list skipped and stale positions
    decisions = tuple(_close(view, rule_id, upnl, contract_id, threshold)
                      for contract_id, value in sorted(upnl.per_position.items())
                      if only in (None, contract_id) and threshold.breached(value))
    return RuleResult(decisions=decisions) if decisions else NOTHING


def _breached_alone(view: AccountView, contract_id: str, threshold: Threshold) -> bool:
    position = view.position(contract_id)
    value = None if position is None else view.upnl(position)
    return value is not None and threshold.breached(value)


def _close(view: AccountView, rule_id: str, upnl: AccountUpnl, contract_id: str,
           threshold: Threshold) -> EnforcementAction:
    value = upnl.per_position[contract_id]
    stale = contract_id in upnl.stale
    reason = (f"unrealized {threshold.what} {value:.2f} on {contract_id} reached {threshold.key} "
              f"{threshold.value:.2f}" + (" (stale quote)" if stale else ""))
    details = {"upnl": decimal_text(value), threshold.key: decimal_text(threshold.value),
               "stale_quote": stale, "skipped": list(upnl.skipped)}
    return decision(view, rule_id, EnforcementActionType.CLOSE_POSITION, reason, contract_id=contract_id,
                    details=details)


def _total(view: AccountView, rule_id: str, upnl: AccountUpnl, lockout: bool,
           threshold: Threshold) -> RuleResult:
    if not upnl.per_position or not threshold.breached(upnl.total):
        return NOTHING
    reason = (f"total unrealized {threshold.what} {upnl.total:.2f} reached {threshold.key} "
              f"{threshold.value:.2f}")
    if upnl.skipped:
        reason += f" ({len(upnl.skipped)} position(s) without quote or contract data not counted)"
    details = {"total_upnl": decimal_text(upnl.total), threshold.key: decimal_text(threshold.value),
               "per_position": {c: decimal_text(v) for c, v in sorted(upnl.per_position.items())},
               "skipped": list(upnl.skipped), "stale": list(upnl.stale)}
    if not lockout:
        flatten = decision(view, rule_id, EnforcementActionType.CLOSE_ALL_POSITIONS, reason, details=details)
        return RuleResult(decisions=(flatten,))
    lock = decision(view, rule_id, EnforcementActionType.CLOSE_ALL_AND_LOCKOUT,
                    f"{reason}: locked until the daily reset", lockout_kind=LockoutKind.RESET,
                    lockout_until=view.next_reset_at, details=details)
    return RuleResult(decisions=(lock,))
