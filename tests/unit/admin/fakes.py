"""Test doubles for the Admin CLI: a service manager whose "daemon" holds the real instance lock while
it runs, and a harness that runs `srm admin …` / `srm service …` on a temporary directory with a
scripted terminal, a manual clock and an injected administrator check."""

from __future__ import annotations

import argparse
import io
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import bcrypt

from simple_risk_manager.admin.console import Console
from simple_risk_manager.admin.runner import Dependencies
from simple_risk_manager.cli import admin as admin_cli
from simple_risk_manager.cli import service as service_cli
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.runtime.instance_lock import InstanceLock, InstanceLockedError, lock_path
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.service.manager import ActiveState, InstallRequest, ServiceError, ServiceStatus

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "config"
T0 = datetime(2025, 3, 4, 15, 2, 11, tzinfo=UTC)
PASSWORD = "correct horse battery"
#: Cost 10, the cheapest the hash file accepts, keeps logins fast in tests.
TEST_COST = 10


def write_password(config_dir: Path, password: str = PASSWORD) -> None:
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=TEST_COST, prefix=b"2b")).decode()
    path = config_dir / "admin_password.hash"
    path.write_text(hashed + "\n", encoding="ascii")
    path.chmod(0o600)


class FakeServiceManager:
    """The service manager's view of a daemon: running holds `data/daemon.lock` as `srm run` would."""

    backend = "fake"
    service_name = "simple-risk-manager.service"

    def __init__(self, data_dir: Path, *, installed: bool = True, running: bool = False,
                 since: datetime | None = None) -> None:
        self.data_dir = data_dir
        self.installed = installed
        self.enabled = True
        self.since = since
        self.calls: list[str] = []
        self.fail_stop = False
        self.fail_start = False
        self.install_requests: list[InstallRequest] = []
        self._lock: InstanceLock | None = None
        if running:
            self._run()

    @property
    def running(self) -> bool:
        return self._lock is not None

    def _run(self) -> None:
        self._lock = InstanceLock(lock_path(self.data_dir))
        self._lock.acquire()

    def status(self) -> ServiceStatus:
        if not self.installed:
            return ServiceStatus(self.backend, ActiveState.NOT_INSTALLED)
        state = ActiveState.ACTIVE if self.running else ActiveState.INACTIVE
        return ServiceStatus(self.backend, state, 4242 if self.running else None, self.since, self.enabled)

    def start(self) -> None:
        self.calls.append("start")
        if self.fail_start:
            raise ServiceError("start refused")
        if not self.running:
            try:
                self._run()
            except InstanceLockedError:  # the real daemon would exit 75 and the unit stay inactive
                self._lock = None

    def stop(self) -> None:
        self.calls.append("stop")
        if self.fail_stop:
            raise ServiceError("stop refused")
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def enable(self) -> None:
        self.calls.append("enable")
        self.enabled = True

    def disable(self) -> None:
        self.calls.append("disable")
        self.enabled = False

    def install(self, request: InstallRequest) -> list[str]:
        self.calls.append("install")
        self.install_requests.append(request)
        self.installed = True
        if request.start:
            self._run()
        return ["installed by the fake"]

    def uninstall(self) -> None:
        self.calls.append("uninstall")
        self.stop()
        self.installed = False


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@dataclass
class AdminHarness:
    """`srm admin` on `root/{config,data,logs}`; the config starts as the shipped files."""

    root: Path
    admin: bool = True
    service: FakeServiceManager | None = None
    clock: ManualClock = field(default_factory=lambda: ManualClock(T0))
    env: dict[str, str] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("config", "data", "logs"):
            (self.root / name).mkdir(parents=True, exist_ok=True)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def install_shipped(self, *, accounts: bool = True, password: bool = True) -> None:
        shutil.copy(SHIPPED / "risk_config.yaml", self.config_dir / "risk_config.yaml")
        if accounts:
            shutil.copy(SHIPPED / "accounts.yaml.template", self.config_dir / "accounts.yaml")
            (self.config_dir / "accounts.yaml").chmod(0o600)
        if password:
            write_password(self.config_dir)

    def text(self, name: str) -> str:
        return (self.config_dir / name).read_text(encoding="utf-8")

    def audit_lines(self) -> list[str]:
        path = self.log_dir / "admin.log"
        return path.read_text(encoding="utf-8").splitlines() if path.exists() else []

    def _sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def dependencies(self, console: Callable[[argparse.Namespace], Console]) -> Dependencies:
        return Dependencies(
            admin_check=lambda: self.admin, service_factory=lambda: self.service, clock=self.clock,
            sleep=self._sleep, monotonic=self.clock.monotonic, env=self.env,
            installed=Directories(self.root / "not-installed", self.root / "x", self.root / "y"),
            console=console, password_cost=TEST_COST, platform="linux")

    def run(self, *argv: str, stdin: str = "", interactive: bool = False, hidden: Sequence[str] = (),
            command: str = "admin") -> Outcome:
        """Run one command; `stdin` feeds prompts (interactive) or `--password-stdin` lines, `hidden` feeds
        hidden prompts on a terminal."""
        out, err = io.StringIO(), io.StringIO()
        typed: Iterator[str] = iter(hidden)

        def console_for(args: argparse.Namespace) -> Console:
            return Console(stdin=io.StringIO(stdin), stdout=out, stderr=err, interactive=interactive,
                           password_stdin=getattr(args, "password_stdin", False),
                           api_key_stdin=getattr(args, "api_key_stdin", False),
                           assume_yes=getattr(args, "yes", False), ascii=getattr(args, "ascii", False),
                           read_hidden=lambda prompt: next(typed))

        deps = self.dependencies(console_for)
        parser = argparse.ArgumentParser(prog="srm")
        subparsers = parser.add_subparsers(dest="command", required=True)
        admin_cli.register(subparsers, deps)
        service_cli.register(subparsers, deps)
        dirs = ["--config-dir", str(self.config_dir), "--data-dir", str(self.data_dir),
                "--log-dir", str(self.log_dir)]
        args = parser.parse_args([command, *dirs, *argv])
        code = args.func(args)
        return Outcome(code, out.getvalue(), err.getvalue())

    def run_with_password(self, *argv: str, extra_stdin: str = "") -> Outcome:
        """A scripted command: the admin password as the first stdin line."""
        return self.run(*argv, "--password-stdin", stdin=f"{PASSWORD}\n{extra_stdin}")
