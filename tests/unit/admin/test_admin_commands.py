"""Every `srm admin` subcommand (`cli.md` §2.3) on a temporary config directory, scripted: accounts,
login, rules, validation, service control (fake service manager), tests that need no network, status,
lockouts, database, and the restart question after a change."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from simple_risk_manager.admin.log_view import pretty_line
from simple_risk_manager.domain.models import DailyPnl, EnforcementLog, Lockout, ResetSchedule
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.runtime.instance_lock import InstanceLock, lock_path
from simple_risk_manager.store import connect_reader, open_database, read_enforcement_log, read_lockouts
from simple_risk_manager.store.persist import (
    insert_enforcement_log,
    save_daily_pnl,
    save_lockouts,
    save_reset_schedule,
)

from .fakes import PASSWORD, SHIPPED, T0, AdminHarness, FakeServiceManager

ACCOUNTS = "accounts.yaml"
RISK = "risk_config.yaml"


def lockout(rule_id: str = "RULE-003", lockout_id: int = 1, until_s: float = 3600) -> Lockout:
    return Lockout(account_id=7001, rule_id=rule_id, kind="reset", reason="daily loss 512.50 reached 500",
                   locked_at=T0, locked_until=T0 + timedelta(seconds=until_s), created_at=T0, updated_at=T0,
                   lockout_id=lockout_id)


def write_database(h: AdminHarness, *records: Lockout) -> Path:
    db = h.data_dir / "state.db"
    conn = open_database(db, T0).connection
    try:
        save_reset_schedule(conn, ResetSchedule(7001, date(2025, 3, 4), T0 - timedelta(hours=16),
                                                T0 + timedelta(hours=8), "17:00", "America/Chicago"), T0)
        save_daily_pnl(conn, DailyPnl(7001, date(2025, 3, 4), T0, realized_pnl=Decimal("-512.50")))
        save_lockouts(conn, records)
        insert_enforcement_log(conn, EnforcementLog(T0, 7001, "RULE-003", "CLOSE_ALL_AND_LOCKOUT",
                                                    "daily loss 512.50 reached 500", True, "SUCCESS"))
    finally:
        conn.close()
    return db


def _json(text: str) -> object:
    return json.loads(text)


# --- 1 accounts ---------------------------------------------------------------------------------------

def test_account_list_masks_keys_and_shows_references_as_written(harness: AdminHarness) -> None:
    accounts = harness.config_dir / ACCOUNTS
    accounts.write_text(accounts.read_text(encoding="utf-8").replace(
        '"${SECOND_LOGIN_API_KEY}"', '"Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l"'), encoding="utf-8")
    result = harness.run_with_password("account", "list", "--json")
    assert result.code == 0, result.err
    data = _json(result.out)
    assert data["login"]["api_key"] == "${PROJECT_X_API_KEY}"
    rows = {row["account_id"]: row for row in data["accounts"]}
    assert rows[7001]["overrides"] == ["daily_realized_loss", "max_contracts"]
    assert rows[7003] == {**rows[7003], "enabled": False, "login": "${SECOND_LOGIN_USERNAME}",
                          "api_key": "…hJ5l"}
    assert "Zq3VmS8pK2wX9rT4uY7nB1cD6fG0hJ5l" not in result.out + result.err
    text = harness.run_with_password("account", "list").out
    assert "7002" in text and "…hJ5l" in text


def test_account_add_appends_an_entry_with_comments_kept(harness: AdminHarness) -> None:
    before = harness.text(ACCOUNTS)
    result = harness.run_with_password("account", "add", "--id", "7004", "--nickname", "Express",
                                       "--no-verify", "--yes")
    assert result.code == 0, result.err
    after = harness.text(ACCOUNTS)
    assert after.startswith(before.rstrip("\n"))
    assert after.endswith('  - account_id: 7004\n    nickname: "Express"\n    enabled: true\n')
    assert harness.run_with_password("account", "add", "--id", "7004", "--no-verify", "--yes").code == 1


def test_account_add_with_its_own_login_from_the_environment_file(harness: AdminHarness) -> None:
    result = harness.run_with_password("account", "add", "--id", "7005", "--username", "second",
                                       "--api-key-env", "SECOND_KEY", "--no-verify", "--yes")
    assert result.code == 0, result.err
    assert '    username: "second"\n    api_key: "${SECOND_KEY}"\n' in harness.text(ACCOUNTS)


def test_the_first_account_creates_accounts_yaml_with_a_shared_login(tmp_path: Path) -> None:
    h = AdminHarness(tmp_path)
    h.install_shipped(accounts=False)
    result = h.run("account", "add", "--id", "123", "--username", "me@example.com", "--api-key-stdin",
                   "--no-verify", "--yes", "--password-stdin",
                   stdin=f"{PASSWORD}\nKEY-abcdefghijklmnop\n")
    assert result.code == 0, result.err
    text = h.text(ACCOUNTS)
    assert text == ('version: 1\ntopstepx:\n  username: "me@example.com"\n  api_key: "KEY-abcdefghijklmnop"\n'
                    "accounts:\n  - account_id: 123\n    enabled: true\n")
    assert oct((h.config_dir / ACCOUNTS).stat().st_mode & 0o777) == "0o600"
    assert "KEY-abcdefghijklmnop" not in result.out + result.err + "\n".join(h.audit_lines())


def test_login_set_takes_the_key_from_stdin_and_never_shows_it(harness: AdminHarness) -> None:
    result = harness.run_with_password("login", "set", "--username", "trader2", "--api-key-stdin",
                                       "--no-verify", "--yes", extra_stdin="NEWKEY-1234567890\n")
    assert result.code == 0, result.err
    assert '  username: "trader2"\n  api_key: "NEWKEY-1234567890"\n' in harness.text(ACCOUNTS)
    assert "NEWKEY-1234567890" not in result.err + result.out
    assert "# The platform login (TopstepX)" in harness.text(ACCOUNTS)


def test_a_key_prompt_without_a_terminal_names_the_flags(harness: AdminHarness) -> None:
    result = harness.run_with_password("login", "set", "--username", "u", "--no-verify", "--yes")
    assert result.code == ExitCode.USAGE
    assert "--api-key-stdin or --api-key-env NAME" in result.err


def test_account_edit_enable_disable_remove(harness: AdminHarness) -> None:
    assert harness.run_with_password("account", "edit", "7002", "--nickname", "Renamed", "--clear", "reset",
                                     "--yes").code == 0
    text = harness.text(ACCOUNTS)
    assert 'nickname: "Renamed"' in text and 'reset_time: "17:00"' not in text
    assert harness.run_with_password("account", "disable", "7001", "--yes").code == 0
    disabled = '  - account_id: 7001\n    nickname: "50K Combine"\n    enabled: false\n'
    assert disabled in harness.text(ACCOUNTS)
    assert harness.run_with_password("account", "enable", "7001", "--yes").code == 0
    assert "    enabled: true\n" in harness.text(ACCOUNTS)
    refused = harness.run_with_password("account", "remove", "7002")
    assert refused.code == ExitCode.USAGE and "--yes" in refused.err
    assert harness.run_with_password("account", "remove", "7002", "--yes").code == 0
    assert "account_id: 7002" not in harness.text(ACCOUNTS)
    missing = harness.run_with_password("account", "enable", "9999", "--yes")
    assert missing.code == 1 and "account 9999 is not in accounts.yaml" in missing.err


def test_disabling_the_last_enabled_account_is_refused(harness: AdminHarness) -> None:
    assert harness.run_with_password("account", "disable", "7001", "--yes").code == 0
    result = harness.run_with_password("account", "disable", "7002", "--yes")
    assert result.code == ExitCode.VALIDATION_FAILED
    assert "accounts.yaml" in result.err and "enabled" in result.err


# --- 2 rules ------------------------------------------------------------------------------------------

def test_rules_list_and_show(harness: AdminHarness) -> None:
    listing = _json(harness.run_with_password("rules", "list", "--json").out)
    assert len(listing) == 12
    assert listing[11] == {"rule_id": "RULE-012", "key": "trade_management", "name": "Trade Management",
                           "enabled": False}
    shown = harness.run_with_password("rules", "show", "daily_realized_loss")
    assert shown.code == 0
    assert shown.out.splitlines()[:5] == ["RULE-003 Daily Realized Loss", "daily_realized_loss:",
                                          "  enabled: true", "  loss_limit: 500.00",
                                          '  action: "CLOSE_ALL_AND_LOCKOUT"']
    assert "# account 7001 overrides: loss_limit=1000.0" in shown.out
    assert "RULE-004" not in shown.out
    assert harness.run_with_password("rules", "show", "RULE-099").code == ExitCode.USAGE


def test_rules_set_changes_one_value(harness: AdminHarness) -> None:
    result = harness.run_with_password("rules", "set", "RULE-003", "loss_limit=600", "--yes")
    assert result.code == 0, result.err
    assert "-    loss_limit: 500.00\n+    loss_limit: 600\n" in result.err
    assert "    loss_limit: 600\n" in harness.text(RISK)
    backup = (harness.config_dir / "risk_config.yaml.bak").read_text(encoding="utf-8")
    assert "    loss_limit: 500.00\n" in backup


def test_rules_set_for_one_account_writes_its_overrides(harness: AdminHarness) -> None:
    result = harness.run_with_password("rules", "set", "RULE-006", "limits.per_minute=2", "--account", "7002",
                                       "--yes")
    assert result.code == 0, result.err
    assert ("    risk_overrides:\n      trade_frequency_limit:\n        limits:\n          per_minute: 2\n"
            in harness.text(ACCOUNTS))


def test_an_invalid_value_exits_6_and_leaves_the_file(harness: AdminHarness) -> None:
    before = harness.text(RISK)
    result = harness.run_with_password("rules", "set", "RULE-003", "loss_limit=-500", "--yes")
    assert result.code == ExitCode.VALIDATION_FAILED
    assert "must be a positive amount, write 500 not -500 (got -500)" in result.err
    assert harness.text(RISK) == before


def test_rules_enable_disable_and_reset(harness: AdminHarness) -> None:
    assert harness.run_with_password("rules", "enable", "RULE-012", "--yes").code == 0
    assert harness.run_with_password("rules", "disable", "RULE-011", "--yes").code == 0
    rows = _json(harness.run_with_password("rules", "list", "--json").out)
    listing = {r["rule_id"]: r["enabled"] for r in rows}
    assert listing["RULE-012"] is True and listing["RULE-011"] is False
    refused = harness.run_with_password("rules", "reset")
    assert refused.code == ExitCode.USAGE and "--yes" in refused.err
    assert harness.run_with_password("rules", "reset", "--yes").code == 0
    assert harness.text(RISK) == (SHIPPED / RISK).read_text(encoding="utf-8")


def test_rules_reset_from_the_menu_needs_the_typed_word(harness: AdminHarness) -> None:
    assert harness.run_with_password("rules", "set", "RULE-003", "loss_limit=600", "--yes").code == 0
    declined = harness.run("rules", "reset", interactive=True, hidden=[PASSWORD], stdin="reset\n")
    assert declined.code == 0 and "Nothing written" in declined.err
    assert "loss_limit: 600" in harness.text(RISK)


def test_validate_exits_6_with_every_error(harness: AdminHarness) -> None:
    assert harness.run_with_password("config", "validate").code == 0
    (harness.config_dir / RISK).write_text(harness.text(RISK).replace("    limit: 5\n", "    limit: 5.0\n"),
                                           encoding="utf-8")
    result = harness.run_with_password("rules", "validate")
    assert result.code == ExitCode.VALIDATION_FAILED
    assert "risk_config.yaml: rules.max_contracts.limit: must be an integer (got 5.0)" in result.out


# --- 3 service control ------------------------------------------------------------------------------

def test_service_verbs_without_a_service_manager_exit_5(harness: AdminHarness) -> None:
    for verb in ("start", "restart", "enable", "disable", "install", "uninstall"):
        result = harness.run_with_password("service", verb, "--yes")
        assert result.code == ExitCode.NO_SERVICE_MANAGER, verb
        assert "srm run" in result.err
    status = harness.run("service", "status")
    assert status.code == 0 and "no service manager; daemon not running" in status.out


def test_service_status_without_a_manager_reads_the_lock_pid(harness: AdminHarness) -> None:
    with InstanceLock(lock_path(harness.data_dir)):
        status = harness.run("service", "status", "--json")
    assert _json(status.out) == {"backend": "none", "running": True, "pid": os.getpid()}


def test_service_start_stop_restart_autostart(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir)
    started = harness.run_with_password("service", "start")
    assert started.code == 0 and harness.service.running
    assert "is running; daemon status not available yet" in started.out
    refused = harness.run_with_password("service", "stop")
    assert refused.code == ExitCode.USAGE and harness.service.running
    stopped = harness.run_with_password("service", "stop", "--yes")
    assert stopped.code == 0 and not harness.service.running
    assert "suspends ALL risk enforcement" in stopped.err
    assert harness.run_with_password("service", "restart").code == 0 and harness.service.running
    assert harness.run_with_password("service", "disable").code == 0 and not harness.service.enabled
    assert harness.run("status", command="service").code == 0
    assert harness.service.calls == ["start", "stop", "stop", "start", "disable"]


def test_srm_service_is_the_same_command_with_the_same_access_control(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir)
    harness.admin = False
    assert harness.run("start", command="service").code == ExitCode.NOT_PRIVILEGED
    harness.admin = True
    result = harness.run("start", "--password-stdin", stdin=f"{PASSWORD}\n", command="service")
    assert result.code == 0 and harness.service.running
    assert json.loads(harness.audit_lines()[-1])["command"] == "service start"


def test_service_install_validates_then_installs(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir, installed=False)
    result = harness.run_with_password("service", "install")
    assert result.code == 0, result.err
    request = harness.service.install_requests[0]
    assert request.config_dir == harness.config_dir.resolve() and request.start
    assert "installed and running" in result.out and harness.service.running
    removed = harness.run_with_password("service", "uninstall", "--yes")
    assert removed.code == 0 and not harness.service.installed
    assert harness.config_dir.is_dir() and "kept" in removed.out


def test_service_install_refuses_an_invalid_configuration(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir, installed=False)
    (harness.config_dir / RISK).write_text(harness.text(RISK).replace("    limit: 5\n", "    limit: 5.0\n"),
                                           encoding="utf-8")
    result = harness.run_with_password("service", "install")
    assert result.code == ExitCode.VALIDATION_FAILED and harness.service.calls == []


def test_uninstall_purge_deletes_the_directories(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir, running=True)
    result = harness.run_with_password("service", "uninstall", "--purge", "--yes")
    assert result.code == 0, result.err
    assert not harness.config_dir.exists() and not harness.data_dir.exists()


def test_service_logs_pretty_prints_json_lines(harness: AdminHarness) -> None:
    (harness.log_dir / "enforcement.log").write_text(
        "\n".join(json.dumps({"ts": f"2025-03-04T15:0{n}:00.000Z", "level": "INFO",
                              "logger": "simple_risk_manager.enforcement", "msg": f"action {n}",
                              "account_id": 7001}) for n in range(5)) + "\n", encoding="utf-8")
    result = harness.run_with_password("service", "logs", "--file", "enforcement", "-n", "2")
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        "2025-03-04T15:03:00.000Z INFO     enforcement: action 3 [account_id=7001]",
        "2025-03-04T15:04:00.000Z INFO     enforcement: action 4 [account_id=7001]"]
    assert harness.run_with_password("service", "logs", "--file", "error").code == 1


def test_pretty_line_reads_admin_log_and_plain_text() -> None:
    line = json.dumps({"ts": "t", "user": "root", "command": "rules set RULE-003 loss_limit=600",
                       "outcome": "ok"})
    assert pretty_line(line) == "t root: rules set RULE-003 loss_limit=600 → ok"
    assert pretty_line("plain text line\n") == "plain text line"


# --- 4 test (offline checks), 5 status ----------------------------------------------------------------

def test_offline_checks(harness: AdminHarness) -> None:
    write_database(harness)
    harness.service = FakeServiceManager(harness.data_dir)
    result = harness.run_with_password("test", "db")
    assert result.code == 0 and "schema version 1" in result.out
    config = harness.run_with_password("test", "config", "--json")
    assert _json(config.out)[0]["ok"] is True
    service = harness.run_with_password("test", "service", "--ascii")
    assert service.code == ExitCode.CONNECTION_TEST_FAILED
    assert service.out.startswith("FAIL service") and "inactive" in service.out
    skipped = harness.run_with_password("test", "broadcast", "--ascii")
    assert skipped.code == 0 and skipped.out.startswith("SKIP broadcast")


def test_a_check_without_credentials_fails_with_the_variable_named(harness: AdminHarness) -> None:
    result = harness.run_with_password("test", "api", "--json")
    assert result.code == ExitCode.CONNECTION_TEST_FAILED
    detail = _json(result.out)[0]["detail"]
    assert "PROJECT_X_USERNAME is not set" in detail or "PROJECT_X_API_KEY is not set" in detail


def test_status_offline_from_the_database(harness: AdminHarness) -> None:
    write_database(harness, lockout())
    (harness.log_dir / "enforcement.log").write_text(json.dumps(
        {"ts": "2025-03-04T15:00:00.000Z", "level": "WARNING", "logger": "simple_risk_manager.enforcement",
         "msg": "RULE-003 CLOSE_ALL_AND_LOCKOUT"}) + "\n", encoding="utf-8")
    report = _json(harness.run("status", "--json").out)
    assert report["source"] == "database" and report["service"]["running"] is False
    accounts = {a["account_id"]: a for a in report["accounts"]}
    assert accounts[7001]["realized_pnl"] == "-512.50"
    assert accounts[7001]["nickname"] == "50K Combine"
    assert accounts[7001]["lockout"]["rule_id"] == "RULE-003"
    assert accounts[7001]["lockout"]["remaining_s"] == 3600
    assert accounts[7001]["last_enforcement"]["action"] == "CLOSE_ALL_AND_LOCKOUT"
    assert report["enforcement_log"] == ["2025-03-04T15:00:00.000Z WARNING  enforcement: RULE-003 "
                                         "CLOSE_ALL_AND_LOCKOUT"]
    text = harness.run("status").out
    assert "offline" in text and "LOCKED by RULE-003 (reset), 1h00m left" in text


def test_status_shows_restart_pending_after_a_change(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir, running=True, since=T0 - timedelta(days=3650))
    assert harness.run_with_password("rules", "set", "RULE-003", "loss_limit=600", "--yes",
                                     "--no-restart").code == 0
    report = _json(harness.run("status", "--json").out)
    assert report["restart_pending"] is True
    assert "config changed, restart pending" in harness.run("status").out


# --- the restart question after a change ---------------------------------------------------------------

def test_a_running_service_needs_restart_or_no_restart_when_scripted(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir, running=True)
    before = harness.text(RISK)
    result = harness.run_with_password("rules", "set", "RULE-003", "loss_limit=600", "--yes")
    assert result.code == ExitCode.USAGE and "--restart or --no-restart" in result.err
    assert harness.text(RISK) == before
    restarted = harness.run_with_password("rules", "set", "RULE-003", "loss_limit=600", "--yes", "--restart",
                                          "--json")
    assert restarted.code == 0 and _json(restarted.out)["restarted"] is True
    assert harness.service.calls == ["stop", "start"] and harness.service.running


def test_a_terminal_is_asked_whether_to_restart(harness: AdminHarness) -> None:
    harness.service = FakeServiceManager(harness.data_dir, running=True)
    result = harness.run("rules", "set", "RULE-003", "loss_limit=600", interactive=True,
                         hidden=[PASSWORD], stdin="y\nn\n")
    assert result.code == 0, result.err
    assert "Write risk_config.yaml? [y/N]" in result.err and "Restart now to apply? [y/N]" in result.err
    assert "next restart" in result.err and harness.service.calls == []


# --- 6 lockouts ---------------------------------------------------------------------------------------

def test_lockout_list(harness: AdminHarness) -> None:
    write_database(harness, lockout(), lockout("RULE-006", 2, until_s=-1))
    rows = _json(harness.run_with_password("lockout", "list", "--json").out)
    assert [(r["rule_id"], r["remaining_s"]) for r in rows] == [("RULE-003", 3600)]


def test_lockout_clear_stops_clears_and_starts_again(harness: AdminHarness) -> None:
    db = write_database(harness, lockout(), lockout("RULE-006", 2))
    harness.service = FakeServiceManager(harness.data_dir, running=True)
    result = harness.run_with_password("lockout", "clear", "7001", "--rule", "RULE-003", "--reason",
                                       "limit raised by the risk desk", "--yes")
    assert result.code == 0, result.err
    assert "suspends ALL risk enforcement" in result.err
    assert harness.service.calls == ["stop", "start"] and harness.service.running
    conn = connect_reader(db)
    try:
        records = {r.rule_id: r for r in read_lockouts(conn, 7001, include_cleared=True)}
        unlocks = [row for row in read_enforcement_log(conn, T0) if row.action == "UNLOCK"]
    finally:
        conn.close()
    assert records["RULE-003"].cleared_by == "ADMIN" and records["RULE-003"].cleared_at == T0
    assert records["RULE-006"].cleared_at is None
    assert [(u.rule_id, u.reason, u.cleared_by) for u in unlocks] == [
        ("RULE-003", "limit raised by the risk desk", "ADMIN")]
    audit = json.loads(harness.audit_lines()[-1])
    assert audit["command"].startswith("lockout clear 7001 --rule RULE-003") and audit["outcome"] == "ok"


def test_lockout_clear_refuses_while_the_lock_is_held(harness: AdminHarness) -> None:
    db = write_database(harness, lockout())
    with InstanceLock(lock_path(harness.data_dir)):  # a daemon started by hand, no service manager
        result = harness.run_with_password("lockout", "clear", "7001", "--reason", "test", "--yes")
    assert result.code == 1 and "Stop the daemon first" in result.err
    conn = connect_reader(db)
    try:
        assert read_lockouts(conn, 7001)[0].cleared_at is None
    finally:
        conn.close()


def test_lockout_clear_changes_nothing_when_the_service_cannot_be_stopped(harness: AdminHarness) -> None:
    write_database(harness, lockout())
    harness.service = FakeServiceManager(harness.data_dir, running=True)
    harness.service.fail_stop = True
    result = harness.run_with_password("lockout", "clear", "7001", "--reason", "x", "--yes")
    assert result.code == 1 and "could not be stopped, nothing was changed" in result.err
    assert harness.service.running


def test_lockout_clear_starts_the_service_again_when_the_lock_stays_held(
        harness: AdminHarness, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service reports stopped but a process still holds the lock: refuse, and restore the guard."""
    db = write_database(harness, lockout())
    service = harness.service = FakeServiceManager(harness.data_dir, running=True)
    held = service._lock

    def stop_but_stay_locked() -> None:
        service.calls.append("stop")
        service._lock = None  # the lock itself stays taken, as by a process the service lost track of

    monkeypatch.setattr(service, "stop", stop_but_stay_locked)
    result = harness.run_with_password("lockout", "clear", "7001", "--reason", "x", "--yes")
    assert result.code == 1 and "Stop the daemon first" in result.err
    assert "did not start again — risk enforcement is OFF" in result.err
    assert service.calls == ["stop", "start"]
    assert held is not None
    held.release()
    conn = connect_reader(db)
    try:
        assert read_lockouts(conn, 7001)[0].cleared_at is None
    finally:
        conn.close()


def test_lockout_clear_needs_a_reason_and_a_confirmation(harness: AdminHarness) -> None:
    write_database(harness, lockout())
    blank = harness.run_with_password("lockout", "clear", "7001", "--reason", " ", "--yes")
    assert blank.code == ExitCode.USAGE
    assert harness.run_with_password("lockout", "clear", "7001", "--reason", "r").code == ExitCode.USAGE
    nothing = harness.run_with_password("lockout", "clear", "7002", "--reason", "r", "--yes")
    assert nothing.code == 0 and "no active lockout" in nothing.out


# --- database -----------------------------------------------------------------------------------------

def test_db_backup_check_and_init(harness: AdminHarness) -> None:
    db = write_database(harness, lockout())
    backup = harness.run_with_password("db", "backup", "--json")
    assert backup.code == 0
    copy = Path(_json(backup.out)["backup"])
    assert copy.parent == harness.data_dir / "backups" and copy.is_file()
    assert harness.run_with_password("db", "check").code == 0
    assert harness.run_with_password("db", "init").code == ExitCode.USAGE
    init = harness.run_with_password("db", "init", "--yes")
    assert init.code == 0, init.err
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM lockouts").fetchone() == (0,)
    finally:
        conn.close()


def test_db_check_reports_a_damaged_file(harness: AdminHarness) -> None:
    (harness.data_dir / "state.db").write_bytes(b"not a database at all" * 100)
    result = harness.run_with_password("db", "check")
    assert result.code == 1 and "state.db" in result.err


@pytest.mark.parametrize("command", [["account", "list"], ["rules", "list"], ["lockout", "list"]])
def test_every_command_is_audited_without_secrets(harness: AdminHarness, command: list[str]) -> None:
    assert harness.run_with_password(*command).code == 0
    last = json.loads(harness.audit_lines()[-1])
    assert last["command"] == " ".join(command) and last["outcome"] == "ok"
    assert PASSWORD not in "\n".join(harness.audit_lines())


# --- the srm command --------------------------------------------------------------------------------

def test_srm_registers_admin_and_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from simple_risk_manager.cli.main import main

    for argv in (["admin", "--version"], ["service", "--version"], ["admin", "rules", "set", "--help"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
    assert "key=value" in capsys.readouterr().out
    dirs = ["--config-dir", str(tmp_path / "c"), "--data-dir", str(tmp_path / "d"),
            "--log-dir", str(tmp_path / "l")]
    assert main(["admin", "status", "--json", *dirs]) == 0
    assert json.loads(capsys.readouterr().out)["source"] == "database"


def test_the_menus_need_a_terminal(harness: AdminHarness) -> None:
    result = harness.run()
    assert result.code == ExitCode.USAGE and "need a terminal" in result.err
