"""RULE-006 Trade Frequency Limit: trades per rolling minute, rolling hour and trading day.

Counts are MOD-008's at the fill's own timestamp (carried by the event, D-20/D-22), and the rule runs
only on the fill that makes a new order count, so the later parts of a counted order never fire
again. Every breached window asks for its cooldown; the one that ends latest wins (D-21), where
`"until_reset"` ends at the next daily reset and becomes CLOSE_ALL_AND_LOCKOUT (ties go to the reset
lockout). With `cooldown_on_breach.enabled: false` a breach is only an ALERT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Literal

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import FillApplied, RuleEvent

_INFO = rule_info("trade_frequency_limit")


@dataclass(frozen=True, slots=True)
class _Breach:
    window: str
    count: int
    limit: int
    cooldown: int | Literal["until_reset"]

    @property
    def text(self) -> str:
        return f"{self.count} trades {self.window} exceed limit {self.limit}"

    def ends_at(self, view: AccountView) -> datetime:
        if self.cooldown == "until_reset":
            return view.next_reset_at
        return view.now + timedelta(seconds=self.cooldown)


class TradeFrequencyLimitRule:
    """Breach: any window's count > its limit (strict, D-06), checked when a new order is counted."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.trade_frequency_limit
        if not config.enabled or not isinstance(event, FillApplied) or not event.new_order:
            return NOTHING
        limits, cooldowns, counts = config.limits, config.cooldown_on_breach, event.counts
        windows = (("in the last minute", counts.minute, limits.per_minute, cooldowns.per_minute_breach),
                   ("in the last hour", counts.hour, limits.per_hour, cooldowns.per_hour_breach),
                   ("this trading day", counts.session, limits.per_session, cooldowns.per_session_breach))
        breaches = [_Breach(window, count, limit, cooldown) for window, count, limit, cooldown in windows
                    if limit is not None and count > limit]
        if not breaches:
            return NOTHING
        breach_text = "; ".join(b.text for b in breaches)
        details = {"counts": {"minute": counts.minute, "hour": counts.hour, "session": counts.session},
                   "limits": {"minute": limits.per_minute, "hour": limits.per_hour,
                              "session": limits.per_session},
                   "breached": [b.window for b in breaches], "order_id": event.trade.order_id}
        if not cooldowns.enabled:
            alert = decision(view, self.rule_id, EnforcementActionType.ALERT,
                             f"{breach_text} (cooldown disabled: alert only)", details=details)
            return RuleResult(decisions=(alert,))
        longest = max(breaches, key=lambda b: (b.ends_at(view), b.cooldown == "until_reset"))
        until = longest.ends_at(view)
        if longest.cooldown == "until_reset":
            lock = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_AND_LOCKOUT,
                            f"{breach_text}: locked until the daily reset", lockout_kind=LockoutKind.RESET,
                            lockout_until=until, details={**details, "cooldown": "until_reset"})
            return RuleResult(decisions=(lock,))
        cooldown = decision(view, self.rule_id, EnforcementActionType.COOLDOWN,
                            f"{breach_text}: cooldown {longest.cooldown} s",
                            lockout_kind=LockoutKind.DURATION, lockout_until=until,
                            details={**details, "cooldown": longest.cooldown})
        return RuleResult(decisions=(cooldown,))
