"""Where the configuration directory is (`daemon.md` §1): the same resolution for every command."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from simple_risk_manager.runtime.paths import DirectoryKind, resolve_dir


def resolve_config_dir(flag: str | None, env: Mapping[str, str] = os.environ) -> Path:
    """`--config-dir`, else `SRM_CONFIG_DIR`, else systemd's `CONFIGURATION_DIRECTORY`, else `./config`."""
    return resolve_dir(DirectoryKind.CONFIG, flag, env)
