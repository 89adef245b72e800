"""Slow-operation warnings (`daemon.md` §8, `slow_operation_ms`), timed with a manual clock."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.runtime.slow_operations import SlowOperationMonitor


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 4, 15, 0, tzinfo=UTC))


def slow_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage().startswith("slow operation")]


# 125 ms: exact in binary floating point, so "exactly the threshold" is exact on the manual clock.
@pytest.mark.parametrize(("elapsed_s", "warned"),
                         [(0.0625, False), (0.125, False), (0.1255, True), (2.0, True)],
                         ids=["fast", "exactly the threshold", "just over", "far over"])
def test_only_blocks_over_the_threshold_warn(clock: ManualClock, caplog: pytest.LogCaptureFixture,
                                             elapsed_s: float, warned: bool) -> None:
    monitor = SlowOperationMonitor(125, clock)
    with caplog.at_level(logging.INFO), monitor.watch("state flush", account_id=4411, seq=9):
        clock.advance(elapsed_s)
    records = slow_records(caplog)
    assert bool(records) is warned
    if warned:
        [record] = records
        assert record.levelno == logging.WARNING
        expected = f"slow operation: state flush took {elapsed_s * 1000:.1f} ms (threshold 125 ms)"
        assert record.getMessage() == expected
        assert (record.account_id, record.seq) == (4411, 9)  # type: ignore[attr-defined]


def test_a_block_that_raises_is_still_timed(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    monitor = SlowOperationMonitor(100, clock)
    with pytest.raises(RuntimeError), monitor.watch("db job"):
        clock.advance(0.5)
        raise RuntimeError("failed")
    assert len(slow_records(caplog)) == 1


def test_check_for_durations_measured_elsewhere(clock: ManualClock, caplog: pytest.LogCaptureFixture) -> None:
    monitor = SlowOperationMonitor(50, clock)
    assert not monitor.check("broadcast fan-out", 50.0)
    assert monitor.check("broadcast fan-out", 75.5)
    [record] = slow_records(caplog)
    assert record.getMessage() == "slow operation: broadcast fan-out took 75.5 ms (threshold 50 ms)"
    assert not hasattr(record, "account_id")


def test_threshold_must_be_positive(clock: ManualClock) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SlowOperationMonitor(0, clock)
