"""MOD-003 timers: named one-shot deadlines that never fire early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.domain.enums import TimerKind
from simple_risk_manager.state.timers import (
    TimerManager,
    grace_timer_name,
    lockout_timer_name,
    reset_timer_name,
    session_end_timer_name,
)

T0 = datetime(2025, 10, 15, 15, 0, tzinfo=UTC)


def test_documented_names() -> None:
    assert grace_timer_name(4411, "CON.F.US.MNQ.Z25") == "grace:4411:CON.F.US.MNQ.Z25"
    assert session_end_timer_name(4411) == "session_end:4411"
    assert lockout_timer_name(77) == "lockout:77"
    assert reset_timer_name(4411) == "reset:4411"


def test_never_fires_early_and_fires_exactly_at_deadline() -> None:
    clock = ManualClock(T0)
    timers = TimerManager()
    timers.start("grace:1:C", TimerKind.GRACE, T0 + timedelta(seconds=30), account_id=1,
                 payload={"contract_id": "C"})
    clock.advance(29.999999)
    assert timers.due(clock.now()) == []
    clock.advance(0.000001)
    fired = timers.due(clock.now())
    assert [(t.name, t.kind, t.account_id, dict(t.payload)) for t in fired] == [
        ("grace:1:C", TimerKind.GRACE, 1, {"contract_id": "C"})]
    assert timers.due(clock.now()) == []  # removed once fired
    assert "grace:1:C" not in timers


def test_due_returns_timers_in_fire_order_and_leaves_future_ones() -> None:
    timers = TimerManager()
    timers.start("b", TimerKind.LOCKOUT_EXPIRY, T0 + timedelta(seconds=2))
    timers.start("a", TimerKind.RESET, T0 + timedelta(seconds=1))
    timers.start("c", TimerKind.GRACE, T0 + timedelta(seconds=2))  # same deadline as b, started later
    timers.start("later", TimerKind.SESSION_BOUNDARY, T0 + timedelta(seconds=10))
    assert [t.name for t in timers.due(T0 + timedelta(seconds=5))] == ["a", "b", "c"]
    assert [t.name for t in timers.timers()] == ["later"]


def test_start_replaces_a_timer_of_the_same_name() -> None:
    timers = TimerManager()
    timers.start("lockout:7", TimerKind.LOCKOUT_EXPIRY, T0 + timedelta(seconds=60))
    timers.start("lockout:7", TimerKind.LOCKOUT_EXPIRY, T0 + timedelta(seconds=1800))
    assert len(timers) == 1
    assert timers.due(T0 + timedelta(seconds=60)) == []
    assert timers.remaining("lockout:7", T0) == 1800.0


def test_cancel() -> None:
    timers = TimerManager()
    timers.start("session_end:1", TimerKind.SESSION_BOUNDARY, T0)
    assert timers.cancel("session_end:1") is True
    assert timers.cancel("session_end:1") is False
    assert timers.due(T0 + timedelta(hours=1)) == []


def test_remaining_never_negative_and_none_when_absent() -> None:
    timers = TimerManager()
    timers.start("reset:1", TimerKind.RESET, T0 + timedelta(seconds=90))
    assert timers.remaining("reset:1", T0) == 90.0
    assert timers.remaining("reset:1", T0 + timedelta(seconds=120)) == 0.0
    assert timers.remaining("missing", T0) is None


def test_clock_jumps_back_then_forward() -> None:
    clock = ManualClock(T0)
    timers = TimerManager()
    timers.start("lockout:1", TimerKind.LOCKOUT_EXPIRY, T0 + timedelta(seconds=60))
    clock.set(T0 - timedelta(hours=1))  # system clock moved back: the deadline waits
    assert timers.due(clock.now()) == []
    clock.set(T0 + timedelta(hours=2))  # jumped forward: fires at the next check
    assert [t.name for t in timers.due(clock.now())] == ["lockout:1"]


def test_next_fire_at_and_wait_seconds_capped_at_one_second() -> None:
    timers = TimerManager()
    assert timers.next_fire_at() is None
    assert timers.wait_seconds(T0) == 1.0
    timers.start("x", TimerKind.GRACE, T0 + timedelta(seconds=30))
    timers.start("y", TimerKind.GRACE, T0 + timedelta(milliseconds=250))
    assert timers.next_fire_at() == T0 + timedelta(milliseconds=250)
    assert timers.wait_seconds(T0) == 0.25
    assert timers.wait_seconds(T0 + timedelta(seconds=1)) == 0.0
    timers.cancel("y")
    assert timers.wait_seconds(T0) == 1.0


def test_deadlines_are_stored_in_utc_and_must_be_aware() -> None:
    timers = TimerManager()
    local = datetime(2025, 10, 15, 10, 0, tzinfo=UTC).astimezone()
    assert timers.start("a", TimerKind.GRACE, local).fire_at.tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        timers.start("b", TimerKind.GRACE, datetime(2025, 10, 15, 10, 0))
    with pytest.raises(ValueError, match="non-empty"):
        timers.start("", TimerKind.GRACE, T0)
