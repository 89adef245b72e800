"""`srm admin` (`cli.md` §2): numbered menus on a terminal, and a subcommand for every menu action.

    srm admin                                   # menus (root + admin password)
    srm admin rules set RULE-003 loss_limit=600 --yes --no-restart --password-stdin < pw
    srm admin status --json                     # no root needed

Subcommands are the §2.3 table; `srm admin service …` is also `srm service …`.
"""

from __future__ import annotations

import argparse
from typing import Any

from simple_risk_manager import __version__
from simple_risk_manager.admin import actions
from simple_risk_manager.admin.connection_test import CHECK_NAMES
from simple_risk_manager.admin.menus import run_menus
from simple_risk_manager.admin.runner import (
    CommandSpec,
    Dependencies,
    Handler,
    PasswordNeed,
    add_common_flags,
    add_leaf,
    execute,
)
from simple_risk_manager.cli.service import add_service_verbs


def _account_id(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: an account id is a positive whole number")
    return int(text)


def _account_enabled(enabled: bool) -> Handler:
    return lambda ctx, args: actions.account_set_enabled(ctx, args.id, enabled)


def _rule_enabled(enabled: bool) -> Handler:
    return lambda ctx, args: actions.rules_set_enabled(ctx, args.rule, enabled, args.account)


def _group(subparsers: Any, name: str, help_text: str) -> Any:
    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    add_common_flags(parser)
    group = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    group.required = True
    return group


def _login_flags(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--username", required=required, help="platform login name")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--api-key-stdin", action="store_true", default=argparse.SUPPRESS,
                     help="read the API key from stdin (after any passwords)")
    key.add_argument("--api-key-env", metavar="NAME",
                     help="write ${NAME}: the key comes from the service's secrets.env")
    parser.add_argument("--no-verify", action="store_true", help="skip the login / Account/search check")


def _accounts(subparsers: Any) -> None:
    group = _group(subparsers, "account", "manage accounts.yaml")
    add_leaf(group, "list", CommandSpec("account list", lambda ctx, args: actions.account_list(ctx)),
             "list the accounts (API keys as …last4)")

    add = add_leaf(group, "add", CommandSpec("account add", lambda ctx, args: actions.account_add(
        ctx, args.id, nickname=args.nickname, username=args.username, api_key_env=args.api_key_env,
        reset_time=args.reset_time, timezone=args.timezone, verify=not args.no_verify),
        audit_args=("id", "nickname", "username", "api_key_env", "reset_time", "timezone", "no_verify")),
        "add an account (verified with loginKey and Account/search)")
    add.add_argument("--id", type=_account_id, required=True, help="the gateway's numeric account id")
    add.add_argument("--nickname", help="display name (40 characters at most)")
    _login_flags(add, required=False)
    add.add_argument("--reset-time", metavar="HH:MM", help="this account's trading-day end")
    add.add_argument("--timezone", metavar="ZONE", help="IANA zone of --reset-time")

    edit = add_leaf(group, "edit", CommandSpec("account edit", lambda ctx, args: actions.account_edit(
        ctx, args.id, nickname=args.nickname, username=args.username, api_key_env=args.api_key_env,
        reset_time=args.reset_time, timezone=args.timezone, clear=args.clear or (),
        verify=not args.no_verify),
        audit_args=("id", "nickname", "username", "api_key_env", "reset_time", "timezone", "clear")),
        "change an account's nickname, own login or trading-day end")
    edit.add_argument("id", type=_account_id, help="account id")
    edit.add_argument("--nickname")
    _login_flags(edit, required=False)
    edit.add_argument("--reset-time", metavar="HH:MM")
    edit.add_argument("--timezone", metavar="ZONE")
    edit.add_argument("--clear", action="append", choices=("nickname", "login", "reset"),
                      help="remove the nickname, the own login, or the own reset time and zone")

    for verb, enabled in (("enable", True), ("disable", False)):
        parser = add_leaf(group, verb, CommandSpec(f"account {verb}", _account_enabled(enabled),
                                                   audit_args=("id",)), f"{verb} monitoring of an account")
        parser.add_argument("id", type=_account_id)

    remove = add_leaf(group, "remove", CommandSpec(
        "account remove", lambda ctx, args: actions.account_remove(ctx, args.id), audit_args=("id",)),
        "remove an account (typed account id or --yes); its database rows stay until retention")
    remove.add_argument("id", type=_account_id)

    login_group = _group(subparsers, "login", "the shared gateway login (topstepx block)")
    login_set = add_leaf(login_group, "set", CommandSpec("login set", lambda ctx, args: actions.login_set(
        ctx, args.username, args.api_key_env, verify=not args.no_verify),
        audit_args=("username", "api_key_env", "no_verify")), "set the shared login (verified with loginKey)")
    _login_flags(login_set, required=True)


def _rules(subparsers: Any) -> None:
    group = _group(subparsers, "rules", "configure risk_config.yaml")
    add_leaf(group, "list", CommandSpec("rules list", lambda ctx, args: actions.rules_list(ctx)),
             "list the 12 rules and whether they are enabled")
    show = add_leaf(group, "show", CommandSpec("rules show", lambda ctx, args: actions.rules_show(
        ctx, args.rule), audit_args=("rule",)), "show one rule's section")
    show.add_argument("rule", help="RULE-003 or daily_realized_loss")
    set_parser = add_leaf(group, "set", CommandSpec("rules set", lambda ctx, args: actions.rules_set(
        ctx, args.rule, args.assignments, args.account), audit_args=("rule", "assignments", "account")),
        "set rule parameters: key=value … (YAML values, dotted keys for nested values)")
    set_parser.add_argument("rule", help="RULE-003 or daily_realized_loss")
    set_parser.add_argument("assignments", nargs="+", metavar="key=value")
    set_parser.add_argument("--account", type=_account_id, help="write this account's risk_overrides instead")
    for verb, enabled in (("enable", True), ("disable", False)):
        parser = add_leaf(group, verb, CommandSpec(f"rules {verb}", _rule_enabled(enabled),
                                                   audit_args=("rule", "account")), f"{verb} a rule")
        parser.add_argument("rule")
        parser.add_argument("--account", type=_account_id, help="only for this account (risk_overrides)")
    add_leaf(group, "reset", CommandSpec("rules reset", lambda ctx, args: actions.rules_reset(ctx)),
             "restore the shipped risk_config.yaml (typed RESET or --yes)")
    add_leaf(group, "validate", CommandSpec("rules validate", lambda ctx, args: actions.config_validate(ctx)),
             "run the daemon's validator (exit 6 on errors)")
    config_group = _group(subparsers, "config", "the configuration directory")
    add_leaf(config_group, "validate", CommandSpec("config validate",
                                                   lambda ctx, args: actions.config_validate(ctx)),
             "run the daemon's validator (exit 6 on errors)")


def _others(subparsers: Any) -> None:
    service = _group(subparsers, "service", "service control (also `srm service …`)")
    add_service_verbs(service, "service")

    test = add_leaf(subparsers, "test", CommandSpec("test", lambda ctx, args: actions.test_connections(
        ctx, args.which), audit_args=("which",)), "test connections (writes nothing; exit 7 on a failure)")
    test.add_argument("which", nargs="?", default="all", choices=("all", *CHECK_NAMES))

    add_leaf(subparsers, "status", CommandSpec("status", lambda ctx, args: actions.status(ctx),
                                               password=PasswordNeed.NONE),
             "service, daemon and account status (no root needed)")

    lockout = _group(subparsers, "lockout", "lockouts")
    listing = add_leaf(lockout, "list", CommandSpec("lockout list", lambda ctx, args: actions.lockout_list(
        ctx, args.account), audit_args=("account",)), "active lockouts")
    listing.add_argument("--account", type=_account_id)
    clear = add_leaf(lockout, "clear", CommandSpec("lockout clear", lambda ctx, args: actions.lockout_clear(
        ctx, args.id, args.reason, args.rule), audit_args=("id", "rule", "reason")),
        "clear an account's lockouts: stops the daemon, clears, starts it again (typed CLEAR or --yes)")
    clear.add_argument("id", type=_account_id, help="account id")
    clear.add_argument("--rule", help="only this rule's lockout")
    clear.add_argument("--reason", required=True, help="why (recorded in the enforcement log)")

    password = _group(subparsers, "password", "the admin password")
    add_leaf(password, "set", CommandSpec("password set", lambda ctx, args: actions.password_set(ctx),
                                          password=PasswordNeed.FIRST_RUN),
             "set the admin password (first run; afterwards it asks for the current one)")
    add_leaf(password, "change", CommandSpec("password change", lambda ctx, args: actions.password_set(ctx)),
             "change the admin password")

    db = _group(subparsers, "db", "the state database")
    add_leaf(db, "backup", CommandSpec("db backup", lambda ctx, args: actions.db_backup(ctx)),
             "online backup into data/backups/")
    add_leaf(db, "check", CommandSpec("db check", lambda ctx, args: actions.db_check(ctx)),
             "quick_check and schema version")
    add_leaf(db, "init", CommandSpec("db init", lambda ctx, args: actions.db_init(ctx)),
             "back up and recreate the database with the daemon stopped (typed INIT or --yes)")


def register(subparsers: Any, deps: Dependencies | None = None) -> None:
    resolved = deps or Dependencies()
    parser = subparsers.add_parser(
        "admin", help="Admin CLI: accounts, rules, service, tests, status, lockouts (root + password)",
        description="Admin CLI. Without a command on a terminal: numbered menus. Every menu action is also "
                    "a command below. Needs root (Administrator on Windows) and the admin password, except "
                    "status and service status.")
    parser.add_argument("--version", action="version", version=f"srm {__version__}")
    add_common_flags(parser)
    commands = parser.add_subparsers(dest="admin_command", metavar="COMMAND")
    _accounts(commands)
    _rules(commands)
    _others(commands)
    parser.set_defaults(func=lambda args: execute(args, resolved, run_menus))
