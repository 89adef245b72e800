"""The Windows backend on Linux: the manager over a fake SCM, the supervisor that runs `srm run` in the
service host, the pywin32 service class built against fake pywin32 modules, and the promise that
importing the module loads nothing Windows-only."""

from __future__ import annotations

import subprocess
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from simple_risk_manager.service.host import CommandResult
from simple_risk_manager.service.manager import ActiveState, InstallRequest, ServiceError
from simple_risk_manager.service.windows import (
    CLASS_STRING,
    DaemonSupervisor,
    ScmState,
    StartType,
    WindowsServiceManager,
    daemon_command,
    load_pywin32_scm,
)

RUNNING, STOPPED, START_PENDING = 4, 1, 2


class FakeScm:
    def __init__(self, state: ScmState | None = None) -> None:
        self.state = state
        self.calls: list[tuple[str, ...]] = []
        self.command: list[str] | None = None

    def query(self, name: str) -> ScmState | None:
        return self.state

    def install(self, name: str, command: Sequence[str]) -> None:
        self.calls.append(("install", name))
        self.command = list(command)
        self.state = ScmState(STOPPED, None, True)

    def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        self.state = None

    def start(self, name: str) -> None:
        self.calls.append(("start", name))
        self.state = ScmState(RUNNING, 321, True)

    def stop(self, name: str) -> None:
        self.calls.append(("stop", name))
        self.state = ScmState(STOPPED, None, True)

    def set_start_type(self, name: str, start: StartType) -> None:
        self.calls.append(("start-type", start.value))


class RecordingOps:
    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def run(self, argv: Sequence[str]) -> CommandResult:
        self.commands.append(list(argv))
        return CommandResult(0, "", "")

    def user_exists(self, name: str) -> bool:
        return True

    def group_exists(self, name: str) -> bool:
        return True

    def set_owner(self, path: Path, user: str, group: str, mode: int) -> None: ...

    def write_file(self, path: Path, text: str, mode: int) -> None: ...

    def remove_file(self, path: Path) -> None: ...


@pytest.mark.parametrize(("state", "expected", "pid"), [
    pytest.param(None, ActiveState.NOT_INSTALLED, None, id="not-installed"),
    pytest.param(ScmState(RUNNING, 321, True), ActiveState.ACTIVE, 321, id="running"),
    pytest.param(ScmState(START_PENDING, None, True), ActiveState.ACTIVATING, None, id="start-pending"),
    pytest.param(ScmState(STOPPED, None, False), ActiveState.INACTIVE, None, id="stopped"),
    pytest.param(ScmState(STOPPED, None, True, exit_code=78), ActiveState.FAILED, None, id="stopped-with-78"),
])
def test_scm_states_map_to_service_states(state: ScmState | None, expected: ActiveState,
                                          pid: int | None) -> None:
    status = WindowsServiceManager(FakeScm(state), RecordingOps()).status()
    assert (status.state, status.pid) == (expected, pid)


def test_install_restricts_the_config_acl_registers_the_daemon_command_and_starts(tmp_path: Path) -> None:
    scm, ops = FakeScm(), RecordingOps()
    manager = WindowsServiceManager(scm, ops)
    request = InstallRequest(tmp_path / "config", tmp_path / "data", tmp_path / "logs",
                             Path(r"C:\srm\venv\Scripts\python.exe"))
    notes = manager.install(request)
    assert all(d.is_dir() for d in (request.config_dir, request.data_dir, request.log_dir))
    assert ops.commands[0][:3] == ["icacls", str(request.config_dir), "/inheritance:r"]
    assert scm.command == daemon_command(request) == [
        r"C:\srm\venv\Scripts\python.exe", "-m", "simple_risk_manager.cli.main", "run",
        "--config-dir", str(request.config_dir), "--data-dir", str(request.data_dir),
        "--log-dir", str(request.log_dir)]
    assert scm.calls == [("install", "SimpleRiskManager"), ("start", "SimpleRiskManager")]
    assert manager.status().running and any("srm" in note for note in notes)


def test_autostart_uninstall(tmp_path: Path) -> None:
    scm = FakeScm(ScmState(RUNNING, 321, True))
    manager = WindowsServiceManager(scm, RecordingOps())
    manager.disable()
    manager.enable()
    manager.uninstall()
    assert scm.calls == [("start-type", "manual"), ("start-type", "automatic"), ("stop", "SimpleRiskManager"),
                         ("remove", "SimpleRiskManager")]
    with pytest.raises(ServiceError, match="not installed"):
        manager.uninstall()


class FakeChild:
    """A daemon process: `exits` are the codes `wait` returns in turn (None = still running)."""

    def __init__(self, exits: Sequence[int | None], exit_on_stop: int | None = 0) -> None:
        self._exits = list(exits)
        self.exit_on_stop = exit_on_stop
        self.stop_requested = False
        self.killed = False

    def wait(self, timeout_s: float | None) -> int | None:
        if self.killed:
            return -9
        if self.stop_requested:
            return self.exit_on_stop
        return self._exits.pop(0) if len(self._exits) > 1 else self._exits[0]

    def request_stop(self) -> None:
        self.stop_requested = True

    def kill(self) -> None:
        self.killed = True


def _spawner(children: list[FakeChild]) -> tuple[Iterator[FakeChild], list[FakeChild]]:
    spawned: list[FakeChild] = []

    def spawn() -> Iterator[FakeChild]:
        for child in children:
            spawned.append(child)
            yield child

    return spawn(), spawned


def test_the_supervisor_restarts_a_crashed_daemon_but_not_after_78() -> None:
    source, spawned = _spawner([FakeChild([None, 1]), FakeChild([75]), FakeChild([78])])
    supervisor = DaemonSupervisor(lambda: next(source), restart_delay_s=0, poll_s=0)
    assert supervisor.run() == 78
    assert len(spawned) == 3


def test_a_stop_request_becomes_a_graceful_stop_of_the_daemon() -> None:
    child = FakeChild([None])
    supervisor: DaemonSupervisor

    def spawn() -> FakeChild:
        supervisor.request_stop()  # the SCM asks while the daemon runs
        return child

    supervisor = DaemonSupervisor(spawn, restart_delay_s=0, poll_s=0)
    assert supervisor.run() == 0
    assert child.stop_requested and not child.killed


def test_a_daemon_that_ignores_the_stop_is_killed_after_the_grace() -> None:
    child = FakeChild([None], exit_on_stop=None)
    supervisor: DaemonSupervisor

    def spawn() -> FakeChild:
        supervisor.request_stop()
        return child

    supervisor = DaemonSupervisor(spawn, restart_delay_s=0, stop_grace_s=0, poll_s=0)
    assert supervisor.run() == 0
    assert child.stop_requested and child.killed


def _fake_pywin32(monkeypatch: pytest.MonkeyPatch, options: dict[str, str]) -> list[tuple[str, object]]:
    """Minimal stand-ins for the pywin32 modules the service class touches."""
    events: list[tuple[str, object]] = []

    class ServiceFramework:
        def __init__(self, args: object) -> None:
            events.append(("framework", args))

        def ReportServiceStatus(self, state: int, waitHint: int = 0) -> None:  # noqa: N803
            events.append(("report", state))

    class Error(Exception):
        pass

    modules = {
        "win32serviceutil": types.SimpleNamespace(
            ServiceFramework=ServiceFramework,
            GetServiceCustomOption=lambda name, option: options[option]),
        "win32service": types.SimpleNamespace(SERVICE_STOP_PENDING=3),
        "servicemanager": types.SimpleNamespace(LogInfoMsg=lambda m: events.append(("info", m)),
                                                LogErrorMsg=lambda m: events.append(("error", m))),
        "pywintypes": types.SimpleNamespace(error=Error),
        "win32console": types.SimpleNamespace(AllocConsole=lambda: events.append(("console", None))),
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return events


def test_the_service_class_runs_the_installed_command_and_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import simple_risk_manager.service.windows as windows

    command = '["python", "-m", "simple_risk_manager.cli.main", "run"]'
    events = _fake_pywin32(monkeypatch, {"command": command})
    started: list[Sequence[str]] = []

    class Child(FakeChild):
        def __init__(self, command: Sequence[str]) -> None:
            super().__init__([78])
            started.append(command)

    monkeypatch.setattr(windows, "ChildProcess", Child)
    service_type = windows.SimpleRiskManagerService  # built on attribute access, as pythonservice.exe does
    assert service_type._svc_name_ == "SimpleRiskManager"
    assert CLASS_STRING == "simple_risk_manager.service.windows.SimpleRiskManagerService"
    service = service_type(("SimpleRiskManager",))
    service.SvcDoRun()
    assert started == [["python", "-m", "simple_risk_manager.cli.main", "run"]]
    assert ("console", None) in events
    assert any(kind == "error" and "code 78" in str(message) for kind, message in events)
    service.SvcStop()
    assert ("report", 3) in events


def test_importing_the_windows_backend_loads_nothing_windows_only() -> None:
    code = ("import sys, simple_risk_manager.service, simple_risk_manager.service.windows, "
            "simple_risk_manager.cli.admin, simple_risk_manager.cli.service; "
            "bad = ('win32', 'pywintypes', 'servicemanager', 'msvcrt', 'winreg', '_winapi', 'win32console'); "
            "print(sorted(m for m in sys.modules if m.startswith(bad)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=60)
    assert done.stdout.strip() == "[]"
    assert load_pywin32_scm() is None
