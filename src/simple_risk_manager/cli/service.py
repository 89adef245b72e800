"""`srm service <verb>` (`cli.md` §0.1, §2.5): the same commands, code and access control as
`srm admin service <verb>` — install, uninstall, start, stop, restart, status, enable, disable, logs.
`status` needs neither root nor the password.
"""

from __future__ import annotations

import argparse
from typing import Any

from simple_risk_manager import __version__
from simple_risk_manager.admin import actions
from simple_risk_manager.admin.log_view import LOG_FILES
from simple_risk_manager.admin.runner import (
    CommandSpec,
    Dependencies,
    PasswordNeed,
    add_common_flags,
    add_leaf,
    execute,
)


def add_service_verbs(subparsers: Any, prefix: str) -> None:
    """The verbs under `subparsers`; `prefix` (`service`) names them in `admin.log`."""

    def spec(verb: str, handler: Any, **kwargs: Any) -> CommandSpec:
        return CommandSpec(f"{prefix} {verb}", handler, **kwargs)

    add_leaf(subparsers, "status", spec("status", lambda ctx, args: actions.service_status(ctx),
                                        password=PasswordNeed.NONE),
             "service manager state, PID and since (no root needed)")
    add_leaf(subparsers, "start", spec("start", lambda ctx, args: actions.service_start(ctx)),
             "start the daemon and wait up to 30 s for it")
    add_leaf(subparsers, "stop", spec("stop", lambda ctx, args: actions.service_stop(ctx)),
             "stop the daemon (suspends ALL risk enforcement; typed STOP or --yes)")
    add_leaf(subparsers, "restart", spec("restart", lambda ctx, args: actions.service_restart(ctx)),
             "stop and start the daemon (applies configuration changes)")
    add_leaf(subparsers, "enable", spec("enable", lambda ctx, args: actions.service_autostart(ctx, True)),
             "start the daemon at boot")
    add_leaf(subparsers, "disable", spec("disable", lambda ctx, args: actions.service_autostart(
        ctx, False)), "do not start the daemon at boot")
    logs = add_leaf(subparsers, "logs", spec("logs", lambda ctx, args: actions.service_logs(
        ctx, args.file, args.lines, args.follow), audit_args=("file", "lines", "follow")),
        "show the last lines of a log file, pretty-printed")
    logs.add_argument("--file", choices=sorted(LOG_FILES), default="daemon",
                      help="which log (default daemon)")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many lines (default 50)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines (Ctrl-C ends)")
    install = add_leaf(subparsers, "install", spec("install", lambda ctx, args: actions.service_install(
        ctx, start=not args.no_start), audit_args=("no_start",)),
        "install the service: user and groups, permissions, unit, autostart; then start it")
    install.add_argument("--no-start", action="store_true", help="install without starting")
    uninstall = add_leaf(subparsers, "uninstall", spec(
        "uninstall", lambda ctx, args: actions.service_uninstall(ctx, purge=args.purge),
        audit_args=("purge",)),
        "stop, disable and remove the service (typed UNINSTALL or --yes); files stay unless --purge")
    uninstall.add_argument("--purge", action="store_true",
                           help="also delete the configuration, data and log directories (typed PURGE)")


def register(subparsers: Any, deps: Dependencies | None = None) -> None:
    resolved = deps or Dependencies()
    parser = subparsers.add_parser(
        "service", help="control the daemon's service (admin only; status for anyone)",
        description="Service control: the same commands as `srm admin service …`.")
    parser.add_argument("--version", action="version", version=f"srm {__version__}")
    add_common_flags(parser)
    verbs = parser.add_subparsers(dest="service_verb", metavar="VERB")
    verbs.required = True
    add_service_verbs(verbs, "service")
    parser.set_defaults(func=lambda args: _run(args, resolved))


def _run(args: argparse.Namespace, deps: Dependencies) -> int:
    return execute(args, deps)
