"""From the configuration to the gateway's settings, and the `srm` command's directory flags."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from simple_risk_manager.cli.main import main, parse_args
from simple_risk_manager.config import load_config_dir
from simple_risk_manager.daemon.wiring import gateway_credentials, gateway_settings

SHIPPED_RISK = Path(__file__).resolve().parents[3] / "config" / "risk_config.yaml"


def config_dir(tmp_path: Path, daemon: dict[str, object]) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    shutil.copy(SHIPPED_RISK, directory / "risk_config.yaml")
    accounts = {"version": 1,
                "topstepx": {"username": "shared", "api_key": "k1", "api_url": "http://127.0.0.1:9/",
                             "user_hub_url": "http://127.0.0.1:9/hubs/user",
                             "market_hub_url": "http://127.0.0.1:9/hubs/market"},
                "accounts": [{"account_id": 1}, {"account_id": 2, "username": "own", "api_key": "k2"},
                             {"account_id": 3, "enabled": False}]}
    (directory / "accounts.yaml").write_text(json.dumps(accounts), encoding="utf-8")
    if os.name != "nt":
        (directory / "accounts.yaml").chmod(0o600)
    (directory / "daemon.yaml").write_text(json.dumps(daemon), encoding="utf-8")
    return directory


def test_daemon_yaml_reaches_the_gateway_settings(tmp_path: Path) -> None:
    config = load_config_dir(config_dir(tmp_path, {"timeouts": {"rest_seconds": 4},
                                                   "token": {"refresh_after_hours": 12},
                                                   "hubs": {"backoff_max_seconds": 9}}), env={})
    settings = gateway_settings(config)
    assert (settings.api_url, settings.user_hub_url, settings.market_hub_url) == (
        "http://127.0.0.1:9", "http://127.0.0.1:9/hubs/user", "http://127.0.0.1:9/hubs/market")
    assert (settings.rest_timeout_s, settings.refresh_after_hours, settings.hubs.backoff_max_s) == (4, 12, 9)
    credentials = gateway_credentials(config)
    assert {a: c.username for a, c in credentials.items()} == {1: "shared", 2: "own"}  # 3 is disabled
    assert "k1" not in repr(credentials)


@pytest.mark.parametrize(("argv", "expected"), [
    pytest.param(["--config-dir", "c", "--data-dir", "d", "run"], ("c", "d", None), id="before"),
    pytest.param(["run", "--log-dir", "l"], (None, None, "l"), id="after"),
    pytest.param(["--config-dir", "before", "run", "--config-dir", "after"], ("after", None, None),
                 id="after-wins"),
])
def test_directory_flags_before_or_after_the_subcommand(argv: list[str],
                                                        expected: tuple[object, ...]) -> None:
    args = parse_args(argv)
    assert (args.config_dir, args.data_dir, args.log_dir) == expected


def test_check_config_takes_the_config_dir_given_before_it(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    directory = config_dir(tmp_path, {})
    assert main(["--config-dir", str(directory), "check-config"]) == 0
    assert f"Configuration in {directory} is valid." in capsys.readouterr().out
