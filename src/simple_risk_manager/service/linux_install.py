"""The Linux side of `service install` (`cli.md` §2.5, §3): the service account and file ownership.

The daemon runs as system user `srm` (no shell, no home) with group `srm-view` — traders' group, so
they can read state and logs — and supplementary group `srm`, which may read the configuration.
Owners and modes follow the table of `cli.md` §3; secrets stay readable by root (and `accounts.yaml`
by the daemon) only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Final

from simple_risk_manager.config import (
    ACCOUNTS_FILE,
    ACCOUNTS_TEMPLATE,
    DAEMON_FILE,
    LOGGING_FILE,
    PASSWORD_FILE,
    RISK_FILE,
)
from simple_risk_manager.service.host import SystemOps
from simple_risk_manager.service.layout import LINUX_LOGS_DIR, LINUX_STATE_DIR
from simple_risk_manager.service.manager import InstallRequest, ServiceError

ADMIN_LOG: Final = "admin.log"
SECRETS_ENV: Final = "secrets.env"
BACKUP_SUFFIX: Final = ".bak"
#: `ProtectHome=yes` makes these invisible to the service: neither the program nor its config may live there.
_HIDDEN_FROM_SERVICE: Final = (PurePosixPath("/home"), PurePosixPath("/root"), PurePosixPath("/run/user"))
_NOLOGIN_SHELLS: Final = ("/usr/sbin/nologin", "/sbin/nologin", "/bin/false")


@dataclass(frozen=True, slots=True)
class ServiceLayout:
    user: str = "srm"
    group: str = "srm"
    viewer_group: str = "srm-view"
    state_dir: Path = LINUX_STATE_DIR
    logs_dir: Path = LINUX_LOGS_DIR


DEFAULT_LAYOUT: Final = ServiceLayout()


@dataclass(frozen=True, slots=True)
class Ownership:
    path: Path
    user: str
    group: str
    mode: int


def hidden_from_service(path: Path) -> bool:
    pure = PurePosixPath(path)
    return any(pure == hidden or hidden in pure.parents for hidden in _HIDDEN_FROM_SERVICE)


def config_ownership(config_dir: Path, layout: ServiceLayout) -> Iterator[Ownership]:
    """`cli.md` §3 for the config directory and each file in it that exists (backups like their file)."""
    root = "root"
    yield Ownership(config_dir, root, layout.group, 0o750)
    rules = {
        ACCOUNTS_FILE: (layout.user, layout.group, 0o600),
        RISK_FILE: (root, layout.group, 0o640),
        DAEMON_FILE: (root, layout.group, 0o640),
        LOGGING_FILE: (root, layout.group, 0o640),
        ACCOUNTS_TEMPLATE: (root, layout.group, 0o640),
        PASSWORD_FILE: (root, root, 0o600),
        SECRETS_ENV: (root, root, 0o600),
    }
    for name, (user, group, mode) in rules.items():
        file = config_dir / name
        if file.is_file():
            yield Ownership(file, user, group, mode)
        backup = config_dir / (name + BACKUP_SUFFIX)
        if backup.is_file():
            # The daemon never reads a backup: a secret's backup is root's alone.
            yield Ownership(backup, root, root if mode == 0o600 else group, mode)


def state_ownership(directory: Path, layout: ServiceLayout) -> Iterator[Ownership]:
    """Data or log directory: `srm:srm-view`, directories 0750, files 0640; `admin.log` is root's."""
    if not directory.is_dir():
        return
    yield Ownership(directory, layout.user, layout.viewer_group, 0o750)
    for path in sorted(directory.rglob("*")):
        if path.is_symlink():
            continue
        if path.is_dir():
            yield Ownership(path, layout.user, layout.viewer_group, 0o750)
        elif path.name == ADMIN_LOG and path.parent == directory:
            yield Ownership(path, "root", "root", 0o640)
        else:
            yield Ownership(path, layout.user, layout.viewer_group, 0o640)


def refuse_hidden_paths(request: InstallRequest) -> None:
    """The program and the configuration must be visible to the service (`ProtectHome=yes`)."""
    checked = (("the virtual environment", request.python), ("the config directory", request.config_dir))
    for what, path in checked:
        if hidden_from_service(path):
            raise ServiceError(f"{what} is under {path}, which the unit hides from the service "
                               "(ProtectHome=yes); install the virtual environment under /opt and keep "
                               "the configuration in /etc/simple-risk-manager")


def prepare_install(ops: SystemOps, request: InstallRequest, layout: ServiceLayout) -> list[str]:
    """Create the accounts, set owners and modes; returns notes for the administrator."""
    notes: list[str] = []
    for requested, fixed, option in ((request.data_dir, layout.state_dir, "data"),
                                     (request.log_dir, layout.logs_dir, "log")):
        if requested.resolve() != fixed:
            notes.append(f"the service keeps its {option} files in {fixed} (set by the unit); "
                         f"{requested} is not used by it")
    _create_accounts(ops, layout)
    for ownership in (*config_ownership(request.config_dir, layout),
                      *state_ownership(layout.state_dir, layout), *state_ownership(layout.logs_dir, layout)):
        ops.set_owner(ownership.path, ownership.user, ownership.group, ownership.mode)
    notes.append(f"grant a trader dashboard access with: usermod -aG {layout.viewer_group} <user>")
    return notes


def _create_accounts(ops: SystemOps, layout: ServiceLayout) -> None:
    for group in (layout.group, layout.viewer_group):
        if not ops.group_exists(group):
            _run(ops, ["groupadd", "--system", group])
    if not ops.user_exists(layout.user):
        shell = next((s for s in _NOLOGIN_SHELLS if Path(s).exists()), _NOLOGIN_SHELLS[-1])
        _run(ops, ["useradd", "--system", "--gid", layout.group, "--no-create-home",
                   "--home-dir", "/nonexistent", "--shell", shell, layout.user])


def _run(ops: SystemOps, argv: list[str]) -> None:
    result = ops.run(argv)
    if not result.ok:
        raise ServiceError(f"{argv[0]} failed: {result.error_text()}")
