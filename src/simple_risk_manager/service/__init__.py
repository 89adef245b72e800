"""Service integration (`cli.md` §2.5): the small `ServiceManager` interface the Admin CLI talks to, the
systemd backend (unit generation, install, `systemctl`) and the Windows SCM backend (pywin32, imported
lazily so nothing Windows-only is imported on Linux).

    manager = detect_service_manager()      # None: no supported service manager (exit 5)
    manager.status().running
"""

from simple_risk_manager.service.manager import (
    SERVICE_NAME_SYSTEMD,
    SERVICE_NAME_WINDOWS,
    ActiveState,
    InstallRequest,
    ServiceError,
    ServiceManager,
    ServiceStatus,
    detect_service_manager,
    wait_for_state,
)

__all__ = [
    "SERVICE_NAME_SYSTEMD",
    "SERVICE_NAME_WINDOWS",
    "ActiveState",
    "InstallRequest",
    "ServiceError",
    "ServiceManager",
    "ServiceStatus",
    "detect_service_manager",
    "wait_for_state",
]
