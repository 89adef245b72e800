"""Merging one event's decisions by severity (`rules.md` §3 step 3, D-02, D-19; `engine/plan.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_risk_manager.domain.enums import EnforcementActionType as A
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.domain.models import EnforcementAction
from simple_risk_manager.engine.merge import merge
from simple_risk_manager.engine.plan import EnforcementPlan, Superseded

ACCOUNT = 7001
NOW = datetime(2025, 10, 15, 20, 0, 5, tzinfo=UTC)  # Wed 15:00:05 CT
NEXT_SESSION = datetime(2025, 10, 16, 13, 30, tzinfo=UTC)  # Thu 08:30 CT
NEXT_RESET = datetime(2025, 10, 15, 22, 0, tzinfo=UTC)  # Wed 17:00 CT
MNQ, ES, RTY = "CON.F.US.MNQ.Z25", "CON.F.US.EP.Z25", "CON.F.US.RTY.Z25"


def d(rule: str, action: A, *, contract: str | None = None, order: int | None = None, size: int | None = None,
      kind: LockoutKind | None = None, until: datetime | None = None, account: int = ACCOUNT,
      reason: str = "") -> EnforcementAction:
    return EnforcementAction(action=action, account_id=account, rule_id=rule,
                             reason=reason or f"{rule} {action}", created_at=NOW, contract_id=contract,
                             order_id=order, size=size,
                             lockout_kind=None if kind is None else kind.value, lockout_until=until)


def lock(rule: str, kind: LockoutKind = LockoutKind.RESET, until: datetime | None = NEXT_RESET,
         action: A = A.CLOSE_ALL_AND_LOCKOUT) -> EnforcementAction:
    return d(rule, action, kind=kind, until=None if kind is LockoutKind.CONDITION else until)


def test_spec_example_rule_001_and_rule_009() -> None:
    """`rules.md` §3: 15:00:05 CT, position MNQ long 6 → one RULE-009 lockout record, one flatten,
    RULE-001 logged as superseded."""
    rule_001 = d("RULE-001", A.CLOSE_ALL_POSITIONS)
    rule_009 = lock("RULE-009", LockoutKind.SESSION, NEXT_SESSION)
    plan = merge(ACCOUNT, [rule_001, rule_009])
    assert plan.lockouts == (rule_009,)
    assert plan.flatten == rule_009
    assert plan.superseded == (Superseded(rule_001, rule_009),)
    assert plan.contract_actions == plan.rejects == plan.unlocks == plan.alerts == ()
    assert plan.has_broker_calls and not plan.is_empty


SEVERITY = [A.CLOSE_ALL_AND_LOCKOUT, A.COOLDOWN, A.CLOSE_ALL_POSITIONS, A.CLOSE_POSITION, A.REDUCE_TO_LIMIT,
            A.REJECT_ORDER, A.AUTO_STOP_LOSS]


def _of(action: A, rule: str = "RULE-050") -> EnforcementAction:
    if action is A.CLOSE_ALL_AND_LOCKOUT:
        return lock(rule)
    if action is A.COOLDOWN:
        return lock(rule, LockoutKind.DURATION, NOW + timedelta(seconds=300), A.COOLDOWN)
    if action is A.REJECT_ORDER:
        return d(rule, action, contract=MNQ, order=41)
    if action is A.REDUCE_TO_LIMIT:
        return d(rule, action, contract=MNQ, size=1)
    return d(rule, action, contract=None if action.is_account_wide else MNQ)


@pytest.mark.parametrize(("stronger", "weaker"),
                         [(SEVERITY[i], SEVERITY[j]) for i in range(3) for j in range(i + 1, len(SEVERITY))],
                         ids=lambda a: a.value)
def test_an_account_wide_action_supersedes_every_weaker_one(stronger: A, weaker: A) -> None:
    strong, weak = _of(stronger, "RULE-090"), _of(weaker, "RULE-001")  # the rule id never decides severity
    plan = merge(ACCOUNT, [weak, strong])
    assert plan.flatten == strong
    assert plan.superseded == (Superseded(weak, strong),)
    assert plan.contract_actions == plan.rejects == ()


def test_exactly_one_flatten_and_every_lockout_recorded() -> None:
    """D-02: evaluate all, record every lockout, one flatten; contract actions are dropped."""
    loss = lock("RULE-003")
    cooldown = lock("RULE-007", LockoutKind.DURATION, NOW + timedelta(seconds=900), A.COOLDOWN)
    flatten = d("RULE-001", A.CLOSE_ALL_POSITIONS)
    close = d("RULE-004", A.CLOSE_POSITION, contract=ES)
    reduce = d("RULE-002", A.REDUCE_TO_LIMIT, contract=MNQ, size=1)
    reject = d("RULE-011", A.REJECT_ORDER, contract=RTY, order=9)
    stop = d("RULE-012", A.AUTO_STOP_LOSS, contract=MNQ, size=1)
    plan = merge(ACCOUNT, [stop, reject, reduce, close, flatten, cooldown, loss])
    assert plan.flatten == loss
    assert plan.lockouts == (loss, cooldown)
    assert [s.decision for s in plan.superseded] == [cooldown, flatten, close, reduce, reject, stop]
    assert all(s.by == loss for s in plan.superseded)


def test_a_close_only_rule_never_masks_a_lockout_rule() -> None:
    close = d("RULE-004", A.CLOSE_POSITION, contract=MNQ)
    loss = lock("RULE-003")
    plan = merge(ACCOUNT, [close, loss])
    assert plan.lockouts == (loss,) and plan.flatten == loss


def test_among_lockouts_the_one_ending_last_flattens() -> None:
    early = lock("RULE-003", LockoutKind.RESET, NEXT_RESET)
    late = lock("RULE-009", LockoutKind.SESSION, NEXT_SESSION)
    condition = lock("RULE-010", LockoutKind.CONDITION)
    assert merge(ACCOUNT, [early, late]).flatten == late
    assert merge(ACCOUNT, [late, condition, early]).flatten == condition


def test_equal_flattens_are_decided_by_the_lowest_rule_id() -> None:
    one, four = d("RULE-001", A.CLOSE_ALL_POSITIONS), d("RULE-004", A.CLOSE_ALL_POSITIONS)
    plan = merge(ACCOUNT, [four, one])
    assert plan.flatten == one and plan.superseded == (Superseded(four, one),)


def test_contract_actions_on_different_contracts_run_together() -> None:
    """D-19: only account-wide actions are exclusive."""
    close_es = d("RULE-004", A.CLOSE_POSITION, contract=ES)
    reduce_mnq = d("RULE-002", A.REDUCE_TO_LIMIT, contract=MNQ, size=1)
    stop_rty = d("RULE-012", A.AUTO_STOP_LOSS, contract=RTY, size=1)
    plan = merge(ACCOUNT, [stop_rty, reduce_mnq, close_es])
    assert plan.flatten is None
    assert plan.contract_actions == (close_es, reduce_mnq, stop_rty)  # by contract id
    assert plan.superseded == ()


def test_close_position_beats_reduce_beats_auto_stop_on_one_contract() -> None:
    close = d("RULE-008", A.CLOSE_POSITION, contract=MNQ)
    reduce = d("RULE-001", A.REDUCE_TO_LIMIT, contract=MNQ, size=2)
    stop = d("RULE-012", A.AUTO_STOP_LOSS, contract=MNQ, size=3)
    plan = merge(ACCOUNT, [stop, reduce, close])
    assert plan.contract_actions == (close,)
    assert plan.superseded == (Superseded(reduce, close), Superseded(stop, close))
    plan = merge(ACCOUNT, [stop, reduce])
    assert plan.contract_actions == (reduce,) and plan.superseded == (Superseded(stop, reduce),)


def test_the_largest_reduction_wins() -> None:
    small = d("RULE-001", A.REDUCE_TO_LIMIT, contract=MNQ, size=1)
    large = d("RULE-002", A.REDUCE_TO_LIMIT, contract=MNQ, size=3)
    plan = merge(ACCOUNT, [small, large])
    assert plan.contract_actions == (large,) and plan.superseded == (Superseded(small, large),)


def test_one_reject_per_distinct_order_unless_its_contract_is_closed() -> None:
    reject_a = d("RULE-011", A.REJECT_ORDER, contract=RTY, order=1)
    reject_a_again = d("RULE-009", A.REJECT_ORDER, contract=RTY, order=1)
    reject_b = d("RULE-009", A.REJECT_ORDER, contract=MNQ, order=2)
    reject_c = d("RULE-009", A.REJECT_ORDER, contract=ES, order=3)
    close_es = d("RULE-004", A.CLOSE_POSITION, contract=ES)
    reduce_mnq = d("RULE-002", A.REDUCE_TO_LIMIT, contract=MNQ, size=1)
    plan = merge(ACCOUNT, [reject_a, reject_a_again, reject_b, reject_c, close_es, reduce_mnq])
    assert plan.rejects == (reject_a_again, reject_b)  # by order id; RULE-009 < RULE-011 decides order 1
    assert plan.contract_actions == (close_es, reduce_mnq)
    assert plan.superseded == (Superseded(reject_c, close_es), Superseded(reject_a, reject_a_again))


def test_unlock_and_alert_always_apply() -> None:
    unlock = d("RULE-010", A.UNLOCK)
    alert = d("RULE-006", A.ALERT)
    loss = lock("RULE-003")
    plan = merge(ACCOUNT, [alert, unlock, loss])
    assert (plan.unlocks, plan.alerts, plan.flatten, plan.superseded) == ((unlock,), (alert,), loss, ())
    only = merge(ACCOUNT, [alert, unlock])
    assert only.flatten is None and not only.has_broker_calls and not only.is_empty


def test_no_decisions_make_an_empty_plan() -> None:
    assert merge(ACCOUNT, []) == EnforcementPlan(account_id=ACCOUNT)
    assert merge(ACCOUNT, []).is_empty


@pytest.mark.parametrize(("decision", "message"), [
    (d("RULE-001", A.CLOSE_ALL_POSITIONS, account=7002), "is for account 7002, not 7001"),
    (d("RULE-004", A.CLOSE_POSITION), "RULE-004 CLOSE_POSITION for account 7001 has no contract_id"),
    (d("RULE-011", A.REJECT_ORDER, contract=RTY), "RULE-011 REJECT_ORDER for account 7001 has no order_id"),
])
def test_malformed_decisions_are_named(decision: EnforcementAction, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        merge(ACCOUNT, [decision])


# --- property: the plan does not depend on the order the rules produced their decisions in -----------

_RULES = st.sampled_from([f"RULE-{n:03d}" for n in range(1, 13)])
_CONTRACTS = st.sampled_from([MNQ, ES, RTY])


@st.composite
def _decisions(draw: Any) -> EnforcementAction:
    action = draw(st.sampled_from(list(A)))
    rule = draw(_RULES)
    if action in (A.CLOSE_ALL_AND_LOCKOUT, A.COOLDOWN):
        kind = draw(st.sampled_from(list(LockoutKind)))
        minutes = draw(st.integers(1, 3))
        until = None if kind is LockoutKind.CONDITION else NOW + timedelta(minutes=minutes)
        return d(rule, action, kind=kind, until=until)
    if action is A.REJECT_ORDER:
        return d(rule, action, contract=draw(_CONTRACTS), order=draw(st.integers(1, 3)))
    if action in (A.CLOSE_POSITION, A.REDUCE_TO_LIMIT, A.AUTO_STOP_LOSS):
        size = draw(st.integers(1, 3)) if action is not A.CLOSE_POSITION else None
        return d(rule, action, contract=draw(_CONTRACTS), size=size,
                 reason=draw(st.sampled_from(["", "same reason"])))
    return d(rule, action)


@settings(max_examples=300, deadline=None)
@given(st.lists(_decisions(), max_size=10).flatmap(lambda xs: st.tuples(st.just(xs), st.permutations(xs))))
def test_the_plan_does_not_depend_on_decision_order(pair: tuple[list[EnforcementAction],
                                                               list[EnforcementAction]]) -> None:
    original, shuffled = pair
    plan = merge(ACCOUNT, original)
    assert merge(ACCOUNT, shuffled) == plan
    # every enforcement decision is accounted for exactly once: executed or superseded
    executed = ([plan.flatten] if plan.flatten else []) + list(plan.contract_actions) + list(plan.rejects)
    enforced = [x for x in original if x.action not in (A.UNLOCK, A.ALERT)]
    assert len(executed) + len(plan.superseded) == len(enforced)
    assert all(x in enforced for x in executed + [s.decision for s in plan.superseded])
    assert len(plan.lockouts) == sum(1 for x in original if x.lockout_kind is not None)
    if plan.flatten is not None:
        assert all(plan.flatten.action.severity <= x.action.severity for x in enforced)
        assert plan.contract_actions == plan.rejects == ()


@given(st.lists(_decisions(), max_size=10))
@settings(max_examples=200, deadline=None)
def test_at_most_one_action_per_contract_and_per_order(decisions: list[EnforcementAction]) -> None:
    plan = merge(ACCOUNT, decisions)
    contracts = [x.contract_id for x in plan.contract_actions]
    orders = [x.order_id for x in plan.rejects]
    assert len(contracts) == len(set(contracts)) and len(orders) == len(set(orders))
    closed = {x.contract_id for x in plan.contract_actions if x.action is A.CLOSE_POSITION}
    assert not any(x.contract_id in closed for x in plan.rejects)
