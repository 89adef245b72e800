"""`srm admin status` (`cli.md` §2.7): service, daemon and per-account state in one report.

Live values come from the daemon's broadcast feed (`hello` + an all-accounts `snapshot`); when the
daemon is down or unreachable the database is read instead and the report says "offline". The report
also shows the last 10 `enforcement.log` entries and "config changed, restart pending" when a
configuration file is newer than the running daemon. It needs neither root nor the password (no
secrets are shown), so it reads only what the caller may read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

from simple_risk_manager.admin.console import Console
from simple_risk_manager.admin.context import AdminContext
from simple_risk_manager.admin.daemon_probe import DaemonProbe, ProbeError, probe_daemon
from simple_risk_manager.admin.daemon_process import running_daemon_pid
from simple_risk_manager.admin.log_view import LOG_FILES, last_lines, pretty_line
from simple_risk_manager.config import (
    ACCOUNTS_FILE,
    DAEMON_FILE,
    LOGGING_FILE,
    RISK_FILE,
    EnvMode,
    validate_config_dir,
)
from simple_risk_manager.domain.models import EnforcementLog
from simple_risk_manager.domain.money import to_decimal
from simple_risk_manager.domain.times import format_utc, parse_utc
from simple_risk_manager.service.manager import ServiceError, ServiceStatus
from simple_risk_manager.store import connect_reader, load_state, read_daily_pnl, read_enforcement_log
from simple_risk_manager.store.errors import StoreError

ENFORCEMENT_TAIL: Final = 10
_WATCHED_FILES: Final = (ACCOUNTS_FILE, RISK_FILE, DAEMON_FILE, LOGGING_FILE)
_ENFORCEMENT_LOOKBACK: Final = timedelta(days=7)
_ENFORCEMENT_KEYS: Final = ("timestamp", "rule_id", "action", "outcome", "reason")


async def gather_status(ctx: AdminContext) -> dict[str, Any]:
    """The whole report as JSON-ready data (stable keys for `--json`)."""
    now = ctx.clock.now()
    service = _service_section(ctx)
    probe: DaemonProbe | None = None
    probe_error: str | None = None
    if service["running"]:
        try:
            probe = await probe_daemon(ctx.port, ctx.clock)
        except ProbeError as exc:
            probe_error = str(exc)
    nicknames = _configured_nicknames(ctx)
    if probe is not None:
        accounts = [_live_account(account, now) for account in probe.accounts]
        daemon: Mapping[str, Any] | None = probe.daemon_status
        started_text = probe.hello.get("started_at")
        started = parse_utc(started_text) if isinstance(started_text, str) else None
    else:
        accounts = _offline_accounts(ctx, nicknames, now)
        daemon, started = None, service.get("since_dt")
    for account in accounts:
        if not account.get("nickname"):
            account["nickname"] = nicknames.get(account["account_id"])
    changed = _config_changed_at(ctx)
    pending = bool(service["running"] and started is not None and changed is not None and changed > started)
    service.pop("since_dt", None)
    return {
        "checked_at": format_utc(now),
        "service": service,
        "daemon": None if daemon is None else dict(daemon),
        "source": "live" if probe is not None else "database",
        "unreachable": probe_error,
        "uptime_s": (int((now - started).total_seconds())
                     if started is not None and service["running"] else None),
        "restart_pending": pending,
        "accounts": accounts,
        "enforcement_log": _enforcement_tail(ctx),
    }


def _service_section(ctx: AdminContext) -> dict[str, Any]:
    manager = ctx.service
    pid = running_daemon_pid(ctx.data_dir)
    if manager is None:
        return {"backend": "none", "state": "running" if pid else "stopped", "running": pid is not None,
                "pid": pid, "since": None, "since_dt": None, "enabled": None, "detail": ""}
    try:
        status = manager.status()
    except ServiceError as exc:
        return {"backend": manager.backend, "state": "unknown", "running": pid is not None, "pid": pid,
                "since": None, "since_dt": None, "enabled": None, "detail": str(exc)}
    return _from_service_status(status, pid)


def _from_service_status(status: ServiceStatus, lock_pid: int | None) -> dict[str, Any]:
    section = status.to_dict()
    section["running"] = status.running
    section["pid"] = status.pid or (lock_pid if status.running else None)
    section["since"] = None if status.since is None else format_utc(status.since)
    section["since_dt"] = status.since
    return section


def _configured_nicknames(ctx: AdminContext) -> dict[int, str | None]:
    """Account ids (and nicknames) of `accounts.yaml`, when this user may read it and it is valid."""
    try:
        result = validate_config_dir(ctx.config_dir, env=ctx.env, env_mode=EnvMode.SYNTAX_ONLY)
    except OSError:
        return {}
    if result.config is None:
        return {}
    return {account.account_id: account.nickname for account in result.config.accounts if account.enabled}


def _money(value: object) -> Decimal | None:
    try:
        return None if value is None else to_decimal(value)
    except (TypeError, ValueError, ArithmeticError):
        return None


def _text(value: Decimal | None) -> str | None:
    """Money as shown everywhere in the CLIs: two decimals."""
    return None if value is None else f"{value:.2f}"


def _effective_lockout(records: Sequence[Mapping[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The record the dashboard banner shows: a `condition` record, else the one ending last."""
    if not records:
        return None
    conditions = [r for r in records if r.get("locked_until") is None]
    chosen = conditions[0] if conditions else max(records, key=lambda r: str(r.get("locked_until")))
    until_text = chosen.get("locked_until")
    remaining = None
    if isinstance(until_text, str):
        remaining = max(0, int((parse_utc(until_text) - now).total_seconds()))
    return {"rule_id": chosen.get("rule_id"), "kind": chosen.get("kind"), "reason": chosen.get("reason"),
            "locked_until": until_text, "remaining_s": remaining, "active_records": len(records)}


def _live_account(account: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    realized, unrealized = _money(account.get("realized_pnl")), _money(account.get("unrealized_pnl"))
    recent = account.get("recent_enforcement")
    entries = [e for e in recent if isinstance(e, dict)] if isinstance(recent, list) else []
    last = max(entries, key=lambda e: str(e.get("timestamp")), default=None)
    lockouts = account.get("lockouts")
    records = [r for r in lockouts if isinstance(r, dict)] if isinstance(lockouts, list) else []
    return {
        "account_id": account.get("account_id"), "nickname": account.get("nickname"), "source": "live",
        "realized_pnl": _text(realized), "unrealized_pnl": _text(unrealized),
        "net_pnl": _text(None if realized is None or unrealized is None else realized + unrealized),
        "positions": len(account.get("positions") or ()), "orders": len(account.get("orders") or ()),
        "lockout": _effective_lockout(records, now),
        "last_enforcement": None if last is None else {key: last.get(key) for key in _ENFORCEMENT_KEYS},
    }


def _offline_accounts(ctx: AdminContext, nicknames: Mapping[int, str | None],
                      now: datetime) -> list[dict[str, Any]]:
    """The database's view (offline): P&L of the stored trading day, positions, orders, lockouts."""
    ids = set(nicknames)
    try:
        conn = connect_reader(ctx.db_path)
    except (sqlite3.Error, OSError):  # no database yet, or not readable by this user
        return [_empty_account(account_id) for account_id in sorted(ids)]
    try:
        state = load_state(conn, {}, now)
        ids |= set(state.reset_schedules) | {p.account_id for p in state.positions}
        ids |= {lockout.account_id for lockout in state.lockouts}
        rows = []
        for account_id in sorted(ids):
            schedule = state.reset_schedules.get(account_id)
            pnl = None if schedule is None else read_daily_pnl(conn, account_id, schedule.trading_date)
            history = read_enforcement_log(conn, now - _ENFORCEMENT_LOOKBACK, account_id)
            active = [lockout for lockout in state.lockouts
                      if lockout.account_id == account_id and lockout.is_active(now)]
            rows.append({
                "account_id": account_id, "nickname": None, "source": "database",
                "realized_pnl": None if pnl is None else _text(pnl.realized_pnl),
                "unrealized_pnl": None, "net_pnl": None,
                "positions": sum(1 for p in state.positions if p.account_id == account_id),
                "orders": sum(1 for o in state.orders if o.account_id == account_id),
                "lockout": _effective_lockout([lockout.to_dict() for lockout in active], now),
                "last_enforcement": None if not history else _enforcement_summary(history[-1]),
            })
        return rows
    except (sqlite3.Error, StoreError):
        return [_empty_account(account_id) for account_id in sorted(ids)]
    finally:
        conn.close()


def _enforcement_summary(row: EnforcementLog) -> dict[str, Any]:
    return {key: format_utc(row.timestamp) if key == "timestamp" else getattr(row, key)
            for key in _ENFORCEMENT_KEYS}


def _empty_account(account_id: int) -> dict[str, Any]:
    return {"account_id": account_id, "nickname": None, "source": "database", "realized_pnl": None,
            "unrealized_pnl": None, "net_pnl": None, "positions": 0, "orders": 0, "lockout": None,
            "last_enforcement": None}


def _config_changed_at(ctx: AdminContext) -> datetime | None:
    stamps = []
    for name in _WATCHED_FILES:
        path = ctx.config_dir / name
        try:
            stamps.append(datetime.fromtimestamp(path.stat().st_mtime, UTC))
        except OSError:
            continue
    return max(stamps, default=None)


def _enforcement_tail(ctx: AdminContext) -> list[str]:
    path = ctx.log_dir / LOG_FILES["enforcement"]
    try:
        return [pretty_line(line) for line in last_lines(path, ENFORCEMENT_TAIL)]
    except OSError:
        return []


# --- text ------------------------------------------------------------------------------------------

def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def render_status(report: Mapping[str, Any], console: Console) -> str:
    service = report["service"]
    lines = []
    state = service["state"]
    where = f"{service['backend']}" if service["backend"] != "none" else "no service manager"
    pid = f", pid {service['pid']}" if service.get("pid") else ""
    uptime = f", up {_duration(report['uptime_s'])}" if report.get("uptime_s") is not None else ""
    lines.append(f"Service   {state} ({where}{pid}{uptime})"
                 + (f" — {service['detail']}" if service.get("detail") else ""))
    daemon = report.get("daemon")
    if daemon:
        hubs = ", ".join(f"{name} {value}" for name, value in (daemon.get("hubs") or {}).items())
        lines.append(f"Daemon    {daemon.get('status')} — {daemon.get('message')}; hubs: {hubs}; "
                     f"clients: {daemon.get('clients')}")
    elif report.get("unreachable"):
        lines.append(f"Daemon    not reachable: {report['unreachable']}")
    if report.get("restart_pending"):
        lines.append(console.mark(False) + " config changed, restart pending (srm admin service restart)")
    source = "live" if report["source"] == "live" else "offline — saved state from the database"
    lines.append(f"\nAccounts ({source})")
    if not report["accounts"]:
        lines.append("  none")
    for account in report["accounts"]:
        name = account.get("nickname") or "-"
        pnl = account.get("net_pnl") or account.get("realized_pnl") or "n/a"
        label = "net" if account.get("net_pnl") else "realized"
        lockout = account.get("lockout")
        if lockout is None:
            lock_text = "not locked"
        elif lockout.get("remaining_s") is None:
            lock_text = f"LOCKED by {lockout['rule_id']} until the broker re-enables trading"
        else:
            left = _duration(lockout["remaining_s"])
            lock_text = f"LOCKED by {lockout['rule_id']} ({lockout['kind']}), {left} left"
        last = account.get("last_enforcement")
        last_text = ("" if not last else
                     f"; last action {last['action']} {last['rule_id']} at {last['timestamp']}")
        lines.append(f"  {account['account_id']:<10} {name:<20} {label} {pnl}; "
                     f"positions {account['positions']}, orders {account['orders']}; {lock_text}{last_text}")
    lines.append(f"\nLast {ENFORCEMENT_TAIL} enforcement.log entries")
    lines.extend(f"  {line}" for line in report["enforcement_log"] or ["(none)"])
    return "\n".join(lines)
