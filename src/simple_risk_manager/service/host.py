"""What the Linux install does to the machine, behind one small interface: run a command, look up and
create accounts, set owner and mode, write and remove files. `HostOps` does it for real; tests pass a
recording fake, so install and uninstall are checked without root and without touching the system.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

_COMMAND_TIMEOUT_S: Final = 90.0


@dataclass(frozen=True, slots=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def error_text(self) -> str:
        """The command's own explanation: stderr, else stdout, else the exit code."""
        return self.stderr.strip() or self.stdout.strip() or f"exit code {self.returncode}"


class SystemOps(Protocol):
    def run(self, argv: Sequence[str]) -> CommandResult: ...

    def user_exists(self, name: str) -> bool: ...

    def group_exists(self, name: str) -> bool: ...

    def set_owner(self, path: Path, user: str, group: str, mode: int) -> None: ...

    def write_file(self, path: Path, text: str, mode: int) -> None: ...

    def remove_file(self, path: Path) -> None: ...


class HostOps:
    """The real machine. POSIX-only modules (`pwd`, `grp`) are imported on use, never at import."""

    def run(self, argv: Sequence[str]) -> CommandResult:
        try:
            done = subprocess.run(list(argv), capture_output=True, text=True, timeout=_COMMAND_TIMEOUT_S,
                                  check=False)
        except FileNotFoundError:
            return CommandResult(127, "", f"{argv[0]}: command not found")
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"{argv[0]}: no answer within {_COMMAND_TIMEOUT_S:g} s")
        return CommandResult(done.returncode, done.stdout, done.stderr)

    def user_exists(self, name: str) -> bool:
        import pwd

        try:
            pwd.getpwnam(name)
        except KeyError:
            return False
        return True

    def group_exists(self, name: str) -> bool:
        import grp

        try:
            grp.getgrnam(name)
        except KeyError:
            return False
        return True

    def set_owner(self, path: Path, user: str, group: str, mode: int) -> None:
        shutil.chown(path, user, group)
        path.chmod(mode)

    def write_file(self, path: Path, text: str, mode: int) -> None:
        """Atomic: a temporary file beside the target, then rename."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            temporary.chmod(mode)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise

    def remove_file(self, path: Path) -> None:
        path.unlink(missing_ok=True)
