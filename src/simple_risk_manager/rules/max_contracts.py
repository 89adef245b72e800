"""RULE-001 Max Contracts: cap the open contracts of the account across all instruments.

`gross` counts Σ size, `net` counts |Σ signed size| (D-08). `close_all` flattens the account;
`reduce_to_limit` takes the excess off the triggering contract, then off the other positions, largest
first. Under `net` only positions on the side the net count comes from are reduced: taking contracts
off the other (minority) side would raise the net count instead of lowering it.
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType
from simple_risk_manager.domain.models import Position
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import PositionChanged, RuleEvent, Sweep
from simple_risk_manager.rules.reductions import reduce_to_limit
from simple_risk_manager.state.positions import CountType

_INFO = rule_info("max_contracts")


class MaxContractsRule:
    """Breach: contract count > limit (strict, D-06). No lockout."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.max_contracts
        if not config.enabled or not isinstance(event, PositionChanged | Sweep):
            return NOTHING
        count_type = CountType(config.count_type)
        count = view.contract_count(count_type)
        if count <= config.limit:
            return NOTHING
        positions = view.positions()
        breach = f"{count_type.value} contract count {count} exceeds limit {config.limit}"
        details = {"count": count, "limit": config.limit, "count_type": count_type.value,
                   "positions": {p.contract_id: p.signed_size for p in positions}}
        if config.enforcement == "close_all":
            flatten = decision(view, self.rule_id, EnforcementActionType.CLOSE_ALL_POSITIONS, breach,
                               details=details)
            return RuleResult(decisions=(flatten,))
        trigger = event.position.contract_id if isinstance(event, PositionChanged) else None
        return RuleResult(decisions=reduce_to_limit(
            view, self.rule_id, breach, excess=count - config.limit,
            candidates=_contributing(positions, count_type), trigger_contract=trigger, details=details))


def _contributing(positions: tuple[Position, ...], count_type: CountType) -> list[Position]:
    """Positions whose reduction lowers the count: all for gross; for net, those on the net's side."""
    if count_type is CountType.GROSS:
        return list(positions)
    net = sum(p.signed_size for p in positions)
    return [p for p in positions if (p.signed_size > 0) == (net > 0)]
