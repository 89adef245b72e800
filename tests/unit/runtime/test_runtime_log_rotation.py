"""Daily rotation at UTC midnight (`daemon.md` §8, D15), driven by the records' own timestamps."""

from __future__ import annotations

import gzip
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simple_risk_manager.runtime.log_rotation import DailyRotatingFileHandler

DAY_1 = datetime(2025, 3, 4, 15, 2, 11, tzinfo=UTC)


def record(message: str, at: datetime) -> logging.LogRecord:
    made = logging.LogRecord("simple_risk_manager.test", logging.INFO, __file__, 1, message, None, None)
    made.created = at.timestamp()
    return made


def write(handler: DailyRotatingFileHandler, message: str, at: datetime) -> None:
    handler.handle(record(message, at))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "daemon.log"


def names(directory: Path) -> list[str]:
    return sorted(entry.name for entry in directory.iterdir())


def test_first_record_of_a_new_utc_day_rotates(path: Path) -> None:
    handler = DailyRotatingFileHandler(path, keep=14, compress=False)
    write(handler, "day one", DAY_1)
    write(handler, "just before midnight", DAY_1.replace(hour=23, minute=59, second=59, microsecond=999_000))
    write(handler, "day two", datetime(2025, 3, 5, 0, 0, 0, tzinfo=UTC))
    handler.close()
    assert names(path.parent) == ["daemon.log", "daemon.log.2025-03-04"]
    rotated = path.parent / "daemon.log.2025-03-04"
    assert rotated.read_text().splitlines() == ["day one", "just before midnight"]
    assert path.read_text().splitlines() == ["day two"]


def test_midnight_is_utc_not_local(path: Path) -> None:
    """23:30 in Chicago on 3 March is 05:30 UTC on 4 March: one UTC day, no rotation."""
    handler = DailyRotatingFileHandler(path, keep=14, compress=False)
    write(handler, "a", datetime(2025, 3, 4, 0, 10, tzinfo=UTC))
    write(handler, "b", datetime(2025, 3, 4, 5, 30, tzinfo=UTC))
    handler.close()
    assert names(path.parent) == ["daemon.log"]


def test_rotated_copies_are_gzipped(path: Path) -> None:
    handler = DailyRotatingFileHandler(path, keep=14, compress=True)
    write(handler, "day one", DAY_1)
    write(handler, "day two", DAY_1 + timedelta(days=1))
    handler.close()
    assert names(path.parent) == ["daemon.log", "daemon.log.2025-03-04.gz"]
    with gzip.open(path.parent / "daemon.log.2025-03-04.gz", "rt", encoding="utf-8") as copy:
        assert copy.read() == "day one\n"


@pytest.mark.parametrize("compress", [False, True])
def test_only_the_newest_keep_days_stay(path: Path, compress: bool) -> None:
    handler = DailyRotatingFileHandler(path, keep=3, compress=compress)
    for day in range(6):
        write(handler, f"day {day}", DAY_1 + timedelta(days=day))
    handler.close()
    suffix = ".gz" if compress else ""
    assert names(path.parent) == ["daemon.log", *(f"daemon.log.2025-03-{d:02d}{suffix}" for d in (6, 7, 8))]
    assert path.read_text() == "day 5\n"


def test_a_file_left_from_an_earlier_run_is_named_by_its_last_write(path: Path) -> None:
    """The daemon was stopped on 4 March and starts again on 7 March."""
    path.write_text("written on the 4th\n", encoding="utf-8")
    stamp = DAY_1.timestamp()
    os.utime(path, (stamp, stamp))
    handler = DailyRotatingFileHandler(path, keep=14, compress=False)
    write(handler, "back on the 7th", DAY_1 + timedelta(days=3))
    handler.close()
    assert names(path.parent) == ["daemon.log", "daemon.log.2025-03-04"]
    assert path.read_text() == "back on the 7th\n"


def test_a_same_day_restart_appends(path: Path) -> None:
    path.write_text("morning\n", encoding="utf-8")
    stamp = DAY_1.timestamp()
    os.utime(path, (stamp, stamp))
    handler = DailyRotatingFileHandler(path, keep=14, compress=False)
    write(handler, "afternoon", DAY_1 + timedelta(hours=2))
    handler.close()
    assert names(path.parent) == ["daemon.log"]
    assert path.read_text() == "morning\nafternoon\n"


def test_clock_going_back_never_overwrites_a_rotated_copy(path: Path) -> None:
    handler = DailyRotatingFileHandler(path, keep=14, compress=True)
    write(handler, "4th", DAY_1)
    write(handler, "5th", DAY_1 + timedelta(days=1))
    handler.close()
    # A later run whose file ends up dated the 4th again (the system clock was set back).
    stamp = DAY_1.timestamp()
    os.utime(path, (stamp, stamp))
    handler = DailyRotatingFileHandler(path, keep=14, compress=True)
    write(handler, "6th", DAY_1 + timedelta(days=2))
    handler.close()
    assert names(path.parent) == ["daemon.log", "daemon.log.2025-03-04.1.gz", "daemon.log.2025-03-04.gz"]
    with gzip.open(path.parent / "daemon.log.2025-03-04.1.gz", "rt", encoding="utf-8") as copy:
        assert copy.read() == "5th\n"


def test_a_record_from_an_earlier_day_does_not_rotate(path: Path) -> None:
    handler = DailyRotatingFileHandler(path, keep=14, compress=False)
    write(handler, "now", DAY_1)
    write(handler, "late record stamped yesterday", DAY_1 - timedelta(days=1))
    handler.close()
    assert names(path.parent) == ["daemon.log"]


def test_other_files_are_left_alone(path: Path) -> None:
    for other in ("error.log.2025-01-01.gz", "daemon.log.bak", "daemon.lock"):
        (path.parent / other).write_text("x")
    handler = DailyRotatingFileHandler(path, keep=1, compress=False)
    for day in range(3):
        write(handler, "x", DAY_1 + timedelta(days=day))
    handler.close()
    assert names(path.parent) == ["daemon.lock", "daemon.log", "daemon.log.2025-03-05", "daemon.log.bak",
                                  "error.log.2025-01-01.gz"]


def test_keep_must_be_positive(path: Path) -> None:
    with pytest.raises(ValueError, match=r"daemon\.log: keep must be at least 1"):
        DailyRotatingFileHandler(path, keep=0, compress=False)
