"""Daily log rotation at UTC midnight with a number of rotated copies kept (`daemon.md` §8, D15).

``daemon.log`` holds the current UTC day; the first record of a later day moves it to
``daemon.log.YYYY-MM-DD`` (the day it holds), optionally gzip-compressed to ``daemon.log.YYYY-MM-DD.gz``,
and deletes the copies beyond the newest `keep` days. The day comes from each record's own timestamp,
so a restart after days of downtime names yesterday's file correctly (from its modification time) and
tests drive rotation with explicit times. The handler runs on the logging thread, so compressing a large
file never holds up the event loop.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
from datetime import UTC, date, datetime
from io import TextIOWrapper
from pathlib import Path

FILE_MODE = 0o640


class DailyRotatingFileHandler(logging.FileHandler):
    def __init__(self, path: Path, *, keep: int, compress: bool) -> None:
        if keep < 1:
            raise ValueError(f"{path.name}: keep must be at least 1 (got {keep})")
        self._day = _content_day(path)  # before the file is opened (and maybe created)
        super().__init__(path, encoding="utf-8")
        self.path = path
        self.keep = keep
        self.compress = compress
        self._rotated = re.compile(
            re.escape(path.name) + r"\.(\d{4}-\d{2}-\d{2})(?:\.(\d+))?(?:\.gz)?$"
        )

    def emit(self, record: logging.LogRecord) -> None:
        day = datetime.fromtimestamp(record.created, UTC).date()
        try:
            if self._day is not None and day > self._day:
                self.rotate(self._day)
            if self._day is None or day > self._day:
                self._day = day
        except Exception:
            self.handleError(record)
            return
        super().emit(record)

    def rotate(self, day: date) -> Path:
        """Move the current file away as the copy of `day`, compress it, prune old copies."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None  # FileHandler.emit reopens the file
        target = self._free_name(day)
        os.replace(self.path, target)
        if self.compress:
            target = _gzip(target)
        self._prune()
        return target

    def rotated_copies(self) -> list[Path]:
        """The rotated copies on disk, oldest first."""
        return [entry for _, _, entry in self._copies()]

    def _copies(self) -> list[tuple[str, int, Path]]:
        """(day, counter, path) of every rotated copy, sorted."""
        found = []
        for entry in self.path.parent.iterdir():
            match = self._rotated.match(entry.name)
            if match:
                found.append((match.group(1), int(match.group(2) or 0), entry))
        return sorted(found)

    def _free_name(self, day: date) -> Path:
        """``name.DAY``; ``name.DAY.N`` when that day was already rotated (the clock went back)."""
        base = f"{self.path.name}.{day.isoformat()}"
        candidate, counter = base, 0
        taken = {entry.name for entry in self.path.parent.iterdir()}
        while candidate in taken or f"{candidate}.gz" in taken:
            counter += 1
            candidate = f"{base}.{counter}"
        return self.path.with_name(candidate)

    def _prune(self) -> None:
        copies = self._copies()
        kept_days = sorted({day for day, _, _ in copies})[-self.keep:]
        for day, _, entry in copies:
            if day not in kept_days:
                entry.unlink(missing_ok=True)

    def _open(self) -> TextIOWrapper:
        """Create log files readable by the owner and group only (they name accounts and amounts)."""
        stream = open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,  # noqa: SIM115
                      opener=_restricted_opener)
        assert isinstance(stream, TextIOWrapper)  # a text mode always gives one
        return stream


def _restricted_opener(path: str, flags: int) -> int:
    return os.open(path, flags, FILE_MODE)


def _content_day(path: Path) -> date | None:
    """The UTC day of a non-empty existing file's last write; None for a missing or empty file."""
    try:
        status = path.stat()
    except FileNotFoundError:
        return None
    if status.st_size == 0:
        return None
    return datetime.fromtimestamp(status.st_mtime, UTC).date()


def _gzip(path: Path) -> Path:
    """``path.gz`` written under a temporary name first, so a crash leaves the plain copy intact."""
    target = path.with_name(path.name + ".gz")
    partial = path.with_name(path.name + ".gz.partial")
    with path.open("rb") as source, gzip.open(partial, "wb") as sink:
        shutil.copyfileobj(source, sink)
    os.replace(partial, target)
    path.unlink()
    return target
