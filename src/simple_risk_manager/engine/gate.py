"""The lockout gate (`rules.md` §3 step 1, D-49): a locked account stays flat.

While an account is locked, any event that shows new exposure — a position with size > 0, or a working
order that is not one of the daemon's own (`rules.md` §5) — gets a CLOSE_ALL_POSITIONS under the rule
id of the effective lockout record (MOD-002 `effective`), reason "activity during lockout". It requests
no lockout and joins the merge like any rule's decision. On `Sweep` every open position and every
non-own working order counts, so an account still locked after a restart or reconnect is flattened.
Pure: it reads the view and the event, nothing else.
"""

from __future__ import annotations

from typing import Any, Final

from simple_risk_manager.domain.enums import EnforcementActionType
from simple_risk_manager.domain.models import EnforcementAction, Lockout
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.rules.base import AccountView, decision
from simple_risk_manager.rules.events import OrderChanged, PositionChanged, RuleEvent, Sweep

REASON: Final = "activity during lockout"

#: The only events that can show new exposure; the dispatcher skips the gate for every other one.
GATED_EVENTS: Final = frozenset({PositionChanged, OrderChanged, Sweep})


def _exposure(view: AccountView, event: RuleEvent) -> dict[str, Any] | None:
    """What the event shows as new exposure, for `details`; None when it shows none."""
    if isinstance(event, PositionChanged):
        position = event.position
        if position.size > 0:
            return {"trigger": "position", "contract_id": position.contract_id, "size": position.size}
        return None
    if isinstance(event, OrderChanged):
        order = event.order
        if order.is_working and not view.is_own_order(order):
            return {"trigger": "order", "order_id": order.id, "contract_id": order.contract_id}
        return None
    if isinstance(event, Sweep):
        positions = [p.contract_id for p in view.positions()]
        orders = [o.id for o in view.working_orders() if not view.is_own_order(o)]
        if positions or orders:
            return {"trigger": "reconcile", "positions": positions, "orders": orders}
    return None


def gate(view: AccountView, event: RuleEvent) -> EnforcementAction | None:
    """The gate's flatten for this event, or None (account not locked, or no new exposure)."""
    effective: Lockout | None = view.trackers.lockouts.effective(view.account_id, view.now)
    if effective is None:
        return None
    exposure = _exposure(view, event)
    if exposure is None:
        return None
    details = {**exposure, "lockout_id": effective.lockout_id, "lockout_rule_id": effective.rule_id,
               "lockout_kind": effective.kind,
               "locked_until": None if effective.locked_until is None else format_utc(effective.locked_until)}
    return decision(view, effective.rule_id, EnforcementActionType.CLOSE_ALL_POSITIONS, REASON,
                    details=details)
