"""The shared service pieces: waiting for a state, backend detection, and where an installed service's
files are (the Admin CLI's fallback directories)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.service.layout import admin_directories, installed_directories
from simple_risk_manager.service.manager import (
    ActiveState,
    InstallRequest,
    ServiceError,
    ServiceStatus,
    detect_service_manager,
    systemd_is_running,
    wait_for_state,
)


class Scripted:
    """A service whose state follows a script, one entry per `status()` call (the last one repeats)."""

    backend = "scripted"
    service_name = "simple-risk-manager.service"

    def __init__(self, *states: ActiveState) -> None:
        self.states = list(states)

    def status(self) -> ServiceStatus:
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return ServiceStatus(self.backend, state, detail="exit-code, exit status 78"
                             if state is ActiveState.FAILED else "")

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def enable(self) -> None: ...

    def disable(self) -> None: ...

    def install(self, request: InstallRequest) -> list[str]:
        return []

    def uninstall(self) -> None: ...


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 3, 4, tzinfo=UTC))


def test_wait_returns_once_the_state_is_reached(clock: ManualClock) -> None:
    start = clock.monotonic()
    service = Scripted(ActiveState.ACTIVATING, ActiveState.ACTIVATING, ActiveState.ACTIVE)
    status = wait_for_state(service, running=True, monotonic=clock.monotonic, sleep=clock.advance)
    assert status.running and clock.monotonic() - start == pytest.approx(0.5)


def test_wait_gives_up_after_30_seconds(clock: ManualClock) -> None:
    start = clock.monotonic()
    with pytest.raises(ServiceError, match=r"not stopped after 30 s \(state deactivating\)"):
        wait_for_state(Scripted(ActiveState.DEACTIVATING), running=False, monotonic=clock.monotonic,
                       sleep=clock.advance)
    assert clock.monotonic() - start == pytest.approx(30.0)


def test_a_failed_start_is_reported_at_once(clock: ManualClock) -> None:
    start = clock.monotonic()
    with pytest.raises(ServiceError, match="failed to start: exit-code, exit status 78"):
        wait_for_state(Scripted(ActiveState.ACTIVATING, ActiveState.FAILED), running=True,
                       monotonic=clock.monotonic, sleep=clock.advance)
    assert clock.monotonic() - start == pytest.approx(0.25)


def test_stopped_includes_failed_and_not_installed() -> None:
    assert ServiceStatus("x", ActiveState.FAILED).stopped
    assert ServiceStatus("x", ActiveState.NOT_INSTALLED).stopped and not ServiceStatus("x",
                                                                                       ActiveState.NOT_INSTALLED).installed


def test_no_backend_on_macos_or_without_pywin32(tmp_path: Path) -> None:
    assert detect_service_manager("darwin") is None
    assert detect_service_manager("win32") is None  # pywin32 is not importable here
    assert not systemd_is_running(tmp_path / "no-such-dir")


def test_installed_directories_per_platform() -> None:
    linux = installed_directories("linux", {})
    assert linux == Directories(Path("/etc/simple-risk-manager"), Path("/var/lib/simple-risk-manager"),
                                Path("/var/log/simple-risk-manager"))
    windows = installed_directories("win32", {"ProgramData": r"D:\Data"})
    assert str(windows.config_dir).startswith("D:\\Data")
    assert windows.config_dir.parts[-2:] == ("SimpleRiskManager", "config")
    assert windows.data_dir.name == "data" and windows.log_dir.name == "logs"


def test_admin_directories_fall_back_to_the_installed_layout_only_when_it_exists(tmp_path: Path) -> None:
    installed = Directories(tmp_path / "etc", tmp_path / "lib", tmp_path / "log")
    assert admin_directories(None, None, None, env={}, installed=installed) == Directories(
        Path("config"), Path("data"), Path("logs"))
    installed.config_dir.mkdir()
    assert admin_directories(None, None, None, env={}, installed=installed) == installed
    named = admin_directories("mine", None, None, env={"SRM_DATA_DIR": "/d"}, installed=installed)
    assert named == Directories(Path("mine"), Path("/d"), installed.log_dir)
    systemd = admin_directories(None, None, None, env={"LOGS_DIRECTORY": "/run/logs"}, installed=installed)
    assert systemd.log_dir == Path("/run/logs") and systemd.config_dir == installed.config_dir
