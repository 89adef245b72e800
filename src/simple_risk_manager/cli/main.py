"""The `srm` command: one parser, one module per subcommand group.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed namespace and returning the process exit code.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simple_risk_manager import __version__
from simple_risk_manager.cli import check_config, sim


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srm",
        description="Simple Risk Manager: a real-time risk guard for TopstepX / ProjectX accounts.",
    )
    parser.add_argument("--version", action="version", version=f"srm {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _SUBCOMMANDS:
        module.register(subparsers)
    return parser


_SUBCOMMANDS = [check_config, sim]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def trader_main() -> int:
    """`srm-trader` = `srm trader`."""
    return main(["trader", *sys.argv[1:]])


def admin_main() -> int:
    """`srm-admin` = `srm admin`."""
    return main(["admin", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
