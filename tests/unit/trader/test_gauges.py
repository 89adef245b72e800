"""Gauges: green below 80 %, yellow from 80 %, red at 100 % or when the daemon says BREACHED."""

from __future__ import annotations

from decimal import Decimal

import pytest

from simple_risk_manager.trader.gauges import GaugeLevel, bar, gauge_level, percent, used_fraction


@pytest.mark.parametrize(("current", "level"), [
    ("0", GaugeLevel.OK), ("193.32", GaugeLevel.OK), ("399.99", GaugeLevel.OK),
    ("400", GaugeLevel.WARN), ("499.99", GaugeLevel.WARN),
    ("500", GaugeLevel.BREACH), ("512.50", GaugeLevel.BREACH),
])
def test_level_changes_at_80_and_100_percent(current: str, level: GaugeLevel) -> None:
    assert gauge_level(used_fraction(Decimal(500), Decimal(current))) is level


def test_the_daemons_status_wins_when_it_is_worse() -> None:
    assert gauge_level(Decimal("0.1"), "BREACHED") is GaugeLevel.BREACH
    assert gauge_level(Decimal("0.1"), "WARN") is GaugeLevel.WARN
    assert gauge_level(Decimal("0.9"), "OK") is GaugeLevel.WARN


def test_levels_have_words_so_colour_is_never_alone() -> None:
    assert (GaugeLevel.OK.word, GaugeLevel.WARN.word, GaugeLevel.BREACH.word) == ("", "WARN", "LIMIT")


def test_percent_rounds_down_so_100_means_reached() -> None:
    assert percent(Decimal("0.38664")) == "38%"
    assert percent(Decimal("0.9999")) == "99%"
    assert percent(Decimal(1)) == "100%"


def test_no_fraction_without_a_positive_limit() -> None:
    assert used_fraction(None, Decimal(1)) is None
    assert used_fraction(Decimal(0), Decimal(1)) is None
    assert used_fraction(Decimal(10), None) is None


@pytest.mark.parametrize(("fraction", "drawn"), [
    ("0", "[----------]"), ("0.0074", "[----------]"), ("0.3866", "[###-------]"), ("0.99", "[#########-]"),
    ("1", "[##########]"),
    ("1.7", "[##########]"),
])
def test_bar(fraction: str, drawn: str) -> None:
    assert bar(Decimal(fraction), 10, "#", "-") == drawn


def test_an_unknown_fraction_draws_an_empty_bar() -> None:
    assert bar(None, 4, "#", "-") == "[----]"
