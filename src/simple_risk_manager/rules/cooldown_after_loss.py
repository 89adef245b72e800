"""RULE-007 Cooldown After Loss: a forced break after a losing trade, longer for bigger losses.

A trade is one order: its P&L is MOD-005's cumulative realized P&L of the order (`FillApplied.order_pnl`,
net of fees when `global.include_fees`), so a close split into partial fills is judged as one trade
(D-23). The tier with the largest satisfied `loss_amount` applies, and an order fires again only when a
later fill takes it to a higher tier.

Rule memory (`view.rule_state`): a mapping order id → the `loss_amount` of the highest tier already
fired for it. An entry is dropped once MOD-005 no longer holds any realized P&L for the order (dropped at
the daily reset, or every fill voided), so the memory stays as small as the day's losing orders; a
partial recovery of the order does not drop it, so the same tier never fires twice for one order.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.config.rule_sections import LossTier
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.domain.money import ZERO, decimal_text
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import FillApplied, RuleEvent

_INFO = rule_info("cooldown_after_loss")

FiredTiers = Mapping[int, Decimal]
"""RULE-007 memory: order id → `loss_amount` of the highest tier fired for that order."""


def satisfied_tier(order_pnl: Decimal, tiers: tuple[LossTier, ...]) -> LossTier | None:
    """The tier with the largest `loss_amount` that `order_pnl` reached (`pnl <= −loss_amount`, D-06)."""
    reached = [tier for tier in tiers if order_pnl <= -tier.loss_amount]
    return max(reached, key=lambda tier: tier.loss_amount, default=None)


class CooldownAfterLossRule:
    """Breach: an order's cumulative realized P&L ≤ −loss_amount of some tier (inclusive)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.cooldown_after_loss
        if not config.enabled or not isinstance(event, FillApplied):
            return NOTHING
        trade = event.trade
        if trade.voided or trade.profit_and_loss is None:
            return NOTHING  # an opening fill or a reversal is not a losing trade
        fired: FiredTiers = view.rule_state(self.rule_id) or {}
        kept = {order_id: amount for order_id, amount in fired.items()
                if view.order_realized(order_id) != ZERO}
        tier = satisfied_tier(event.order_pnl, config.loss_thresholds)
        order_id = trade.order_id
        already = kept.get(order_id) if order_id is not None else None
        if tier is None or (already is not None and tier.loss_amount <= already):
            return RuleResult.patched(kept) if kept != fired else NOTHING
        if order_id is not None:
            kept[order_id] = tier.loss_amount
        until = view.now + timedelta(seconds=tier.cooldown_duration)
        order_text = f"order {order_id}" if order_id is not None else f"trade {trade.id}"
        reason = (f"{order_text} realized {event.order_pnl:.2f} reached loss tier {tier.loss_amount:.2f}: "
                  f"cooldown {tier.cooldown_duration} s")
        details = {"order_id": order_id, "trade_id": trade.id, "contract_id": trade.contract_id,
                   "order_pnl": decimal_text(event.order_pnl), "loss_amount": decimal_text(tier.loss_amount),
                   "cooldown_seconds": tier.cooldown_duration,
                   "previous_tier": None if already is None else decimal_text(already),
                   "include_fees": view.settings.include_fees}
        cooldown = decision(view, self.rule_id, EnforcementActionType.COOLDOWN, reason,
                            lockout_kind=LockoutKind.DURATION, lockout_until=until, details=details)
        return RuleResult.patched(kept, (cooldown,))
