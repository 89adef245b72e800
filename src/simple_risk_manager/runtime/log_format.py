"""How log records look (`daemon.md` §8): JSON lines or plain text in files, readable lines on a
terminal, and priority-prefixed lines for the systemd journal.

Context fields are passed by the caller as ``extra={"account_id": …, "rule_id": …, "seq": …}`` and
appear only when given. Timestamps are UTC in the project's one format (`format_utc`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from simple_risk_manager.domain.times import format_utc

CONTEXT_FIELDS = ("account_id", "rule_id", "seq")
_PACKAGE_PREFIX = "simple_risk_manager."
# sd-daemon(3) priorities; journald reads a "<N>" prefix on each stderr line.
_JOURNAL_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
                     logging.DEBUG: 7}


def record_time(record: logging.LogRecord) -> str:
    return format_utc(datetime.fromtimestamp(record.created, UTC))


def _context(record: logging.LogRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in CONTEXT_FIELDS if getattr(record, name, None) is not None}


def _exception_text(record: logging.LogRecord, formatter: logging.Formatter) -> str | None:
    """The traceback as text (the masking filter has normally rendered it already)."""
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or None


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, context fields, ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": record_time(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_context(record),
        }
        exception = _exception_text(record, self)
        if exception:
            line["exc"] = exception
        if record.stack_info:
            line["stack"] = record.stack_info
        return orjson.dumps(line, default=str).decode("utf-8")


class TextFormatter(logging.Formatter):
    """``<ts> <LEVEL> <logger>: <msg> [account_id=… rule_id=… seq=…]`` and the traceback below.

    `timestamps` off for the journal (it stamps lines itself); `short_names` drops the package prefix
    from logger names on a terminal.
    """

    def __init__(self, *, timestamps: bool = True, short_names: bool = False) -> None:
        super().__init__()
        self._timestamps = timestamps
        self._short_names = short_names

    def format(self, record: logging.LogRecord) -> str:
        name = record.name
        if self._short_names and name.startswith(_PACKAGE_PREFIX):
            name = name[len(_PACKAGE_PREFIX):]
        text = f"{record.levelname:<8} {name}: {record.getMessage()}"
        if self._timestamps:
            text = f"{record_time(record)} {text}"
        context = _context(record)
        if context:
            text += " [" + " ".join(f"{key}={value}" for key, value in context.items()) + "]"
        details = [part for part in (_exception_text(record, self), record.stack_info) if part]
        return "\n".join([text, *details])


class JournalFormatter(TextFormatter):
    """Text for stderr under systemd: every line carries the record's syslog priority prefix, so a
    traceback's lines keep the record's level in the journal."""

    def __init__(self) -> None:
        super().__init__(timestamps=False)

    def format(self, record: logging.LogRecord) -> str:
        priority = _JOURNAL_PRIORITY.get(record.levelno, _nearest_priority(record.levelno))
        return "\n".join(f"<{priority}>{line}" for line in super().format(record).splitlines())


def _nearest_priority(levelno: int) -> int:
    """Custom levels take the priority of the nearest standard level at or below them."""
    standard = [level for level in sorted(_JOURNAL_PRIORITY) if level <= levelno]
    return _JOURNAL_PRIORITY[standard[-1]] if standard else _JOURNAL_PRIORITY[logging.DEBUG]
