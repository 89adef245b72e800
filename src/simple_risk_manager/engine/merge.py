"""Merging one event's decisions for one account into an `EnforcementPlan` (`rules.md` §3 step 3, D-02).

- Every decision that carries a lockout is listed for MOD-002, whatever happens to its action.
- Severity: CLOSE_ALL_AND_LOCKOUT > COOLDOWN > CLOSE_ALL_POSITIONS > CLOSE_POSITION > REDUCE_TO_LIMIT >
  REJECT_ORDER > AUTO_STOP_LOSS. With any account-wide action (the first three) exactly one flatten
  runs — the most severe; among equals the one whose lockout ends last (no end first), then the lowest
  rule id — and every other enforcement decision is superseded by it.
- Otherwise one action per contract: CLOSE_POSITION beats REDUCE_TO_LIMIT (the largest reduction wins
  among reductions), both beat AUTO_STOP_LOSS; plus one REJECT_ORDER per distinct order whose contract
  is not being closed by a CLOSE_POSITION.
- UNLOCK and ALERT always apply.

Pure and deterministic: decisions are ranked by a total order first, so the plan never depends on the
order the rules (or the gate) produced them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from simple_risk_manager.domain.enums import EnforcementActionType
from simple_risk_manager.domain.models import EnforcementAction
from simple_risk_manager.domain.money import ZERO
from simple_risk_manager.engine.plan import EnforcementPlan, Superseded

_CONTRACT_SCOPED = frozenset({EnforcementActionType.CLOSE_POSITION, EnforcementActionType.REDUCE_TO_LIMIT,
                              EnforcementActionType.AUTO_STOP_LOSS})


def _end_rank(decision: EnforcementAction) -> tuple[int, float]:
    """Lockout end, latest first: no end (condition) first, then later ends, then no lockout."""
    if decision.lockout_kind is None:
        return (2, 0.0)
    if decision.lockout_until is None:
        return (0, 0.0)
    return (1, -decision.lockout_until.timestamp())


def _rank(decision: EnforcementAction) -> tuple[Any, ...]:
    """A total order: the winner of any contest comes first, full ties broken on every field."""
    return (
        decision.action.severity,
        _end_rank(decision),
        -(decision.size or 0),
        decision.rule_id,
        decision.contract_id or "",
        -1 if decision.order_id is None else decision.order_id,
        ZERO if decision.stop_price is None else decision.stop_price,
        decision.lockout_kind or "",
        decision.reason,
        decision.created_at,
        sorted((str(key), repr(value)) for key, value in decision.details.items()),
    )


def _superseded_rank(entry: Superseded) -> tuple[Any, ...]:
    return (_rank(entry.decision), _rank(entry.by))


def _missing(decision: EnforcementAction, field: str) -> ValueError:
    return ValueError(f"merge: {decision.rule_id} {decision.action.value} for account "
                      f"{decision.account_id} has no {field}")


def _contract_of(decision: EnforcementAction) -> str:
    if decision.contract_id is None:
        raise _missing(decision, "contract_id")
    return decision.contract_id


def _order_of(decision: EnforcementAction) -> int:
    if decision.order_id is None:
        raise _missing(decision, "order_id")
    return decision.order_id


def merge(account_id: int, decisions: Iterable[EnforcementAction]) -> EnforcementPlan:
    """The plan for `account_id`; a decision of another account, or a contract-scoped decision without
    its contract (or a REJECT_ORDER without its order), is a caller bug and raises `ValueError`."""
    ranked = list(decisions)
    if len(ranked) > 1:  # the usual single decision needs no ranking (its key is the costly part)
        ranked.sort(key=_rank)
    for item in ranked:
        if item.account_id != account_id:
            raise ValueError(f"merge: {item.rule_id} {item.action.value} is for account {item.account_id}, "
                             f"not {account_id}")
    lockouts = tuple(d for d in ranked if d.lockout_kind is not None)
    unlocks = tuple(d for d in ranked if d.action is EnforcementActionType.UNLOCK)
    alerts = tuple(d for d in ranked if d.action is EnforcementActionType.ALERT)
    enforced = [d for d in ranked
                if d.action not in (EnforcementActionType.UNLOCK, EnforcementActionType.ALERT)]

    wide = [d for d in enforced if d.action.is_account_wide]
    if wide:
        flatten = wide[0]
        superseded = tuple(Superseded(d, flatten) for d in enforced if d is not flatten)
        return EnforcementPlan(account_id=account_id, lockouts=lockouts, flatten=flatten, unlocks=unlocks,
                               alerts=alerts, superseded=tuple(sorted(superseded, key=_superseded_rank)))

    dropped: list[Superseded] = []
    per_contract: dict[str, EnforcementAction] = {}
    for d in enforced:
        if d.action in _CONTRACT_SCOPED:
            winner = per_contract.setdefault(_contract_of(d), d)
            if winner is not d:
                dropped.append(Superseded(d, winner))

    rejects: dict[int, EnforcementAction] = {}
    for d in enforced:
        if d.action is not EnforcementActionType.REJECT_ORDER:
            continue
        order_id = _order_of(d)
        closing = per_contract.get(d.contract_id or "")
        if closing is not None and closing.action is EnforcementActionType.CLOSE_POSITION:
            dropped.append(Superseded(d, closing))
            continue
        winner = rejects.setdefault(order_id, d)
        if winner is not d:
            dropped.append(Superseded(d, winner))

    return EnforcementPlan(
        account_id=account_id,
        lockouts=lockouts,
        contract_actions=tuple(per_contract[c] for c in sorted(per_contract)),
        rejects=tuple(rejects[o] for o in sorted(rejects)),
        unlocks=unlocks,
        alerts=alerts,
        superseded=tuple(sorted(dropped, key=_superseded_rank)),
    )
