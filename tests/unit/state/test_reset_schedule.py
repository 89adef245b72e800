"""MOD-004 reset scheduler: one reset per trading day, one catch-up after downtime, config changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.domain.models import ResetSchedule
from simple_risk_manager.state.lockouts import LockoutManager
from simple_risk_manager.state.reset_schedule import ResetConfig, ResetScheduler

CT = ZoneInfo("America/Chicago")
ACCOUNT = 4411
DEFAULT = ResetConfig()


def ct(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CT)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stored_wednesday(**changes: object) -> ResetSchedule:
    """The row written by the reset of Tue 2025-10-14 17:00 CT: trading day Wed 2025-10-15."""
    values: dict[str, object] = {
        "account_id": ACCOUNT, "trading_date": date(2025, 10, 15), "last_reset_at": utc("2025-10-14T22:00"),
        "next_reset_at": utc("2025-10-15T22:00"), "reset_time_config": "17:00", "timezone": "America/Chicago",
        **changes}
    return ResetSchedule(**values)  # type: ignore[arg-type]


# --- configuration ----------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "expected"), [
    pytest.param({}, ResetConfig("17:00", "America/Chicago"), id="default-17:00-chicago-D38"),
    pytest.param({"global_reset_time": "16:00", "global_timezone": "America/New_York"},
                 ResetConfig("16:00", "America/New_York"), id="global"),
    pytest.param({"account_reset_time": "18:00", "account_timezone": "Europe/London",
                  "global_reset_time": "16:00", "global_timezone": "America/New_York"},
                 ResetConfig("18:00", "Europe/London"), id="account-overrides-global"),
    pytest.param({"account_reset_time": "18:00", "global_timezone": "America/New_York"},
                 ResetConfig("18:00", "America/New_York"), id="each-value-falls-back-separately"),
])
def test_reset_config_resolution(kwargs: dict[str, str], expected: ResetConfig) -> None:
    assert ResetConfig.resolve(**kwargs) == expected


def test_reset_config_is_validated() -> None:
    with pytest.raises(ValueError, match="HH:MM"):
        ResetConfig(reset_time="5pm")
    with pytest.raises(ValueError, match="unknown IANA time zone"):
        ResetConfig(timezone="Central")


# --- startup ----------------------------------------------------------------------------------

def test_first_start_adopts_the_current_trading_day_without_a_reset() -> None:
    scheduler = ResetScheduler()
    now = ct("2025-10-15T18:30")  # Wed evening: Thursday's trading day
    schedule = scheduler.restore(ACCOUNT, DEFAULT, None, now)
    assert (schedule.trading_date, schedule.last_reset_at, schedule.next_reset_at) == (
        date(2025, 10, 16), utc("2025-10-15T22:00"), utc("2025-10-16T22:00"))
    assert (schedule.reset_time_config, schedule.timezone) == ("17:00", "America/Chicago")
    assert scheduler.check(now) == []


def test_restart_before_the_reset_keeps_the_stored_row() -> None:
    scheduler = ResetScheduler()
    stored = stored_wednesday()
    assert scheduler.restore(ACCOUNT, DEFAULT, stored, ct("2025-10-15T10:00")) is stored
    assert scheduler.check(ct("2025-10-15T10:00")) == []
    assert scheduler.reset(ACCOUNT, ct("2025-10-15T10:00")) is None


def test_catch_up_after_days_down_runs_exactly_once() -> None:
    scheduler = ResetScheduler()
    now = ct("2025-10-18T09:00")  # Saturday morning; resets of Wed, Thu, Fri were missed
    scheduler.restore(ACCOUNT, DEFAULT, stored_wednesday(), now)
    assert scheduler.check(now) == [ACCOUNT]
    outcome = scheduler.reset(ACCOUNT, now)
    assert outcome is not None
    assert outcome.reset_at == ct("2025-10-17T17:00")  # session_start(now): the latest reset ≤ now
    assert (outcome.previous_trading_date, outcome.trading_date) == (date(2025, 10, 15), date(2025, 10, 18))
    assert outcome.schedule == ResetSchedule(
        account_id=ACCOUNT, trading_date=date(2025, 10, 18), last_reset_at=ct("2025-10-17T17:00"),
        next_reset_at=ct("2025-10-18T17:00"), reset_time_config="17:00", timezone="America/Chicago")
    assert scheduler.check(now) == []
    assert scheduler.reset(ACCOUNT, now) is None  # the second delivery is ignored


def test_reset_due_exactly_at_the_reset_instant_and_runs_once() -> None:
    clock = ManualClock(ct("2025-10-15T16:59:59"))
    scheduler = ResetScheduler()
    scheduler.restore(ACCOUNT, DEFAULT, stored_wednesday(), clock.now())
    assert scheduler.check(clock.now()) == []
    assert scheduler.reset(ACCOUNT, clock.now()) is None  # early ResetDue: ignored
    clock.advance(1)
    assert scheduler.check(clock.now()) == [ACCOUNT]
    outcome = scheduler.reset(ACCOUNT, clock.now())  # the MOD-003 timer
    assert outcome is not None
    assert (outcome.reset_at, outcome.trading_date) == (ct("2025-10-15T17:00"), date(2025, 10, 16))
    clock.advance(10)
    assert scheduler.reset(ACCOUNT, clock.now()) is None  # the 10 s poll arrives second: ignored
    assert scheduler.schedule(ACCOUNT).next_reset_at == ct("2025-10-16T17:00")


def test_resets_every_day_including_weekends_and_across_dst() -> None:
    scheduler = ResetScheduler()
    now = utc("2026-03-06T23:00")  # Fri 17:00 CST
    scheduler.restore(ACCOUNT, DEFAULT, None, now - timedelta(minutes=1))
    instants = []
    for _ in range(4):
        outcome = scheduler.reset(ACCOUNT, scheduler.schedule(ACCOUNT).next_reset_at)
        assert outcome is not None
        instants.append((outcome.reset_at, outcome.trading_date))
    assert instants == [
        (utc("2026-03-06T23:00"), date(2026, 3, 7)),
        (utc("2026-03-07T23:00"), date(2026, 3, 8)),
        (utc("2026-03-08T22:00"), date(2026, 3, 9)),  # first CDT reset
        (utc("2026-03-09T22:00"), date(2026, 3, 10)),
    ]


def test_changed_reset_time_recomputes_the_next_reset_from_now() -> None:
    scheduler = ResetScheduler()
    now = ct("2025-10-15T10:00")
    schedule = scheduler.restore(ACCOUNT, ResetConfig("16:00", "America/Chicago"), stored_wednesday(), now)
    assert (schedule.reset_time_config, schedule.next_reset_at) == ("16:00", ct("2025-10-15T16:00"))
    assert (schedule.trading_date, schedule.last_reset_at) == (date(2025, 10, 15), utc("2025-10-14T22:00"))
    assert scheduler.check(now) == []


def test_changed_zone_recomputes_the_next_reset() -> None:
    scheduler = ResetScheduler()
    now = ct("2025-10-15T10:00")  # 15:00 UTC, 16:00 in London
    schedule = scheduler.restore(ACCOUNT, ResetConfig("17:00", "Europe/London"), stored_wednesday(), now)
    assert schedule.next_reset_at == utc("2025-10-15T16:00")  # 17:00 BST


def test_later_reset_time_right_after_a_reset_does_not_repeat_the_day() -> None:
    # The 17:00 reset just started Thursday's day; at 17:30 the admin moved the reset to 18:00.
    stored = stored_wednesday(trading_date=date(2025, 10, 16), last_reset_at=ct("2025-10-15T17:00"),
                              next_reset_at=ct("2025-10-16T17:00"))
    scheduler = ResetScheduler()
    schedule = scheduler.restore(ACCOUNT, ResetConfig("18:00", "America/Chicago"), stored,
                                 ct("2025-10-15T17:30"))
    assert schedule.next_reset_at == ct("2025-10-16T18:00")  # not 18:00 today: Thursday would start twice
    assert scheduler.check(ct("2025-10-15T18:00")) == []


def test_changed_config_with_a_missed_day_catches_up_once() -> None:
    scheduler = ResetScheduler()
    now = ct("2025-10-17T09:00")
    scheduler.restore(ACCOUNT, ResetConfig("16:00", "America/Chicago"), stored_wednesday(), now)
    assert scheduler.check(now) == [ACCOUNT]
    outcome = scheduler.reset(ACCOUNT, now)
    assert outcome is not None
    assert (outcome.reset_at, outcome.trading_date) == (ct("2025-10-16T16:00"), date(2025, 10, 17))
    assert scheduler.reset(ACCOUNT, now) is None


def test_restore_rejects_another_accounts_row_and_unknown_accounts() -> None:
    scheduler = ResetScheduler()
    with pytest.raises(ValueError, match="account 1 given for account 4411"):
        scheduler.restore(ACCOUNT, DEFAULT, stored_wednesday(account_id=1), ct("2025-10-15T10:00"))
    with pytest.raises(KeyError, match="never restored"):
        scheduler.reset(99, ct("2025-10-15T10:00"))


def test_check_and_next_due_over_several_accounts() -> None:
    scheduler = ResetScheduler()
    now = ct("2025-10-15T10:00")
    scheduler.restore(2, DEFAULT, None, now)
    scheduler.restore(1, ResetConfig("09:00", "America/Chicago"), None, ct("2025-10-15T08:00"))
    assert scheduler.accounts() == [1, 2]
    assert scheduler.next_due_at() == ct("2025-10-15T09:00")
    assert scheduler.check(now) == [1]


# --- the reset procedure with MOD-002 ----------------------------------------------------------

def test_daily_reset_clears_only_until_reset_lockouts() -> None:
    clock = ManualClock(ct("2025-10-15T14:05"))
    scheduler = ResetScheduler()
    lockouts = LockoutManager()
    scheduler.restore(ACCOUNT, DEFAULT, stored_wednesday(), clock.now())
    next_reset = scheduler.schedule(ACCOUNT).next_reset_at
    lockouts.lock(ACCOUNT, "RULE-003", LockoutKind.RESET, "daily loss 550.00", next_reset, now=clock.now())
    lockouts.cooldown(ACCOUNT, "RULE-007", "loss 350.00", 3 * 3600, clock.now())  # until 17:05
    lockouts.lock(ACCOUNT, "RULE-009", LockoutKind.SESSION, "outside session", ct("2025-10-16T08:30"),
                  now=clock.now())
    lockouts.lock(ACCOUNT, "RULE-010", LockoutKind.CONDITION, "canTrade false", None, now=clock.now())
    clock.set(next_reset)
    outcome = scheduler.reset(ACCOUNT, clock.now())
    assert outcome is not None
    cleared = lockouts.reset_clear(ACCOUNT, outcome.reset_at, clock.now()).cleared
    assert [r.rule_id for r in cleared] == ["RULE-003"]
    assert [r.rule_id for r in lockouts.active(ACCOUNT, clock.now())] == ["RULE-007", "RULE-009", "RULE-010"]
