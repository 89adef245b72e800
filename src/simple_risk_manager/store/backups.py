"""Online backups into `<data_dir>/backups/` (`storage.md` §5): before every migration and on
`srm admin db backup`. Only the newest five are kept.

The backup API copies a consistent snapshot (WAL content included) while other connections keep
working; the copy is written under a temporary name and renamed, so a half-written file never looks
like a backup.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from datetime import datetime
from pathlib import Path

from simple_risk_manager.domain.times import ensure_utc
from simple_risk_manager.store.connection import restrict_file_modes

KEEP_BACKUPS = 5
_BACKUP_NAME = re.compile(r"^state-(\d{8}T\d{9}Z)-(\d+)\.db$")


def utc_stamp(now: datetime) -> str:
    """`20250304T150211480Z`: sortable as text, safe in file names on every OS."""
    utc = ensure_utc(now)
    return utc.strftime("%Y%m%dT%H%M%S") + f"{utc.microsecond // 1000:03d}Z"


def backup_database(source: sqlite3.Connection, dest_dir: Path, now: datetime,
                    keep: int = KEEP_BACKUPS) -> Path:
    """Copy the database behind `source` to `dest_dir/state-<stamp>-<n>.db`; prune to the newest `keep`."""
    if keep < 1:
        raise ValueError(f"keep: must be >= 1 (got {keep})")
    dest_dir.mkdir(mode=0o750, parents=True, exist_ok=True)
    stamp = utc_stamp(now)
    same_stamp = [int(m.group(2)) for path in list_backups(dest_dir)
                  if (m := _BACKUP_NAME.match(path.name)) and m.group(1) == stamp]
    seq = max(same_stamp, default=-1) + 1
    target = dest_dir / f"state-{stamp}-{seq}.db"
    partial = dest_dir / f".{target.name}.partial"
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)
    finally:
        copy.close()
    try:
        os.replace(partial, target)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    restrict_file_modes(target)
    prune_backups(dest_dir, keep)
    return target


def list_backups(dest_dir: Path) -> list[Path]:
    """Backups in `dest_dir`, oldest first (by the stamp in the name, then the sequence number)."""
    if not dest_dir.is_dir():
        return []
    found = [(m.group(1), int(m.group(2)), path)
             for path in dest_dir.iterdir() if (m := _BACKUP_NAME.match(path.name))]
    return [p for _, _, p in sorted(found)]


def prune_backups(dest_dir: Path, keep: int = KEEP_BACKUPS) -> list[Path]:
    """Delete all but the newest `keep` backups; return what was deleted."""
    doomed = list_backups(dest_dir)[:-keep]
    for path in doomed:
        path.unlink()
    return doomed
