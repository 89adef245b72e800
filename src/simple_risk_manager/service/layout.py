"""Where an installed service keeps its files, per platform.

Linux: the systemd unit fixes the data and log directories (`StateDirectory=` / `LogsDirectory=`
`simple-risk-manager`) and the config directory is `/etc/simple-risk-manager` by convention. Windows:
one folder under `%ProgramData%`. The Admin CLI falls back to these directories when neither a flag nor
an environment variable names one and the installed config directory exists, so `sudo srm admin …`
on a server finds the service's files without extra flags.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from simple_risk_manager.runtime.paths import Directories, DirectoryKind, resolve_dir

LINUX_CONFIG_DIR: Final = Path("/etc/simple-risk-manager")
LINUX_STATE_DIR: Final = Path("/var/lib/simple-risk-manager")
LINUX_LOGS_DIR: Final = Path("/var/log/simple-risk-manager")
WINDOWS_FOLDER: Final = "SimpleRiskManager"


def installed_directories(platform: str = sys.platform,
                          env: Mapping[str, str] = os.environ) -> Directories:
    """The directories an installed service uses on `platform`."""
    if platform == "win32":
        root = Path(env.get("ProgramData") or r"C:\ProgramData") / WINDOWS_FOLDER
        return Directories(root / "config", root / "data", root / "logs")
    return Directories(LINUX_CONFIG_DIR, LINUX_STATE_DIR, LINUX_LOGS_DIR)


def admin_directories(config_dir: str | None, data_dir: str | None, log_dir: str | None, *,
                      env: Mapping[str, str] = os.environ,
                      installed: Directories | None = None) -> Directories:
    """The Admin CLI's directories: flag, `SRM_*`, systemd's variable, then — only when the installed
    config directory exists — the installed layout, else `./config`, `./data`, `./logs`."""
    installed = installed if installed is not None else installed_directories(env=env)
    use_installed = installed.config_dir.is_dir()
    flags = {DirectoryKind.CONFIG: config_dir, DirectoryKind.DATA: data_dir, DirectoryKind.LOG: log_dir}
    fallback = {DirectoryKind.CONFIG: installed.config_dir, DirectoryKind.DATA: installed.data_dir,
                DirectoryKind.LOG: installed.log_dir}

    def pick(kind: DirectoryKind) -> Path:
        flag = flags[kind]
        named = bool(flag) or bool(env.get(kind.env_var)) or bool(env.get(kind.systemd_var))
        if named or not use_installed:
            return resolve_dir(kind, flag, env)
        return fallback[kind]

    return Directories(pick(DirectoryKind.CONFIG), pick(DirectoryKind.DATA), pick(DirectoryKind.LOG))
