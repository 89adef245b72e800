"""Single instance (`daemon.md` §1): an exclusive, non-blocking OS file lock on ``data/daemon.lock``.

The lock is the operating system's, so it disappears with the process however it ends (a crash or a
SIGKILL leaves no stale lock, only a stale PID text). POSIX uses ``flock`` on the whole file. Windows
locks are mandatory, so ``msvcrt.locking`` takes one byte far past the PID text: readers can still read
the PID while the daemon runs. Status probes call `read_pid` and never take the lock; the Admin CLI takes
it (as `InstanceLock`) only while the daemon is stopped (`cli.md` §2.8).
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from types import TracebackType

LOCK_FILE_NAME = "daemon.lock"
# Windows: the locked byte lies here, well past any PID text, so the PID stays readable.
_WINDOWS_LOCK_OFFSET = 1 << 16


def lock_path(data_dir: Path) -> Path:
    return data_dir / LOCK_FILE_NAME


class InstanceLockedError(Exception):
    """Another process holds the lock; the daemon exits with `ExitCode.INSTANCE_LOCKED` (75)."""

    def __init__(self, path: Path, pid: int | None) -> None:
        holder = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"{path}: already locked by {holder}; is another srm daemon running?")
        self.path = path
        self.pid = pid


class InstanceLock:
    """The instance lock on `path`; `acquire` writes this process's PID into the file.

    Use as a context manager or call `acquire` / `release`. Releasing empties the file before
    unlocking, so an empty file means "no holder"; the file itself stays (deleting a lock file races
    with the next holder).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock without waiting; raise `InstanceLockedError` when another process has it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path}: this InstanceLock is already held")
        self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        try:
            locked = _try_lock(fd)
        except BaseException:
            os.close(fd)
            raise
        if not locked:
            os.close(fd)
            raise InstanceLockedError(self.path, read_pid(self.path))
        try:
            _write_pid(fd, f"{os.getpid()}\n")
        except BaseException:
            _unlock(fd)
            os.close(fd)
            raise
        self._fd = fd

    def release(self) -> None:
        """Empty the PID text and let the lock go; a no-op when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            _write_pid(fd, "")
        finally:
            _unlock(fd)
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def read_pid(path: Path) -> int | None:
    """The PID written by the lock's holder, without taking the lock.

    None when the file is missing, empty (no holder since the last clean release) or not a PID. After a
    crash the PID of the dead process stays until the next start; whether the lock is held is only known
    to whoever tries to take it.
    """
    try:
        with path.open("rb") as file:
            text = file.read(32).decode("ascii", errors="replace").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def _write_pid(fd: int, text: str) -> None:
    os.lseek(fd, 0, os.SEEK_SET)
    os.ftruncate(fd, 0)
    os.write(fd, text.encode("ascii"))
    os.fsync(fd)


if sys.platform == "win32":

    def _try_lock(fd: int) -> bool:
        """True when taken, False when another process holds it; other failures raise."""
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError as error:
            if error.errno in (errno.EACCES, errno.EDEADLOCK):
                return False
            raise
        return True

    def _unlock(fd: int) -> None:
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:

    def _try_lock(fd: int) -> bool:
        """True when taken, False when another process holds it; other failures raise."""
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_UN)
