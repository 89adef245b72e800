"""Where the configuration directory is (`daemon.md` §1): the same resolution for every command."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def resolve_config_dir(flag: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """`--config-dir`, else `SRM_CONFIG_DIR`, else systemd's `CONFIGURATION_DIRECTORY`, else `./config`."""
    if flag:
        return Path(flag)
    if env.get("SRM_CONFIG_DIR"):
        return Path(env["SRM_CONFIG_DIR"])
    systemd = env.get("CONFIGURATION_DIRECTORY", "")
    if systemd:
        return Path(systemd.split(os.pathsep)[0])  # systemd lists several directories colon-separated
    return Path("config")
