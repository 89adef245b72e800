"""RULE-009 Session Block Outside Hours: trade only inside the session, on allowed days, never on holidays.

The session calendar is MOD-004's (`view.session`: one global window, overnight wrap, allowed days,
holidays), half-open `[start, end)`. Two kinds of breach:
- (a) the session-end timer fires (`SessionBoundary`) or a `Sweep` finds `now` outside a session;
- (b) outside a session, a position event with size > 0 or a working order that is not the daemon's own.

`lockout_outside_session: true` answers both with CLOSE_ALL_AND_LOCKOUT until the next session start
(kind `session`), also when the account is already flat: the lockout itself is the point; nothing new
is requested while this rule's own lockout already lasts that long (a Sweep after a restart). Without the
lockout, (a) flattens only when `close_positions_at_session_end` and there is something to flatten
(an open position or a working order that is not own), and (b) closes that one position (CLOSE_POSITION)
or cancels that one order (REJECT_ORDER). Own orders never breach (`rules.md` §5).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType, LockoutKind
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import OrderChanged, PositionChanged, RuleEvent, SessionBoundary, Sweep
from simple_risk_manager.state.calendar import SessionConfig, in_session, next_session_start, zone

_INFO = rule_info("session_block_outside")


def _local(instant: datetime, session: SessionConfig) -> str:
    """`Thu 2025-10-16 08:30:00 CDT`: the instant as a trader reads it in the session's zone."""
    return instant.astimezone(zone(session.timezone)).strftime("%a %Y-%m-%d %H:%M:%S %Z")


def _window(session: SessionConfig) -> str:
    return f"{session.start}–{session.end} {session.timezone}"


class SessionBlockOutsideRule:
    """Breach: session end crossed, or exposure outside the session (`rules.md` RULE-009)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.session_block_outside
        if not config.enabled or in_session(view.now, view.session):
            return NOTHING
        if isinstance(event, SessionBoundary | Sweep):
            trigger = "session ended" if isinstance(event, SessionBoundary) else "reconcile check"
            return self._outside(view, trigger)
        if isinstance(event, PositionChanged) and event.position.size > 0:
            position = event.position
            breach = self._breach(view, f"position {position.contract_id} size {position.size}")
            if config.lockout_outside_session:
                return self._lockout(view, breach, self._details(view, "position outside session"))
            close = decision(view, self.rule_id, EnforcementActionType.CLOSE_POSITION, f"{breach}: close it",
                             contract_id=position.contract_id,
                             details=self._details(view, "position outside session"))
            return RuleResult(decisions=(close,))
        if isinstance(event, OrderChanged) and event.order.is_working and not view.is_own_order(event.order):
            order = event.order
            breach = self._breach(view, f"working order {order.id} in {order.contract_id}")
            if config.lockout_outside_session:
                return self._lockout(view, breach, self._details(view, "order outside session"))
            reject = decision(view, self.rule_id, EnforcementActionType.REJECT_ORDER, f"{breach}: cancel it",
                              contract_id=order.contract_id, order_id=order.id,
                              details=self._details(view, "order outside session"))
            return RuleResult(decisions=(reject,))
        return NOTHING

    @staticmethod
    def _breach(view: AccountView, what: str) -> str:
        return f"{what} outside session {_window(view.session)} at {_local(view.now, view.session)}"

    def _details(self, view: AccountView, trigger: str) -> dict[str, Any]:
        return {"trigger": trigger, "session": _window(view.session),
                "now_local": _local(view.now, view.session)}

    def _lockout(self, view: AccountView, breach: str, details: dict[str, Any]) -> RuleResult:
        until = next_session_start(view.now, view.session)
        held = view.active_lockout(self.rule_id)
        if held is not None and (held.locked_until is None or held.locked_until >= until):
            return NOTHING  # already locked to the next session start; the gate handles activity
        details["next_session_start"] = format_utc(until)
        lock = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_AND_LOCKOUT,
                        f"{breach}: locked until the next session start {_local(until, view.session)}",
                        lockout_kind=LockoutKind.SESSION, lockout_until=until, details=details)
        return RuleResult(decisions=(lock,))

    def _outside(self, view: AccountView, trigger: str) -> RuleResult:
        """Breach (a): the session is over (boundary timer) or a Sweep runs outside it."""
        config = view.rules.session_block_outside
        breach = f"{trigger}: {_local(view.now, view.session)} is outside session {_window(view.session)}"
        details = self._details(view, trigger)
        if config.lockout_outside_session:
            return self._lockout(view, breach, details)
        exposed = bool(view.positions()) or any(not view.is_own_order(o) for o in view.working_orders())
        if not (config.close_positions_at_session_end and exposed):
            return NOTHING
        flatten = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_POSITIONS,
                           f"{breach}: close all positions", details=details)
        return RuleResult(decisions=(flatten,))
