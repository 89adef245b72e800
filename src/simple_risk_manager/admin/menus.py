"""The numbered menus of `srm admin` on a terminal (`cli.md` §2.3): `0` goes back (exits at the top),
destructive choices ask for the typed word the action names. Each entry only collects the arguments
its subcommand takes as flags and then runs the same `actions` function, recorded in `admin.log`
under that subcommand's name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Union

from simple_risk_manager.admin import actions
from simple_risk_manager.admin.actions import Result
from simple_risk_manager.admin.connection_test import CHECK_NAMES
from simple_risk_manager.admin.context import AdminContext
from simple_risk_manager.admin.errors import AdminError, UsageError
from simple_risk_manager.admin.log_view import LOG_FILES
from simple_risk_manager.admin.runner import PasswordNeed, authenticate, emit, run_recorded
from simple_risk_manager.config import ACCOUNTS_FILE, RULE_CATALOG
from simple_risk_manager.runtime.exit_codes import ExitCode

#: An entry asks for its arguments and returns (the equivalent subcommand, the call to make).
Entry = Callable[[AdminContext], tuple[str, Callable[[], Result]]]
MenuItems = list[tuple[str, Union[Entry, "MenuItems"]]]
_MENU_FLAG = "a subcommand (srm admin --help)"


def _ask(ctx: AdminContext, prompt: str) -> str:
    return ctx.console.ask(prompt, _MENU_FLAG)


def _optional(ctx: AdminContext, prompt: str) -> str | None:
    return _ask(ctx, f"{prompt} (blank: none)") or None


def _number(ctx: AdminContext, prompt: str) -> int:
    text = _ask(ctx, prompt)
    if not text.isdigit() or int(text) <= 0:
        raise UsageError(f"{text!r} is not an account id (a positive whole number)")
    return int(text)


def _yes_default(ctx: AdminContext, question: str) -> bool:
    return _ask(ctx, f"{question} [Y/n]").lower() not in ("n", "no")


def _rule(ctx: AdminContext) -> str:
    for number, info in enumerate(RULE_CATALOG, 1):
        ctx.console.info(f"  {number:>2}  {info.rule_id}  {info.name}")
    text = _ask(ctx, "Rule number")
    if not text.isdigit() or not 1 <= int(text) <= len(RULE_CATALOG):
        raise UsageError(f"{text!r}: choose 1 to {len(RULE_CATALOG)}")
    return RULE_CATALOG[int(text) - 1].rule_id


def _login(ctx: AdminContext, required: bool) -> tuple[str | None, str | None]:
    """(username, ${VAR} name or None = type the key hidden)."""
    if not required and not _ask(ctx, "Own platform login for this account? [y/N]").lower().startswith("y"):
        return None, None
    username = _ask(ctx, "Platform login name")
    if not username:
        raise UsageError("a login name is required")
    how = _ask(ctx, "API key: 1 type it (hidden)  2 a ${VAR} filled from secrets.env")
    return username, (_ask(ctx, "Variable name (e.g. PROJECT_X_API_KEY)") if how == "2" else None)


# --- entries --------------------------------------------------------------------------------------

def _account_add(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    account_id = _number(ctx, "Account id")
    nickname = _optional(ctx, "Nickname")
    username, env = _login(ctx, required=not (ctx.config_dir / ACCOUNTS_FILE).exists())
    reset_time = _optional(ctx, 'Own trading-day end "HH:MM"')
    timezone = _optional(ctx, "Its time zone, e.g. America/Chicago") if reset_time else None
    verify = _yes_default(ctx, "Verify the login and the account with the gateway now?")
    return f"account add --id {account_id}", lambda: actions.account_add(
        ctx, account_id, nickname=nickname, username=username, api_key_env=env, reset_time=reset_time,
        timezone=timezone, verify=verify)


def _login_set(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    username, env = _login(ctx, required=True)
    assert username is not None
    verify = _yes_default(ctx, "Verify the login with the gateway now?")
    return f"login set --username {username}", lambda: actions.login_set(ctx, username, env, verify)


def _account_edit(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    account_id = _number(ctx, "Account id")
    nickname = _optional(ctx, "New nickname")
    username, env = _login(ctx, required=False)
    reset_time = _optional(ctx, 'New trading-day end "HH:MM"')
    timezone = _optional(ctx, "New time zone")
    return f"account edit {account_id}", lambda: actions.account_edit(
        ctx, account_id, nickname=nickname, username=username, api_key_env=env, reset_time=reset_time,
        timezone=timezone, verify=username is not None)


def _account_enabled(enabled: bool) -> Entry:
    def entry(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
        account_id = _number(ctx, "Account id")
        verb = "enable" if enabled else "disable"
        return f"account {verb} {account_id}", lambda: actions.account_set_enabled(ctx, account_id, enabled)
    return entry


def _account_remove(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    account_id = _number(ctx, "Account id to remove")
    return f"account remove {account_id}", lambda: actions.account_remove(ctx, account_id)


def _rules_show(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    rule = _rule(ctx)
    return f"rules show {rule}", lambda: actions.rules_show(ctx, rule)


def _rules_set(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    rule = _rule(ctx)
    ctx.console.info(actions.rules_show(ctx, rule).text)
    assignments = []
    while text := _ask(ctx, "key=value (e.g. loss_limit=600; blank line when done)"):
        assignments.append(text)
    account = _optional(ctx, "Only for account id (risk_overrides)")
    account_id = int(account) if account and account.isdigit() else None
    if account is not None and account_id is None:
        raise UsageError(f"{account!r} is not an account id")
    target = f" --account {account_id}" if account_id else ""
    return (f"rules set {rule} {' '.join(assignments)}{target}",
            lambda: actions.rules_set(ctx, rule, assignments, account_id))


def _rules_enabled(enabled: bool) -> Entry:
    def entry(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
        rule = _rule(ctx)
        verb = "enable" if enabled else "disable"
        return f"rules {verb} {rule}", lambda: actions.rules_set_enabled(ctx, rule, enabled)
    return entry


def _service_logs(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    names = sorted(LOG_FILES)
    text = _ask(ctx, "Which log: " + "  ".join(f"{n} {name}" for n, name in enumerate(names, 1)))
    if not text.isdigit() or not 1 <= int(text) <= len(names):
        raise UsageError(f"{text!r}: choose 1 to {len(names)}")
    name = names[int(text) - 1]
    return f"service logs --file {name}", lambda: actions.service_logs(ctx, name, 50)


def _test(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    which = _ask(ctx, f"Which check: all (Enter) or one of {', '.join(CHECK_NAMES)}") or "all"
    return f"test {which}", lambda: actions.test_connections(ctx, which)


def _lockout_clear(ctx: AdminContext) -> tuple[str, Callable[[], Result]]:
    account_id = _number(ctx, "Account id")
    rule = _optional(ctx, "Only this rule (e.g. RULE-003)")
    reason = _ask(ctx, "Reason (recorded in the enforcement log)")
    return (f"lockout clear {account_id}" + (f" --rule {rule}" if rule else ""),
            lambda: actions.lockout_clear(ctx, account_id, reason, rule))


def _simple(command: str, call: Callable[[AdminContext], Result]) -> Entry:
    return lambda ctx: (command, lambda: call(ctx))


MAIN_MENU: MenuItems = [
    ("Manage accounts", [
        ("List", _simple("account list", actions.account_list)),
        ("Gateway login (shared)", _login_set),
        ("Add", _account_add),
        ("Edit", _account_edit),
        ("Enable", _account_enabled(True)),
        ("Disable", _account_enabled(False)),
        ("Remove", _account_remove),
    ]),
    ("Configure rules", [
        ("List", _simple("rules list", actions.rules_list)),
        ("Show", _rules_show),
        ("Edit parameters", _rules_set),
        ("Enable", _rules_enabled(True)),
        ("Disable", _rules_enabled(False)),
        ("Reset to defaults", _simple("rules reset", actions.rules_reset)),
        ("Validate", _simple("rules validate", actions.config_validate)),
    ]),
    ("Service control", [
        ("Status", _simple("service status", actions.service_status)),
        ("Start", _simple("service start", actions.service_start)),
        ("Stop", _simple("service stop", actions.service_stop)),
        ("Restart", _simple("service restart", actions.service_restart)),
        ("Autostart on", _simple("service enable", lambda ctx: actions.service_autostart(ctx, True))),
        ("Autostart off", _simple("service disable", lambda ctx: actions.service_autostart(ctx, False))),
        ("View logs", _service_logs),
        ("Install", _simple("service install", actions.service_install)),
        ("Uninstall", _simple("service uninstall", actions.service_uninstall)),
    ]),
    ("Test connections", _test),
    ("Status", _simple("status", actions.status)),
    ("Lockouts", [
        ("List", _simple("lockout list", actions.lockout_list)),
        ("Clear", _lockout_clear),
    ]),
    ("Admin password", _simple("password change", actions.password_set)),
    ("Database", [
        ("Backup", _simple("db backup", actions.db_backup)),
        ("Check", _simple("db check", actions.db_check)),
        ("Recreate (backup first)", _simple("db init", actions.db_init)),
    ]),
]


def run_menus(ctx: AdminContext) -> int:
    """`srm admin` without a command: log in (or set the first password), then the main menu."""
    if not ctx.console.interactive:
        raise UsageError("the menus need a terminal: use a subcommand (srm admin --help)")
    authenticate(ctx, PasswordNeed.LOGIN)
    _menu(ctx, "Simple Risk Manager — admin", MAIN_MENU, top=True)
    return int(ExitCode.OK)


def _menu(ctx: AdminContext, title: str, items: MenuItems, *, top: bool = False) -> None:
    console = ctx.console
    while True:
        console.info(f"\n{title}")
        for number, (label, _) in enumerate(items, 1):
            console.info(f"  {number}  {label}")
        console.info(f"  0  {'Exit' if top else 'Back'}")
        choice = _ask(ctx, "Choose")
        if choice == "0":
            return
        if not choice.isdigit() or not 1 <= int(choice) <= len(items):
            console.info(f"Choose a number from 0 to {len(items)}.")
            continue
        label, target = items[int(choice) - 1]
        if isinstance(target, list):
            _menu(ctx, f"{title} › {label}", target)
            continue
        try:
            command, call = target(ctx)
            emit(ctx, run_recorded(ctx, command, call))
        except AdminError as exc:
            console.info(f"error: {exc}")
