"""RULE-002 Max Contracts Per Instrument: a cap per symbol root, all expiries counted together (D-10).

A listed root is capped by its `limits` entry; an unlisted root by `unknown_symbol_action` (`block` =
0, `allow_with_limit:N` = N, `allow_unlimited` = no cap). `reduce_to_limit` takes the excess off the
triggering contract, then off the root's other contracts, largest first; `close_all` (D-11) and
`block` close every contract of that root only. A position event checks its own root; `Sweep` checks
every root held.
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.config.rule_sections import MaxContractsPerInstrument
from simple_risk_manager.domain.enums import EnforcementActionType
from simple_risk_manager.domain.models import EnforcementAction
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import PositionChanged, RuleEvent, Sweep
from simple_risk_manager.rules.reductions import reduce_to_limit

_INFO = rule_info("max_contracts_per_instrument")


class MaxContractsPerInstrumentRule:
    """Breach: root count > the root's limit (strict, D-06). No lockout."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.max_contracts_per_instrument
        if not config.enabled:
            return NOTHING
        if isinstance(event, PositionChanged):
            trigger: str | None = event.position.contract_id
            roots = [view.root_of(event.position.contract_id)]
        elif isinstance(event, Sweep):
            trigger = None
            roots = sorted({view.root_of(p.contract_id) for p in view.positions()})
        else:
            return NOTHING
        decisions = [d for root in roots for d in self._check_root(view, config, root, trigger)]
        return RuleResult(decisions=tuple(decisions)) if decisions else NOTHING

    def _check_root(self, view: AccountView, config: MaxContractsPerInstrument, root: str,
                    trigger: str | None) -> tuple[EnforcementAction, ...]:
        listed = root in config.limits
        limit = config.limits[root] if listed else config.unknown_symbol_limit
        count = view.root_count(root)
        if limit is None or count <= limit:
            return ()
        held = [p for p in view.positions() if view.root_of(p.contract_id) == root]
        source = "limit" if listed else f"unknown_symbol_action {config.unknown_symbol_action}, limit"
        breach = f"{root} contract count {count} exceeds {source} {limit}"
        details = {"root": root, "count": count, "limit": limit, "listed": listed,
                   "positions": {p.contract_id: p.signed_size for p in held}}
        if config.enforcement == "close_all" or limit == 0:
            return tuple(decision(view, self.rule_id, EnforcementActionType.CLOSE_POSITION,
                                  f"{breach}: close {p.contract_id}", contract_id=p.contract_id,
                                  details=details)
                         for p in held)
        return reduce_to_limit(view, self.rule_id, breach, excess=count - limit, candidates=held,
                               trigger_contract=trigger, details=details)
