"""Command-line front end shared by `python -m projectx_sim` and `srm sim`.

Both commands take the same options and differ only in how they announce readiness: a machine-
readable ready line for scripts and benchmarks, or a readable summary with a demo login for people.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from typing import Any

import orjson

from projectx_sim.config import SimConfig
from projectx_sim.server import Simulator

READY_PREFIX = "PROJECTX_SIM_READY "


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SimConfig()
    parser.add_argument("--host", default=defaults.host, help="interface to listen on (default %(default)s)")
    parser.add_argument(
        "--port", type=int, default=defaults.port, help="TCP port; 0 picks a free one (default %(default)s)"
    )
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="random-walk seed (default %(default)s)"
    )
    parser.add_argument(
        "--quote-rate",
        type=float,
        default=defaults.quote_rate,
        metavar="PER_SECOND",
        help="quotes per second per contract (default %(default)s)",
    )
    parser.add_argument("--paused", action="store_true", help="start with the random walk paused")
    parser.add_argument(
        "--token-lifetime",
        type=float,
        default=defaults.token_lifetime_s,
        metavar="SECONDS",
        help="session token lifetime (default %(default)s)",
    )
    parser.add_argument(
        "--no-rate-limit", action="store_true", help="switch the 200/60 s and 50/30 s limits off"
    )
    parser.add_argument(
        "--log-size", type=int, default=defaults.event_log_size, metavar="N",
        help="entries kept in each of the request and event logs of /sim/ (default %(default)s)",
    )
    parser.add_argument("--user", default=defaults.user_name, help="demo user name (default %(default)s)")
    parser.add_argument(
        "--api-key", default=defaults.api_key, help="demo user's API key (default %(default)s)"
    )
    parser.add_argument(
        "--front-month", metavar="CODE", help="front-month expiry such as Z25 (default: from today)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any runtime switch of docs/simulator.md, VALUE as JSON or a bare word (e.g. user_payload=bare)",
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Build the config; raises ValueError for a bad --set."""
    config = SimConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        front_month=args.front_month,
        user_name=args.user,
        api_key=args.api_key,
        request_log_size=args.log_size,
        event_log_size=args.log_size,
    )
    changes: dict[str, Any] = {
        "quote_rate": args.quote_rate,
        "token_lifetime_s": args.token_lifetime,
        "random_walk": not args.paused,
        "rate_limit": not args.no_rate_limit,
    }
    for item in args.set:
        name, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects NAME=VALUE, got {item!r}")
        try:
            changes[name.strip()] = orjson.loads(text)
        except orjson.JSONDecodeError:
            changes[name.strip()] = text
    config.apply(changes)
    return config


def ready_line(sim: Simulator) -> str:
    """One line a parent process can wait for: the prefix, then JSON with every URL and the login."""
    info = {
        "url": sim.url,
        "port": sim.port,
        "userHubUrl": sim.user_hub_url,
        "marketHubUrl": sim.market_hub_url,
        "userName": sim.demo_user.name,
        "apiKey": sim.demo_user.api_key,
        "accountIds": [a.id for a in sim.exchange.accounts_of(sim.demo_user.id)],
    }
    return READY_PREFIX + orjson.dumps(info).decode()


def describe(sim: Simulator) -> str:
    accounts = ", ".join(f"{a.id} ({a.name})" for a in sim.exchange.accounts_of(sim.demo_user.id))
    return "\n".join(
        [
            "ProjectX Gateway simulator running (Ctrl-C stops it)",
            f"  REST base:   {sim.url}",
            f"  user hub:    {sim.user_hub_url}",
            f"  market hub:  {sim.market_hub_url}",
            f"  control API: {sim.url}/sim/state  (see docs/simulator.md)",
            f"  demo login:  userName={sim.demo_user.name}  apiKey={sim.demo_user.api_key}",
            f"  accounts:    {accounts}",
            f"  contracts:   {', '.join(c.id for c in sim.contracts.front)}",
        ]
    )


async def serve(config: SimConfig, announce: Callable[[Simulator], None]) -> None:
    """Run until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C arrives as KeyboardInterrupt
            loop.add_signal_handler(signum, stop.set)
    async with Simulator(config) as sim:
        announce(sim)
        await stop.wait()


def run(config: SimConfig, announce: Callable[[Simulator], None]) -> int:
    try:
        asyncio.run(serve(config, announce))
    except KeyboardInterrupt:
        return 0
    except OSError as error:
        print(f"simulator: cannot listen on {config.host}:{config.port}: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m projectx_sim", description="ProjectX Gateway simulator (REST + SignalR hubs)."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as error:
        parser.error(str(error))

    def announce(sim: Simulator) -> None:
        print(ready_line(sim), flush=True)
        print(describe(sim), file=sys.stderr, flush=True)

    return run(config, announce)
