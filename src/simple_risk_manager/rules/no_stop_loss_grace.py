"""RULE-008 No Stop-Loss Grace: every new position must be protected by a stop within a grace period.

Tracking (rule memory, `view.rule_state`): a mapping contract id → grace deadline (UTC) with one entry
per open position of the account. A contract that goes from flat to open, or flips direction, gets
`deadline = now + grace_period_seconds`; size changes in the same direction keep it; a closed contract
is dropped. Every evaluation also brings the mapping in line with the open positions: a position without
an entry (the first `Sweep` after a restart, where the memory starts empty, or a position the rule did
not see while the account was locked) gets a fresh deadline from `now` (D-24), and entries of contracts
no longer held are dropped. An entry stays after its deadline has been checked, so the `Sweep` after a
reconnect does not grant the position a second grace period; only a restart does.

Decision (`GraceExpired`, at `now >= deadline`): the position has no qualifying stop at that moment —
a working StopLimit/Stop/TrailingStop on the closing side, any price, any size ≥ 1 (`view.has_stop`) —
→ CLOSE_POSITION for that contract. A timer that fires before the contract's current deadline (the
position flipped after it was armed) is ignored.

Timer contract with the engine (MOD-003 `grace` timers are armed from this rule's memory, not here):
after every RULE-008 evaluation that returns a state patch, the engine compares the new mapping with
the previous one of that account; for each contract whose deadline is new or changed it calls
`start("grace:<account>:<contract_id>", deadline, {"contract_id": contract_id})` (which replaces an
armed timer of that name), and for each contract that left the mapping it cancels that timer. A
deadline that stays unchanged arms nothing, so a deadline already checked never fires again. The timer
comes back as `GraceExpired(contract_id)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType, PositionType
from simple_risk_manager.domain.models import EnforcementAction, Position
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import GraceExpired, PositionChanged, RuleEvent, Sweep
from simple_risk_manager.state.positions import PositionTransition

_INFO = rule_info("no_stop_loss_grace")

Deadlines = Mapping[str, datetime]
"""RULE-008 memory: contract id → grace deadline of the account's open position in that contract."""

_RESTARTS = frozenset({PositionTransition.OPENED, PositionTransition.FLIPPED})


def _side(position: Position) -> str:
    return "long" if position.type is PositionType.LONG else "short"


class NoStopLossGraceRule:
    """Breach: at the grace deadline the position has no qualifying stop (state check, D-24)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.no_stop_loss_grace
        if not config.enabled or not isinstance(event, PositionChanged | Sweep | GraceExpired):
            return NOTHING
        tracked: Deadlines = view.rule_state(self.rule_id) or {}
        fresh = view.now + timedelta(seconds=config.grace_period_seconds)
        deadlines = {p.contract_id: tracked.get(p.contract_id, fresh) for p in view.positions()}
        if isinstance(event, PositionChanged) and event.transition in _RESTARTS \
                and event.position.contract_id in deadlines:
            deadlines[event.position.contract_id] = fresh
        decisions: tuple[EnforcementAction, ...] = ()
        if isinstance(event, GraceExpired):
            decisions = self._check(view, event.contract_id, deadlines.get(event.contract_id))
        if deadlines == dict(tracked):
            return RuleResult(decisions=decisions)
        return RuleResult.patched(deadlines, decisions)

    def _check(self, view: AccountView, contract_id: str, deadline: datetime | None
               ) -> tuple[EnforcementAction, ...]:
        position = view.position(contract_id)
        if position is None or deadline is None or view.now < deadline or view.has_stop(contract_id):
            return ()
        grace = view.rules.no_stop_loss_grace.grace_period_seconds
        reason = (f"{contract_id} {_side(position)} {position.size} has no protective stop "
                  f"{grace} s after it opened (deadline {format_utc(deadline)})")
        details = {"contract_id": contract_id, "side": _side(position), "size": position.size,
                   "deadline": format_utc(deadline), "grace_period_seconds": grace,
                   "working_orders": [o.id for o in view.working_orders(contract_id)]}
        return (decision(view, self.rule_id, EnforcementActionType.CLOSE_POSITION, reason,
                         contract_id=contract_id, details=details),)
