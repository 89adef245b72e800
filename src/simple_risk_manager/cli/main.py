"""The `srm` command: one parser, one module per subcommand group.

Each subcommand module exposes ``register(subparsers)``, which adds its parser and sets
``func`` to a callable taking the parsed namespace and returning the process exit code.

The directory flags (`--config-dir`, `--data-dir`, `--log-dir`) are accepted before the subcommand
too (`cli.md` §0): given there, they fill the subcommand's own flag of the same name when it was not
given after the subcommand (after wins).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from simple_risk_manager import __version__
from simple_risk_manager.cli import admin, check_config, demo, run, service, sim, trader
from simple_risk_manager.runtime.paths import DirectoryKind

#: Where a directory flag given before the subcommand is kept until it is merged.
_SHARED_PREFIX = "shared_"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srm",
        description="Simple Risk Manager: a real-time risk guard for TopstepX / ProjectX accounts.",
    )
    parser.add_argument("--version", action="version", version=f"srm {__version__}")
    for kind in DirectoryKind:
        parser.add_argument(kind.flag, metavar="DIR", dest=_SHARED_PREFIX + _dest(kind), help=kind.help)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module in _SUBCOMMANDS:
        module.register(subparsers)
    return parser


_SUBCOMMANDS = [admin, check_config, demo, run, service, sim, trader]


def _dest(kind: DirectoryKind) -> str:
    return kind.flag.removeprefix("--").replace("-", "_")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The parsed command line, a directory flag given before the subcommand filling the subcommand's
    own flag when that was not given after it."""
    args = build_parser().parse_args(argv)
    for kind in DirectoryKind:
        shared = getattr(args, _SHARED_PREFIX + _dest(kind))
        if shared is not None and getattr(args, _dest(kind), None) is None:
            setattr(args, _dest(kind), shared)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
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
