"""The daemon's logging (`daemon.md` §8, `logging.yaml` in §10): which records go to which file.

| destination        | records                                                            | level            |
|--------------------|--------------------------------------------------------------------|------------------|
| ``daemon.log``     | every logger except `ENFORCEMENT_LOGGER` and `API_LOGGER`          | ``level``        |
| ``enforcement.log``| `ENFORCEMENT_LOGGER` and its children                              | INFO             |
| ``error.log``      | every logger                                                       | ERROR            |
| ``api.log``        | `API_LOGGER` and its children, only with ``files.api.enabled``     | DEBUG            |
| console (stderr)   | every logger except `API_LOGGER`                                   | see `console_for`|

Logger names other modules use: ``logging.getLogger(__name__)`` for everything under the package
(lands in ``daemon.log``); ``logging.getLogger(ENFORCEMENT_LOGGER)`` for breaches, actions, outcomes and
lockouts (``enforcement.log``); ``logging.getLogger(API_LOGGER)`` at DEBUG for raw hub payloads and REST
calls, guarded by ``isEnabledFor(DEBUG)`` (off unless ``files.api.enabled``). Context goes in
``extra={"account_id": …, "rule_id": …, "seq": …}``.

Records are handed to a queue on the caller's thread and written by one logging thread, so the event
loop never waits for a disk, a rotation or a gzip ("enforcement is never delayed by logging"). Every
handler masks secrets (`MaskingFilter`). `DaemonLogging.close` drains the queue; it also runs at exit.
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import queue
import sys
from collections.abc import Mapping
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import Literal, TextIO

from simple_risk_manager.config.logging_settings import LoggingSettings
from simple_risk_manager.runtime.log_format import JournalFormatter, JsonLineFormatter, TextFormatter
from simple_risk_manager.runtime.log_masking import MaskingFilter, SecretMasker
from simple_risk_manager.runtime.log_rotation import DailyRotatingFileHandler

PACKAGE_LOGGER = "simple_risk_manager"
ENFORCEMENT_LOGGER = "simple_risk_manager.enforcement"
API_LOGGER = "simple_risk_manager.gateway.api"

DAEMON_LOG = "daemon.log"
ENFORCEMENT_LOG = "enforcement.log"
ERROR_LOG = "error.log"
API_LOG = "api.log"

# systemd sets these for every service it starts; JOURNAL_STREAM when stderr is connected to the journal.
_SYSTEMD_MARKERS = ("JOURNAL_STREAM", "INVOCATION_ID")
_TRACEBACK_FORMATTER = logging.Formatter()


def under_systemd(env: Mapping[str, str] = os.environ) -> bool:
    return any(env.get(marker) for marker in _SYSTEMD_MARKERS)


def console_for(setting: bool | Literal["auto"], level: int, stream: TextIO,
                env: Mapping[str, str] = os.environ) -> tuple[logging.Formatter, int] | None:
    """The console's formatter and level, or None for no console output.

    ``false``: none. ``true``: readable lines at `level`. ``auto``: under systemd WARNING and above with
    journal priorities; on a terminal readable lines at `level`; otherwise (output redirected to a file
    or pipe) WARNING and above, so problems are never silent.
    """
    if setting is False:
        return None
    readable = TextFormatter(short_names=True)
    if setting is True:
        return readable, level
    if under_systemd(env):
        return JournalFormatter(), max(level, logging.WARNING)
    if stream.isatty():
        return readable, level
    return readable, max(level, logging.WARNING)


class DaemonLogging:
    """Logging as configured by `setup_logging`; `close` writes what is queued and undoes the setup."""

    def __init__(self, files: Mapping[str, Path], listener: QueueListener, queue_handler: QueueHandler,
                 previous_levels: Mapping[str, int]) -> None:
        self.files = dict(files)
        self._listener = listener
        self._queue_handler = queue_handler
        self._previous_levels = dict(previous_levels)
        self._closed = False

    def close(self) -> None:
        """Drain the queue into the files, close them and restore the loggers; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self.close)
        logging.getLogger().removeHandler(self._queue_handler)
        self._listener.stop()
        for handler in self._listener.handlers:
            handler.close()
        for name, level in self._previous_levels.items():
            logging.getLogger(name).setLevel(level)


def setup_logging(settings: LoggingSettings, log_dir: Path, *, stream: TextIO | None = None,
                  env: Mapping[str, str] = os.environ) -> DaemonLogging:
    """Create the log files in `log_dir` and route every logger's records to them (table above)."""
    log_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    level = logging.getLevelNamesMapping()[settings.level]
    masking = MaskingFilter(SecretMasker.from_settings(settings.mask))
    file_format: logging.Formatter = JsonLineFormatter() if settings.json_lines else TextFormatter()
    files: dict[str, Path] = {}
    handlers: list[logging.Handler] = []

    def add(handler: logging.Handler, handler_level: int, formatter: logging.Formatter,
            route: _LoggerRoute | None) -> None:
        handler.setLevel(handler_level)
        handler.setFormatter(formatter)
        if route is not None:
            handler.addFilter(route)
        handler.addFilter(masking)
        handlers.append(handler)

    def add_file(name: str, keep: int, handler_level: int, route: _LoggerRoute | None) -> None:
        path = log_dir / name
        files[name] = path
        handler = DailyRotatingFileHandler(path, keep=keep, compress=settings.compress_rotated)
        add(handler, handler_level, file_format, route)

    add_file(DAEMON_LOG, settings.files.daemon.keep_days, level,
             _LoggerRoute(without=(ENFORCEMENT_LOGGER, API_LOGGER)))
    add_file(ENFORCEMENT_LOG, settings.files.enforcement.keep_days, logging.INFO,
             _LoggerRoute(only=(ENFORCEMENT_LOGGER,)))
    add_file(ERROR_LOG, settings.files.error.keep_days, logging.ERROR, None)
    if settings.files.api.enabled:
        add_file(API_LOG, settings.files.api.keep_days, logging.DEBUG, _LoggerRoute(only=(API_LOGGER,)))
    console_stream = stream if stream is not None else sys.stderr
    console = console_for(settings.console, level, console_stream, env)
    if console is not None:
        formatter, console_level = console
        add(logging.StreamHandler(console_stream), console_level, formatter,
            _LoggerRoute(without=(API_LOGGER,)))

    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = QueueListener(records, *handlers, respect_handler_level=True)
    queue_handler = _CallerSideQueueHandler(records)
    levels = _logger_levels(level, api_enabled=settings.files.api.enabled)
    previous = {name: logging.getLogger(name).level for name in levels}
    for name, logger_level in levels.items():
        logging.getLogger(name).setLevel(logger_level)
    listener.start()
    logging.getLogger().addHandler(queue_handler)
    configured = DaemonLogging(files, listener, queue_handler, previous)
    atexit.register(configured.close)
    return configured


def _logger_levels(level: int, *, api_enabled: bool) -> dict[str, int]:
    """Logger thresholds: DEBUG applies to our package only (libraries stay at INFO); the enforcement
    log is INFO whatever ``level`` says; the raw API logger is enabled only when its file is."""
    return {
        "": max(level, logging.INFO),
        PACKAGE_LOGGER: level,
        ENFORCEMENT_LOGGER: min(level, logging.INFO),
        API_LOGGER: logging.DEBUG if api_enabled else max(level, logging.INFO),
    }


class _LoggerRoute(logging.Filter):
    """Accepts records of the `only` loggers (all when empty) that are not under a `without` logger."""

    def __init__(self, *, only: tuple[str, ...] = (), without: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._only = only
        self._without = without

    def filter(self, record: logging.LogRecord) -> bool:
        if self._only and not _under(record.name, self._only):
            return False
        return not _under(record.name, self._without)


def _under(name: str, loggers: tuple[str, ...]) -> bool:
    return any(name == logger or name.startswith(logger + ".") for logger in loggers)


class _CallerSideQueueHandler(QueueHandler):
    """Does on the caller's thread only what cannot wait: merge the arguments into the message and
    render the traceback (both refer to live objects that may change or disappear). Formatting and
    masking happen on the logging thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        prepared = copy.copy(record)
        prepared.msg = record.getMessage()
        prepared.args = None
        if record.exc_info:
            prepared.exc_text = record.exc_text or _TRACEBACK_FORMATTER.formatException(record.exc_info)
            prepared.exc_info = None
        return prepared
