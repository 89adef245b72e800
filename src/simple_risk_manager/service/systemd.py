"""The systemd backend (`cli.md` §2.5): the unit file and the verbs through `systemctl`.

The unit is the one of `cli.md` §2.5 with the real paths filled in; status comes from
`systemctl show`. Start and stop are queued with `--no-block` and the caller waits for the state
(`manager.wait_for_state`), so a hung start never hangs the Admin CLI.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from simple_risk_manager.service.host import HostOps, SystemOps
from simple_risk_manager.service.linux_install import (
    DEFAULT_LAYOUT,
    ServiceLayout,
    prepare_install,
    refuse_hidden_paths,
)
from simple_risk_manager.service.manager import (
    SERVICE_NAME_SYSTEMD,
    ActiveState,
    InstallRequest,
    ServiceError,
    ServiceStatus,
)

UNIT_DIR: Final = Path("/etc/systemd/system")
SECRETS_ENV_FILE: Final = "secrets.env"
_SHOW_PROPERTIES: Final = ("LoadState", "ActiveState", "SubState", "MainPID", "ActiveEnterTimestamp",
                           "InactiveEnterTimestamp", "UnitFileState", "Result", "ExecMainStatus")
_STATES: Final = {state.value: state for state in ActiveState}
_TIMESTAMP_FORMAT: Final = "%a %Y-%m-%d %H:%M:%S UTC"

UNIT_TEMPLATE: Final = """\
[Unit]
Description=Simple Risk Manager daemon
Wants=network-online.target
After=network-online.target
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
User={user}
Group={viewer_group}
SupplementaryGroups={group}
ExecStart={exec_start}
Environment={config_env}
EnvironmentFile=-{secrets_env}
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


def _escape_specifiers(text: str) -> str:
    """systemd expands `%x` specifiers and `$VAR` in these settings; a path must stay literal."""
    return text.replace("%", "%%")


def _quoted_word(text: str) -> str:
    """One word of a command line or an assignment: double-quoted when it holds blanks or quotes."""
    escaped = _escape_specifiers(text)
    if not any(ch.isspace() or ch in "\"'\\" for ch in escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_unit(executable: Path, config_dir: Path, layout: ServiceLayout = DEFAULT_LAYOUT) -> str:
    """The unit text: `ExecStart=<venv>/bin/srm run`, the config directory and its `secrets.env`."""
    if not executable.is_absolute() or not config_dir.is_absolute():
        raise ValueError(f"render_unit: absolute paths needed (got {executable} and {config_dir})")
    return UNIT_TEMPLATE.format(
        user=layout.user, group=layout.group, viewer_group=layout.viewer_group,
        exec_start=f"{_quoted_word(str(executable)).replace('$', '$$')} run",
        config_env=_quoted_word(f"SRM_CONFIG_DIR={config_dir}"),
        secrets_env=_escape_specifiers(str(config_dir / SECRETS_ENV_FILE)),
    )


def parse_show(text: str) -> dict[str, str]:
    """`systemctl show` output (`Key=Value` lines) as a mapping."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values


def status_from_show(values: Mapping[str, str]) -> ServiceStatus:
    """A `ServiceStatus` from the properties of `_SHOW_PROPERTIES`."""
    if values.get("LoadState") == "not-found":
        return ServiceStatus("systemd", ActiveState.NOT_INSTALLED, detail="unit not installed")
    state = _STATES.get(values.get("ActiveState", ""), ActiveState.UNKNOWN)
    pid_text = values.get("MainPID", "0")
    pid = int(pid_text) if pid_text.isdigit() and int(pid_text) > 0 else None
    stamp_key = "ActiveEnterTimestamp" if state is ActiveState.ACTIVE else "InactiveEnterTimestamp"
    unit_file = values.get("UnitFileState", "")
    enabled = True if unit_file.startswith("enabled") else False if unit_file == "disabled" else None
    detail = values.get("SubState", "")
    if state is ActiveState.FAILED:
        exit_status = values.get("ExecMainStatus", "")
        detail = f"{values.get('Result', 'failed')}, exit status {exit_status}" if exit_status else detail
    return ServiceStatus("systemd", state, pid, _parse_timestamp(values.get(stamp_key, "")), enabled, detail)


def _parse_timestamp(text: str) -> datetime | None:
    """`Mon 2025-03-04 15:02:11 UTC` (asked for with `--timestamp=utc`); None when empty or unknown."""
    try:
        return datetime.strptime(text, _TIMESTAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def srm_program(python: Path) -> Path:
    """`<venv>/bin/srm`: the console script beside the virtual environment's Python."""
    return python.parent / "srm"


class SystemdManager:
    backend = "systemd"
    service_name = SERVICE_NAME_SYSTEMD

    def __init__(self, ops: SystemOps | None = None, unit_dir: Path = UNIT_DIR,
                 layout: ServiceLayout = DEFAULT_LAYOUT) -> None:
        self._ops = ops or HostOps()
        self._unit_dir = unit_dir
        self._layout = layout

    @property
    def unit_path(self) -> Path:
        return self._unit_dir / self.service_name

    def status(self) -> ServiceStatus:
        argv = ["systemctl", "show", self.service_name, "--timestamp=utc"]
        for name in _SHOW_PROPERTIES:
            argv += ["-p", name]
        result = self._ops.run(argv)
        if not result.ok:
            raise ServiceError(f"systemctl show failed: {result.error_text()}")
        return status_from_show(parse_show(result.stdout))

    def start(self) -> None:
        self._systemctl("start", "--no-block", self.service_name)

    def stop(self) -> None:
        self._systemctl("stop", "--no-block", self.service_name)

    def enable(self) -> None:
        self._systemctl("enable", self.service_name)

    def disable(self) -> None:
        self._systemctl("disable", self.service_name)

    def install(self, request: InstallRequest) -> list[str]:
        """Accounts, permissions (`cli.md` §3), the unit, `daemon-reload`, `enable`; `start` when asked."""
        refuse_hidden_paths(request)
        program = srm_program(request.python)
        if not program.is_file():
            raise ServiceError(f"{program} not found: install simple-risk-manager into a virtual environment "
                               "and run this command with its srm")
        notes = prepare_install(self._ops, request, self._layout)
        unit = render_unit(program, request.config_dir, self._layout)
        self._ops.write_file(self.unit_path, unit, 0o644)
        self._systemctl("daemon-reload")
        self.enable()
        if request.start:
            self.start()
        return notes

    def uninstall(self) -> None:
        """Stop (waiting, as `systemctl stop` does), disable, remove the unit, `daemon-reload`."""
        if not self.status().installed:
            raise ServiceError(f"{self.service_name} is not installed")
        self._systemctl("stop", self.service_name)
        self.disable()
        self._ops.remove_file(self.unit_path)
        self._systemctl("daemon-reload")

    def _systemctl(self, *arguments: str) -> None:
        result = self._ops.run(["systemctl", *arguments])
        if not result.ok:
            raise ServiceError(f"systemctl {arguments[0]} failed: {result.error_text()}")
