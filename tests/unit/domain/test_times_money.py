"""Time text format and Decimal conversions round-trip exactly (storage.md §2)."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain.money import decimal_text, to_decimal, to_json_number
from simple_risk_manager.domain.times import format_utc, parse_utc


def test_format_is_millisecond_z():
    t = datetime(2025, 3, 4, 15, 2, 11, 480999, tzinfo=UTC)
    assert format_utc(t) == "2025-03-04T15:02:11.480Z"


def test_format_converts_offsets_to_utc():
    t = datetime(2025, 3, 4, 9, 0, tzinfo=timezone(timedelta(hours=-6)))
    assert format_utc(t) == "2025-03-04T15:00:00.000Z"


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        format_utc(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-04-21T19:45:52.105808+00:00", datetime(2025, 4, 21, 19, 45, 52, 105808, tzinfo=UTC)),
        ("2025-04-21T19:45:52.1058083+00:00", datetime(2025, 4, 21, 19, 45, 52, 105808, tzinfo=UTC)),
        ("2025-11-24T15:02:11.612Z", datetime(2025, 11, 24, 15, 2, 11, 612000, tzinfo=UTC)),
        ("2025-11-24T09:02:11-06:00", datetime(2025, 11, 24, 15, 2, 11, tzinfo=UTC)),
    ],
)
def test_parse_gateway_timestamps(text, expected):
    assert parse_utc(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" 2025-11-24T15:02:11.612Z ", datetime(2025, 11, 24, 15, 2, 11, 612000, tzinfo=UTC)),
        ("2025-11-24T15:02:11.612z", datetime(2025, 11, 24, 15, 2, 11, 612000, tzinfo=UTC)),
        ("2025-11-24T09:02:11.1058083456-06:00", datetime(2025, 11, 24, 15, 2, 11, 105808, tzinfo=UTC)),
        ("\t2025-11-24T09:02:11-06:00\n", datetime(2025, 11, 24, 15, 2, 11, tzinfo=UTC)),
    ],
)
def test_blanks_lower_case_z_and_long_fractions_are_normalized(text, expected):
    assert parse_utc(text) == expected


def test_parse_refuses_missing_offset():
    with pytest.raises(ValueError, match="offset"):
        parse_utc("2025-11-24T15:02:11")


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_text_order_equals_time_order(t):
    later = t + timedelta(milliseconds=1)
    assert format_utc(t) < format_utc(later)
    assert parse_utc(format_utc(t)) == t.replace(microsecond=t.microsecond // 1000 * 1000)


@pytest.mark.parametrize(
    ("wire", "text"),
    [(21000.125, "21000.125"), (-193.32, "-193.32"), (0.1, "0.1"), (6335.25, "6335.25"), (42, "42"),
     ("1E-9", "0.000000001")],
)
def test_decimal_from_wire_and_back(wire, text):
    value = to_decimal(wire)
    assert decimal_text(value) == text
    assert Decimal(decimal_text(value)) == value


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), True, None, "abc", [1]])
def test_bad_numbers_are_refused(bad):
    with pytest.raises(ValueError):
        to_decimal(bad)


def test_json_numbers():
    assert to_json_number(Decimal("500.00")) == 500
    assert isinstance(to_json_number(Decimal("500.00")), int)
    assert to_json_number(Decimal("-193.32")) == -193.32


def test_manual_clock_moves_both_readings():
    clock = ManualClock(datetime(2026, 1, 5, 15, 0, tzinfo=UTC))
    mono = clock.monotonic()
    clock.advance(1.5)
    assert clock.now() == datetime(2026, 1, 5, 15, 0, 1, 500000, tzinfo=UTC)
    assert clock.monotonic() == mono + 1.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.set(datetime(2026, 1, 5, 14, 0, tzinfo=UTC))  # a system clock jump back
    assert clock.now().hour == 14
    assert clock.monotonic() == mono + 1.5
