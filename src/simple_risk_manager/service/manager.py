"""The one interface the Admin CLI uses to control the daemon's service (`cli.md` §2.5).

Backends: systemd (`systemd.SystemdManager`) and the Windows SCM (`windows.WindowsServiceManager`).
"No service manager" is a supported mode, not a backend: `detect_service_manager` returns None and the
service verbs exit 5. Backends report a `ServiceStatus`; waiting for a target state is shared here so
every backend waits the same 30 s the same way.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Final, Protocol

SERVICE_NAME_SYSTEMD: Final = "simple-risk-manager.service"
SERVICE_NAME_WINDOWS: Final = "SimpleRiskManager"
#: `cli.md` §2.3: start, stop and restart wait this long for the target state.
STATE_TIMEOUT_S: Final = 30.0
_POLL_S: Final = 0.25


class ServiceError(Exception):
    """A service operation failed; the message says what the service manager answered."""


class ActiveState(StrEnum):
    ACTIVE = "active"
    ACTIVATING = "activating"
    DEACTIVATING = "deactivating"
    INACTIVE = "inactive"
    FAILED = "failed"
    NOT_INSTALLED = "not-installed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    backend: str
    state: ActiveState
    pid: int | None = None
    #: When the service entered its current state (systemd) or started (Windows, when known).
    since: datetime | None = None
    #: Starts at boot; None when the backend cannot tell.
    enabled: bool | None = None
    detail: str = ""

    @property
    def installed(self) -> bool:
        return self.state is not ActiveState.NOT_INSTALLED

    @property
    def running(self) -> bool:
        return self.state is ActiveState.ACTIVE

    @property
    def stopped(self) -> bool:
        return self.state in (ActiveState.INACTIVE, ActiveState.FAILED, ActiveState.NOT_INSTALLED)

    def to_dict(self) -> dict[str, object]:
        return {"backend": self.backend, "installed": self.installed, "state": self.state.value,
                "pid": self.pid, "since": None if self.since is None else self.since.isoformat(),
                "enabled": self.enabled, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class InstallRequest:
    """What `service install` sets up: the directories the daemon uses and how to start it."""

    config_dir: Path
    data_dir: Path
    log_dir: Path
    #: The Python of the virtual environment the service runs; its `srm` script sits beside it.
    python: Path
    start: bool = True


class ServiceManager(Protocol):
    """Verbs of `srm service …`; each raises `ServiceError` with the service manager's answer."""

    backend: str
    service_name: str

    def status(self) -> ServiceStatus: ...

    def start(self) -> None:
        """Ask for a start; returns without waiting (callers use `wait_for_state`; a restart is a stop,
        a wait, a start and a wait, the same on every backend)."""

    def stop(self) -> None:
        """Ask for a stop; returns without waiting."""

    def enable(self) -> None:
        """Start at boot."""

    def disable(self) -> None: ...

    def install(self, request: InstallRequest) -> list[str]:
        """Register the service (and start it when asked); returns notes for the administrator."""

    def uninstall(self) -> None:
        """Stop, disable and unregister; configuration, data and logs stay."""


def wait_for_state(manager: ServiceManager, *, running: bool, timeout_s: float = STATE_TIMEOUT_S,
                   monotonic: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> ServiceStatus:
    """Poll until the service is running (or stopped); `ServiceError` after `timeout_s`.

    A start that ends in `failed` is reported at once: the daemon exited (e.g. exit 78, invalid
    configuration), and waiting longer would only hide that.
    """
    deadline = monotonic() + timeout_s
    while True:
        status = manager.status()
        if status.running if running else status.stopped:
            return status
        if running and status.state is ActiveState.FAILED:
            raise ServiceError(f"{manager.service_name} failed to start{_detail(status)}; "
                               "see srm admin service logs --file error")
        if monotonic() >= deadline:
            target = "running" if running else "stopped"
            raise ServiceError(f"{manager.service_name} is not {target} after {timeout_s:g} s "
                               f"(state {status.state.value}{_detail(status)})")
        sleep(_POLL_S)


def _detail(status: ServiceStatus) -> str:
    return f": {status.detail}" if status.detail else ""


def systemd_is_running(run_dir: Path = Path("/run/systemd/system")) -> bool:
    """sd_booted(3): systemd is PID 1 exactly when this directory exists, and `systemctl` is usable."""
    return run_dir.is_dir() and shutil.which("systemctl") is not None


def detect_service_manager(platform: str = sys.platform) -> ServiceManager | None:
    """The backend of this machine, or None (containers, WSL without systemd, macOS, no pywin32)."""
    if platform == "win32":
        from simple_risk_manager.service.windows import WindowsServiceManager, load_pywin32_scm

        scm = load_pywin32_scm()
        return None if scm is None else WindowsServiceManager(scm)
    if platform.startswith("linux") and systemd_is_running():
        from simple_risk_manager.service.systemd import SystemdManager

        return SystemdManager()
    return None
