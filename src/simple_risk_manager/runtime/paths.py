"""Where the configuration, data and log directories are (`daemon.md` §1): one resolution for every command.

Order: the command-line flag, else ``SRM_*_DIR``, else the directory systemd created for the unit
(``CONFIGURATION_DIRECTORY`` / ``STATE_DIRECTORY`` / ``LOGS_DIRECTORY``), else ``./config``, ``./data``,
``./logs`` relative to the working directory.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class DirectoryKind(Enum):
    """One kind of directory with its sources, in resolution order after the flag."""

    CONFIG = ("--config-dir", "SRM_CONFIG_DIR", "CONFIGURATION_DIRECTORY", "config")
    DATA = ("--data-dir", "SRM_DATA_DIR", "STATE_DIRECTORY", "data")
    LOG = ("--log-dir", "SRM_LOG_DIR", "LOGS_DIRECTORY", "logs")

    def __init__(self, flag: str, env_var: str, systemd_var: str, default: str) -> None:
        self.flag = flag
        self.env_var = env_var
        self.systemd_var = systemd_var
        self.default = default

    @property
    def help(self) -> str:
        """Help text for the command-line flag, naming the fallbacks."""
        return f"default: ${self.env_var}, else ${self.systemd_var}, else ./{self.default}"


def resolve_dir(kind: DirectoryKind, flag: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """The directory of `kind`: `flag`, else its ``SRM_*`` variable, else systemd's, else the default.

    Empty values count as unset. systemd lists several directories separated by ``:`` when the unit
    names more than one; the first is ours.
    """
    if flag:
        return Path(flag)
    if env.get(kind.env_var):
        return Path(env[kind.env_var])
    systemd = env.get(kind.systemd_var, "")
    if systemd:
        return Path(systemd.split(os.pathsep)[0])
    return Path(kind.default)


@dataclass(frozen=True, slots=True)
class Directories:
    config_dir: Path
    data_dir: Path
    log_dir: Path


def resolve_directories(config_dir: str | None = None, data_dir: str | None = None,
                        log_dir: str | None = None, env: Mapping[str, str] = os.environ) -> Directories:
    """All three directories from the flags' values (None when not given) and the environment."""
    return Directories(
        config_dir=resolve_dir(DirectoryKind.CONFIG, config_dir, env),
        data_dir=resolve_dir(DirectoryKind.DATA, data_dir, env),
        log_dir=resolve_dir(DirectoryKind.LOG, log_dir, env),
    )
