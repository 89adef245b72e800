"""`srm check-config` (`cli.md` §0.1): summary and exit 0, or every error on stderr and exit 78."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simple_risk_manager.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "config"
ENV = {"PROJECT_X_USERNAME": "trader@example.com", "PROJECT_X_API_KEY": "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l",
       "SECOND_LOGIN_USERNAME": "second-login", "SECOND_LOGIN_API_KEY": "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56"}


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A complete directory (accounts.yaml from the template) with the secrets in the environment."""
    directory = tmp_path / "config"
    directory.mkdir()
    shutil.copy(SHIPPED / "accounts.yaml.template", directory / "accounts.yaml")
    shutil.copy(SHIPPED / "risk_config.yaml", directory / "risk_config.yaml")
    (directory / "accounts.yaml").chmod(0o600)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return directory


def test_valid_directory_prints_a_summary(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config-dir", str(config_dir)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"Configuration in {config_dir} is valid."
    assert "Accounts in accounts.yaml: 3, 2 enabled" in lines
    assert any(line.split()[:4] == ["7001", "50K", "Combine", "enabled"] and "overrides RULE-001, RULE-003"
               in line for line in lines)
    assert any(line.split()[:3] == ["7003", "-", "disabled"] and "own login" in line for line in lines)
    assert "Rules enabled (11 of 12):" in lines
    assert "  RULE-003  Daily Realized Loss" in lines
    assert "Rules disabled: RULE-012 Trade Management" in lines
    assert "Daily reset: 17:00 America/Chicago" in lines
    assert "Warnings" not in out
    assert ENV["PROJECT_X_API_KEY"] not in out


def test_invalid_directory_prints_every_error_and_exits_78(config_dir: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    risk = (config_dir / "risk_config.yaml").read_text(encoding="utf-8")
    (config_dir / "risk_config.yaml").write_text(risk.replace("    limit: 5\n", "    limit: 5.0\n"),
                                                 encoding="utf-8")
    (config_dir / "daemon.yaml").write_text("broadcast:\n  host: 0.0.0.0\n", encoding="utf-8")
    assert main(["check-config", "--config-dir", str(config_dir)]) == 78
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"Configuration in {config_dir} is invalid:",
        "  risk_config.yaml: rules.max_contracts.limit: must be an integer (got 5.0)",
        '  daemon.yaml: broadcast.host: must be an IPv4 loopback address (127.0.0.0/8), e.g. 127.0.0.1 '
        '(got "0.0.0.0")',
        "2 errors; the daemon would not start (exit code 78).",
    ]


@pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")
def test_summary_shows_warnings(config_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (config_dir / "accounts.yaml").chmod(0o640)
    assert main(["check-config", "--config-dir", str(config_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == ["Warnings (1):",
                          "  accounts.yaml: readable by group or others (mode 0640); "
                          "run: chmod 600 accounts.yaml"]


def test_config_dir_from_environment(config_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SRM_CONFIG_DIR", str(config_dir))
    assert main(["check-config"]) == 0
    assert capsys.readouterr().out.startswith(f"Configuration in {config_dir} is valid.")


def test_missing_secret_exits_78(config_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("PROJECT_X_API_KEY")
    assert main(["check-config", "--config-dir", str(config_dir)]) == 78
    assert "  accounts.yaml: topstepx.api_key: environment variable PROJECT_X_API_KEY is not set" in \
           capsys.readouterr().err.splitlines()


def test_shipped_template_directory_as_a_subprocess() -> None:
    """The real console script on the shipped directory: template check, warnings, exit 0."""
    srm = Path(sys.executable).with_name("srm.exe" if os.name == "nt" else "srm")
    env = {key: value for key, value in os.environ.items() if key not in ENV and key != "SRM_CONFIG_DIR"}
    done = subprocess.run([str(srm), "check-config", "--config-dir", str(SHIPPED)], capture_output=True,
                          text=True, env=env, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "Accounts in accounts.yaml.template (template check): 3, 2 enabled" in done.stdout
    assert "accounts.yaml.template: topstepx.api_key: environment variable PROJECT_X_API_KEY is not set" \
           in done.stdout
    assert done.stderr == ""


def test_invalid_directory_as_a_subprocess(tmp_path: Path) -> None:
    srm = Path(sys.executable).with_name("srm.exe" if os.name == "nt" else "srm")
    (tmp_path / "risk_config.yaml").write_text("rules: {}\n", encoding="utf-8")
    done = subprocess.run([str(srm), "check-config", "--config-dir", str(tmp_path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 78
    assert "  accounts.yaml: file not found" in done.stderr.splitlines()
    assert "  risk_config.yaml: rules.max_contracts: missing; all 12 rule sections are required " \
           "(use enabled: false)" in done.stderr.splitlines()
