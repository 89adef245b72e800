"""Everything an admin action needs, built once per invocation: directories, console, clock, audit log,
the administrator check and the service manager. Tests build it with fakes; nothing here reads
global state after construction.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from simple_risk_manager.admin.access import AdminCheck
from simple_risk_manager.admin.audit import ADMIN_LOG, AuditLog
from simple_risk_manager.admin.console import Console
from simple_risk_manager.admin.errors import NoServiceManagerError
from simple_risk_manager.admin.password import NEW_HASH_COST, PasswordFile
from simple_risk_manager.clock import Clock
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.service.manager import ServiceManager

STATE_DB: Final = "state.db"
DEFAULT_BROADCAST_PORT: Final = 8765
NO_SERVICE_MANAGER_HINT: Final = (
    "no supported service manager on this machine (systemd, or Windows with pywin32); run `srm run` "
    "under your own supervisor (a container's init, supervisord, a terminal), restarting it when it exits "
    "with any code except 2 and 78")


@dataclass
class AdminContext:
    directories: Directories
    console: Console
    clock: Clock
    audit: AuditLog
    admin_check: AdminCheck
    service_factory: Callable[[], ServiceManager | None]
    env: Mapping[str, str]
    port: int = DEFAULT_BROADCAST_PORT
    json: bool = False
    #: `--restart` (True) / `--no-restart` (False) / ask (None).
    restart: bool | None = None
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    password_cost: int = NEW_HASH_COST
    platform: str = sys.platform
    #: The Python whose `srm` the service runs (`service install`).
    python: Path = field(default_factory=lambda: Path(sys.executable))
    _service: ServiceManager | None = field(default=None, init=False)
    _service_probed: bool = field(default=False, init=False)

    @property
    def config_dir(self) -> Path:
        return self.directories.config_dir

    @property
    def data_dir(self) -> Path:
        return self.directories.data_dir

    @property
    def log_dir(self) -> Path:
        return self.directories.log_dir

    @property
    def db_path(self) -> Path:
        return self.data_dir / STATE_DB

    @property
    def password_file(self) -> PasswordFile:
        return PasswordFile(self.config_dir, self.password_cost)

    @property
    def service(self) -> ServiceManager | None:
        """The machine's service manager (detected once), or None."""
        if not self._service_probed:
            self._service = self.service_factory()
            self._service_probed = True
        return self._service

    def require_service(self) -> ServiceManager:
        manager = self.service
        if manager is None:
            raise NoServiceManagerError(NO_SERVICE_MANAGER_HINT)
        return manager


def audit_log_path(directories: Directories) -> Path:
    return directories.log_dir / ADMIN_LOG
