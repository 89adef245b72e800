"""The quote hot path's skip (`Dispatcher._is_quiet`): accounts whose only quote rules are per-position
RULE-004/005 are not evaluated while the mark is strictly inside the position's `QuietMarks`; every
decision the rules would make is still made (bounds inclusive, ranges renewed with the position and the
metadata, other quote rules and `total` scope never skipped)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.domain.models import ContractMetadata
from simple_risk_manager.engine.items import ContractFetched

from .harness import A1, A2, MNQ, Harness, HarnessFactory, harness_factory, summary


@pytest.fixture
def make(tmp_path: Path) -> Iterator[HarnessFactory]:
    yield from harness_factory(tmp_path)


def actions(h: Harness) -> list[tuple[object, ...]]:
    return [a for plan in h.enforcer.plans for a in summary(plan)["contract_actions"]]


def test_quotes_inside_the_range_do_nothing_and_the_bound_itself_closes(make: HarnessFactory) -> None:
    h = make()
    h.metadata(MNQ)
    h.position(MNQ, "long", 2, "21000", account_id=A1)  # $4 per point: loss at 20925, profit at 21250
    h.position(MNQ, "short", 2, "21000", account_id=A2)  # loss at 21075, profit at 20750
    h.enforcer.clear()
    for last in ("20925.25", "21074.75", "21000"):
        h.quote(MNQ, last=last)
    assert h.enforcer.plans == []

    h.quote(MNQ, last="21075.00")
    assert [(plan.account_id, summary(plan)["contract_actions"]) for plan in h.enforcer.plans] == [
        (A2, [("RULE-004", "CLOSE_POSITION", MNQ)])]
    h.enforcer.clear()
    h.quote(MNQ, last="20925.00")
    assert actions(h) == [("RULE-004", "CLOSE_POSITION", MNQ)]
    assert h.enforcer.plans[0].account_id == A1


def test_a_changed_position_or_metadata_renews_the_range(make: HarnessFactory) -> None:
    h = make()
    h.metadata(MNQ)
    h.position(MNQ, "long", 2, "21000")
    h.quote(MNQ, last="20970")
    h.position(MNQ, "long", 4, "21000")  # $8 per point: the loss bound moves up to 20962.50
    h.enforcer.clear()
    h.quote(MNQ, last="20962.75")
    assert h.enforcer.plans == []
    h.quote(MNQ, last="20962.50")
    assert actions(h) == [("RULE-004", "CLOSE_POSITION", MNQ)]
    h.enforcer.clear()

    h.position(MNQ, "long", 1, "21000")  # $2 per point: the loss bound is 20850
    h.quote(MNQ, last="20900")
    assert h.enforcer.plans == []
    h.handle(ContractFetched(ContractMetadata(  # a tick worth 10× as much: the same mark breaches now
        contract_id=MNQ, symbol_id="F.US.MNQ", tick_size=Decimal("0.25"), tick_value=Decimal("5.00"),
        cached_at=h.clock.now() + timedelta(seconds=1))))
    h.enforcer.clear()
    h.quote(MNQ, last="20900")
    assert actions(h) == [("RULE-004", "CLOSE_POSITION", MNQ)]


def test_total_scope_is_evaluated_on_every_quote(make: HarnessFactory) -> None:
    """Each position alone is far from $300; together they reach it."""
    h = make(overrides={A1: {"daily_unrealized_loss": {"scope": "total"}}})
    h.metadata(MNQ)
    h.position(MNQ, "long", 2, "21000")
    h.enforcer.clear()
    h.quote(MNQ, last="20925")
    (plan,) = h.enforcer.plans
    assert plan.flatten is not None and plan.flatten.rule_id == "RULE-004"


def test_trade_management_still_sees_every_quote(make: HarnessFactory) -> None:
    h = make(overrides={A1: {"trade_management": {"enabled": True}}})
    h.metadata(MNQ)
    h.position(MNQ, "long", 2, "21000.00")  # RULE-012 places its stop at 20997.50
    h.enforcer.clear()
    h.quote(MNQ, last="21002.50")  # +10 ticks: auto-breakeven moves the stop
    assert [a[0] for a in actions(h)] == ["RULE-012"]
