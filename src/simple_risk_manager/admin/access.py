"""Who may run admin commands (`cli.md` §2.1): root on Linux (euid 0), an elevated Administrator on
Windows. The check is a plain function passed in, so tests substitute it; there is no environment
variable that skips it.
"""

from __future__ import annotations

import ctypes
import getpass
import os
import sys
from collections.abc import Callable, Mapping

from simple_risk_manager.admin.errors import NotPrivilegedError

AdminCheck = Callable[[], bool]


def is_administrator() -> bool:
    """euid 0 on POSIX; `IsUserAnAdmin()` (an elevated token) on Windows."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is not None:
        return bool(geteuid() == 0)
    shell32 = getattr(getattr(ctypes, "windll", None), "shell32", None)
    return bool(shell32 is not None and shell32.IsUserAnAdmin())


def require_administrator(check: AdminCheck, platform: str = sys.platform) -> None:
    if not check():
        how = ("re-run from an elevated prompt (Run as administrator)" if platform == "win32"
               else "re-run with sudo")
        who = "an Administrator" if platform == "win32" else "root"
        raise NotPrivilegedError(f"this command needs {who}: {how}")


def os_user(env: Mapping[str, str] = os.environ) -> str:
    """The OS user for `admin.log`; under sudo, also who invoked it (`root (sudo by alice)`)."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    invoker = env.get("SUDO_USER")
    return f"{user} (sudo by {invoker})" if invoker and invoker != user else user
