"""Unrealized P&L on screen comes from the daemon's own P&L function and the quote-age rules (§1.8, §1.9)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from simple_risk_manager.state.pnl import position_upnl
from simple_risk_manager.trader.freshness import Freshness
from simple_risk_manager.trader.valuation import value_account

from .frames import MES, MNQ, NOW, connected, snapshot_account


def test_spec_position_is_valued_like_the_daemon_values_it() -> None:
    model = connected()
    view = model.view
    assert view is not None
    value = value_account(view, model.quotes, NOW, live=True)
    item = value.positions[0]
    # (5923.75 − 5921.25) / 0.25 × 1.25 × 3 = +37.50, the spec snapshot's unrealized_pnl
    assert item.upnl == Decimal("37.5") == value.total
    assert item.upnl == position_upnl(view.positions[MES].position, model.quotes[MES], view.contracts[MES])
    assert (item.freshness, item.mark, value.approximate, value.missing) == (
        Freshness.FRESH, Decimal("5923.75"), False, 0)


def test_a_stale_quote_still_values_but_marks_it_approximate() -> None:
    model = connected()
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW + timedelta(seconds=7), live=True)
    assert value.positions[0].freshness is Freshness.STALE and value.approximate
    assert value.total == Decimal("37.5") and value.stale_contracts == (MES,)


def test_a_quote_older_than_30_seconds_values_nothing() -> None:
    model = connected()
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW + timedelta(seconds=31), live=True)
    assert value.positions[0].upnl is None and value.positions[0].mark is None
    assert value.total is None and value.missing == 1


def test_offline_every_quote_counts_as_missing() -> None:
    model = connected()
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW, live=False)
    assert value.total is None and value.positions[0].freshness is Freshness.NO_DATA


def test_the_total_leaves_out_what_cannot_be_valued_and_says_how_many() -> None:
    second = {"position_id": 7, "contract_id": MNQ, "type": "SHORT", "size": 1, "average_price": 21000,
              "opened_at": "2025-03-04T14:00:00.000Z", "has_stop": False, "no_stop_deadline": None}
    model = connected(snapshot_account(positions=[snapshot_account()["positions"][0], second]))
    assert model.view is not None
    value = value_account(model.view, model.quotes, NOW, live=True)
    assert value.total == Decimal("37.5") and value.missing == 1


def test_a_flat_account_has_zero_unrealized() -> None:
    model = connected(snapshot_account(positions=[]))
    assert model.view is not None
    assert value_account(model.view, model.quotes, NOW, live=True).total == 0
