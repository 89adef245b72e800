"""`srm trader` (= `srm-trader`): the read-only Trader CLI (`cli.md` §1).

    srm trader [--account ID]                 the full-screen dashboard (needs a terminal)
    srm trader accounts [--json]              the account list
    srm trader status [--account ID] [--json] one-shot summary; exit 0 live, 3 saved data, 4 nothing
    srm trader watch [--account ID] [--types T,…]   live events as JSON lines; exit 3 when unreachable

The shared flags (`--port`, `--data-dir`, `--json`, `--no-color`, `--ascii`, …) are accepted before or
after the subcommand (§0). Nothing here writes anything.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import orjson

from simple_risk_manager.broadcast.protocol import EVENT_TYPES
from simple_risk_manager.cli.run import add_directory_arguments
from simple_risk_manager.clock import SystemClock
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.runtime.paths import DirectoryKind, resolve_dir
from simple_risk_manager.trader.app import run_dashboard
from simple_risk_manager.trader.ascii_only import to_ascii
from simple_risk_manager.trader.fallback import database_path
from simple_risk_manager.trader.status import (
    accounts_document,
    accounts_text,
    gather,
    status_document,
    status_text,
)
from simple_risk_manager.trader.watch import parse_types, watch

DEFAULT_PORT = 8765


def _account_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an account id (a number), got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"an account id is a positive number, got {text}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65_535:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {text}")
    return value


def _add_shared(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    """The flags every trader command takes. On a nested parser they default to "not given", so a
    value given before the subcommand survives (`srm trader --port 9000 status`)."""
    unset: dict[str, Any] = {"default": argparse.SUPPRESS} if nested else {}
    parser.add_argument("--account", type=_account_id, metavar="ID", help="the account to show", **unset)
    parser.add_argument("--port", type=_port, metavar="PORT",
                        help=f"the daemon's broadcast port (default {DEFAULT_PORT}; traders cannot read "
                             "daemon.yaml, so pass a changed broadcast.port here)",
                        **({"default": argparse.SUPPRESS} if nested else {"default": DEFAULT_PORT}))
    parser.add_argument("--json", action="store_true", help="machine output: JSON only on stdout", **unset)
    parser.add_argument("--no-color", action="store_true", help="no colours (NO_COLOR is honoured too)",
                        **unset)
    parser.add_argument("--ascii", action="store_true", help="no box drawing or emoji", **unset)
    if nested:
        for kind in DirectoryKind:
            parser.add_argument(kind.flag, metavar="DIR", help=kind.help, default=argparse.SUPPRESS)
    else:
        add_directory_arguments(parser)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "trader",
        help="the read-only Trader dashboard and its scriptable forms",
        description="Watch an account's risk state: P&L against the limits, lockouts with their countdown, "
                    "positions with live unrealized P&L, orders, history and rule gauges. Live from the "
                    "daemon's broadcast feed; while the daemon is unreachable, from its saved state "
                    "(read-only). Without a subcommand it opens the full-screen dashboard.",
    )
    _add_shared(parser, nested=False)
    parser.add_argument("--no-bell", action="store_true", help="no terminal bell on enforcement alerts")
    parser.set_defaults(func=main, trader_command="dashboard")
    commands = parser.add_subparsers(dest="trader_command", metavar="SUBCOMMAND")
    accounts = commands.add_parser("accounts", help="list the accounts (number, id, nickname, status, P&L)")
    status = commands.add_parser("status", help="one-shot summary; exit 0 live, 3 saved data only, 4 nothing")
    watch_parser = commands.add_parser("watch", help="live events as JSON lines; exit 3 when unreachable")
    watch_parser.add_argument("--types", metavar="T,...", help="only these event types, comma-separated: "
                              + ", ".join(sorted(EVENT_TYPES)))
    for sub in (accounts, status, watch_parser):
        _add_shared(sub, nested=True)
        sub.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if args.no_color:
        os.environ["NO_COLOR"] = "1"
    url = f"ws://127.0.0.1:{args.port}/"
    db_path = database_path(resolve_dir(DirectoryKind.DATA, args.data_dir))
    command = args.trader_command
    if command == "watch":
        return _watch(args, url)
    if command in ("status", "accounts"):
        return _one_shot(args, url, db_path)
    return _dashboard(args, url, db_path)


def _dashboard(args: argparse.Namespace, url: str, db_path: Path) -> int:
    if args.json:
        print("srm trader: the dashboard has no JSON form; use `srm trader status --json` or "
              "`srm trader watch`", file=sys.stderr)
        return ExitCode.USAGE
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print("srm trader: the dashboard needs a terminal; in a pipe or script use `srm trader status "
              "[--json]` or `srm trader watch`", file=sys.stderr)
        return ExitCode.USAGE
    return run_dashboard(url, args.account, db_path=db_path, bell=not args.no_bell, ascii_only=args.ascii)


def _one_shot(args: argparse.Namespace, url: str, db_path: Path) -> int:
    account = args.account if args.trader_command == "status" else None
    outcome = asyncio.run(gather(url, account, db_path, SystemClock()))
    if args.trader_command == "accounts":
        document, lines = accounts_document(outcome), accounts_text(outcome)
    else:
        document, lines = status_document(outcome), status_text(outcome, None)
    if args.json:
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        text = "\n".join(lines) + "\n"
        sys.stdout.write(to_ascii(text) if args.ascii else text)
    code = outcome.exit_code
    if code is ExitCode.NO_DATA:
        what = f"account {account}" if account is not None else "any account"
        print(f"srm trader: no data for {what}: neither the daemon nor the saved state has it",
              file=sys.stderr)
    elif code is ExitCode.DAEMON_UNREACHABLE:
        print("srm trader: the daemon is unreachable; saved data shown", file=sys.stderr)
    return int(code)


def _watch(args: argparse.Namespace, url: str) -> int:
    try:
        types = parse_types(args.types)
    except ValueError as exc:
        print(f"srm trader watch: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        return int(asyncio.run(watch(url, args.account, types, out=sys.stdout, err=sys.stderr,
                                           clock=SystemClock())))
    except KeyboardInterrupt:
        return ExitCode.OK
