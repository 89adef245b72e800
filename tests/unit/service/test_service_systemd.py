"""The systemd backend (`cli.md` §2.5, §3): the unit text, `systemd-analyze verify`, status parsing,
the verbs as `systemctl` calls, and install / uninstall against a recording fake of the machine."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from simple_risk_manager.service.host import CommandResult
from simple_risk_manager.service.linux_install import ServiceLayout, config_ownership, state_ownership
from simple_risk_manager.service.manager import ActiveState, InstallRequest, ServiceError
from simple_risk_manager.service.systemd import (
    SystemdManager,
    parse_show,
    render_unit,
    status_from_show,
)

# The unit of cli.md §2.5, verbatim, with <venv> = /opt/srm/.venv.
SPEC_UNIT = """\
[Unit]
Description=Simple Risk Manager daemon
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
User=srm
Group=srm-view
SupplementaryGroups=srm
ExecStart=/opt/srm/.venv/bin/srm run
Environment=SRM_CONFIG_DIR=/etc/simple-risk-manager
EnvironmentFile=-/etc/simple-risk-manager/secrets.env
StateDirectory=simple-risk-manager
StateDirectoryMode=0750
LogsDirectory=simple-risk-manager
LogsDirectoryMode=0750
UMask=0027
Restart=always
RestartSec=10
RestartPreventExitStatus=2 78
TimeoutStartSec=60
TimeoutStopSec=30
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX

[Install]
WantedBy=multi-user.target
"""


def test_the_unit_is_the_one_of_the_spec() -> None:
    assert render_unit(Path("/opt/srm/.venv/bin/srm"), Path("/etc/simple-risk-manager")) == SPEC_UNIT


def test_paths_with_blanks_and_percent_stay_literal() -> None:
    unit = render_unit(Path("/opt/my srm/100%/bin/srm"), Path("/etc/srm conf"))
    assert 'ExecStart="/opt/my srm/100%%/bin/srm" run' in unit.splitlines()
    assert 'Environment="SRM_CONFIG_DIR=/etc/srm conf"' in unit.splitlines()
    assert "EnvironmentFile=-/etc/srm conf/secrets.env" in unit.splitlines()
    with pytest.raises(ValueError, match="absolute"):
        render_unit(Path("bin/srm"), Path("/etc/x"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    program = tmp_path / "venv" / "bin" / "srm"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    unit = tmp_path / "simple-risk-manager.service"
    unit.write_text(render_unit(program, Path("/etc/simple-risk-manager")), encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True,
                          timeout=60, check=False)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if unit.name in line]
    assert done.returncode == 0, done.stderr
    assert complaints == []


SHOW_ACTIVE = """LoadState=loaded
ActiveState=active
SubState=running
MainPID=4242
ActiveEnterTimestamp=Tue 2025-03-04 13:30:02 UTC
InactiveEnterTimestamp=
UnitFileState=enabled
Result=success
ExecMainStatus=0
"""


@pytest.mark.parametrize(("show", "state", "pid", "enabled", "detail"), [
    pytest.param(SHOW_ACTIVE, ActiveState.ACTIVE, 4242, True, "running", id="active"),
    pytest.param("LoadState=loaded\nActiveState=inactive\nSubState=dead\nMainPID=0\nUnitFileState=disabled\n",
                 ActiveState.INACTIVE, None, False, "dead", id="inactive"),
    pytest.param("LoadState=loaded\nActiveState=failed\nSubState=failed\nMainPID=0\nResult=exit-code\n"
                 "ExecMainStatus=78\nUnitFileState=enabled\n", ActiveState.FAILED, None, True,
                 "exit-code, exit status 78", id="failed-exit-78"),
    pytest.param("LoadState=not-found\nActiveState=inactive\n", ActiveState.NOT_INSTALLED, None, None,
                 "unit not installed", id="not-installed"),
])
def test_status_from_systemctl_show(show: str, state: ActiveState, pid: int | None, enabled: bool | None,
                                    detail: str) -> None:
    status = status_from_show(parse_show(show))
    assert (status.state, status.pid, status.enabled, status.detail) == (state, pid, enabled, detail)


def test_active_since_is_read_in_utc() -> None:
    assert status_from_show(parse_show(SHOW_ACTIVE)).since == datetime(2025, 3, 4, 13, 30, 2, tzinfo=UTC)


class FakeOps:
    """The machine as install sees it: commands answered from a table, owners and files recorded."""

    def __init__(self, *, users: Sequence[str] = (), groups: Sequence[str] = (),
                 show: str = SHOW_ACTIVE) -> None:
        self.users, self.groups = set(users), set(groups)
        self.commands: list[list[str]] = []
        self.owners: dict[Path, tuple[str, str, int]] = {}
        self.files: dict[Path, tuple[str, int]] = {}
        self.removed: list[Path] = []
        self.show = show
        self.fail: dict[str, str] = {}

    def run(self, argv: Sequence[str]) -> CommandResult:
        self.commands.append(list(argv))
        verb = argv[1] if argv[0] == "systemctl" else argv[0]
        if verb in self.fail:
            return CommandResult(1, "", self.fail[verb])
        return CommandResult(0, self.show if verb == "show" else "", "")

    def user_exists(self, name: str) -> bool:
        return name in self.users

    def group_exists(self, name: str) -> bool:
        return name in self.groups

    def set_owner(self, path: Path, user: str, group: str, mode: int) -> None:
        self.owners[path] = (user, group, mode)

    def write_file(self, path: Path, text: str, mode: int) -> None:
        self.files[path] = (text, mode)

    def remove_file(self, path: Path) -> None:
        self.removed.append(path)


def test_verbs_map_to_systemctl(tmp_path: Path) -> None:
    ops = FakeOps()
    manager = SystemdManager(ops, unit_dir=tmp_path)
    manager.start()
    manager.stop()
    manager.enable()
    manager.disable()
    name = "simple-risk-manager.service"
    assert ops.commands == [["systemctl", "start", "--no-block", name],
                            ["systemctl", "stop", "--no-block", name],
                            ["systemctl", "enable", name], ["systemctl", "disable", name]]
    assert manager.status().running
    assert ops.commands[-1][:4] == ["systemctl", "show", name, "--timestamp=utc"]


def test_a_refusal_carries_systemctls_message(tmp_path: Path) -> None:
    ops = FakeOps()
    ops.fail["start"] = "Failed to start simple-risk-manager.service: Access denied"
    with pytest.raises(ServiceError, match="Access denied"):
        SystemdManager(ops, unit_dir=tmp_path).start()


def _layout(tmp_path: Path) -> ServiceLayout:
    return ServiceLayout(state_dir=tmp_path / "var-lib", logs_dir=tmp_path / "var-log")


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "etc"
    config.mkdir()
    for name in ("accounts.yaml", "accounts.yaml.bak", "risk_config.yaml", "risk_config.yaml.bak",
                 "admin_password.hash", "secrets.env"):
        (config / name).write_text("x", encoding="utf-8")
    return config


def test_file_ownership_follows_the_table_of_cli_md_3(tmp_path: Path) -> None:
    config = _config(tmp_path)
    owners = {o.path.name: (o.user, o.group, oct(o.mode)) for o in config_ownership(config, ServiceLayout())}
    assert owners == {
        "etc": ("root", "srm", "0o750"),
        "accounts.yaml": ("srm", "srm", "0o600"),
        "accounts.yaml.bak": ("root", "root", "0o600"),
        "risk_config.yaml": ("root", "srm", "0o640"),
        "risk_config.yaml.bak": ("root", "srm", "0o640"),
        "admin_password.hash": ("root", "root", "0o600"),
        "secrets.env": ("root", "root", "0o600"),
    }
    logs = tmp_path / "logs"
    (logs / "old").mkdir(parents=True)
    (logs / "daemon.log").write_text("", encoding="utf-8")
    (logs / "admin.log").write_text("", encoding="utf-8")
    state = {o.path.name: (o.user, o.group, oct(o.mode)) for o in state_ownership(logs, ServiceLayout())}
    assert state == {"logs": ("srm", "srm-view", "0o750"), "old": ("srm", "srm-view", "0o750"),
                     "daemon.log": ("srm", "srm-view", "0o640"), "admin.log": ("root", "root", "0o640")}


def _request(tmp_path: Path, config: Path, *, start: bool = True) -> InstallRequest:
    python = tmp_path / "opt" / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True, exist_ok=True)
    (python.parent / "srm").write_text("#!/bin/sh\n", encoding="utf-8")
    return InstallRequest(config, tmp_path / "var-lib", tmp_path / "var-log", python, start=start)


def test_install_creates_accounts_sets_owners_writes_the_unit_and_starts(tmp_path: Path) -> None:
    config = _config(tmp_path)
    (tmp_path / "var-lib").mkdir()
    ops = FakeOps()
    manager = SystemdManager(ops, unit_dir=tmp_path / "units", layout=_layout(tmp_path))
    notes = manager.install(_request(tmp_path, config))
    assert ops.commands[:3] == [["groupadd", "--system", "srm"], ["groupadd", "--system", "srm-view"],
                                ["useradd", "--system", "--gid", "srm", "--no-create-home", "--home-dir",
                                 "/nonexistent", "--shell", ops.commands[2][8], "srm"]]
    assert ops.commands[2][8].endswith(("nologin", "false"))
    assert ops.commands[3:] == [["systemctl", "daemon-reload"], ["systemctl", "enable", manager.service_name],
                                ["systemctl", "start", "--no-block", manager.service_name]]
    text, mode = ops.files[tmp_path / "units" / "simple-risk-manager.service"]
    assert mode == 0o644
    assert f"ExecStart={tmp_path}/opt/venv/bin/srm run" in text.splitlines()
    assert f"Environment=SRM_CONFIG_DIR={config}" in text.splitlines()
    assert ops.owners[config / "accounts.yaml"] == ("srm", "srm", 0o600)
    assert ops.owners[tmp_path / "var-lib"] == ("srm", "srm-view", 0o750)
    assert any("usermod -aG srm-view" in note for note in notes)


def test_install_reuses_existing_accounts_and_can_skip_the_start(tmp_path: Path) -> None:
    ops = FakeOps(users=["srm"], groups=["srm", "srm-view"])
    manager = SystemdManager(ops, unit_dir=tmp_path / "units", layout=_layout(tmp_path))
    manager.install(_request(tmp_path, _config(tmp_path), start=False))
    assert [c[0] for c in ops.commands] == ["systemctl", "systemctl"]
    assert ops.commands[-1] == ["systemctl", "enable", manager.service_name]


@pytest.mark.parametrize("hidden", ["/home/alice/venv/bin/python", "/root/venv/bin/python"])
def test_install_refuses_a_program_the_unit_would_hide(tmp_path: Path, hidden: str) -> None:
    ops = FakeOps()
    manager = SystemdManager(ops, unit_dir=tmp_path, layout=_layout(tmp_path))
    request = InstallRequest(Path("/etc/simple-risk-manager"), tmp_path, tmp_path, Path(hidden))
    with pytest.raises(ServiceError, match="ProtectHome"):
        manager.install(request)
    assert ops.commands == [] and ops.files == {}


def test_install_needs_the_srm_script_beside_python(tmp_path: Path) -> None:
    request = InstallRequest(tmp_path, tmp_path, tmp_path, tmp_path / "nowhere" / "python")
    with pytest.raises(ServiceError, match=r"nowhere/srm not found"):
        SystemdManager(FakeOps(), unit_dir=tmp_path).install(request)


def test_uninstall_stops_disables_removes_and_reloads(tmp_path: Path) -> None:
    ops = FakeOps()
    manager = SystemdManager(ops, unit_dir=tmp_path)
    manager.uninstall()
    name = manager.service_name
    assert [c for c in ops.commands if c[1] != "show"] == [
        ["systemctl", "stop", name], ["systemctl", "disable", name], ["systemctl", "daemon-reload"]]
    assert ops.removed == [tmp_path / name]
    with pytest.raises(ServiceError, match="not installed"):
        SystemdManager(FakeOps(show="LoadState=not-found\n"), unit_dir=tmp_path).uninstall()
