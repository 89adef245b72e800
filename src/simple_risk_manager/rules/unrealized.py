"""What RULE-004 (floating loss) and RULE-005 (floating profit) share: one threshold on unrealized P&L.

Unrealized P&L is MOD-005's (`view.account_upnl()`): positions without a quote or contract metadata are
skipped and listed in `details`, stale quotes are used and flagged (D-17). `per_position` closes each
breaching position; a quote or position event checks only its own contract (the others are checked
on their own events and on `Sweep`). `total` compares Σ over the valued positions and flattens the
account, with a lockout until the next daily reset when `lockout` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, Inexact, localcontext

from simple_risk_manager.config.rule_sections import DailyUnrealizedLoss, MaxUnrealizedProfit, RulesConfig
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind, PositionType
from simple_risk_manager.domain.models import ContractMetadata, EnforcementAction, Position
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


@dataclass(frozen=True, slots=True)
class QuietMarks:
    """Marks strictly between `low` and `high` breach neither RULE-004 nor RULE-005 for one position.

    The quote hot path compares a mark against these two prices instead of valuing the position for
    every holding account; a mark on or outside a bound goes through the rules as before (`quiet_marks`).
    """

    low: Decimal | None
    high: Decimal | None

    def holds(self, mark: Decimal | None) -> bool:
        """True when the mark cannot breach; a missing mark (no upnl, D-17) never breaches."""
        if mark is None:
            return True
        return (self.low is None or mark > self.low) and (self.high is None or mark < self.high)


def breach_mark(position: Position, contract: ContractMetadata, threshold: Threshold) -> Decimal | None:
    """The mark at which the position's upnl equals the threshold (itself a breach, D-06).

    None when it is not exactly representable, or when `position_upnl` itself might round for this
    contract (1 / tick_size not exact): the caller then has no bound and always evaluates the rules.
    """
    if position.size <= 0 or contract.tick_size <= 0 or contract.tick_value <= 0:
        return None
    signed = -threshold.value if threshold.key == "loss_limit" else threshold.value
    with localcontext() as context:
        context.traps[Inexact] = True
        try:
            Decimal(1) / contract.tick_size  # raises Inexact when position_upnl's division could round
            offset = signed * contract.tick_size / (contract.tick_value * position.size)
            return (position.average_price + offset if position.type is PositionType.LONG
                    else position.average_price - offset)
        except Inexact:
            return None


def quiet_marks(rules: RulesConfig, position: Position, contract: ContractMetadata) -> QuietMarks | None:
    """The marks at which RULE-004 and RULE-005 (as configured) return NOTHING on this position's quote;
    None when no such range can be given (a `total` scope depends on every position, or inexact maths)."""
    low: Decimal | None = None
    high: Decimal | None = None
    long = position.type is PositionType.LONG
    loss, profit = rules.daily_unrealized_loss, rules.max_unrealized_profit
    configs: tuple[tuple[DailyUnrealizedLoss | MaxUnrealizedProfit, Threshold], ...] = (
        (loss, Threshold("loss_limit", loss.loss_limit)),
        (profit, Threshold("profit_target", profit.profit_target)))
    for config, threshold in configs:
        if not config.enabled:
            continue
        if config.scope != "per_position":
            return None
        mark = breach_mark(position, contract, threshold)
        if mark is None:
            return None
        # A long loses below its mark and gains above it; a short the other way round.
        if long == (threshold.key == "loss_limit"):
            low = mark if low is None else max(low, mark)
        else:
            high = mark if high is None else min(high, mark)
    return QuietMarks(low=low, high=high)


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
