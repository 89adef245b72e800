"""The snapshot's rule gauges (`broadcast-api.md` §4.4, B13): limit, current and status per rule."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from simple_risk_manager.daemon.rule_status import rule_statuses
from simple_risk_manager.domain.enums import LockoutKind, OrderType, PositionType
from simple_risk_manager.domain.models import Account
from simple_risk_manager.rules.trade_management import ManagedStop

from .world import world

MNQ, MES, M2K, RTY = world.MNQ, world.MES, world.M2K, world.RTY


def gauge(w: Any, rule_id: str, memory: dict[str, Any] | None = None) -> tuple[Any, Any, str]:
    row = next(r for r in rule_statuses(w.view(memory)) if r["rule_id"] == rule_id)
    return row["limit"], row["current"], row["status"]


def test_every_rule_is_listed_in_id_order_with_its_name() -> None:
    rows = rule_statuses(world.World().view())
    assert [r["rule_id"] for r in rows] == [f"RULE-{n:03d}" for n in range(1, 13)]
    assert rows[2]["name"] == "Daily Realized Loss"
    assert rows[11] == {"rule_id": "RULE-012", "name": "Trade Management", "enabled": False, "limit": None,
                        "current": None, "status": "OK"}


@pytest.mark.parametrize(("realized", "expected"), [
    pytest.param("-193.32", (500, 193.32, "OK"), id="spec-example-4.4"),
    pytest.param("12.50", (500, 0, "OK"), id="a-profit-is-no-loss"),
    pytest.param("-400", (500, 400, "WARN"), id="80-percent-warns"),
    pytest.param("-500", (500, 500, "BREACHED"), id="at-the-limit-breached-inclusive"),
])
def test_rule_003_daily_realized_loss(realized: str, expected: tuple[Any, ...]) -> None:
    w = world.World()
    w.fill(MNQ, "SELL", 1, 20000, pnl=realized)
    assert gauge(w, "RULE-003") == expected


@pytest.mark.parametrize(("sizes", "expected"), [
    pytest.param((2, 1), (5, 3, "OK"), id="3-of-5"),
    pytest.param((2, 2), (5, 4, "WARN"), id="4-of-5-warns"),
    pytest.param((3, 2), (5, 5, "WARN"), id="at-the-limit-not-breached-strict"),
    pytest.param((3, 3), (5, 6, "BREACHED"), id="over-the-limit"),
])
def test_rule_001_counts_contracts(sizes: tuple[int, int], expected: tuple[Any, ...]) -> None:
    w = world.World()
    w.open_position(MES, "LONG", sizes[0], 6000)
    w.open_position(MNQ, "SHORT", sizes[1], 21000)
    assert gauge(w, "RULE-001") == expected


def test_rule_002_reports_the_root_nearest_its_limit() -> None:
    w = world.World()
    assert gauge(w, "RULE-002") == (1, 0, "OK")  # nothing held: the tightest listed limit (NQ/ES 1)
    w.open_position(MES, "LONG", 2, 6000)  # 2 of 3
    assert gauge(w, "RULE-002") == (3, 2, "OK")
    w.open_position(MNQ, "LONG", 2, 21000)  # 2 of 2 is nearer
    assert gauge(w, "RULE-002") == (2, 2, "WARN")
    w.open_position(M2K, "LONG", 2, 2400)  # unlisted: allow_with_limit:1 → limit 1
    assert gauge(w, "RULE-002") == (1, 2, "BREACHED")


@pytest.mark.parametrize(("scope", "expected"), [
    pytest.param("per_position", (300, 250, "WARN"), id="largest-single-loss"),
    pytest.param("total", (300, 200, "OK"), id="sum-of-all"),
])
def test_rule_004_floating_loss(scope: str, expected: tuple[Any, ...]) -> None:
    w = world.World()
    w.configure("daily_unrealized_loss", scope=scope)
    w.open_position(MNQ, "LONG", 1, 21000)
    w.quote(MNQ, last=20875)  # 125 points × $2 = −250
    w.open_position(MES, "LONG", 1, 6000)
    w.quote(MES, last=6010)  # 10 points × $5 = +50
    assert gauge(w, "RULE-004") == expected


def test_rule_005_floating_profit_breaches_at_the_target() -> None:
    w = world.World()
    w.open_position(MES, "LONG", 1, 6000)
    w.quote(MES, last=6200)  # +1000
    assert gauge(w, "RULE-005") == (1000, 1000, "BREACHED")


def test_rule_006_reports_the_window_nearest_its_limit() -> None:
    w = world.World()
    w.fill(MES, "BUY", 1, 6000)
    w.fill(MES, "SELL", 1, 6000)
    assert gauge(w, "RULE-006") == (3, 2, "OK")  # 2/3 per minute beats 2/10 per hour
    w.fill(MES, "BUY", 1, 6000)
    assert gauge(w, "RULE-006") == (3, 3, "WARN")


def test_rule_006_also_lists_every_window_limit_for_the_dashboard_strip() -> None:
    w = world.World()
    row = next(r for r in rule_statuses(w.view()) if r["rule_id"] == "RULE-006")
    assert row["limits"] == {"minute": 3, "hour": 10, "session": 50}
    w.configure("trade_frequency_limit", limits={"per_minute": None})
    row = next(r for r in rule_statuses(w.view()) if r["rule_id"] == "RULE-006")
    assert row["limits"] == {"hour": 10, "session": 50}
    other = next(r for r in rule_statuses(w.view()) if r["rule_id"] == "RULE-003")
    assert "limits" not in other


def test_a_lockout_of_the_rule_is_a_breach_even_without_a_limit() -> None:
    w = world.World()
    w.lock("RULE-007", LockoutKind.DURATION, until=w.now + timedelta(minutes=5))
    assert gauge(w, "RULE-007") == (None, None, "BREACHED")
    assert gauge(w, "RULE-003")[2] == "OK"  # another rule's lockout is not this rule's breach


def test_rule_010_breached_while_the_broker_disables_trading() -> None:
    w = world.World()
    w.state.apply_account(Account(id=w.account_id, name="x", balance=Decimal(50000), can_trade=False))
    assert gauge(w, "RULE-010") == (None, None, "BREACHED")


def test_rule_011_breached_while_a_blocked_symbol_is_held() -> None:
    w = world.World()
    assert gauge(w, "RULE-011")[2] == "OK"
    w.open_position(RTY, "LONG", 1, 2400)
    assert gauge(w, "RULE-011")[2] == "BREACHED"


def test_rule_008_is_active_while_an_unprotected_position_waits_for_its_deadline() -> None:
    w = world.World()
    w.open_position(MES, "LONG", 1, 6000)
    running = {"RULE-008": {MES: w.now + timedelta(seconds=20)}}
    assert gauge(w, "RULE-008", running) == (None, None, "ACTIVE")
    assert gauge(w, "RULE-008", {"RULE-008": {MES: w.now - timedelta(seconds=1)}})[2] == "OK"
    w.order(MES, "SELL", 1, type=OrderType.STOP, stop_price=5990)
    assert gauge(w, "RULE-008", running)[2] == "OK"  # protected now


def test_rule_012_is_active_while_it_manages_a_stop_and_disabled_rules_are_ok() -> None:
    w = world.World()
    w.open_position(MES, "LONG", 1, 6000)
    memory = {"RULE-012": {MES: ManagedStop(side=PositionType.LONG, stop_order_id=77)}}
    assert gauge(w, "RULE-012", memory)[2] == "OK"  # disabled in the base config
    w.configure("trade_management", enabled=True)
    assert gauge(w, "RULE-012", memory) == (None, None, "ACTIVE")
    assert gauge(w, "RULE-012")[2] == "OK"
    w.configure("daily_realized_loss", enabled=False)
    assert gauge(w, "RULE-003") == (None, None, "OK")
