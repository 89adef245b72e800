"""The only way the Admin CLI writes the database (`storage.md` §5, `cli.md` §2.8): with the daemon
stopped and `data/daemon.lock` held by the Admin CLI.

`daemon_stopped` warns that enforcement is suspended, stops the service when it runs (waiting for it),
takes the instance lock, and afterwards releases it and starts the service again if it was running.
It refuses (exit 1) when the daemon cannot be stopped or the lock is still held — e.g. a daemon started
by hand without a service manager, which the administrator must stop first.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from simple_risk_manager.admin.context import AdminContext
from simple_risk_manager.admin.errors import AdminError
from simple_risk_manager.admin.ownership import adopt_directory_owner
from simple_risk_manager.runtime.instance_lock import InstanceLock, InstanceLockedError, lock_path
from simple_risk_manager.service.manager import ServiceError, ServiceManager, wait_for_state

SUSPENDED_WARNING = "stopping the daemon suspends ALL risk enforcement for every account until it runs again"


@contextmanager
def daemon_stopped(ctx: AdminContext) -> Iterator[None]:
    console = ctx.console
    manager = ctx.service
    was_running = False
    if manager is not None:
        status = manager.status()
        if status.installed and not status.stopped:
            console.warn(SUSPENDED_WARNING)
            console.info(f"Stopping {manager.service_name} …")
            try:
                manager.stop()
                wait_for_state(manager, running=False, sleep=ctx.sleep, monotonic=ctx.monotonic)
            except ServiceError as exc:
                raise AdminError(f"the daemon could not be stopped, nothing was changed: {exc}") from None
            was_running = True
    lock = InstanceLock(lock_path(ctx.data_dir))
    try:
        lock.acquire()
    except InstanceLockedError as exc:
        refused = (f"{exc} Stop the daemon first (with no service manager, end the `srm run` process); "
                   "nothing was changed.")
        failed_start = _start_again(ctx, manager) if was_running and manager is not None else None
        raise AdminError(refused + (f" Also: {failed_start}" if failed_start else "")) from None
    try:
        adopt_directory_owner(ctx.data_dir, [lock.path])
        yield
    finally:
        lock.release()
    if was_running and manager is not None:
        failed_start = _start_again(ctx, manager)
        if failed_start:
            raise AdminError(failed_start)


def _start_again(ctx: AdminContext, manager: ServiceManager) -> str | None:
    """Start the service stopped for the change; the problem when it does not run again."""
    ctx.console.info(f"Starting {manager.service_name} again …")
    try:
        manager.start()
        wait_for_state(manager, running=True, sleep=ctx.sleep, monotonic=ctx.monotonic)
    except ServiceError as exc:
        return (f"the service did not start again — risk enforcement is OFF: {exc}; "
                "run srm admin service start")
    ctx.console.info(f"{manager.service_name} is running again; its rules run anew after the reconcile.")
    return None
