"""Lockouts seen and cleared by the administrator (`cli.md` §2.8, `rules.md` D-44).

Listing reads the database read-only. Clearing happens only with the daemon stopped and the instance
lock held (`offline.daemon_stopped`): one transaction clears the account's active records (or one
rule's) as `ADMIN` and adds one `UNLOCK` row per record to `enforcement_log` with the given reason.
After the restart the rules run again; a breach that still holds (a daily loss beyond the limit)
locks the account again, so raise the limit first when that is the intent.
"""

from __future__ import annotations

from datetime import datetime

from simple_risk_manager.admin.context import AdminContext
from simple_risk_manager.admin.errors import AdminError, UsageError
from simple_risk_manager.admin.offline import daemon_stopped
from simple_risk_manager.admin.ownership import adopt_directory_owner
from simple_risk_manager.domain.models import Lockout
from simple_risk_manager.store import clear_lockouts_as_admin, connect_reader, connect_writer, read_lockouts
from simple_risk_manager.store.connection import side_files


def active_lockouts(ctx: AdminContext, now: datetime, account_id: int | None = None) -> list[Lockout]:
    """Records in force at `now` (uncleared and not yet expired), oldest first."""
    if not ctx.db_path.exists():
        return []
    conn = connect_reader(ctx.db_path)
    try:
        records = read_lockouts(conn, account_id)
    finally:
        conn.close()
    return [record for record in records if record.is_active(now)]


def clear_lockouts(ctx: AdminContext, account_id: int, reason: str, rule_id: str | None) -> list[Lockout]:
    """Stop → lock → clear in one transaction → unlock → start again; returns the cleared records."""
    if not reason.strip():
        raise UsageError("--reason: say why the lockout is cleared (it is recorded in the enforcement log)")
    if not ctx.db_path.exists():
        raise AdminError(f"no database at {ctx.db_path}: nothing is locked")
    if not active_lockouts(ctx, ctx.clock.now(), account_id):
        return []
    with daemon_stopped(ctx):
        conn = connect_writer(ctx.db_path)
        try:
            cleared = clear_lockouts_as_admin(conn, account_id, reason.strip(), ctx.clock.now(), rule_id)
        finally:
            conn.close()
        adopt_directory_owner(ctx.data_dir, [ctx.db_path, *side_files(ctx.db_path)])
    return cleared
