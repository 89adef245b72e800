"""The shared rule-test builder yields a real view: positions, quotes and MOD-005 unrealized P&L."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.state.positions import PositionTransition

from .world import MNQ, NOW, World


def test_view_shows_open_position_and_mod005_upnl() -> None:
    world = World()
    changed = world.open_position(MNQ, "long", 2, 21000)
    world.quote(MNQ, last=20950)
    view = world.view()
    assert changed.transition is PositionTransition.OPENED
    assert [(p.contract_id, p.size) for p in view.positions()] == [(MNQ, 2)]
    assert view.upnl(view.positions()[0]) == Decimal("-200")
    assert view.account_upnl().total == Decimal("-200")
    assert view.now == NOW


def test_configure_validates_and_changes_only_that_section() -> None:
    world = World()
    world.configure("max_contracts", limit=3, count_type="net")
    assert world.view().rules.max_contracts.limit == 3
    assert world.rules.daily_realized_loss.loss_limit == Decimal("500.00")
    with pytest.raises(ValueError, match="lockout"):
        world.configure("daily_unrealized_loss", lockout=True, scope="per_position")


def test_fill_feeds_pnl_and_counter_and_lock_shows_in_view() -> None:
    world = World()
    applied = world.fill(MNQ, "sell", 1, 21000, pnl="-100", fees="1.50")
    world.lock("RULE-003", LockoutKind.RESET)
    view = world.view()
    assert applied.new_order and applied.counts.minute == 1
    assert applied.order_pnl == Decimal("-101.50")
    assert view.daily_realized() == Decimal("-101.50")
    assert view.is_locked() and view.active_lockout("RULE-003") is not None
