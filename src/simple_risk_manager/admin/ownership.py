"""Files the Admin CLI (root) creates where the daemon works — the lock file, database side files,
backups — get the owner and group of that directory, so the daemon (user `srm`) can still open them.
Without this a lockout cleared by root could leave a `daemon.lock` the service cannot lock.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def adopt_directory_owner(directory: Path, paths: Iterable[Path]) -> None:
    """POSIX, as root: chown each existing path to `directory`'s owner; elsewhere nothing to do."""
    geteuid = getattr(os, "geteuid", None)
    if geteuid is None or geteuid() != 0 or not directory.is_dir():
        return
    owner = directory.stat()
    for path in paths:
        try:
            current = path.stat()
        except FileNotFoundError:
            continue
        if (current.st_uid, current.st_gid) != (owner.st_uid, owner.st_gid):
            os.chown(path, owner.st_uid, owner.st_gid)
