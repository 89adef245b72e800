"""RULE-005 Max Unrealized Profit: take profit at a dollar target, per position or for the account.

Compares the current unrealized P&L with `profit_target` (inclusive). Breakeven stops are RULE-012's
(D-16). The shared logic is in `unrealized.py`.
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.rules.base import AccountView, RuleResult
from simple_risk_manager.rules.events import RuleEvent
from simple_risk_manager.rules.unrealized import Threshold, evaluate_unrealized

_INFO = rule_info("max_unrealized_profit")


class MaxUnrealizedProfitRule:
    """Breach: upnl ≥ profit_target (per position, or Σ with `scope: total`)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.max_unrealized_profit
        return evaluate_unrealized(view, event, self.rule_id, config,
                                   Threshold("profit_target", config.profit_target))
