"""`srm run`: the daemon in the foreground (`daemon.md`, `cli.md` §0.1); what the service manager starts.

Exit codes are the daemon's (`daemon.md` §1): 0 after SIGTERM/SIGINT, 1 crash, 2 usage, 75 another
instance holds the lock, 78 configuration, credentials or database need an admin. Once the local
start-up is done it prints `srm run: STARTING …`, and `srm run: RUNNING …` (or `DEGRADED`) with a
summary when every account has been reconciled.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from simple_risk_manager.daemon import run_daemon
from simple_risk_manager.runtime.paths import DirectoryKind, resolve_directories


def add_directory_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config-dir`, `--data-dir`, `--log-dir` (`daemon.md` §1); None when not given."""
    for kind in DirectoryKind:
        parser.add_argument(kind.flag, metavar="DIR", help=kind.help)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the risk daemon in the foreground",
        description="Run the risk daemon in the foreground: it monitors every enabled account of "
                    "accounts.yaml until SIGTERM or Ctrl-C. Exit codes: 0 clean stop, 1 crash, "
                    "75 another instance is running, 78 configuration, credentials or database "
                    "need an admin.",
    )
    add_directory_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    directories = resolve_directories(args.config_dir, args.data_dir, args.log_dir, os.environ)
    return run_daemon(directories, env=os.environ)
