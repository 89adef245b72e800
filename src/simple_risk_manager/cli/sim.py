"""`srm sim`: the ProjectX Gateway simulator alone, for demos and for pointing a daemon at it.

The options and the server live in `projectx_sim.cli` (shared with `python -m projectx_sim`); this
module only adds the subcommand and prints the URLs and the demo login for a person to read.
"""

from __future__ import annotations

import argparse
import sys

from projectx_sim.cli import add_arguments, config_from_args, describe, run
from projectx_sim.server import Simulator


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the ProjectX Gateway simulator alone",
        description="Run the local ProjectX Gateway simulator (REST API, user and market hubs, "
        "/sim/ control API) and print its URLs and a demo login.",
    )
    add_arguments(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        config = config_from_args(args)
    except ValueError as error:
        print(f"srm sim: {error}", file=sys.stderr)
        return 2

    def announce(sim: Simulator) -> None:
        print(describe(sim), flush=True)

    return run(config, announce)
