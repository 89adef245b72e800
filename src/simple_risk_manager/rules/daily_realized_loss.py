"""RULE-003 Daily Realized Loss: stop trading for the rest of the trading day at −loss_limit.

The day's realized P&L is MOD-005's (net of fees when `global.include_fees`, D-14); this rule never
adds P&L itself. Evaluated after every fill, also the closing fills of other rules' flattens, and on
`Sweep`, so a restart cannot escape a breach. With `CLOSE_ALL_AND_LOCKOUT` the breach is acted on once:
while this rule's own lockout already lasts to the next reset, later fills only repeat what is
already true (the gate flattens any new exposure). The `CLOSE_ALL_POSITIONS` variant has no lockout,
so it flattens again on every later fill while the day stays at or below the limit.
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.domain.money import decimal_text
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import FillApplied, RuleEvent, Sweep

_INFO = rule_info("daily_realized_loss")


class DailyRealizedLossRule:
    """Breach: daily realized P&L ≤ −loss_limit (inclusive, D-06)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.daily_realized_loss
        if not config.enabled or not isinstance(event, FillApplied | Sweep):
            return NOTHING
        realized = view.daily_realized()
        if realized > -config.loss_limit:
            return NOTHING
        reason = f"daily realized loss {realized:.2f} reached limit {config.loss_limit:.2f}"
        details = {"daily_realized": decimal_text(realized), "loss_limit": decimal_text(config.loss_limit),
                   "include_fees": view.settings.include_fees}
        if config.action == "CLOSE_ALL_POSITIONS":
            flatten = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_POSITIONS, reason,
                               details=details)
            return RuleResult(decisions=(flatten,))
        held = view.active_lockout(self.rule_id)
        if held is not None and (held.locked_until is None or held.locked_until >= view.next_reset_at):
            return NOTHING
        lock = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_AND_LOCKOUT,
                        f"{reason}: locked until the daily reset", lockout_kind=LockoutKind.RESET,
                        lockout_until=view.next_reset_at, details=details)
        return RuleResult(decisions=(lock,))
