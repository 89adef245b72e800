"""What merging hands to enforcement: one account's decisions of one event, resolved by severity.

`rules.md` §3: every lockout-carrying decision is recorded; if an account-wide action is present exactly
one flatten runs and contract-scoped decisions are superseded; otherwise one action per contract
(CLOSE_POSITION > REDUCE_TO_LIMIT > AUTO_STOP_LOSS) plus a REJECT_ORDER per order not already covered;
UNLOCK and ALERT always apply. This module only holds the result; `merge.py` computes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from simple_risk_manager.domain.models import EnforcementAction


@dataclass(frozen=True, slots=True)
class Superseded:
    """A decision that will not run, and the decision that won over it (logged as SUPERSEDED)."""

    decision: EnforcementAction
    by: EnforcementAction


@dataclass(frozen=True, slots=True)
class EnforcementPlan:
    account_id: int
    #: Decisions that carry a lockout (`lockout_kind` set); MOD-002 records each before any gateway call.
    lockouts: tuple[EnforcementAction, ...] = ()
    #: The single account-wide action (CLOSE_ALL_AND_LOCKOUT > COOLDOWN > CLOSE_ALL_POSITIONS), if any.
    flatten: EnforcementAction | None = None
    #: With no flatten: at most one CLOSE_POSITION / REDUCE_TO_LIMIT / AUTO_STOP_LOSS per contract.
    contract_actions: tuple[EnforcementAction, ...] = ()
    #: With no flatten: one REJECT_ORDER per distinct order not cancelled by a CLOSE_POSITION.
    rejects: tuple[EnforcementAction, ...] = ()
    unlocks: tuple[EnforcementAction, ...] = ()
    alerts: tuple[EnforcementAction, ...] = ()
    superseded: tuple[Superseded, ...] = ()

    @property
    def has_broker_calls(self) -> bool:
        return self.flatten is not None or bool(self.contract_actions or self.rejects)

    @property
    def is_empty(self) -> bool:
        return not (self.lockouts or self.has_broker_calls or self.unlocks or self.alerts or self.superseded)
