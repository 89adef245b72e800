"""Running one admin command: access control, the password, the audit line and the output.

Order (`cli.md` §2.1–§2.2): exempt commands (`status`, `service status`) run for anyone. Every other
command needs the administrator check, then the admin password — or, when no password file exists, the
first-run setup (a terminal is offered to create it; scripts must run `password set --password-stdin`
first). Each command and each login attempt is appended to `admin.log`. Errors print on stderr and
become the exit code; data goes to stdout as text or, with `--json`, as JSON only.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from simple_risk_manager.admin.access import AdminCheck, is_administrator, os_user, require_administrator
from simple_risk_manager.admin.actions import Result, password_set
from simple_risk_manager.admin.audit import AuditLog
from simple_risk_manager.admin.console import Console
from simple_risk_manager.admin.context import DEFAULT_BROADCAST_PORT, AdminContext, audit_log_path
from simple_risk_manager.admin.errors import AdminError, AuthFailedError
from simple_risk_manager.admin.password import NEW_HASH_COST, login
from simple_risk_manager.clock import Clock, SystemClock
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.service.layout import admin_directories
from simple_risk_manager.service.manager import ServiceManager, detect_service_manager

Handler = Callable[[AdminContext, argparse.Namespace], Result]


class PasswordNeed(Enum):
    LOGIN = "login"                  # the usual: the existing password
    FIRST_RUN = "first_run"          # `password set`: no login when no file exists yet
    NONE = "none"                    # exempt commands


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One leaf command: its words (`rules set`), what it runs, and what it needs."""

    name: str
    handler: Handler
    password: PasswordNeed = PasswordNeed.LOGIN
    #: Namespace attributes shown in `admin.log` after the name (never secrets; there are none in args).
    audit_args: tuple[str, ...] = ()

    @property
    def exempt(self) -> bool:
        return self.password is PasswordNeed.NONE


@dataclass(frozen=True)
class Dependencies:
    """What a test replaces: the administrator check, the service manager, time and the terminal."""

    admin_check: AdminCheck = is_administrator
    service_factory: Callable[[], ServiceManager | None] = detect_service_manager
    clock: Clock = field(default_factory=SystemClock)
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    #: The installed layout (None: this platform's); tests point it at a directory that does not exist.
    installed: Directories | None = None
    console: Callable[[argparse.Namespace], Console] | None = None
    password_cost: int = NEW_HASH_COST
    platform: str = sys.platform


def _flag(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    return getattr(args, name, default)


def build_context(args: argparse.Namespace, deps: Dependencies) -> AdminContext:
    if deps.console is not None:
        console = deps.console(args)
    else:
        console = Console.for_terminal(
            password_stdin=_flag(args, "password_stdin", False),
            api_key_stdin=_flag(args, "api_key_stdin", False),
            assume_yes=_flag(args, "yes", False), ascii=_flag(args, "ascii", False),
            no_color=_flag(args, "no_color", False), env=dict(deps.env))
    directories = admin_directories(_flag(args, "config_dir"), _flag(args, "data_dir"),
                                    _flag(args, "log_dir"), env=deps.env, installed=deps.installed)
    audit = AuditLog(audit_log_path(directories), deps.clock, os_user(deps.env), console.warn)
    return AdminContext(
        directories=directories, console=console, clock=deps.clock, audit=audit,
        admin_check=deps.admin_check, service_factory=deps.service_factory, env=deps.env,
        port=_flag(args, "port") or DEFAULT_BROADCAST_PORT, json=_flag(args, "json", False),
        restart=_flag(args, "restart"), sleep=deps.sleep, monotonic=deps.monotonic,
        password_cost=deps.password_cost, platform=deps.platform)


def describe(spec: CommandSpec, args: argparse.Namespace) -> str:
    """The command as `admin.log` records it: its words and its (non-secret) arguments."""
    words = [spec.name]
    for name in spec.audit_args:
        value = getattr(args, name, None)
        if value is None or value is False:
            continue
        if isinstance(value, list | tuple):
            words.extend(str(v) for v in value)
        elif value is True:
            words.append("--" + name.replace("_", "-"))
        else:
            words.append(f"--{name.replace('_', '-')} {value}" if name in _FLAG_ARGS else str(value))
    return " ".join(words)


_FLAG_ARGS = frozenset({"account", "rule", "reason", "nickname", "username", "api_key_env", "reset_time",
                        "timezone", "file", "lines"})


def authenticate(ctx: AdminContext, need: PasswordNeed) -> None:
    """The password check of `cli.md` §2.2, including first-run setup."""
    if need is PasswordNeed.NONE:
        return
    require_administrator(ctx.admin_check, ctx.platform)
    password_file = ctx.password_file
    if password_file.exists():
        login(password_file, ctx.console, lambda outcome: ctx.audit.record("login", outcome), ctx.sleep)
        return
    if need is PasswordNeed.FIRST_RUN:
        ctx.audit.record("login", "no password file: first-run setup")
        return
    if ctx.console.interactive and not ctx.console.password_stdin:
        ctx.console.info(f"No admin password is set yet ({password_file.path}).")
        if ctx.console.confirm("Create it now?", "--password-stdin"):
            password_set(ctx)
            ctx.audit.record("password set", "ok (first-run setup)")
            return
    raise AuthFailedError("no admin password is set yet: create it first with srm admin password set "
                          "(scripts: --password-stdin, the password twice on stdin)")


def run_recorded(ctx: AdminContext, command: str, action: Callable[[], Result]) -> Result:
    """Run `action`, appending its outcome to `admin.log` whatever happens."""
    try:
        result = action()
    except AdminError as exc:
        ctx.audit.record(command, f"failed (exit {int(exc.code)})", str(exc).splitlines()[0])
        raise
    except KeyboardInterrupt:
        ctx.audit.record(command, "interrupted")
        raise
    ctx.audit.record(command, "ok" if result.code == ExitCode.OK else f"exit {int(result.code)}")
    return result


def emit(ctx: AdminContext, result: Result) -> None:
    if ctx.json:
        if result.data is not None:
            ctx.console.data(orjson.dumps(result.data, option=orjson.OPT_INDENT_2, default=str).decode())
    elif result.text:
        ctx.console.data(result.text)


def execute(args: argparse.Namespace, deps: Dependencies,
            no_command: Callable[[AdminContext], int] | None = None) -> int:
    """Run the parsed command (or `no_command`, the menus, when none was given); the exit code."""
    ctx = build_context(args, deps)
    spec: CommandSpec | None = getattr(args, "spec", None)
    try:
        if spec is None:
            if no_command is None:
                raise AdminError("no command given (see --help)", ExitCode.USAGE)
            return no_command(ctx)
        authenticate(ctx, spec.password)
        result = (spec.handler(ctx, args) if spec.exempt
                  else run_recorded(ctx, describe(spec, args), lambda: spec.handler(ctx, args)))
        emit(ctx, result)
        return int(result.code)
    except AdminError as exc:
        ctx.console.info(f"error: {exc}")
        return int(exc.code)
    except (KeyboardInterrupt, EOFError):
        ctx.console.info("\ninterrupted")
        return int(ExitCode.FAILURE)


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    """`cli.md` §0 and §2.3 flags, accepted at every level: unset unless given (SUPPRESS), so a flag
    given before a subcommand is not overwritten by the subcommand's default."""
    unset: dict[str, Any] = {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("common options")
    group.add_argument("--config-dir", metavar="DIR", help="configuration directory", **unset)
    group.add_argument("--data-dir", metavar="DIR", help="data directory (state.db, daemon.lock)", **unset)
    group.add_argument("--log-dir", metavar="DIR", help="log directory", **unset)
    group.add_argument("--port", type=int, metavar="PORT",
                       help=f"broadcast port (default {DEFAULT_BROADCAST_PORT})", **unset)
    group.add_argument("--json", action="store_true", help="machine output: JSON only on stdout", **unset)
    group.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR is honoured too)",
                       **unset)
    group.add_argument("--ascii", action="store_true", help="no box drawing or symbols", **unset)
    group.add_argument("--password-stdin", action="store_true",
                       help="read the admin password (and new passwords) from stdin, one line per prompt",
                       **unset)
    group.add_argument("--yes", action="store_true", help="answer confirmations with yes", **unset)
    restart = group.add_mutually_exclusive_group()
    restart.add_argument("--restart", dest="restart", action="store_const", const=True,
                         help="restart the service after a configuration change", **unset)
    restart.add_argument("--no-restart", dest="restart", action="store_const", const=False,
                         help="do not restart after a configuration change", **unset)


def add_leaf(subparsers: Any, word: str, spec: CommandSpec, help_text: str,
             description: str | None = None) -> argparse.ArgumentParser:
    """One leaf parser (`rules set`, …) with the common flags, running `spec`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(word, help=help_text,
                                                            description=description or help_text)
    add_common_flags(parser)
    parser.set_defaults(spec=spec)
    return parser
