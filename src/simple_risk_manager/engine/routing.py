"""Which rules see which event (`rules.md` §2), and which of them still run on a locked account (D-04).

Both tables are data, keyed by the rule-event type, so the routing can be read (and tested) against the
spec line by line. Rule ids are listed in ascending order, the order rules are evaluated in. `RULES`
holds the one stateless instance of each rule, in `config.rule_catalog` order (ids and keys come from
the catalog through each rule class).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from simple_risk_manager.rules.auth_loss_guard import AuthLossGuardRule
from simple_risk_manager.rules.base import Rule
from simple_risk_manager.rules.cooldown_after_loss import CooldownAfterLossRule
from simple_risk_manager.rules.daily_realized_loss import DailyRealizedLossRule
from simple_risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from simple_risk_manager.rules.events import (
    AccountChanged,
    ConnectionChanged,
    FillApplied,
    GraceExpired,
    OrderChanged,
    PositionChanged,
    QuoteChanged,
    RuleEvent,
    SessionBoundary,
    Sweep,
)
from simple_risk_manager.rules.max_contracts import MaxContractsRule
from simple_risk_manager.rules.max_contracts_per_instrument import MaxContractsPerInstrumentRule
from simple_risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from simple_risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule
from simple_risk_manager.rules.session_block_outside import SessionBlockOutsideRule
from simple_risk_manager.rules.symbol_blocks import SymbolBlocksRule
from simple_risk_manager.rules.trade_frequency_limit import TradeFrequencyLimitRule
from simple_risk_manager.rules.trade_management import TradeManagementRule

EventType = type[RuleEvent]


def _ids(*numbers: int) -> tuple[str, ...]:
    return tuple(f"RULE-{n:03d}" for n in numbers)


#: `rules.md` §2: rule-event type → the rules evaluated on it, ascending.
ROUTES: Final[Mapping[EventType, tuple[str, ...]]] = MappingProxyType({
    FillApplied: _ids(3, 6, 7),
    PositionChanged: _ids(1, 2, 4, 5, 8, 9, 11, 12),
    OrderChanged: _ids(9, 11, 12),
    QuoteChanged: _ids(4, 5, 12),
    AccountChanged: _ids(10),
    GraceExpired: _ids(8),
    SessionBoundary: _ids(9),
    Sweep: _ids(1, 2, 3, 4, 5, 8, 9, 10, 11, 12),
    ConnectionChanged: _ids(10),
})

#: `rules.md` §3 step 2 (D-04): while the account is locked only the lockout-producing rules run —
#: RULE-003/-006/-007 on fills, RULE-010 on account events and `ConnectionChanged`, RULE-009 on session
#: timers, RULE-003/-009/-010 on `Sweep`. Every other (event, rule) pair is skipped; RULE-012 never runs.
LOCKED_ROUTES: Final[Mapping[EventType, tuple[str, ...]]] = MappingProxyType({
    FillApplied: _ids(3, 6, 7),
    AccountChanged: _ids(10),
    ConnectionChanged: _ids(10),
    SessionBoundary: _ids(9),
    Sweep: _ids(3, 9, 10),
})

#: One instance of each rule (they are stateless), in catalog order.
RULES: Final[tuple[Rule, ...]] = (
    MaxContractsRule(), MaxContractsPerInstrumentRule(), DailyRealizedLossRule(), DailyUnrealizedLossRule(),
    MaxUnrealizedProfitRule(), TradeFrequencyLimitRule(), CooldownAfterLossRule(), NoStopLossGraceRule(),
    SessionBlockOutsideRule(), AuthLossGuardRule(), SymbolBlocksRule(), TradeManagementRule(),
)

RULES_BY_ID: Final[Mapping[str, Rule]] = MappingProxyType({rule.rule_id: rule for rule in RULES})


def rule_ids_for(event_type: EventType, locked: bool) -> tuple[str, ...]:
    """The rule ids evaluated on an event of this type, ascending; () for a type no rule sees."""
    return (LOCKED_ROUTES if locked else ROUTES).get(event_type, ())


def rules_for(event_type: EventType, locked: bool) -> tuple[Rule, ...]:
    """The rule instances evaluated on an event of this type, in ascending id order."""
    return tuple(RULES_BY_ID[rule_id] for rule_id in rule_ids_for(event_type, locked))
