"""Reduce-to-limit for the contract caps (RULE-001, RULE-002): which positions give up contracts.

The contract that triggered the breach gives up contracts first, then the other candidates, largest
first (ties by contract id, so the plan does not depend on the order positions were opened). No
position gives more than it holds, and the total never exceeds the excess.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from simple_risk_manager.domain.enums import EnforcementActionType
from simple_risk_manager.domain.models import EnforcementAction, Position
from simple_risk_manager.rules.base import AccountView, decision


def reduction_plan(excess: int, candidates: Iterable[Position],
                   trigger_contract: str | None = None) -> list[tuple[Position, int]]:
    """`(position, contracts to remove)` pairs that remove up to `excess` contracts."""
    ordered = sorted(candidates, key=lambda p: (p.contract_id != trigger_contract, -p.size, p.contract_id))
    plan: list[tuple[Position, int]] = []
    for position in ordered:
        if excess <= 0:
            break
        take = min(excess, position.size)
        plan.append((position, take))
        excess -= take
    return plan


def reduce_to_limit(view: AccountView, rule_id: str, breach: str, *, excess: int,
                    candidates: Iterable[Position], trigger_contract: str | None,
                    details: Mapping[str, Any]) -> tuple[EnforcementAction, ...]:
    """One REDUCE_TO_LIMIT per position of the plan; `size` is the number of contracts to remove."""
    return tuple(
        decision(view, rule_id, EnforcementActionType.REDUCE_TO_LIMIT,
                 f"{breach}: reduce {p.contract_id} by {size} ({p.size} → {p.size - size})",
                 contract_id=p.contract_id, size=size, details=details)
        for p, size in reduction_plan(excess, candidates, trigger_contract))
