"""`logs/admin.log` (`cli.md` §2.1): one JSON line per login attempt and per admin command — time, OS
user, command, outcome — never a secret (commands never carry one: secrets come from stdin or prompts).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Final

import orjson

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.times import format_utc

ADMIN_LOG: Final = "admin.log"
_FILE_MODE: Final = 0o640


class AuditLog:
    def __init__(self, path: Path, clock: Clock, user: str, warn: Callable[[str], None]) -> None:
        self.path = path
        self._clock = clock
        self._user = user
        self._warn = warn
        self._failed = False

    def record(self, command: str, outcome: str, detail: str | None = None) -> None:
        """Append one line; a log that cannot be written is reported once and never stops the command."""
        line: dict[str, object] = {"ts": format_utc(self._clock.now()), "user": self._user,
                                   "command": command, "outcome": outcome}
        if detail:
            line["detail"] = detail
        try:
            self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _FILE_MODE)
            with os.fdopen(fd, "ab") as file:
                file.write(orjson.dumps(line) + b"\n")
        except OSError as exc:
            if not self._failed:
                self._failed = True
                self._warn(f"cannot write the audit log {self.path}: {exc.strerror or exc}")
