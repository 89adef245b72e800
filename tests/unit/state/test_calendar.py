"""MOD-004 calendar: reset instants across DST, trading-day labels, RULE-009 session windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simple_risk_manager.state.calendar import (
    SessionConfig,
    in_session,
    is_holiday,
    next_reset_after,
    next_session_end,
    next_session_start,
    parse_wall_time,
    reset_instant,
    session_start,
    trading_day_of,
)

CHICAGO = "America/Chicago"
CT = ZoneInfo(CHICAGO)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def ct(text: str) -> datetime:
    """A Chicago wall time (unambiguous ones only) as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=CT)


# --- reset instants ---------------------------------------------------------------------------

@pytest.mark.parametrize(("local_date", "expected"), [
    pytest.param(date(2025, 10, 15), utc("2025-10-15T22:00"), id="CDT-2025-10-15-is-22:00Z"),
    pytest.param(date(2025, 12, 15), utc("2025-12-15T23:00"), id="CST-2025-12-15-is-23:00Z"),
    pytest.param(date(2025, 3, 4), utc("2025-03-04T23:00"), id="broadcast-example-2025-03-04"),
])
def test_reset_instant_mod004_examples(local_date: date, expected: datetime) -> None:
    assert reset_instant(local_date, "17:00", CHICAGO) == expected


@pytest.mark.parametrize(("zone_name", "local_date", "wall", "expected"), [
    # DST gap: the wall time does not exist → the moment the clocks jump (first valid instant after it)
    pytest.param(CHICAGO, date(2026, 3, 8), "02:30", utc("2026-03-08T08:00"), id="chicago-gap-02:30"),
    pytest.param(CHICAGO, date(2026, 3, 8), "02:00", utc("2026-03-08T08:00"), id="chicago-gap-start"),
    pytest.param(CHICAGO, date(2026, 3, 8), "03:00", utc("2026-03-08T08:00"), id="chicago-after-gap"),
    pytest.param(CHICAGO, date(2026, 3, 8), "01:59", utc("2026-03-08T07:59"), id="chicago-before-gap"),
    # DST fold: the wall time occurs twice → the first occurrence (still CDT)
    pytest.param(CHICAGO, date(2026, 11, 1), "01:30", utc("2026-11-01T06:30"), id="chicago-fold-01:30"),
    pytest.param("Europe/London", date(2026, 3, 29), "01:30", utc("2026-03-29T01:00"), id="london-gap"),
    pytest.param("Europe/London", date(2026, 10, 25), "01:30", utc("2026-10-25T00:30"), id="london-fold"),
    pytest.param("Australia/Sydney", date(2026, 10, 4), "02:30", utc("2026-10-03T16:00"), id="sydney-gap"),
    pytest.param("Australia/Sydney", date(2026, 4, 5), "02:30", utc("2026-04-04T15:30"), id="sydney-fold"),
])
def test_reset_instant_dst_gap_and_fold(zone_name: str, local_date: date, wall: str,
                                        expected: datetime) -> None:
    assert reset_instant(local_date, wall, zone_name) == expected


@pytest.mark.parametrize(("zone_name", "wall", "after", "expected"), [
    # 17:00 Chicago around the 2026 changes: 23:00Z (CST) → 22:00Z (CDT) → 23:00Z (CST)
    pytest.param(CHICAGO, "17:00", utc("2026-03-06T23:00"), utc("2026-03-07T23:00"),
                 id="chicago-sat-before-spring"),
    pytest.param(CHICAGO, "17:00", utc("2026-03-07T23:00"), utc("2026-03-08T22:00"),
                 id="chicago-spring-23h-day"),
    pytest.param(CHICAGO, "17:00", utc("2026-10-31T22:00"), utc("2026-11-01T23:00"),
                 id="chicago-fall-25h-day"),
    # reset time inside the gap / fold: next reset from the evening before
    pytest.param(CHICAGO, "02:30", utc("2026-03-07T20:00"), utc("2026-03-08T08:00"),
                 id="chicago-next-in-gap"),
    pytest.param(CHICAGO, "02:30", utc("2026-03-08T08:00"), utc("2026-03-09T07:30"),
                 id="chicago-day-after-gap"),
    pytest.param(CHICAGO, "01:30", utc("2026-10-31T12:00"), utc("2026-11-01T06:30"),
                 id="chicago-next-in-fold"),
    pytest.param(CHICAGO, "01:30", utc("2026-11-01T06:30"), utc("2026-11-02T07:30"),
                 id="chicago-fold-once-only"),
    # a non-US zone: 17:00 London, BST starts 2026-03-29 and ends 2026-10-25
    pytest.param("Europe/London", "17:00", utc("2026-03-28T17:00"), utc("2026-03-29T16:00"),
                 id="london-spring"),
    pytest.param("Europe/London", "17:00", utc("2026-10-24T16:00"), utc("2026-10-25T17:00"),
                 id="london-fall"),
    pytest.param("Europe/London", "01:30", utc("2026-03-28T12:00"), utc("2026-03-29T01:00"),
                 id="london-next-in-gap"),
])
def test_next_reset_across_dst(zone_name: str, wall: str, after: datetime, expected: datetime) -> None:
    assert next_reset_after(after, wall, zone_name) == expected


def test_next_reset_is_strictly_after_t() -> None:
    reset = utc("2025-10-15T22:00")
    assert next_reset_after(reset - timedelta(microseconds=1), "17:00", CHICAGO) == reset
    assert next_reset_after(reset, "17:00", CHICAGO) == utc("2025-10-16T22:00")


@pytest.mark.parametrize(("t", "expected"), [
    pytest.param(ct("2025-10-15T14:05"), utc("2025-10-15T22:00"), id="rule003-ex2-wed-14:05-until-wed-17:00"),
    pytest.param(ct("2025-10-15T18:30"), utc("2025-10-16T22:00"), id="rule003-ex5-wed-18:30-until-thu-17:00"),
    pytest.param(ct("2025-10-15T11:00"), utc("2025-10-15T22:00"), id="rule006-ex5-11:00-until-17:00"),
])
def test_next_reset_rule_examples(t: datetime, expected: datetime) -> None:
    assert next_reset_after(t, "17:00", CHICAGO) == expected


# --- trading day and session start -----------------------------------------------------------

@pytest.mark.parametrize(("t", "label"), [
    pytest.param(ct("2025-10-15T16:59"), date(2025, 10, 15), id="wed-16:59-is-wed"),
    pytest.param(ct("2025-10-15T16:59:59.999999"), date(2025, 10, 15), id="wed-last-microsecond-is-wed"),
    pytest.param(ct("2025-10-15T17:00"), date(2025, 10, 16), id="wed-17:00-is-thu"),
    pytest.param(ct("2025-10-15T18:00"), date(2025, 10, 16), id="18:00-trade-is-next-day-D15"),
    pytest.param(ct("2025-10-19T18:00"), date(2025, 10, 20), id="sunday-evening-is-monday"),
    pytest.param(ct("2025-10-20T09:00"), date(2025, 10, 20), id="monday-morning-is-monday"),
])
def test_trading_day_labels(t: datetime, label: date) -> None:
    assert trading_day_of(t, "17:00", CHICAGO) == label


@pytest.mark.parametrize(("t", "start"), [
    pytest.param(ct("2025-10-15T16:59"), utc("2025-10-14T22:00"), id="before-reset-starts-yesterday"),
    pytest.param(ct("2025-10-15T17:00"), utc("2025-10-15T22:00"), id="at-reset-starts-now"),
    pytest.param(utc("2026-03-08T23:30"), utc("2026-03-08T22:00"), id="after-spring-change"),
    pytest.param(utc("2026-03-08T21:59"), utc("2026-03-07T23:00"), id="before-first-cdt-reset"),
])
def test_session_start_is_last_reset_at_or_before(t: datetime, start: datetime) -> None:
    assert session_start(t, "17:00", CHICAGO) == start


def test_trading_day_spans_reset_to_reset() -> None:
    t = ct("2025-10-15T12:00")
    start, end = session_start(t, "17:00", CHICAGO), next_reset_after(t, "17:00", CHICAGO)
    assert (start, end) == (utc("2025-10-14T22:00"), utc("2025-10-15T22:00"))
    assert trading_day_of(start, "17:00", CHICAGO) == trading_day_of(end - timedelta(microseconds=1),
                                                                      "17:00", CHICAGO)


@given(t=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31),
                      timezones=st.just(UTC)),
       wall=st.sampled_from(["17:00", "00:00", "01:30", "02:30", "23:59"]),
       zone_name=st.sampled_from([CHICAGO, "Europe/London", "Australia/Sydney", "Asia/Tokyo"]))
def test_every_instant_lies_in_exactly_one_trading_day(t: datetime, wall: str, zone_name: str) -> None:
    start, end = session_start(t, wall, zone_name), next_reset_after(t, wall, zone_name)
    assert start <= t < end
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    assert next_reset_after(start, wall, zone_name) == end
    assert trading_day_of(start, wall, zone_name) == trading_day_of(end - timedelta(microseconds=1), wall,
                                                                    zone_name)


def test_times_must_be_aware_and_well_formed() -> None:
    with pytest.raises(ValueError, match="naive"):
        next_reset_after(datetime(2025, 10, 15, 12), "17:00", CHICAGO)
    with pytest.raises(ValueError, match="HH:MM"):
        parse_wall_time("7:00")
    with pytest.raises(ValueError, match="HH:MM"):
        reset_instant(date(2025, 10, 15), "24:00", CHICAGO)
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        reset_instant(date(2025, 10, 15), "17:00", "Mars/Olympus")


def test_is_holiday() -> None:
    holidays = frozenset({date(2025, 12, 25)})
    assert is_holiday(date(2025, 12, 25), holidays)
    assert not is_holiday(date(2025, 12, 24), holidays)


# --- RULE-009 session windows -----------------------------------------------------------------

DAY_SESSION = SessionConfig(start="08:30", end="15:00", timezone=CHICAGO)
OVERNIGHT = SessionConfig(start="17:00", end="16:00", timezone=CHICAGO)
WITH_XMAS = SessionConfig.from_rule(start="08:30", end="15:00", timezone=None, global_timezone=CHICAGO,
                                    holidays=[date(2025, 12, 25)])


@pytest.mark.parametrize(("t", "expected"), [
    pytest.param(ct("2025-10-15T10:00"), True, id="ex1-wed-10:00-in"),
    pytest.param(ct("2025-10-15T08:30"), True, id="ex5-08:30:00.000-in"),
    pytest.param(ct("2025-10-15T14:59:59"), True, id="ex5-14:59:59-in"),
    pytest.param(ct("2025-10-15T15:00"), False, id="ex5-15:00:00-out"),
    pytest.param(ct("2025-10-15T08:29:59.999999"), False, id="just-before-open-out"),
    pytest.param(ct("2025-10-15T16:10"), False, id="ex6-wed-16:10-out"),
    pytest.param(ct("2025-10-18T10:00"), False, id="saturday-out"),
])
def test_in_session_day_window(t: datetime, expected: bool) -> None:
    assert in_session(t, DAY_SESSION) is expected


@pytest.mark.parametrize(("session", "t", "expected"), [
    pytest.param(DAY_SESSION, ct("2025-10-15T15:00"), ct("2025-10-16T08:30"),
                 id="ex2-wed-15:00-to-thu-08:30"),
    pytest.param(DAY_SESSION, ct("2025-10-17T15:00"), ct("2025-10-20T08:30"),
                 id="ex3-fri-15:00-to-mon-08:30"),
    pytest.param(WITH_XMAS, ct("2025-12-24T15:00"), ct("2025-12-26T08:30"), id="ex4-holiday-skipped"),
    pytest.param(OVERNIGHT, ct("2025-10-17T16:00"), ct("2025-10-19T17:00"),
                 id="ex7-overnight-fri-to-sun-17:00"),
    pytest.param(DAY_SESSION, ct("2025-10-15T06:00"), ct("2025-10-15T08:30"), id="before-open-same-day"),
    pytest.param(DAY_SESSION, ct("2025-10-15T08:30"), ct("2025-10-16T08:30"), id="strictly-after-t"),
])
def test_next_session_start_rule009_examples(session: SessionConfig, t: datetime, expected: datetime) -> None:
    assert next_session_start(t, session) == expected


@pytest.mark.parametrize(("session", "t", "expected"), [
    pytest.param(DAY_SESSION, ct("2025-10-15T10:00"), ct("2025-10-15T15:00"), id="in-session-current-end"),
    pytest.param(DAY_SESSION, ct("2025-10-15T15:00"), ct("2025-10-16T15:00"), id="at-end-next-window"),
    pytest.param(DAY_SESSION, ct("2025-10-17T16:00"), ct("2025-10-20T15:00"), id="weekend-to-monday-end"),
    pytest.param(OVERNIGHT, ct("2025-10-19T18:00"), ct("2025-10-20T16:00"), id="overnight-sunday-evening"),
    pytest.param(WITH_XMAS, ct("2025-12-24T16:00"), ct("2025-12-26T15:00"), id="holiday-skipped"),
])
def test_next_session_end(session: SessionConfig, t: datetime, expected: datetime) -> None:
    assert next_session_end(t, session) == expected


@pytest.mark.parametrize(("t", "expected"), [
    pytest.param(ct("2025-10-19T16:59"), False, id="sunday-16:59-out"),
    pytest.param(ct("2025-10-19T17:00"), True, id="sunday-17:00-opens-monday"),
    pytest.param(ct("2025-10-20T15:59"), True, id="monday-15:59-in"),
    pytest.param(ct("2025-10-20T16:00"), False, id="monday-16:00-halt"),
    pytest.param(ct("2025-10-20T17:00"), True, id="monday-17:00-opens-tuesday"),
    pytest.param(ct("2025-10-17T16:30"), False, id="friday-after-close"),
    pytest.param(ct("2025-10-18T12:00"), False, id="saturday-out"),
])
def test_overnight_window_belongs_to_the_day_it_ends(t: datetime, expected: bool) -> None:
    assert in_session(t, OVERNIGHT) is expected


def test_holiday_removes_the_window_unless_ignored() -> None:
    xmas_noon = ct("2025-12-25T12:00")
    assert not in_session(xmas_noon, WITH_XMAS)
    ignoring = SessionConfig.from_rule(start="08:30", end="15:00", timezone=None, global_timezone=CHICAGO,
                                       holidays=[date(2025, 12, 25)], respect_holidays=False)
    assert in_session(xmas_noon, ignoring)


def test_overnight_holiday_is_the_window_that_ends_on_it() -> None:
    session = SessionConfig.from_rule(start="17:00", end="16:00", timezone=CHICAGO, global_timezone=CHICAGO,
                                      holidays=[date(2025, 12, 25)])
    assert not in_session(ct("2025-12-24T18:00"), session)  # Thursday's window opens Wednesday 17:00
    assert in_session(ct("2025-12-25T18:00"), session)  # Friday's window
    assert next_session_start(ct("2025-12-24T16:00"), session) == ct("2025-12-25T17:00")


def test_allowed_days_include_weekend() -> None:
    session = SessionConfig.from_rule(start="08:30", end="15:00", timezone=None, global_timezone=CHICAGO,
                                      allowed_days=["SAT", "SUN"])
    assert in_session(ct("2025-10-18T10:00"), session)
    assert not in_session(ct("2025-10-15T10:00"), session)
    assert next_session_start(ct("2025-10-15T10:00"), session) == ct("2025-10-18T08:30")


def test_session_zone_defaults_to_global_timezone_not_the_account_zone() -> None:
    # An account may reset on London time; RULE-009 still reads its window in global.timezone.
    session = SessionConfig.from_rule(start="08:30", end="15:00", timezone=None, global_timezone=CHICAGO)
    assert session.timezone == CHICAGO
    assert in_session(utc("2025-10-15T13:30"), session)  # 08:30 CDT
    explicit = SessionConfig.from_rule(start="08:30", end="15:00", timezone="Europe/London",
                                       global_timezone=CHICAGO)
    assert in_session(utc("2025-10-15T07:30"), explicit)  # 08:30 BST
    assert not in_session(utc("2025-10-15T07:30"), session)


def test_session_window_across_dst_keeps_wall_times() -> None:
    # Monday 2026-03-09 (first CDT weekday) vs Friday 2026-03-06 (CST): same wall time, UTC moves.
    assert next_session_start(utc("2026-03-06T21:00"), DAY_SESSION) == utc("2026-03-09T13:30")
    assert next_session_start(utc("2026-03-05T21:00"), DAY_SESSION) == utc("2026-03-06T14:30")


@pytest.mark.parametrize(("kwargs", "message"), [
    pytest.param({"start": "09:30", "end": "09:30"}, "start and end must differ", id="start-equals-end"),
    pytest.param({"start": "9:30", "end": "16:00"}, "HH:MM", id="bad-time"),
    pytest.param({"allowed_days": frozenset()}, "non-empty subset", id="no-days"),
    pytest.param({"allowed_days": frozenset({"MONDAY"})}, "non-empty subset", id="unknown-day"),
    pytest.param({"timezone": "EST5"}, "unknown IANA time zone", id="bad-zone"),
])
def test_session_config_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"start": "08:30", "end": "15:00", "timezone": CHICAGO, **kwargs}
    with pytest.raises(ValueError, match=message):
        SessionConfig(**values)  # type: ignore[arg-type]


def _fresh(session: SessionConfig) -> SessionConfig:
    """The same session without its cached stretch."""
    return SessionConfig(start=session.start, end=session.end, timezone=session.timezone,
                         allowed_days=session.allowed_days, respect_holidays=session.respect_holidays,
                         holidays=session.holidays)


@given(session=st.sampled_from([DAY_SESSION, OVERNIGHT, WITH_XMAS]),
       steps=st.lists(st.integers(min_value=-3 * 86_400, max_value=3 * 86_400), min_size=1, max_size=40))
def test_in_session_cached_stretch_answers_like_a_fresh_calendar(session: SessionConfig,
                                                                  steps: list[int]) -> None:
    """One config asked about a wandering instant (the daemon reuses it for every event) answers every
    question exactly as a config that never saw an earlier one."""
    reused = _fresh(session)
    t = datetime(2025, 12, 22, 14, 0, tzinfo=UTC)  # a week with Christmas and a DST-free stretch
    for step in steps:
        t += timedelta(seconds=step)
        assert in_session(t, reused) is in_session(t, _fresh(session)), t


def test_in_session_stretch_edges_are_exact() -> None:
    """Right at the window's end the cached `inside` stretch no longer applies (end is exclusive)."""
    session = _fresh(DAY_SESSION)
    opens = datetime(2025, 11, 24, 14, 30, tzinfo=UTC)  # 08:30 CST
    closes = datetime(2025, 11, 24, 21, 0, tzinfo=UTC)  # 15:00 CST
    assert in_session(opens, session) is True
    assert in_session(closes - timedelta(microseconds=1), session) is True
    assert in_session(closes, session) is False
    assert in_session(opens - timedelta(microseconds=1), session) is False
    assert in_session(opens, session) is True
