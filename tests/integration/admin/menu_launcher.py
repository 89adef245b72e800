"""`srm admin` for the tmux test: the real command, with the administrator check passing (the check is
injectable for tests, `cli.md` §2.1) and no service manager."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from simple_risk_manager.admin.runner import Dependencies
from simple_risk_manager.cli import admin
from simple_risk_manager.runtime.paths import Directories


def main() -> int:
    nowhere = Path(sys.argv[0]).parent / "not-installed"
    deps = Dependencies(admin_check=lambda: True, service_factory=lambda: None, password_cost=10,
                        installed=Directories(nowhere, nowhere, nowhere))
    parser = argparse.ArgumentParser(prog="srm")
    commands = parser.add_subparsers(dest="command", required=True)
    admin.register(commands, deps)
    args = parser.parse_args(["admin", *sys.argv[1:]])
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
