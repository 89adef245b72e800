"""The Windows SCM backend (`cli.md` §2.5, C9): service `SimpleRiskManager`, which runs `srm run`.

Everything Windows-only sits behind `ScmApi` (install, start, stop, remove, start type, query) and is
imported on use, so this module imports on Linux and is tested there with a fake SCM.

The service host (`pythonservice.exe`) calls the service class on a thread that is not Python's main
thread, where asyncio's Windows event loop and signal handlers cannot be set up. So the host runs the
daemon as a child process — `python -m simple_risk_manager.cli.main run` with the installed
directories, the same code path as `srm run` — and supervises it: an SCM stop becomes Ctrl-Break in
the child's process group (the daemon's graceful shutdown, `daemon.md` §3.1) with 30 s to finish; an
exit the SCM did not ask for restarts the daemon after 10 s, except exit 2 and 78, which need an
administrator (the rules of the systemd unit: `Restart=always`, `RestartPreventExitStatus=2 78`).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Final, Protocol

from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.service.host import HostOps, SystemOps
from simple_risk_manager.service.manager import (
    SERVICE_NAME_WINDOWS,
    ActiveState,
    InstallRequest,
    ServiceError,
    ServiceStatus,
)

log = logging.getLogger(__name__)

DISPLAY_NAME: Final = "Simple Risk Manager"
DESCRIPTION: Final = "Real-time risk guard for TopstepX / ProjectX accounts (srm run)."
SERVICE_CLASS: Final = "SimpleRiskManagerService"
CLASS_STRING: Final = f"{__name__}.{SERVICE_CLASS}"
COMMAND_OPTION: Final = "command"
RESTART_DELAY_S: Final = 10.0
STOP_GRACE_S: Final = 30.0
NO_RESTART_CODES: Final = frozenset({int(ExitCode.USAGE), int(ExitCode.CONFIG_INVALID)})
_POLL_S: Final = 0.5

# Win32 service states and start types (winsvc.h); fixed by the API, so no import is needed to read them.
_STATES: Final = {1: ActiveState.INACTIVE, 2: ActiveState.ACTIVATING, 3: ActiveState.DEACTIVATING,
                  4: ActiveState.ACTIVE, 5: ActiveState.ACTIVATING, 6: ActiveState.DEACTIVATING,
                  7: ActiveState.INACTIVE}
_AUTO_START: Final = 2
_ERROR_SERVICE_DOES_NOT_EXIST: Final = 1060


class StartType(Enum):
    AUTOMATIC = "automatic"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class ScmState:
    """What the SCM reports about the service: Win32 state code, process id, whether it starts at boot."""

    state_code: int
    pid: int | None
    automatic: bool
    exit_code: int = 0


class ScmApi(Protocol):
    """The SCM calls the backend needs; each raises `ServiceError` with the SCM's message."""

    def query(self, name: str) -> ScmState | None:
        """None when the service is not installed."""

    def install(self, name: str, command: Sequence[str]) -> None:
        """Register the service class, automatic start, restart-on-failure, and the daemon command."""

    def remove(self, name: str) -> None: ...

    def start(self, name: str) -> None: ...

    def stop(self, name: str) -> None: ...

    def set_start_type(self, name: str, start: StartType) -> None: ...


def daemon_command(request: InstallRequest) -> list[str]:
    """The child the service host runs: `srm run` with the installed directories, spelled out."""
    return [str(request.python), "-m", "simple_risk_manager.cli.main", "run",
            "--config-dir", str(request.config_dir), "--data-dir", str(request.data_dir),
            "--log-dir", str(request.log_dir)]


def restrict_config_acl(ops: SystemOps, config_dir: Path) -> None:
    """Only SYSTEM (the service) and Administrators may read the configuration (`config.md` §1)."""
    result = ops.run(["icacls", str(config_dir), "/inheritance:r", "/grant:r", "*S-1-5-18:(OI)(CI)F",
                      "/grant:r", "*S-1-5-32-544:(OI)(CI)F"])
    if not result.ok:
        raise ServiceError(f"icacls failed on {config_dir}: {result.error_text()}")


class WindowsServiceManager:
    backend = "windows"
    service_name = SERVICE_NAME_WINDOWS

    def __init__(self, scm: ScmApi, ops: SystemOps | None = None) -> None:
        self._scm = scm
        self._ops = ops or HostOps()

    def status(self) -> ServiceStatus:
        state = self._scm.query(self.service_name)
        if state is None:
            return ServiceStatus(self.backend, ActiveState.NOT_INSTALLED, detail="service not installed")
        active = _STATES.get(state.state_code, ActiveState.UNKNOWN)
        detail = ""
        if active is ActiveState.INACTIVE and state.exit_code:
            active, detail = ActiveState.FAILED, f"exit code {state.exit_code}"
        return ServiceStatus(self.backend, active, state.pid if active is ActiveState.ACTIVE else None,
                             None, state.automatic, detail)

    def start(self) -> None:
        self._scm.start(self.service_name)

    def stop(self) -> None:
        self._scm.stop(self.service_name)

    def enable(self) -> None:
        self._scm.set_start_type(self.service_name, StartType.AUTOMATIC)

    def disable(self) -> None:
        self._scm.set_start_type(self.service_name, StartType.MANUAL)

    def install(self, request: InstallRequest) -> list[str]:
        for directory in (request.config_dir, request.data_dir, request.log_dir):
            directory.mkdir(parents=True, exist_ok=True)
        restrict_config_acl(self._ops, request.config_dir)
        self._scm.install(self.service_name, daemon_command(request))
        if request.start:
            self.start()
        return [f"service {self.service_name} runs: {' '.join(daemon_command(request))}",
                "it starts at boot as LocalSystem; traders need read access to "
                f"{request.data_dir} for the dashboard's saved state"]

    def uninstall(self) -> None:
        status = self.status()
        if not status.installed:
            raise ServiceError(f"{self.service_name} is not installed")
        if not status.stopped:
            self.stop()
        self._scm.remove(self.service_name)


# --- the supervisor inside the service host -------------------------------------------------------

class DaemonProcess(Protocol):
    def wait(self, timeout_s: float | None) -> int | None:
        """The exit code, or None when the process is still running after `timeout_s`."""

    def request_stop(self) -> None:
        """The graceful shutdown request (Ctrl-Break)."""

    def kill(self) -> None: ...


class DaemonSupervisor:
    """Runs the daemon until the SCM asks for a stop, restarting it as the systemd unit would."""

    def __init__(self, spawn: Callable[[], DaemonProcess], *, restart_delay_s: float = RESTART_DELAY_S,
                 stop_grace_s: float = STOP_GRACE_S, poll_s: float = _POLL_S) -> None:
        self._spawn = spawn
        self._restart_delay_s = restart_delay_s
        self._stop_grace_s = stop_grace_s
        self._poll_s = poll_s
        self._stop = threading.Event()

    def request_stop(self) -> None:
        """From the SCM's thread: stop the daemon gracefully and end `run`."""
        self._stop.set()

    def run(self) -> int:
        """Supervise until stopped (returns 0) or the daemon exits with 2 or 78 (returns that code)."""
        while not self._stop.is_set():
            child = self._spawn()
            code = self._until_exit_or_stop(child)
            if self._stop.is_set():
                return 0
            if code in NO_RESTART_CODES:
                log.error("daemon exited with code %d; not restarting (an administrator must fix it)", code)
                return code
            log.warning("daemon exited with code %d; restarting in %.0f s", code, self._restart_delay_s)
            self._stop.wait(self._restart_delay_s)
        return 0

    def _until_exit_or_stop(self, child: DaemonProcess) -> int:
        while True:
            code = child.wait(self._poll_s)
            if code is not None:
                return code
            if self._stop.is_set():
                child.request_stop()
                code = child.wait(self._stop_grace_s)
                if code is None:
                    log.error("daemon did not stop within %.0f s; terminating it", self._stop_grace_s)
                    child.kill()
                    code = child.wait(None)
                return code if code is not None else 0


class ChildProcess:
    """`srm run` as a child in its own process group, sharing the host's console so Ctrl-Break reaches it."""

    def __init__(self, command: Sequence[str]) -> None:
        flags = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        self._process = subprocess.Popen(list(command), creationflags=flags, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def wait(self, timeout_s: float | None) -> int | None:
        try:
            return self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def request_stop(self) -> None:
        os.kill(self._process.pid, getattr(signal, "CTRL_BREAK_EVENT", signal.SIGTERM))

    def kill(self) -> None:
        self._process.kill()


def service_class() -> type[Any]:
    """The pywin32 service class; built on first use because its base class exists only on Windows."""
    import pywintypes
    import servicemanager
    import win32service
    import win32serviceutil

    class SimpleRiskManagerService(win32serviceutil.ServiceFramework):  # type: ignore[misc]
        _svc_name_ = SERVICE_NAME_WINDOWS
        _svc_display_name_ = DISPLAY_NAME
        _svc_description_ = DESCRIPTION

        def __init__(self, args: Any) -> None:
            super().__init__(args)
            stored = win32serviceutil.GetServiceCustomOption(SERVICE_NAME_WINDOWS, COMMAND_OPTION)
            command = json.loads(stored)
            self.supervisor = DaemonSupervisor(lambda: ChildProcess(command))

        def SvcStop(self) -> None:  # noqa: N802 (pywin32's name)
            self.ReportServiceStatus(win32service.SERVICE_STOP_PENDING,
                                     waitHint=int((STOP_GRACE_S + 5) * 1000))
            self.supervisor.request_stop()

        def SvcDoRun(self) -> None:  # noqa: N802 (pywin32's name)
            try:
                # A console shared with the child, so Ctrl-Break can reach its process group.
                importlib.import_module("win32console").AllocConsole()
            except pywintypes.error:
                log.debug("service host already has a console")
            servicemanager.LogInfoMsg(f"{SERVICE_NAME_WINDOWS}: starting the daemon")
            code = self.supervisor.run()
            if code:
                servicemanager.LogErrorMsg(f"{SERVICE_NAME_WINDOWS}: daemon exited with code {code}; "
                                           "check the configuration (srm check-config)")

    return SimpleRiskManagerService


def __getattr__(name: str) -> Any:
    """`pythonservice.exe` looks the class up by name (`CLASS_STRING`): build it then."""
    if name == SERVICE_CLASS:
        return service_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class PyWin32Scm:
    """`ScmApi` over pywin32; constructed only where pywin32 imports (`load_pywin32_scm`)."""

    def __init__(self) -> None:
        import pywintypes
        import win32service
        import win32serviceutil

        self._error: type[Exception] = pywintypes.error
        self._svc = win32service
        self._util = win32serviceutil

    def _call(self, what: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except self._error as exc:
            raise ServiceError(f"{what} failed: {getattr(exc, 'strerror', exc)}") from None

    def _open(self, name: str, access: int) -> tuple[Any, Any] | None:
        """(manager, service) handles; None when the service does not exist."""
        manager = self._call("OpenSCManager", self._svc.OpenSCManager, None, None,
                             self._svc.SC_MANAGER_ALL_ACCESS)
        try:
            return manager, self._svc.OpenService(manager, name, access)
        except self._error as exc:
            self._svc.CloseServiceHandle(manager)
            if getattr(exc, "winerror", None) == _ERROR_SERVICE_DOES_NOT_EXIST:
                return None
            raise ServiceError(f"OpenService failed: {getattr(exc, 'strerror', exc)}") from None

    def _open_existing(self, name: str, access: int) -> tuple[Any, Any]:
        handles = self._open(name, access)
        if handles is None:
            raise ServiceError(f"{name} is not installed")
        return handles

    def _close(self, handles: tuple[Any, Any]) -> None:
        self._svc.CloseServiceHandle(handles[1])
        self._svc.CloseServiceHandle(handles[0])

    def query(self, name: str) -> ScmState | None:
        handles = self._open(name, self._svc.SERVICE_QUERY_STATUS | self._svc.SERVICE_QUERY_CONFIG)
        if handles is None:
            return None
        try:
            status = self._call("QueryServiceStatusEx", self._svc.QueryServiceStatusEx, handles[1])
            config = self._call("QueryServiceConfig", self._svc.QueryServiceConfig, handles[1])
        finally:
            self._close(handles)
        pid = int(status.get("ProcessId") or 0) or None
        exit_code = int(status.get("Win32ExitCode") or 0) or int(status.get("ServiceSpecificExitCode") or 0)
        return ScmState(int(status["CurrentState"]), pid, int(config[1]) == _AUTO_START, exit_code)

    def install(self, name: str, command: Sequence[str]) -> None:
        self._call("InstallService", self._util.InstallService, CLASS_STRING, name, DISPLAY_NAME,
                   startType=self._svc.SERVICE_AUTO_START, description=DESCRIPTION)
        self._call("SetServiceCustomOption", self._util.SetServiceCustomOption, name, COMMAND_OPTION,
                   json.dumps(list(command)))
        handles = self._open_existing(name, self._svc.SERVICE_ALL_ACCESS)
        try:
            # The host itself crashing is restarted too; the daemon's own exits are the supervisor's.
            restart = (self._svc.SC_ACTION_RESTART, int(RESTART_DELAY_S * 1000))
            self._call("ChangeServiceConfig2", self._svc.ChangeServiceConfig2, handles[1],
                       self._svc.SERVICE_CONFIG_FAILURE_ACTIONS,
                       {"ResetPeriod": 0, "RebootMsg": None, "Command": None,
                        "Actions": [restart, restart, restart]})
        finally:
            self._close(handles)

    def remove(self, name: str) -> None:
        self._call("RemoveService", self._util.RemoveService, name)

    def start(self, name: str) -> None:
        self._call("StartService", self._util.StartService, name)

    def stop(self, name: str) -> None:
        self._call("StopService", self._util.StopService, name)

    def set_start_type(self, name: str, start: StartType) -> None:
        automatic = start is StartType.AUTOMATIC
        value = self._svc.SERVICE_AUTO_START if automatic else self._svc.SERVICE_DEMAND_START
        handles = self._open_existing(name, self._svc.SERVICE_CHANGE_CONFIG)
        try:
            no_change = self._svc.SERVICE_NO_CHANGE
            self._call("ChangeServiceConfig", self._svc.ChangeServiceConfig, handles[1], no_change, value,
                       no_change, None, None, 0, None, None, None, None)
        finally:
            self._close(handles)


def load_pywin32_scm() -> PyWin32Scm | None:
    """The SCM through pywin32, or None where pywin32 is not installed (service verbs then exit 5)."""
    try:
        return PyWin32Scm()
    except ImportError:
        return None
