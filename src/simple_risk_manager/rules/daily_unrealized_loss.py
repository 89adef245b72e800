"""RULE-004 Daily Unrealized Loss: a floating-loss stop per position or for the whole account.

Despite the name nothing accumulates over the day: it compares the current unrealized P&L with
−loss_limit (inclusive). The shared logic is in `unrealized.py`.
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.rules.base import AccountView, RuleResult
from simple_risk_manager.rules.events import RuleEvent
from simple_risk_manager.rules.unrealized import Threshold, evaluate_unrealized

_INFO = rule_info("daily_unrealized_loss")


class DailyUnrealizedLossRule:
    """Breach: upnl ≤ −loss_limit (per position, or Σ with `scope: total`)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.daily_unrealized_loss
        return evaluate_unrealized(view, event, self.rule_id, config,
                                   Threshold("loss_limit", config.loss_limit))
