"""One function per Admin CLI action (`cli.md` §2.3); the menus and the subcommands both call these.

Each action takes the `AdminContext` and the action's own arguments, talks to the administrator through
`ctx.console` (messages, diffs and prompts on stderr) and returns a `Result`: its data for `--json` and
its text for stdout. Failures raise `AdminError` with the exit code of `cli.md` §0.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic_core import PydanticUndefined
from ruamel.yaml.comments import CommentedMap, CommentedSeq

import simple_risk_manager
from simple_risk_manager.admin.config_edit import (
    ConfigChange,
    Indentation,
    dump_editable,
    load_editable,
    masked_secret,
    propose_edit,
    propose_text,
    read_config_text,
    write_change,
)
from simple_risk_manager.admin.connection_test import (
    CHECK_NAMES,
    ConnectionTests,
    Endpoints,
    check_database,
    verify_login,
)
from simple_risk_manager.admin.context import AdminContext
from simple_risk_manager.admin.credentials import credential_env, resolve_value
from simple_risk_manager.admin.daemon_probe import ProbeError, probe_daemon
from simple_risk_manager.admin.daemon_process import running_daemon_pid
from simple_risk_manager.admin.documents import (
    account_entries,
    account_entry,
    mapping,
    parse_assignment,
    quoted,
    rule_section,
    set_or_remove,
    set_path,
)
from simple_risk_manager.admin.errors import (
    AdminError,
    PromptNeededError,
    UsageError,
    ValidationFailedError,
)
from simple_risk_manager.admin.lockout_clear import active_lockouts, clear_lockouts
from simple_risk_manager.admin.log_view import LOG_FILES, follow, last_lines, pretty_line
from simple_risk_manager.admin.offline import SUSPENDED_WARNING, daemon_stopped
from simple_risk_manager.admin.ownership import adopt_directory_owner
from simple_risk_manager.admin.password import choose_new_password
from simple_risk_manager.admin.status import gather_status, render_status
from simple_risk_manager.config import ACCOUNTS_FILE, RISK_FILE, RULE_CATALOG, EnvMode, validate_config_dir
from simple_risk_manager.config.accounts import DEFAULT_API_URL, DEFAULT_MARKET_HUB_URL, DEFAULT_USER_HUB_URL
from simple_risk_manager.config.rule_catalog import RuleInfo, rule_info
from simple_risk_manager.config.yaml_reader import read_yaml
from simple_risk_manager.gateway import Credentials
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.service.manager import InstallRequest, ServiceError, ServiceManager, wait_for_state
from simple_risk_manager.store import backup_database, connect_reader, recreate_database
from simple_risk_manager.store.connection import side_files
from simple_risk_manager.store.database import default_backups_dir

_ENV_NAME: Final = re.compile(r"[A-Z_][A-Z0-9_]*")
_RESTART_FLAG: Final = "--restart or --no-restart"
FIRST_STATUS_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Result:
    data: Any = None
    text: str = ""
    code: ExitCode = ExitCode.OK


# --- helpers shared by the changing actions ------------------------------------------------------

def _daemon_running(ctx: AdminContext) -> tuple[bool, ServiceManager | None]:
    manager = ctx.service
    if manager is not None:
        try:
            return manager.status().running, manager
        except ServiceError:
            return False, manager
    return running_daemon_pid(ctx.data_dir) is not None, None


def commit(ctx: AdminContext, change: ConfigChange, *, confirmed: bool = False) -> Result:
    """Show the diff, confirm, write (with `.bak`), then offer the restart that applies it."""
    console = ctx.console
    data: dict[str, Any] = {"changed": False, "file": str(change.path), "backup": None, "restarted": False}
    if not change.changed:
        console.info(f"{change.filename}: nothing to change.")
        return Result(data)
    console.info(change.diff().rstrip("\n"))
    for issue in change.remaining_errors:
        console.warn(f"still to fix (not caused by this change): {issue}")
    running, manager = _daemon_running(ctx)
    if running and manager is not None and ctx.restart is None and not console.interactive:
        raise PromptNeededError("Restart now to apply?", _RESTART_FLAG)
    if not confirmed and not console.confirm(f"Write {change.filename}?"):
        console.info("Nothing written.")
        return Result(data)
    backup = write_change(change)
    data.update(changed=True, backup=None if backup is None else str(backup))
    console.info(f"Wrote {change.path}" + (f" (previous version in {backup.name})" if backup else ""))
    if not running:
        console.info("The daemon reads its configuration when it starts; this change applies then.")
    elif manager is None:
        console.info("The daemon reads its configuration only at start: restart `srm run` to apply it.")
    elif ctx.restart if ctx.restart is not None else console.confirm("Restart now to apply?", _RESTART_FLAG):
        _restart(ctx, manager)
        data["restarted"] = True
    else:
        console.info("Not restarted: the change applies at the next restart (srm admin service restart); "
                     "until then status shows \"config changed, restart pending\".")
    return Result(data)


def _restart(ctx: AdminContext, manager: ServiceManager) -> None:
    ctx.console.info(f"Restarting {manager.service_name} …")
    try:
        manager.stop()
        wait_for_state(manager, running=False, sleep=ctx.sleep, monotonic=ctx.monotonic)
        manager.start()
        wait_for_state(manager, running=True, sleep=ctx.sleep, monotonic=ctx.monotonic)
    except ServiceError as exc:
        raise AdminError(f"restart failed: {exc}") from None
    ctx.console.info(f"{manager.service_name} is running.")


def _rule(rule: str) -> RuleInfo:
    try:
        return rule_info(rule)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None


def _env_reference(name: str) -> str:
    if not _ENV_NAME.fullmatch(name):
        raise ValidationFailedError(f"--api-key-env {name}: use an upper-case variable name such as "
                                    "PROJECT_X_API_KEY")
    return f"${{{name}}}"


def _api_key_value(ctx: AdminContext, username: str, api_key_env: str | None) -> str:
    """What goes into the file: a `${VAR}` reference, or the key typed hidden / read from stdin."""
    if api_key_env is not None:
        return _env_reference(api_key_env)
    key = ctx.console.api_key(f"API key for {username} (hidden)")
    if not key or any(ch.isspace() for ch in key):
        raise ValidationFailedError("API key: must be non-empty and contain no spaces")
    return key


def _read_plain(ctx: AdminContext, filename: str) -> Any:
    text = read_config_text(ctx.config_dir, filename)
    if text is None:
        hint = ("add the first account with srm admin account add" if filename == ACCOUNTS_FILE
                else "srm admin rules reset restores the shipped file")
        raise AdminError(f"{ctx.config_dir / filename} does not exist; {hint}")
    value, problems = read_yaml(text)
    if value is None:
        raise ValidationFailedError(f"{filename} cannot be read:", [str(p.message) for p in problems])
    return value


def _endpoints(document: Mapping[str, Any] | None) -> Endpoints:
    login = document.get("topstepx") if isinstance(document, Mapping) else None
    if not isinstance(login, Mapping):
        return Endpoints(DEFAULT_API_URL, DEFAULT_USER_HUB_URL, DEFAULT_MARKET_HUB_URL)
    return Endpoints(str(login.get("api_url") or DEFAULT_API_URL),
                     str(login.get("user_hub_url") or DEFAULT_USER_HUB_URL),
                     str(login.get("market_hub_url") or DEFAULT_MARKET_HUB_URL))


def _verify(ctx: AdminContext, endpoints: Endpoints, username: str, api_key: str,
            account_id: int | None) -> None:
    env = credential_env(ctx.config_dir, ctx.env)
    credentials = Credentials(resolve_value(username, env, "username"),
                              resolve_value(api_key, env, "api_key"))
    ctx.console.info(f"Verifying with {endpoints.api_url} …")
    ctx.console.info(asyncio.run(verify_login(endpoints, credentials, ctx.clock, account_id)))


# --- 1 Manage accounts -----------------------------------------------------------------------------

def account_list(ctx: AdminContext) -> Result:
    document = _read_plain(ctx, ACCOUNTS_FILE)
    shared = document.get("topstepx") if isinstance(document, dict) else None
    entries = document.get("accounts") if isinstance(document, dict) else None
    rows: list[dict[str, Any]] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        own = entry.get("username") is not None
        overrides = entry.get("risk_overrides")
        rows.append({
            "account_id": entry.get("account_id"), "nickname": entry.get("nickname"),
            "enabled": entry.get("enabled", True) is not False,
            "login": str(entry.get("username")) if own else "shared",
            "api_key": masked_secret(entry.get("api_key")) if own else None,
            "reset_time": entry.get("reset_time"), "timezone": entry.get("timezone"),
            "overrides": sorted(overrides) if isinstance(overrides, dict) else [],
        })
    login = None
    if isinstance(shared, dict):
        login = {"username": shared.get("username"), "api_key": masked_secret(shared.get("api_key")),
                 "api_url": shared.get("api_url", DEFAULT_API_URL)}
    lines = []
    if login is not None:
        lines.append(f"Shared login: {login['username']}  key {login['api_key']}  {login['api_url']}")
    else:
        lines.append("Shared login: none (every account has its own)")
    lines.append(f"{'ID':<10} {'NICKNAME':<22} {'STATE':<9} {'LOGIN':<22} {'RESET':<24} OVERRIDES")
    for row in rows:
        login_text = row["login"] if row["login"] == "shared" else f"{row['login']} ({row['api_key']})"
        reset = f"{row['reset_time'] or 'global'} {row['timezone'] or ''}".strip()
        lines.append(f"{row['account_id']!s:<10} {row['nickname'] or '-':<22} "
                     f"{'enabled' if row['enabled'] else 'disabled':<9} {login_text:<22} {reset:<24} "
                     f"{', '.join(row['overrides']) or '-'}")
    return Result({"login": login, "accounts": rows}, "\n".join(lines))


def login_set(ctx: AdminContext, username: str, api_key_env: str | None, verify: bool = True) -> Result:
    """The shared `topstepx` login (`config.md` §3.1), verified with `loginKey`."""
    if read_config_text(ctx.config_dir, ACCOUNTS_FILE) is None:
        raise AdminError(f"{ctx.config_dir / ACCOUNTS_FILE} does not exist yet: add the first account with "
                         "its login (srm admin account add --id N --username U --api-key-stdin); that login "
                         "becomes the shared one")
    if not username.strip():
        raise ValidationFailedError("--username: the platform login name is required")
    api_key = _api_key_value(ctx, username, api_key_env)
    if verify:
        _verify(ctx, _endpoints(_read_plain(ctx, ACCOUNTS_FILE)), username, api_key, None)

    def edit(document: Any) -> None:
        root = mapping(document, ACCOUNTS_FILE)
        login = root.get("topstepx")
        if not isinstance(login, CommentedMap):
            login = CommentedMap()
            root.insert(1 if "version" in root else 0, "topstepx", login)
        login["username"] = quoted(username)
        login["api_key"] = quoted(api_key)

    return commit(ctx, propose_edit(ctx.config_dir, ACCOUNTS_FILE, edit))


def account_add(ctx: AdminContext, account_id: int, *, nickname: str | None = None,
                username: str | None = None, api_key_env: str | None = None, reset_time: str | None = None,
                timezone: str | None = None, verify: bool = True) -> Result:
    """Append an account; on a new `accounts.yaml` its login becomes the shared `topstepx` login."""
    existing = read_config_text(ctx.config_dir, ACCOUNTS_FILE)
    if api_key_env is not None and username is None:
        raise UsageError("--api-key-env needs --username (a login is a user name and its key)")
    api_key = None if username is None else _api_key_value(ctx, username, api_key_env)
    if existing is None and (username is None or api_key is None):
        raise UsageError(f"{ACCOUNTS_FILE} does not exist yet: give the first account's login with "
                         "--username U and --api-key-stdin or --api-key-env NAME")
    if verify:
        current = None if existing is None else _read_plain(ctx, ACCOUNTS_FILE)
        if username is not None and api_key is not None:
            login_user, login_key = username, api_key
        else:
            shared = current.get("topstepx") if isinstance(current, dict) else None
            if not isinstance(shared, dict) or not shared.get("username") or not shared.get("api_key"):
                raise AdminError("no shared login to verify with: give --username and an API key, "
                                 "set one with srm admin login set, or pass --no-verify")
            login_user, login_key = str(shared["username"]), str(shared["api_key"])
        _verify(ctx, _endpoints(current), login_user, login_key, account_id)

    entry = CommentedMap()
    entry["account_id"] = account_id
    if nickname:
        entry["nickname"] = quoted(nickname)
    entry["enabled"] = True
    if existing is not None and username is not None:
        entry["username"], entry["api_key"] = quoted(username), quoted(api_key)
    if reset_time:
        entry["reset_time"] = quoted(reset_time)
    if timezone:
        entry["timezone"] = quoted(timezone)

    def new_document() -> CommentedMap:
        document = CommentedMap()
        document["version"] = 1
        document["topstepx"] = CommentedMap([("username", quoted(username)), ("api_key", quoted(api_key))])
        document["accounts"] = CommentedSeq()
        return document

    def edit(document: Any) -> None:
        accounts = mapping(document, ACCOUNTS_FILE).get("accounts")
        if accounts is None:
            accounts = document["accounts"] = CommentedSeq()
        if not isinstance(accounts, CommentedSeq):
            raise AdminError(f"{ACCOUNTS_FILE}: accounts is not a list")
        if any(isinstance(e, dict) and e.get("account_id") == account_id for e in accounts):
            raise AdminError(f"account {account_id} is already in {ACCOUNTS_FILE}; "
                             "use srm admin account edit")
        accounts.append(entry)

    return commit(ctx, propose_edit(ctx.config_dir, ACCOUNTS_FILE, edit, new_document))


def account_edit(ctx: AdminContext, account_id: int, *, nickname: str | None = None,
                 username: str | None = None, api_key_env: str | None = None, reset_time: str | None = None,
                 timezone: str | None = None, clear: Sequence[str] = (), verify: bool = True) -> Result:
    """Change an entry's nickname, own login or trading-day boundary; `clear` drops `nickname`, `login`
    (back to the shared login) or `reset` (back to the global reset)."""
    unknown = set(clear) - {"nickname", "login", "reset"}
    if unknown:
        raise UsageError(f"--clear {', '.join(sorted(unknown))}: use nickname, login or reset")
    if not any((nickname, username, reset_time, timezone, clear)):
        raise UsageError("nothing to change: give --nickname, --username, --reset-time, --timezone "
                         "or --clear")
    if api_key_env is not None and username is None:
        raise UsageError("--api-key-env needs --username (a login is a user name and its key)")
    api_key = None if username is None else _api_key_value(ctx, username, api_key_env)
    if verify and username is not None and api_key is not None:
        _verify(ctx, _endpoints(_read_plain(ctx, ACCOUNTS_FILE)), username, api_key, account_id)

    def edit(document: Any) -> None:
        _, entry = account_entry(document, account_id, ACCOUNTS_FILE)
        if "nickname" in clear:
            set_or_remove(entry, "nickname", None)
        if "login" in clear:
            set_or_remove(entry, "username", None)
            set_or_remove(entry, "api_key", None)
        if "reset" in clear:
            set_or_remove(entry, "reset_time", None)
            set_or_remove(entry, "timezone", None)
        for key, value in (("nickname", nickname), ("username", username), ("api_key", api_key),
                           ("reset_time", reset_time), ("timezone", timezone)):
            if value is not None:
                set_or_remove(entry, key, value)

    return commit(ctx, propose_edit(ctx.config_dir, ACCOUNTS_FILE, edit))


def account_set_enabled(ctx: AdminContext, account_id: int, enabled: bool) -> Result:
    def edit(document: Any) -> None:
        _, entry = account_entry(document, account_id, ACCOUNTS_FILE)
        entry["enabled"] = enabled

    return commit(ctx, propose_edit(ctx.config_dir, ACCOUNTS_FILE, edit))


def account_remove(ctx: AdminContext, account_id: int) -> Result:
    """Delete the entry; its database rows stay until retention removes them."""
    if not ctx.console.confirm_word(f"Remove account {account_id} from {ACCOUNTS_FILE}", str(account_id)):
        ctx.console.info("Nothing removed.")
        return Result({"changed": False})

    def edit(document: Any) -> None:
        index, _ = account_entry(document, account_id, ACCOUNTS_FILE)
        del account_entries(document, ACCOUNTS_FILE)[index]

    return commit(ctx, propose_edit(ctx.config_dir, ACCOUNTS_FILE, edit), confirmed=True)


# --- 2 Configure rules -----------------------------------------------------------------------------

def rules_list(ctx: AdminContext) -> Result:
    document = _read_plain(ctx, RISK_FILE)
    rules = document.get("rules") if isinstance(document, dict) else None
    rows: list[dict[str, Any]] = []
    for info in RULE_CATALOG:
        section = rules.get(info.key) if isinstance(rules, dict) else None
        enabled = section.get("enabled") if isinstance(section, dict) else None
        rows.append({"rule_id": info.rule_id, "key": info.key, "name": info.name,
                     "enabled": enabled if isinstance(enabled, bool) else None})
    lines = [f"{'RULE':<9} {'STATE':<9} {'NAME':<32} KEY"]
    for row in rows:
        state = "missing" if row["enabled"] is None else "enabled" if row["enabled"] else "disabled"
        lines.append(f"{row['rule_id']:<9} {state:<9} {row['name']:<32} {row['key']}")
    return Result(rows, "\n".join(lines))


def _without_trailing_comments(text: str) -> str:
    """ruamel keeps the comments that follow a section with its last key: they introduce the next rule."""
    lines = text.rstrip("\n").split("\n")
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("#")):
        lines.pop()
    return "\n".join(lines) + "\n"


def rules_show(ctx: AdminContext, rule: str) -> Result:
    """The section as written (with its comments), the defaults of keys not written, and overrides."""
    info = _rule(rule)
    text = read_config_text(ctx.config_dir, RISK_FILE)
    if text is None:
        raise AdminError(f"{ctx.config_dir / RISK_FILE} does not exist; srm admin rules reset restores it")
    document = load_editable(text)
    section = rule_section(document, info, RISK_FILE)
    alone = CommentedMap([(info.key, section)])
    written = _without_trailing_comments(dump_editable(alone, Indentation.of(text)))
    defaults = {name: field.default for name, field in info.model.model_fields.items()
                if name not in section and field.default is not PydanticUndefined}
    overrides = {}
    accounts_text = read_config_text(ctx.config_dir, ACCOUNTS_FILE)
    if accounts_text is not None:
        accounts, _ = read_yaml(accounts_text)
        for entry in accounts.get("accounts", []) if isinstance(accounts, dict) else []:
            override = entry.get("risk_overrides", {}).get(info.key) if isinstance(entry, dict) else None
            if isinstance(override, dict):
                overrides[str(entry.get("account_id"))] = override
    plain, _ = read_yaml(written)
    lines = [f"{info.rule_id} {info.name}", written.rstrip("\n")]
    if defaults:
        shown = ", ".join(f"{key}={value!r}" for key, value in defaults.items())
        lines.append(f"  # not written, defaults apply: {shown}")
    for account_id, override in overrides.items():
        shown = ", ".join(f"{key}={value!r}" for key, value in override.items())
        lines.append(f"  # account {account_id} overrides: {shown}")
    section_values = plain.get(info.key) if isinstance(plain, dict) else None
    data = {"rule_id": info.rule_id, "key": info.key, "name": info.name, "section": section_values,
            "defaults": {k: v if isinstance(v, str | int | float | bool | None) else str(v)
                         for k, v in defaults.items()},
            "account_overrides": overrides}
    return Result(data, "\n".join(lines))


def rules_set(ctx: AdminContext, rule: str, assignments: Sequence[str],
              account_id: int | None = None) -> Result:
    """`key=value …` into the rule's section, or into that account's `risk_overrides` with `account_id`."""
    info = _rule(rule)
    if not assignments:
        raise UsageError("give at least one key=value, e.g. loss_limit=600")
    changes = [parse_assignment(text) for text in assignments]
    where = f"{info.rule_id} ({info.key})"
    if account_id is None:
        def edit_rules(document: Any) -> None:
            section = rule_section(document, info, RISK_FILE)
            for parts, value in changes:
                set_path(section, parts, value, where)

        return commit(ctx, propose_edit(ctx.config_dir, RISK_FILE, edit_rules))

    def edit_overrides(document: Any) -> None:
        _, entry = account_entry(document, account_id, ACCOUNTS_FILE)
        overrides = entry.get("risk_overrides")
        if not isinstance(overrides, CommentedMap):
            overrides = entry["risk_overrides"] = CommentedMap()
        section = overrides.get(info.key)
        if not isinstance(section, CommentedMap):
            section = overrides[info.key] = CommentedMap()
        for parts, value in changes:
            set_path(section, parts, value, f"account {account_id} {where}")

    return commit(ctx, propose_edit(ctx.config_dir, ACCOUNTS_FILE, edit_overrides))


def rules_set_enabled(ctx: AdminContext, rule: str, enabled: bool, account_id: int | None = None) -> Result:
    return rules_set(ctx, rule, [f"enabled={'true' if enabled else 'false'}"], account_id)


def shipped_risk_config(prefix: Path = Path(sys.prefix)) -> Path:
    """The `risk_config.yaml` shipped with the program: the source tree's `config/` (a checkout or an
    editable install), else `<prefix>/share/simple-risk-manager/`."""
    package_dir = Path(simple_risk_manager.__file__).resolve().parent
    candidates = (package_dir.parents[1] / "config" / RISK_FILE,
                  prefix / "share" / "simple-risk-manager" / RISK_FILE)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise AdminError("the shipped risk_config.yaml was not found (looked in "
                     + ", ".join(str(c) for c in candidates) + ")")


def rules_reset(ctx: AdminContext, shipped: Path | None = None) -> Result:
    """Restore the shipped `risk_config.yaml` (`config.md` §4.5); typed confirmation RESET."""
    source = shipped or shipped_risk_config()
    change = propose_text(ctx.config_dir, RISK_FILE, source.read_text(encoding="utf-8"))
    if change.changed and not ctx.console.confirm_word(
            f"Replace {RISK_FILE} with the shipped defaults ({source})", "RESET"):
        ctx.console.info("Nothing written.")
        return Result({"changed": False})
    return commit(ctx, change, confirmed=True)


def config_validate(ctx: AdminContext) -> Result:
    """The daemon's validator on the whole directory (`${VAR}` checked for form); exit 6 on errors."""
    result = validate_config_dir(ctx.config_dir, env=ctx.env, env_mode=EnvMode.SYNTAX_ONLY)
    data = {"valid": not result.errors, "errors": [str(i) for i in result.errors],
            "warnings": [str(i) for i in result.warnings]}
    lines = [f"Configuration in {ctx.config_dir} is " + ("valid." if not result.errors else "invalid:")]
    lines += [f"  {issue}" for issue in result.errors]
    lines += [f"  warning: {issue}" for issue in result.warnings]
    return Result(data, "\n".join(lines), ExitCode.VALIDATION_FAILED if result.errors else ExitCode.OK)


# --- 3 Service control -----------------------------------------------------------------------------

def _first_daemon_status(ctx: AdminContext) -> str:
    try:
        probe = asyncio.run(probe_daemon(ctx.port, ctx.clock, timeout_s=FIRST_STATUS_TIMEOUT_S))
    except ProbeError as exc:
        return f"daemon status not available yet ({exc})"
    status = probe.daemon_status or {}
    return f"daemon {status.get('status', '?')}: {status.get('message', '')}".rstrip(": ")


def service_status(ctx: AdminContext) -> Result:
    """Service manager state, PID, since; without one, the PID in `data/daemon.lock`."""
    manager = ctx.service
    if manager is None:
        pid = running_daemon_pid(ctx.data_dir)
        data = {"backend": "none", "running": pid is not None, "pid": pid}
        state = f"running (pid {pid}, from {ctx.data_dir / 'daemon.lock'})" if pid else "not running"
        return Result(data, f"no service manager; daemon {state}")
    try:
        status = manager.status()
    except ServiceError as exc:
        raise AdminError(str(exc)) from None
    parts = [status.state.value]
    if status.pid:
        parts.append(f"pid {status.pid}")
    if status.since:
        parts.append(f"since {status.since.isoformat()}")
    if status.enabled is not None:
        parts.append("starts at boot" if status.enabled else "no autostart")
    if status.detail:
        parts.append(status.detail)
    return Result(status.to_dict(), f"{manager.service_name}: {', '.join(parts)}")


def service_start(ctx: AdminContext) -> Result:
    manager = ctx.require_service()
    try:
        if manager.status().running:
            return Result({"running": True}, f"{manager.service_name} is already running")
        manager.start()
        wait_for_state(manager, running=True, sleep=ctx.sleep, monotonic=ctx.monotonic)
    except ServiceError as exc:
        raise AdminError(str(exc)) from None
    return Result({"running": True}, f"{manager.service_name} is running; {_first_daemon_status(ctx)}")


def service_stop(ctx: AdminContext) -> Result:
    manager = ctx.require_service()
    ctx.console.warn(SUSPENDED_WARNING)
    if not ctx.console.confirm_word(f"Stop {manager.service_name}", "STOP"):
        return Result({"running": True}, "Not stopped.")
    try:
        manager.stop()
        wait_for_state(manager, running=False, sleep=ctx.sleep, monotonic=ctx.monotonic)
    except ServiceError as exc:
        raise AdminError(str(exc)) from None
    return Result({"running": False}, f"{manager.service_name} is stopped: risk enforcement is OFF")


def service_restart(ctx: AdminContext) -> Result:
    manager = ctx.require_service()
    ctx.console.warn("restarting suspends risk enforcement until the daemon is running again")
    _restart(ctx, manager)
    return Result({"running": True}, _first_daemon_status(ctx))


def service_autostart(ctx: AdminContext, enabled: bool) -> Result:
    manager = ctx.require_service()
    try:
        manager.enable() if enabled else manager.disable()
    except ServiceError as exc:
        raise AdminError(str(exc)) from None
    return Result({"enabled": enabled}, f"{manager.service_name}: "
                  + ("starts at boot" if enabled else "no longer starts at boot"))


def service_logs(ctx: AdminContext, file: str = "daemon", lines: int = 50,
                 follow_file: bool = False) -> Result:
    """The last `lines` lines of one log file, pretty-printed; `follow_file` keeps printing (Ctrl-C)."""
    if file not in LOG_FILES:
        raise UsageError(f"--file {file}: use one of {', '.join(LOG_FILES)}")
    path = ctx.log_dir / LOG_FILES[file]
    if not path.is_file():
        raise AdminError(f"{path} does not exist (yet)")
    shown = [pretty_line(line) for line in last_lines(path, lines)]
    if not follow_file:
        return Result({"file": str(path), "lines": shown}, "\n".join(shown))
    for line in shown:
        ctx.console.data(line)
    try:
        for line in follow(path, ctx.sleep):
            ctx.console.data(pretty_line(line))
    except KeyboardInterrupt:
        pass
    return Result({"file": str(path)})


def service_install(ctx: AdminContext, start: bool = True) -> Result:
    """Validate config and password file, then the backend's install (`cli.md` §2.5)."""
    manager = ctx.require_service()
    ctx.password_file.stored_hash()
    result = validate_config_dir(ctx.config_dir, env=ctx.env, env_mode=EnvMode.SYNTAX_ONLY)
    missing = not (ctx.config_dir / ACCOUNTS_FILE).is_file()
    real_errors = [issue for issue in result.errors if not (missing and issue.file == ACCOUNTS_FILE)]
    if real_errors:
        raise ValidationFailedError("the configuration is invalid; fix it before installing:", real_errors)
    if missing:
        ctx.console.warn(f"{ACCOUNTS_FILE} does not exist yet: installing without starting; add accounts "
                         "with srm admin account add, then srm admin service start")
    request = InstallRequest(ctx.config_dir.resolve(), ctx.data_dir.resolve(), ctx.log_dir.resolve(),
                             ctx.python, start=start and not missing)
    try:
        notes = manager.install(request)
        if request.start:
            wait_for_state(manager, running=True, sleep=ctx.sleep, monotonic=ctx.monotonic)
    except ServiceError as exc:
        raise AdminError(f"install failed: {exc}") from None
    for note in notes:
        ctx.console.info(note)
    state = "installed and running" if request.start else "installed (not started)"
    return Result({"installed": True, "running": request.start, "notes": notes},
                  f"{manager.service_name} {state}")


def service_uninstall(ctx: AdminContext, purge: bool = False) -> Result:
    """Stop, disable, remove; config, data and logs stay unless `purge` (typed PURGE)."""
    manager = ctx.require_service()
    ctx.console.warn(SUSPENDED_WARNING)
    if not ctx.console.confirm_word(f"Uninstall {manager.service_name}", "UNINSTALL"):
        return Result({"uninstalled": False}, "Not uninstalled.")
    purged: list[str] = []
    directories = (ctx.config_dir, ctx.data_dir, ctx.log_dir)
    if purge and not ctx.console.confirm_word(
            "Also delete " + ", ".join(str(d) for d in directories) + " (configuration, data and logs)",
            "PURGE"):
        purge = False
    try:
        manager.uninstall()
    except ServiceError as exc:
        raise AdminError(f"uninstall failed: {exc}") from None
    if purge:
        for directory in directories:
            if directory.is_dir():
                shutil.rmtree(directory)
                purged.append(str(directory))
    text = f"{manager.service_name} uninstalled" + (f"; deleted {', '.join(purged)}" if purged else
                                                     "; configuration, data and logs kept")
    return Result({"uninstalled": True, "purged": purged}, text)


# --- 4 Test connections, 5 Status ------------------------------------------------------------------

def test_connections(ctx: AdminContext, which: str = "all") -> Result:
    if which != "all" and which not in CHECK_NAMES:
        raise UsageError(f"test {which}: use all or one of {', '.join(CHECK_NAMES)}")
    results = asyncio.run(ConnectionTests(ctx).run(which))
    lines = []
    for result in results:
        latency = "" if result.latency_ms is None else f"{result.latency_ms:7.0f} ms"
        lines.append(f"{ctx.console.mark(result.ok)} {result.name:<10} {latency:>10}  {result.detail}")
    failed = any(result.ok is False for result in results)
    return Result([r.to_dict() for r in results], "\n".join(lines),
                  ExitCode.CONNECTION_TEST_FAILED if failed else ExitCode.OK)


def status(ctx: AdminContext) -> Result:
    report = asyncio.run(gather_status(ctx))
    return Result(report, render_status(report, ctx.console))


# --- 6 Lockouts --------------------------------------------------------------------------------------

def lockout_list(ctx: AdminContext, account_id: int | None = None) -> Result:
    now = ctx.clock.now()
    records = active_lockouts(ctx, now, account_id)
    rows = []
    for record in records:
        remaining = record.remaining_s(now)
        rows.append({**record.to_dict(), "account_id": record.account_id,
                     "remaining_s": None if remaining is None else int(remaining)})
    lines = [f"{'ACCOUNT':<10} {'RULE':<9} {'KIND':<10} {'UNTIL':<26} REASON"]
    for row in rows:
        until = row["locked_until"] or "the broker re-enables trading"
        lines.append(f"{row['account_id']:<10} {row['rule_id']:<9} {row['kind']:<10} {until:<26} "
                     f"{row['reason']}")
    if not rows:
        lines = ["No active lockouts."]
    return Result(rows, "\n".join(lines))


def lockout_clear(ctx: AdminContext, account_id: int, reason: str, rule: str | None = None) -> Result:
    rule_id = None if rule is None else _rule(rule).rule_id
    scope = f"{rule_id} lockout" if rule_id else "lockouts"
    if not active_lockouts(ctx, ctx.clock.now(), account_id):
        return Result({"cleared": []}, f"Account {account_id} has no active lockout.")
    ctx.console.warn(SUSPENDED_WARNING + "; clearing happens while it is stopped")
    if not ctx.console.confirm_word(f"Clear the {scope} of account {account_id}", "CLEAR"):
        return Result({"cleared": []}, "Nothing cleared.")
    cleared = clear_lockouts(ctx, account_id, reason, rule_id)
    rows = [{**record.to_dict(), "account_id": record.account_id} for record in cleared]
    text = f"Cleared {len(cleared)} lockout(s) of account {account_id}: " + \
        ", ".join(f"{r.rule_id} ({r.kind})" for r in cleared)
    return Result({"cleared": rows}, text if cleared else f"Account {account_id} has no active lockout.")


# --- 7 Admin password, database ------------------------------------------------------------------

def password_set(ctx: AdminContext) -> Result:
    """Write a new password (first run, or after the login the caller did)."""
    ctx.password_file.write_password(choose_new_password(ctx.console))
    return Result({"changed": True}, f"Admin password saved in {ctx.password_file.path}")


def db_backup(ctx: AdminContext) -> Result:
    if not ctx.db_path.exists():
        raise AdminError(f"no database at {ctx.db_path}")
    conn = connect_reader(ctx.db_path)
    try:
        target = backup_database(conn, default_backups_dir(ctx.db_path), ctx.clock.now())
    finally:
        conn.close()
    adopt_directory_owner(ctx.data_dir, [target.parent, target])
    return Result({"backup": str(target)}, f"Backup written: {target}")


def db_check(ctx: AdminContext) -> Result:
    detail = check_database(ctx.db_path)
    return Result({"ok": True, "detail": detail, "path": str(ctx.db_path)}, f"{ctx.db_path}: {detail}")


def db_init(ctx: AdminContext) -> Result:
    """Back up and recreate `state.db` with the daemon stopped (typed INIT)."""
    if not ctx.console.confirm_word(f"Back up {ctx.db_path} and start an empty database "
                                    "(lockouts, P&L and history are reset)", "INIT"):
        return Result({"recreated": False}, "Nothing changed.")
    with daemon_stopped(ctx):
        result = recreate_database(ctx.db_path, ctx.clock.now())
        backups = default_backups_dir(ctx.db_path)
        adopt_directory_owner(ctx.data_dir, [ctx.db_path, *side_files(ctx.db_path), backups,
                                             *(backups.iterdir() if backups.is_dir() else ())])
    kept = result.backup or result.quarantined_to
    data = {"recreated": True, "backup": None if kept is None else str(kept)}
    return Result(data, f"Fresh database at {ctx.db_path}" + (f"; old one kept as {kept}" if kept else ""))

