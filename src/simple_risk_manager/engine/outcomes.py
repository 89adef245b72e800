"""How MOD-001 reports: one `enforcement_log` row, one `enforcement.log` line and (except for
superseded decisions) one `enforcement_action` broadcast per decision (`modules.md` MOD-001
"Persistence", `broadcast-api.md` §5.7, `daemon.md` §8).

Reporting never blocks and never raises into enforcement: the row is queued on the store's DB thread,
the broadcast is a non-blocking enqueue, and a failure of either is logged and dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.enums import ClearedBy, EnforcementActionType, EnforcementOutcome
from simple_risk_manager.domain.models import EnforcementAction, EnforcementLog
from simple_risk_manager.engine.plan import Superseded
from simple_risk_manager.engine.ports import Broadcaster, Journal

#: The logger the daemon routes to `enforcement.log` (and, from ERROR up, to `error.log`).
log = logging.getLogger("simple_risk_manager.enforcement")

ENFORCEMENT_ACTION = "enforcement_action"


@dataclass(slots=True)
class Tally:
    """What one decision's enforcement did, counted while it runs (times from `Clock.monotonic()`)."""

    started: float
    positions_closed: int = 0
    orders_cancelled: int = 0
    last_reply: float | None = None
    errors: list[str] = field(default_factory=list)

    def fail(self, error: str) -> None:
        self.errors.append(error)

    def elapsed_ms(self, now: float) -> int:
        """Breach (the plan's submit) → last broker reply; → now when the broker was never asked."""
        end = self.last_reply if self.last_reply is not None else now
        return max(0, round((end - self.started) * 1000))


def _extra(action: EnforcementAction) -> dict[str, Any]:
    return {"account_id": action.account_id, "rule_id": action.rule_id}


class OutcomeRecorder:
    def __init__(self, journal: Journal, broadcaster: Broadcaster, clock: Clock) -> None:
        self._journal = journal
        self._broadcaster = broadcaster
        self._clock = clock

    def executed(self, action: EnforcementAction, tally: Tally) -> EnforcementLog:
        """An enforcement that ran: SUCCESS when nothing failed, else FAILED (logged CRITICAL)."""
        ok = not tally.errors
        entry = self._entry(action, EnforcementOutcome.SUCCESS if ok else EnforcementOutcome.FAILED,
                            success=ok, positions_closed=tally.positions_closed,
                            orders_cancelled=tally.orders_cancelled,
                            error_message="; ".join(tally.errors) or None,
                            execution_time_ms=tally.elapsed_ms(self._clock.monotonic()))
        counts = (f"{entry.execution_time_ms} ms, positions closed {entry.positions_closed}, "
                  f"orders cancelled {entry.orders_cancelled}")
        if ok:
            log.info("%s %s account %d: SUCCESS (%s): %s", action.rule_id, action.action.value,
                     action.account_id, counts, action.reason, extra=_extra(action))
        else:
            log.critical("%s %s account %d: FAILED (%s): %s; reason: %s", action.rule_id, action.action.value,
                         action.account_id, counts, entry.error_message, action.reason, extra=_extra(action))
        self._write(entry, broadcast=True)
        return entry

    def dry_run(self, action: EnforcementAction) -> EnforcementLog:
        """`enforcement.dry_run`: the decision is reported, nothing is sent to the broker."""
        entry = self._entry(action, EnforcementOutcome.DRY_RUN, success=False)
        log.info("%s %s account %d: DRY_RUN (not sent to the broker): %s", action.rule_id,
                 action.action.value, action.account_id, action.reason, extra=_extra(action))
        self._write(entry, broadcast=True)
        return entry

    def applied(self, action: EnforcementAction, cleared_by: ClearedBy | None = None) -> EnforcementLog:
        """UNLOCK and ALERT: no broker call, so they always succeed."""
        entry = self._entry(action, EnforcementOutcome.SUCCESS, success=True,
                            cleared_by=None if cleared_by is None else cleared_by.value)
        level = logging.WARNING if action.action is EnforcementActionType.ALERT else logging.INFO
        log.log(level, "%s %s account %d: %s", action.rule_id, action.action.value, action.account_id,
                action.reason, extra=_extra(action))
        self._write(entry, broadcast=True)
        return entry

    def superseded(self, item: Superseded) -> EnforcementLog:
        """A decision the merge dropped: logged and journaled, never broadcast (§5.7)."""
        by = f"{item.by.rule_id} {item.by.action.value}"
        entry = self._entry(item.decision, EnforcementOutcome.SUPERSEDED, success=False, superseded_by=by)
        log.info("%s %s account %d: SUPERSEDED by %s: %s", item.decision.rule_id, item.decision.action.value,
                 item.decision.account_id, by, item.decision.reason, extra=_extra(item.decision))
        self._write(entry, broadcast=False)
        return entry

    def _entry(self, action: EnforcementAction, outcome: EnforcementOutcome, *, success: bool,
               **fields: Any) -> EnforcementLog:
        return EnforcementLog(timestamp=self._clock.now(), account_id=action.account_id,
                              rule_id=action.rule_id, action=action.action.value, reason=action.reason,
                              success=success, outcome=outcome.value, lockout_until=action.lockout_until,
                              **fields)

    def _write(self, entry: EnforcementLog, *, broadcast: bool) -> None:
        try:
            self._journal.add_enforcement_log(entry)
        except Exception:
            log.error("enforcement_log row for account %d %s %s not queued", entry.account_id, entry.rule_id,
                      entry.action, exc_info=True)
        if not broadcast:
            return
        try:
            self._broadcaster.publish(ENFORCEMENT_ACTION, entry.account_id, entry.to_dict())
        except Exception:
            log.error("enforcement_action broadcast for account %d failed", entry.account_id, exc_info=True)
