"""RULE-010 Auth Loss Guard: mirror the platform's own restriction (`canTrade`) and alert on lost hubs.

`canTrade` explicitly false → CLOSE_ALL_AND_LOCKOUT with a `condition` lockout (no end time), unless this
rule's record is already active. `canTrade` true again with that record active → UNLOCK of this rule's
record only (other rules' lockouts stay) when `auto_unlock_on_restore`. A missing `canTrade` is treated
as true and never locks (fail-open, D-27); the pipeline logs that warning, a rule cannot.
On `Sweep` (after each reconcile, the account state from `Account/search`) the same check runs when
`check_on_startup`, so a restart neither escapes the lock nor keeps a stale one. `ConnectionChanged`
raises an ALERT when the user hub is lost and again when it is restored (`alert_on_disconnect`); never
a lockout, since while disconnected the daemon can neither see nor enforce.
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import AccountChanged, ConnectionChanged, RuleEvent, Sweep

_INFO = rule_info("auth_loss_guard")


class AuthLossGuardRule:
    """Breach: `canTrade` is explicitly false."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.auth_loss_guard
        if not config.enabled:
            return NOTHING
        if isinstance(event, ConnectionChanged):
            return self._connection(view, event.connected) if config.alert_on_disconnect else NOTHING
        if isinstance(event, AccountChanged):
            return self._can_trade(view, event.can_trade, "account event")
        if isinstance(event, Sweep) and config.check_on_startup:
            account = view.account()
            return self._can_trade(view, None if account is None else account.can_trade, "reconcile check")
        return NOTHING

    def _can_trade(self, view: AccountView, can_trade: bool | None, source: str) -> RuleResult:
        held = view.active_lockout(self.rule_id)
        details = {"can_trade": can_trade, "source": source}
        if can_trade is False and held is None:
            lock = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_AND_LOCKOUT,
                            f"{source}: the platform reports canTrade false; "
                            "locked until canTrade is true again",
                            lockout_kind=LockoutKind.CONDITION, lockout_until=None, details=details)
            return RuleResult(decisions=(lock,))
        if can_trade is True and held is not None and view.rules.auth_loss_guard.auto_unlock_on_restore:
            unlock = decision(view, self.rule_id, EnforcementActionType.UNLOCK,
                              f"{source}: the platform reports canTrade true again; "
                              f"{self.rule_id} lockout cleared",
                              details={**details, "lockout_id": held.lockout_id})
            return RuleResult(decisions=(unlock,))
        return NOTHING

    def _connection(self, view: AccountView, connected: bool) -> RuleResult:
        reason = ("user hub connection restored: events are seen and rules enforced again" if connected
                  else "user hub connection lost: until it is restored the daemon can neither see "
                       "nor enforce")
        alert = decision(view, self.rule_id, EnforcementActionType.ALERT, reason,
                         details={"connected": connected})
        return RuleResult(decisions=(alert,))
