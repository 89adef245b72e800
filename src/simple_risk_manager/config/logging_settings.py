"""`logging.yaml`: optional logging settings; every key has a default (`daemon.md` §10)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from simple_risk_manager.config.base import ConfigModel
from simple_risk_manager.config.fields import ConsoleMode, Flag, ListOf, Regex, choice, int_in

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
KeepDays = Annotated[int, int_in(1)]


class LogFile(ConfigModel):
    keep_days: KeepDays


class DaemonLogFile(LogFile):
    keep_days: KeepDays = 14


class ErrorLogFile(LogFile):
    keep_days: KeepDays = 30


class EnforcementLogFile(LogFile):
    keep_days: KeepDays = 90


class ApiLogFile(LogFile):
    enabled: Flag = False
    keep_days: KeepDays = 3


class LogFiles(ConfigModel):
    daemon: DaemonLogFile = DaemonLogFile()
    error: ErrorLogFile = ErrorLogFile()
    enforcement: EnforcementLogFile = EnforcementLogFile()
    api: ApiLogFile = ApiLogFile()


class MaskSettings(ConfigModel):
    emails: Flag = True
    extra_patterns: Annotated[tuple[Regex, ...], ListOf] = ()


class LoggingSettings(ConfigModel):
    level: Annotated[LogLevel, choice(LogLevel)] = "INFO"
    json_lines: Flag = Field(default=True, alias="json")
    console: ConsoleMode = "auto"
    slow_operation_ms: Annotated[int, int_in(1)] = 100
    files: LogFiles = LogFiles()
    compress_rotated: Flag = True
    mask: MaskSettings = MaskSettings()
