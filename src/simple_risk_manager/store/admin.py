"""Admin CLI writes, allowed only while the daemon is stopped (`storage.md` §5, `cli.md` §2.8).

Holding `data/daemon.lock` is the caller's job; these functions only do the database part.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from simple_risk_manager.domain.enums import ClearedBy, EnforcementActionType, EnforcementOutcome
from simple_risk_manager.domain.models import EnforcementLog, Lockout
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.store import codecs, tables
from simple_risk_manager.store.backups import backup_database
from simple_risk_manager.store.connection import connect_writer, is_corruption, side_files, transaction
from simple_risk_manager.store.database import default_backups_dir, open_database, quarantine
from simple_risk_manager.store.persist import insert_enforcement_row
from simple_risk_manager.store.schema import MIGRATIONS, Migration


def clear_lockouts_as_admin(conn: sqlite3.Connection, account_id: int, reason: str, now: datetime,
                            rule_id: str | None = None) -> list[Lockout]:
    """`srm admin lockout clear`: clear the account's active records (or only `rule_id`'s).

    One transaction sets `cleared_at = now`, `cleared_by = ADMIN` on each record and adds one
    `UNLOCK` row per record to `enforcement_log` (reason = the admin's text). Returns the cleared
    records; an empty list means nothing was locked.
    """
    if not reason.strip():
        raise ValueError("reason: the admin must say why the lockout is cleared")
    where = "cleared_at IS NULL AND (locked_until IS NULL OR locked_until > ?) AND account_id = ?"
    params: list[object] = [format_utc(now), account_id]
    if rule_id is not None:
        where += " AND rule_id = ?"
        params.append(rule_id)
    with transaction(conn):
        rows = conn.execute(tables.LOCKOUTS.select_sql(where), params).fetchall()
        active = [codecs.decode_lockout(row) for row in rows]
        cleared = [replace(lockout, cleared_at=now, cleared_by=ClearedBy.ADMIN.value, updated_at=now)
                   for lockout in active]
        conn.executemany(tables.LOCKOUTS.upsert_sql(), [codecs.encode_lockout(record) for record in cleared])
        for lockout in cleared:
            insert_enforcement_row(conn, EnforcementLog(
                timestamp=now, account_id=account_id, rule_id=lockout.rule_id,
                action=EnforcementActionType.UNLOCK.value, reason=reason, success=True,
                outcome=EnforcementOutcome.SUCCESS.value, cleared_by=ClearedBy.ADMIN.value))
    return cleared


@dataclass(frozen=True, slots=True)
class RecreateResult:
    #: Online backup of the old file, when it could be read.
    backup: Path | None
    #: Where an unreadable (corrupt) old file was moved instead.
    quarantined_to: Path | None


def recreate_database(db_path: Path, now: datetime, *, backups_dir: Path | None = None,
                      migrations: Sequence[Migration] = MIGRATIONS) -> RecreateResult:
    """`srm admin db init`: back the old file up, then start a fresh database at the current version.

    An unreadable old file cannot be backed up through SQLite, so it is moved aside as a
    `corrupt-<stamp>` file instead; nothing is ever deleted without a copy.
    """
    backup: Path | None = None
    quarantined_to: Path | None = None
    if db_path.exists():
        try:
            backup = _backup_file(db_path, backups_dir or default_backups_dir(db_path), now)
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            quarantined_to = quarantine(db_path, now)
        for path in (db_path, *side_files(db_path)):
            path.unlink(missing_ok=True)
    opened = open_database(db_path, now, backups_dir=backups_dir, migrations=migrations)
    opened.connection.close()
    return RecreateResult(backup, quarantined_to)


def _backup_file(db_path: Path, backups_dir: Path, now: datetime) -> Path:
    conn = connect_writer(db_path)
    try:
        return backup_database(conn, backups_dir, now)
    finally:
        conn.close()
