"""`srm demo [--plain] [--duration SECONDS]`: the offline demo (`cli.md` §0.1, `demo/runner.py`).

In a terminal (stdin and stdout) the Trader dashboard is shown (`demo/dashboard.py`) and the live log
goes to a file in the temp directory, named with the summary; with `--plain` or without a terminal the
live log is printed instead.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import sys
import tempfile
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from simple_risk_manager.clock import Clock


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="offline demo: simulator, daemon and a scripted trader breaking the rules",
        description="Start the ProjectX Gateway simulator and a daemon configured for it (throw-away "
        "directory, free loopback ports), then trade through the simulator so the rules fire, and show "
        "the daemon's events and enforcement as a live log with a final summary.",
    )
    parser.add_argument("--plain", action="store_true",
                        help="print the live log and summary (the default without a terminal)")
    parser.add_argument("--duration", type=_seconds, metavar="SECONDS",
                        help="stop cleanly after this many seconds (default: when the script is done)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    # Imported here: every `srm` command (the daemon's `srm run` too) builds this parser, and only the
    # demo needs the demo package and the broadcast client.
    from simple_risk_manager.clock import SystemClock
    from simple_risk_manager.demo.config_files import ZONE
    from simple_risk_manager.demo.live_log import LiveLog
    from simple_risk_manager.demo.runner import run_demo

    if isinstance(sys.stdout, io.TextIOWrapper):  # a console that cannot show a character gets "?"
        sys.stdout.reconfigure(errors="replace")
    clock = SystemClock()
    zone = ZoneInfo(ZONE)
    if args.plain or not (sys.stdin.isatty() and sys.stdout.isatty()):
        view = LiveLog(sys.stdout, zone, clock)
        return asyncio.run(run_demo(view, view.format, clock, args.duration))
    return _with_dashboard(zone, clock, args.duration)


def _with_dashboard(zone: ZoneInfo, clock: Clock, duration_s: float | None) -> int:
    from simple_risk_manager.demo.dashboard import DemoDashboard, QuietLiveLog
    from simple_risk_manager.demo.runner import run_demo

    # Kept after the run (the throw-away directory is not): the log is the record of what happened.
    handle, log_path = tempfile.mkstemp(prefix="srm-demo-", suffix=".log", text=True)
    with open(handle, "w", encoding="utf-8") as log_file:
        print(f"srm demo: the dashboard opens once the daemon runs (q quits); live log: {log_path}")
        view = QuietLiveLog(log_file, sys.stdout, zone, clock)
        code = asyncio.run(run_demo(view, view.format, clock, duration_s, DemoDashboard(view, zone)))
    print(f"live log of this run: {log_path}")
    return code
