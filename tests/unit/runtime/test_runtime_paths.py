"""Directory resolution (`daemon.md` §1): flag, else SRM_*_DIR, else systemd's directory, else ./name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from simple_risk_manager.config import resolve_config_dir
from simple_risk_manager.runtime.paths import Directories, DirectoryKind, resolve_dir, resolve_directories

SOURCES = [
    (DirectoryKind.CONFIG, "SRM_CONFIG_DIR", "CONFIGURATION_DIRECTORY", "config"),
    (DirectoryKind.DATA, "SRM_DATA_DIR", "STATE_DIRECTORY", "data"),
    (DirectoryKind.LOG, "SRM_LOG_DIR", "LOGS_DIRECTORY", "logs"),
]


@pytest.mark.parametrize(("kind", "srm_var", "systemd_var", "default"), SOURCES)
def test_each_source_in_order(kind: DirectoryKind, srm_var: str, systemd_var: str, default: str) -> None:
    everything = {srm_var: "/srv/env", systemd_var: "/var/lib/systemd"}
    assert resolve_dir(kind, "/opt/flag", everything) == Path("/opt/flag")
    assert resolve_dir(kind, None, everything) == Path("/srv/env")
    assert resolve_dir(kind, None, {systemd_var: "/var/lib/systemd"}) == Path("/var/lib/systemd")
    assert resolve_dir(kind, None, {}) == Path(default)


@pytest.mark.parametrize(("kind", "srm_var", "systemd_var", "default"), SOURCES)
def test_empty_values_count_as_unset(kind: DirectoryKind, srm_var: str, systemd_var: str,
                                     default: str) -> None:
    assert resolve_dir(kind, "", {srm_var: "", systemd_var: ""}) == Path(default)


def test_systemd_list_of_directories_uses_the_first() -> None:
    env = {"STATE_DIRECTORY": os.pathsep.join(["/var/lib/srm", "/var/lib/other"])}
    assert resolve_dir(DirectoryKind.DATA, None, env) == Path("/var/lib/srm")


def test_other_kinds_variables_do_not_leak() -> None:
    """SRM_CONFIG_DIR says nothing about the data directory."""
    env = {"SRM_CONFIG_DIR": "/etc/srm", "CONFIGURATION_DIRECTORY": "/etc/sd"}
    assert resolve_dir(DirectoryKind.DATA, None, env) == Path("data")
    assert resolve_dir(DirectoryKind.LOG, None, env) == Path("logs")


def test_resolve_directories_mixes_sources_per_kind() -> None:
    env = {"SRM_DATA_DIR": "/srv/data", "LOGS_DIRECTORY": "/var/log/srm"}
    assert resolve_directories(config_dir="/etc/srm", env=env) == Directories(
        config_dir=Path("/etc/srm"), data_dir=Path("/srv/data"), log_dir=Path("/var/log/srm"))


def test_config_resolution_is_the_shared_one() -> None:
    env = {"CONFIGURATION_DIRECTORY": "/etc/sd"}
    assert resolve_config_dir(None, env) == resolve_dir(DirectoryKind.CONFIG, None, env) == Path("/etc/sd")


def test_flag_help_names_the_fallbacks() -> None:
    assert DirectoryKind.LOG.flag == "--log-dir"
    assert DirectoryKind.LOG.help == "default: $SRM_LOG_DIR, else $LOGS_DIRECTORY, else ./logs"
