"""`service logs` (`cli.md` §2.3): the last lines of one log file, JSON lines pretty-printed, optionally
followed. Daemon files carry `ts`, `level`, `logger`, `msg` and context fields (`daemon.md` §8);
`admin.log` carries `ts`, `user`, `command`, `outcome`. Plain-text lines are shown as they are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import orjson

LOG_FILES: Final = {"daemon": "daemon.log", "enforcement": "enforcement.log", "error": "error.log",
                    "admin": "admin.log"}
FOLLOW_POLL_S: Final = 0.5
_KNOWN: Final = ("ts", "level", "logger", "msg", "user", "command", "outcome", "exc", "stack")
_PACKAGE: Final = "simple_risk_manager."


def pretty_line(line: str) -> str:
    """One readable line (plus a traceback below it, if the record had one)."""
    text = line.rstrip("\r\n")
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError:
        return text
    if not isinstance(record, dict):
        return text
    ts = str(record.get("ts", ""))
    extras = " ".join(f"{key}={value}" for key, value in record.items() if key not in _KNOWN)
    if "command" in record:
        body = f"{record.get('user', '?')}: {record['command']} → {record.get('outcome', '')}"
    else:
        logger = str(record.get("logger", "")).removeprefix(_PACKAGE)
        body = f"{record.get('level', '')!s:<8} {logger}: {record.get('msg', '')}"
    parts = [part for part in (ts, body, f"[{extras}]" if extras else "") if part]
    shown = " ".join(parts)
    trace = record.get("exc") or record.get("stack")
    return f"{shown}\n{trace}" if trace else shown


def last_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines of `path` (reads the file once, keeps only `count`)."""
    if count < 1:
        return []
    with path.open("r", encoding="utf-8", errors="replace") as file:
        return list(deque(file, maxlen=count))


def follow(path: Path, sleep: Callable[[float], None]) -> Iterator[str]:
    """Lines appended to `path` from now on, forever (Ctrl-C ends it); survives the daily rotation,
    which starts a new file under the same name."""
    file = path.open("r", encoding="utf-8", errors="replace")
    try:
        file.seek(0, 2)
        partial = ""
        while True:
            chunk = file.readline()
            if chunk:
                partial += chunk
                if partial.endswith("\n"):
                    yield partial
                    partial = ""
                continue
            if _rotated(path, file.tell()):
                file.close()
                file = path.open("r", encoding="utf-8", errors="replace")
                continue
            sleep(FOLLOW_POLL_S)
    finally:
        file.close()


def _rotated(path: Path, position: int) -> bool:
    try:
        return path.stat().st_size < position
    except FileNotFoundError:
        return False
