"""Where `srm admin rules reset` finds the shipped `risk_config.yaml`: the checkout's `config/`, else
`<prefix>/share/simple-risk-manager/`, which a wheel install fills from pyproject's data-files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import simple_risk_manager
from simple_risk_manager.admin.actions import AdminError, shipped_risk_config

ROOT = Path(__file__).resolve().parents[3]


def test_a_wheel_installs_the_shipped_files_under_share() -> None:
    data_files = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "data-files"]
    shipped = data_files["share/simple-risk-manager"]
    assert "config/risk_config.yaml" in shipped and "config/accounts.yaml.template" in shipped
    assert all((ROOT / name).is_file() for name in shipped)


def test_a_checkout_uses_its_own_config_folder(tmp_path: Path) -> None:
    assert shipped_risk_config(tmp_path) == ROOT / "config" / "risk_config.yaml"


def test_an_installed_package_uses_the_prefix_share_folder(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "lib" / "python3.11" / "site-packages" / "simple_risk_manager"
    site.mkdir(parents=True)
    monkeypatch.setattr(simple_risk_manager, "__file__", str(site / "__init__.py"))
    installed = tmp_path / "share" / "simple-risk-manager" / "risk_config.yaml"
    with pytest.raises(AdminError, match=r"shipped risk_config\.yaml was not found") as missing:
        shipped_risk_config(tmp_path)
    assert str(installed) in str(missing.value)
    installed.parent.mkdir(parents=True)
    installed.write_text("version: 1\n", encoding="utf-8")
    assert shipped_risk_config(tmp_path) == installed
