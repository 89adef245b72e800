"""What a rule is evaluated on: events as the pipeline sees them *after* the state update.

Each carries what the update produced (a position transition, a fill's new-order flag and counts), so a
rule never recomputes what a tracker already decided. Routing (which rules see which event) is in
`engine/routing.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from simple_risk_manager.domain.models import Order, Position, Trade
from simple_risk_manager.state.positions import PositionTransition
from simple_risk_manager.state.trade_counter import TradeCounts


@dataclass(frozen=True, slots=True)
class FillApplied:
    """A GatewayUserTrade after MOD-005 and MOD-008 applied it.

    `new_order` is true when this fill made a new order count (RULE-006 evaluates only then);
    `counts` are the window counts at the fill's own timestamp; `order_pnl` is the order's cumulative
    realized P&L after this fill (net of fees when `include_fees`), for RULE-007.
    """

    trade: Trade
    new_order: bool
    counts: TradeCounts
    order_pnl: Decimal


@dataclass(frozen=True, slots=True)
class PositionChanged:
    position: Position
    transition: PositionTransition


@dataclass(frozen=True, slots=True)
class OrderChanged:
    order: Order


@dataclass(frozen=True, slots=True)
class QuoteChanged:
    """A quote of a contract this account holds (evaluated once per holding account)."""

    contract_id: str


@dataclass(frozen=True, slots=True)
class AccountChanged:
    """A GatewayUserAccount; `can_trade` is None when the payload did not say (RULE-010 fails open)."""

    previous_can_trade: bool | None
    can_trade: bool | None


@dataclass(frozen=True, slots=True)
class GraceExpired:
    """RULE-008's grace timer for a contract fired."""

    contract_id: str


@dataclass(frozen=True, slots=True)
class SessionBoundary:
    """RULE-009's session-end timer fired."""


@dataclass(frozen=True, slots=True)
class Sweep:
    """Once per account after each completed reconcile (startup and reconnects)."""


@dataclass(frozen=True, slots=True)
class ConnectionChanged:
    """The account's user hub was lost (`connected` false) or restored; RULE-010 alerts only."""

    connected: bool


RuleEvent = (FillApplied | PositionChanged | OrderChanged | QuoteChanged | AccountChanged | GraceExpired
             | SessionBoundary | Sweep | ConnectionChanged)
