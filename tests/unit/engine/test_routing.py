"""Routing (`rules.md` §2) and the locked-account filter (§3 step 2, D-04) as data."""

from __future__ import annotations

import typing

import pytest

from simple_risk_manager.config.rule_catalog import RULE_CATALOG
from simple_risk_manager.engine.routing import (
    LOCKED_ROUTES,
    ROUTES,
    RULES,
    RULES_BY_ID,
    rule_ids_for,
    rules_for,
)
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

#: `rules.md` §2, row by row ("Rules evaluated (ascending id)").
SPEC_TABLE = {
    FillApplied: "003, 006, 007",                                   # GatewayUserTrade
    PositionChanged: "001, 002, 004, 005, 008, 009, 011, 012",      # GatewayUserPosition
    OrderChanged: "009, 011, 012",                                  # GatewayUserOrder
    QuoteChanged: "004, 005, 012",                                  # GatewayQuote
    AccountChanged: "010",                                          # GatewayUserAccount
    GraceExpired: "008",                                            # TimerExpired grace
    SessionBoundary: "009",                                         # TimerExpired session_boundary
    Sweep: "001, 002, 003, 004, 005, 008, 009, 010, 011, 012",
    ConnectionChanged: "010",
}

#: D-04: while locked, RULE-003/-006/-007 on trades, RULE-010 on account events and ConnectionChanged,
#: RULE-009 on session timers, RULE-003/-009/-010 on Sweep; nothing else.
SPEC_LOCKED = {
    FillApplied: "003, 006, 007",
    AccountChanged: "010",
    ConnectionChanged: "010",
    SessionBoundary: "009",
    Sweep: "003, 009, 010",
}


def _ids(text: str) -> tuple[str, ...]:
    return tuple(f"RULE-{n.strip()}" for n in text.split(","))


@pytest.mark.parametrize("event_type", list(SPEC_TABLE), ids=lambda t: t.__name__)
def test_routes_are_the_spec_table(event_type: type[RuleEvent]) -> None:
    assert ROUTES[event_type] == _ids(SPEC_TABLE[event_type])
    assert rule_ids_for(event_type, locked=False) == _ids(SPEC_TABLE[event_type])


def test_every_rule_event_type_is_routed_and_nothing_else() -> None:
    assert set(ROUTES) == set(typing.get_args(RuleEvent)) == set(SPEC_TABLE)


@pytest.mark.parametrize("event_type", list(SPEC_TABLE), ids=lambda t: t.__name__)
def test_locked_filter_is_d04(event_type: type[RuleEvent]) -> None:
    expected = _ids(SPEC_LOCKED[event_type]) if event_type in SPEC_LOCKED else ()
    assert rule_ids_for(event_type, locked=True) == expected


def test_locked_routes_only_drop_rules_never_add_them() -> None:
    for event_type, locked in LOCKED_ROUTES.items():
        assert set(locked) <= set(ROUTES[event_type]), event_type.__name__


def test_rule_012_never_runs_on_a_locked_account() -> None:
    assert all("RULE-012" not in ids for ids in LOCKED_ROUTES.values())


def test_lists_are_ascending_and_unique() -> None:
    for table in (ROUTES, LOCKED_ROUTES):
        for ids in table.values():
            assert list(ids) == sorted(set(ids))


def test_registry_has_the_twelve_rules_of_the_catalog_in_order() -> None:
    assert [(r.rule_id, r.key) for r in RULES] == [(i.rule_id, i.key) for i in RULE_CATALOG]
    assert list(RULES_BY_ID) == [i.rule_id for i in RULE_CATALOG]


def test_rules_for_returns_the_instances_in_id_order() -> None:
    rules = rules_for(PositionChanged, locked=False)
    assert [r.rule_id for r in rules] == list(_ids(SPEC_TABLE[PositionChanged]))
    assert all(RULES_BY_ID[r.rule_id] is r for r in rules)
    assert rules_for(QuoteChanged, locked=True) == ()
