"""How numbers, times and durations are written: signs on P&L, countdowns that never read 0 early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from simple_risk_manager.trader import formatting as fmt


@pytest.mark.parametrize(("value", "text", "style"), [
    ("37.5", "+37.50", "green"),
    ("-193.32", "-193.32", "red"),
    ("0", "0.00", ""),
    ("-0.004", "0.00", ""),  # rounds to zero: neutral, no sign
    ("0.005", "+0.01", "green"),  # half up
])
def test_pnl_always_carries_its_sign(value: str, text: str, style: str) -> None:
    assert fmt.pnl(Decimal(value)) == text
    assert fmt.pnl_style(Decimal(value)) == style


def test_money_has_two_decimals_and_no_separator() -> None:
    assert fmt.money(Decimal("50210.5")) == "50210.50"
    assert fmt.money(Decimal("-13.325")) == "-13.33"


@pytest.mark.parametrize(("value", "text"), [("5921.25", "5921.25"), ("21004.5", "21004.50"),
                                             ("5912", "5912.00"), ("0.125", "0.125")])
def test_prices_keep_their_precision_with_at_least_two_decimals(value: str, text: str) -> None:
    assert fmt.price(Decimal(value)) == text


def test_a_missing_price_is_a_dash() -> None:
    assert fmt.price(None) == "-"


@pytest.mark.parametrize(("seconds", "text"), [
    (252, "04:12"),  # cli.md §1.4 example: "trading allowed again in 04:12"
    (251.2, "04:12"),  # rounded up: the lock is not over yet
    (0.3, "00:01"),
    (0, "00:00"),
    (-5, "00:00"),
    (7 * 3600 + 57 * 60 + 12, "7h57m12s"),
    (14 * 3600 + 34 * 60 + 6, "14h34m06s"),
])
def test_countdown(seconds: float, text: str) -> None:
    assert fmt.countdown(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(23, "0:23"), (252, "4:12"), (3872, "1:04:32")])
def test_compact_countdown(seconds: float, text: str) -> None:
    assert fmt.compact_countdown(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (7, "7s"), (252, "4m12s"), (1 * 3600 + 57 * 60 + 30, "1h57m"), (2 * 86400 + 3 * 3600, "2d3h"), (-3, "0s"),
])
def test_short_duration(seconds: float, text: str) -> None:
    assert fmt.short_duration(seconds) == text


def test_event_age_shows_tenths_under_ten_seconds() -> None:
    assert fmt.event_age(0.42) == "0.4s"
    assert fmt.event_age(12.0) == "12s"


def test_local_times_are_in_the_viewers_zone() -> None:
    moment = datetime(2025, 3, 4, 21, 2, 14, tzinfo=UTC)
    chicago = ZoneInfo("America/Chicago")
    assert fmt.local_clock(moment, chicago) == "15:02:14 CST"
    assert fmt.local_hhmm(moment, chicago, moment) == "15:02 CST"


def test_a_time_on_another_day_names_the_weekday() -> None:
    now = datetime(2025, 3, 4, 21, 0, tzinfo=UTC)
    assert fmt.local_hhmm(now + timedelta(days=1), UTC, now) == "Wed 21:00 UTC"
