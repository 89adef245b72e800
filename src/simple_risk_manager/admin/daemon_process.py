"""Is a daemon running here? Without a service manager the only witness is the PID in
`data/daemon.lock` (`daemon.md` §1): status probes read it and never take the lock.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path
from typing import Final

from simple_risk_manager.runtime.instance_lock import lock_path, read_pid

_SYNCHRONIZE: Final = 0x00100000
_WAIT_TIMEOUT: Final = 0x00000102


def process_alive(pid: int) -> bool:
    """POSIX: signal 0 probes without touching the process. Windows: `os.kill` would terminate it, so
    the process handle is opened and asked whether it has ended."""
    if os.name == "nt":
        kernel32 = getattr(ctypes, "windll").kernel32  # noqa: B009 (windll exists only on Windows)
        handle = kernel32.OpenProcess(_SYNCHRONIZE, False, pid)
        if not handle:
            return False
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == _WAIT_TIMEOUT)
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, it is just not ours
        return True
    return True


def running_daemon_pid(data_dir: Path) -> int | None:
    """The PID written by the lock holder when that process still exists; None otherwise (also when the
    caller may not read the data directory: status needs no privileges)."""
    try:
        pid = read_pid(lock_path(data_dir))
    except OSError:
        return None
    return pid if pid is not None and process_alive(pid) else None
