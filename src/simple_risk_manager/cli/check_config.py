"""`srm check-config`: the daemon's validator on the whole config directory (`cli.md` §0.1).

Prints a summary (accounts, enabled rules, reset time and zone, warnings) and exits 0, or prints every
error on stderr and exits 78, the code `srm run` gives for the same files (C17). Writes nothing.
A directory with only `accounts.yaml.template` is checked as a template (placeholders and unset
`${VAR}` are warnings); `${VAR}` references are resolved from the caller's environment.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from simple_risk_manager.config import (
    RULE_CATALOG,
    ConfigIssue,
    LoadedConfig,
    resolve_config_dir,
    rule_info,
    validate_config_dir,
)
from simple_risk_manager.runtime.exit_codes import ExitCode


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check-config",
        help="validate the configuration directory and print a summary",
        description="Validate every file in the configuration directory with the daemon's own validator. "
                    "Exit 0 when valid, 78 when not (the code srm run gives for the same files).",
    )
    parser.add_argument(
        "--config-dir", metavar="DIR",
        help="configuration directory (default: $SRM_CONFIG_DIR, else $CONFIGURATION_DIRECTORY, "
             "else ./config)",
    )
    parser.set_defaults(func=check_config)


def check_config(args: argparse.Namespace) -> int:
    config_dir = resolve_config_dir(args.config_dir, os.environ)
    result = validate_config_dir(config_dir, env=os.environ, allow_template=True)
    if result.config is None:
        _print_issues(f"Configuration in {config_dir} is invalid:", result.errors, sys.stderr)
        if result.warnings:
            _print_issues("Warnings:", result.warnings, sys.stderr)
        count = len(result.errors)
        print(f"{count} error{'s' if count != 1 else ''}; the daemon would not start (exit code "
              f"{ExitCode.CONFIG_INVALID:d}).", file=sys.stderr)
        return ExitCode.CONFIG_INVALID
    _print_summary(result.config, sys.stdout)
    return ExitCode.OK


def _print_issues(title: str, issues: tuple[ConfigIssue, ...], stream: TextIO) -> None:
    print(title, file=stream)
    for issue in issues:
        print(f"  {issue}", file=stream)


def _print_summary(config: LoadedConfig, out: TextIO) -> None:
    source = "accounts.yaml.template (template check)" if config.from_template else "accounts.yaml"
    enabled_accounts = sum(1 for account in config.accounts if account.enabled)
    print(f"Configuration in {config.config_dir} is valid.", file=out)
    print(f"\nAccounts in {source}: {len(config.accounts)}, {enabled_accounts} enabled", file=out)
    for account in config.accounts:
        reset_time, zone = config.reset_time_and_zone(account.account_id)
        notes = [f"reset {reset_time} {zone}"]
        if account.has_own_login:
            notes.append("own login")
        if account.risk_overrides:
            overridden = (rule_info(str(key)).rule_id for key in account.risk_overrides)
            notes.append("overrides " + ", ".join(sorted(overridden)))
        state = "enabled " if account.enabled else "disabled"
        name = account.nickname or "-"
        print(f"  {account.account_id:<10} {name:<24} {state}  {'; '.join(notes)}", file=out)

    rules = config.risk.rules
    enabled = [info for info in RULE_CATALOG if getattr(rules, info.key).enabled]
    disabled = [info for info in RULE_CATALOG if not getattr(rules, info.key).enabled]
    print(f"\nRules enabled ({len(enabled)} of {len(RULE_CATALOG)}):", file=out)
    for info in enabled:
        print(f"  {info.rule_id}  {info.name}", file=out)
    if disabled:
        print("Rules disabled: " + ", ".join(f"{info.rule_id} {info.name}" for info in disabled), file=out)

    settings = config.global_settings
    print(f"\nDaily reset: {settings.daily_reset_time} {settings.timezone}", file=out)
    if config.warnings:
        print(f"\nWarnings ({len(config.warnings)}):", file=out)
        for issue in config.warnings:
            print(f"  {issue}", file=out)
