"""RULE-011 Symbol Blocks: never hold or work orders in blocked instruments.

Matching is exact on the aliased symbol root (`CON.F.US.EP.Z25` → `ES`; `ES` never matches `MES`, D-12).
A working order that is not the daemon's own → REJECT_ORDER; a position event with size > 0 →
CLOSE_POSITION (which also cancels that contract's working orders). The `Sweep` after each reconcile
closes every blocked position when `close_existing` (false leaves existing positions alone) and cancels
every blocked working order that is not own either way: a reconcile only replays orders that changed
while the daemon was away, so a blocked order already in the stored mirror would otherwise never be
seen again. Nothing is stored: the block list itself is the lock (D-28).
"""

from __future__ import annotations

from typing import ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.domain.enums import EnforcementActionType
from simple_risk_manager.domain.models import EnforcementAction, Order, Position
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import OrderChanged, PositionChanged, RuleEvent, Sweep

_INFO = rule_info("symbol_blocks")


class SymbolBlocksRule:
    """Breach: the root of an order's or position's contract is in `blocked_symbols`."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.symbol_blocks
        if not config.enabled or not config.blocked_symbols:
            return NOTHING
        blocked = config.blocked_symbols
        decisions: list[EnforcementAction] = []
        if isinstance(event, PositionChanged):
            positions = [event.position] if event.position.size > 0 else []
            orders: list[Order] = []
        elif isinstance(event, OrderChanged):
            positions, orders = [], [event.order]
        elif isinstance(event, Sweep):
            positions = list(view.positions()) if config.close_existing else []
            orders = list(view.working_orders())
        else:
            return NOTHING
        decisions.extend(self._close(view, p) for p in positions if view.root_of(p.contract_id) in blocked)
        decisions.extend(self._reject(view, o) for o in orders if o.is_working and not view.is_own_order(o)
                         and view.root_of(o.contract_id) in blocked)
        return RuleResult(decisions=tuple(decisions)) if decisions else NOTHING

    def _close(self, view: AccountView, position: Position) -> EnforcementAction:
        root = view.root_of(position.contract_id)
        side = "long" if position.signed_size > 0 else "short"
        return decision(view, self.rule_id, EnforcementActionType.CLOSE_POSITION,
                        f"{root} is a blocked symbol: close {position.contract_id} {side} {position.size}",
                        contract_id=position.contract_id,
                        details={"root": root, "contract_id": position.contract_id, "size": position.size})

    def _reject(self, view: AccountView, order: Order) -> EnforcementAction:
        root = view.root_of(order.contract_id)
        return decision(view, self.rule_id, EnforcementActionType.REJECT_ORDER,
                        f"{root} is a blocked symbol: cancel working {order.side.name.lower()} "
                        f"order {order.id} size {order.size} in {order.contract_id}",
                        contract_id=order.contract_id, order_id=order.id,
                        details={"root": root, "contract_id": order.contract_id, "order_id": order.id,
                                 "size": order.size})
