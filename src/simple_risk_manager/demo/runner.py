"""`srm demo`: the simulator, a daemon configured for it, the scripted trader, and a view of it all.

Everything lives in a throw-away directory and on free loopback ports, so the demo runs beside an
installed daemon. The run ends when the script is done, after `--duration` seconds, or on Ctrl-C;
in every case the daemon is stopped before the simulator and the summary is printed.

Exit code: 0 when every scenario that ran passed and no enforcement failed (a run cut short by
`--duration` or Ctrl-C included), 1 when something failed.

With a `DemoScreen` (the Trader dashboard in a terminal) the screen opens once the daemon is running and
the run lasts until it is closed (or `--duration`, or a stop signal): the script finishing does not
end it, since the trader is still looking.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Final, Protocol

import aiohttp

from simple_risk_manager.broadcast.client import BroadcastClient
from simple_risk_manager.clock import Clock
from simple_risk_manager.demo import expectations as expect
from simple_risk_manager.demo.config_files import (
    DemoSchedule,
    config_files,
    demo_accounts,
    write_config,
)
from simple_risk_manager.demo.feed import DemoView, Feed, follow
from simple_risk_manager.demo.live_log import LogFormat
from simple_risk_manager.demo.processes import (
    ChildProcess,
    ChildStartError,
    free_port,
    start_daemon,
    start_simulator,
)
from simple_risk_manager.demo.script import Scenario, ScenarioResult, ScriptedTrader, run_scenarios, scenarios
from simple_risk_manager.demo.sim_control import SimControl, SimError
from simple_risk_manager.demo.summary import demo_passed, summary_lines
from simple_risk_manager.runtime.signals import ShutdownSignals

#: `daemon.md` §2 targets RUNNING within 10 s; a loaded machine gets more.
DAEMON_START_TIMEOUT_S: Final = 60.0
FEED_RETRY_S: Final = 0.2
DEMO_BALANCE: Final = Decimal("50000")
#: Simulator options: prices move only when the trader sets them, so every P&L is exact.
SIM_ARGS: Final = ("--paused",)


class DemoScreen(Protocol):
    """A full-screen view of the demo's daemon (the Trader dashboard); owns the terminal while shown."""

    async def show(self, url: str, accounts: Mapping[str, int], db_path: Path) -> int:
        """Until the person closes it or `close` is called; its exit code (0 = closed normally).
        `accounts`: the account id of each scenario account (keys of `demo_accounts`)."""

    def close(self) -> None:
        """Ask a shown screen to close (for `--duration` and stop signals)."""


class DemoStartError(RuntimeError):
    """The demo could not get going (a child failed, the daemon never became RUNNING)."""


@dataclass(slots=True)
class DemoRun:
    """What a run set up and saw; owned by `run_demo`, so cleanup never depends on a cancelled task."""

    view: DemoView
    format: LogFormat
    feed: Feed = field(default_factory=Feed)
    children: list[ChildProcess] = field(default_factory=list)
    client: BroadcastClient | None = None
    follower: asyncio.Task[None] | None = None
    planned: tuple[Scenario, ...] = ()
    results: list[ScenarioResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    screen: DemoScreen | None = None
    #: Set when the screen was shown and has closed (never set without a screen).
    screen_closed: asyncio.Event = field(default_factory=asyncio.Event)
    screen_task: asyncio.Task[None] | None = None


async def _wait_running(run: DemoRun, daemon: ChildProcess) -> None:
    running = asyncio.ensure_future(run.feed.wait_for(expect.daemon_running, since=0,
                                                      within_s=DAEMON_START_TIMEOUT_S))
    exited = asyncio.ensure_future(daemon.process.wait())
    try:
        await asyncio.wait({running, exited}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        exited.cancel()
    if running.done() and running.result() is not None:
        return
    running.cancel()
    if daemon.running:
        raise DemoStartError(f"the daemon did not report RUNNING within {DAEMON_START_TIMEOUT_S:.0f} s; "
                             f"its last output:\n{daemon.output_tail()}")
    raise DemoStartError("the daemon exited during start-up")  # its code and output: `_shut_down`


async def _play(run: DemoRun, workdir: Path, clock: Clock) -> None:
    """Start everything, wait for the daemon, run the scenarios (the cancellable part of a run)."""
    view = run.view
    view.notice("starting the ProjectX Gateway simulator")
    sim_child, endpoints = await start_simulator(workdir / "simulator.out", SIM_ARGS)
    run.children.append(sim_child)
    async with SimControl(endpoints.url) as sim:
        schedule = DemoSchedule.around(clock.now())
        accounts = demo_accounts(schedule)
        ids = {account.key: await sim.create_account(endpoints.user_name, f"DEMO-{n:02d}", DEMO_BALANCE)
               for n, account in enumerate(accounts, start=1)}
        run.format.nicknames.update({ids[a.key]: a.nickname for a in accounts})
        port = free_port()
        config_dir = workdir / "config"
        write_config(config_dir, config_files(endpoints, accounts, ids, schedule, port))
        view.notice(f"simulator at {endpoints.url}; starting the daemon (config, data and logs in {workdir})")
        daemon = await start_daemon(config_dir, workdir / "data", workdir / "logs", workdir / "daemon.out")
        run.children.insert(0, daemon)  # stopped first: it is the simulator's client
        run.client = BroadcastClient(f"ws://127.0.0.1:{port}/", delay=lambda attempt: FEED_RETRY_S)
        run.follower = asyncio.create_task(follow(run.client, run.feed, view))
        await _wait_running(run, daemon)
        if run.screen is not None:
            run.screen_task = asyncio.create_task(_show(run, run.screen, f"ws://127.0.0.1:{port}/",
                                                        ids, workdir / "data" / "state.db"))
            run.screen_task.add_done_callback(lambda _task: run.screen_closed.set())
        run.planned = scenarios(ScriptedTrader(sim, await sim.front_contracts()), ids, schedule)
        await run_scenarios(run.planned, run.feed, view, run.results)


async def _show(run: DemoRun, screen: DemoScreen, url: str, accounts: Mapping[str, int],
                db_path: Path) -> None:
    try:
        code = await screen.show(url, accounts, db_path)
    except Exception as error:  # the screen's own bug: the demo still stops cleanly and says so
        run.problems.append(f"the dashboard failed: {type(error).__name__}: {error}")
        return
    if code != 0:
        run.problems.append(f"the dashboard ended with code {code}")


async def _shut_down(run: DemoRun) -> None:
    if run.client is not None:
        await run.client.close()
    if run.follower is not None:
        run.follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await run.follower
    for child in run.children:
        code = await child.stop()
        if code != 0:
            run.problems.append(f"the {child.name} ended with code {code}; its last output:\n"
                                f"{child.output_tail()}")


async def run_demo(view: DemoView, format_: LogFormat, clock: Clock, duration_s: float | None = None,
                   screen: DemoScreen | None = None) -> int:
    """One demo run; the exit code. `format_` is the view's formatter (nicknames are added to it)."""
    run = DemoRun(view, format_, screen=screen)
    started = clock.monotonic()
    stopped: str | None = None
    with tempfile.TemporaryDirectory(prefix="srm-demo-") as tmp, \
            ShutdownSignals(asyncio.get_running_loop()) as signals:
        play = asyncio.create_task(_play(run, Path(tmp), clock))
        stop = asyncio.ensure_future(signals.wait())
        closed = asyncio.ensure_future(run.screen_closed.wait())
        waits = {play, stop, closed}
        if duration_s is not None:
            waits.add(asyncio.ensure_future(asyncio.sleep(duration_s)))
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            script_done = play in done and play.exception() is None
            if script_done and run.screen_task is not None and not closed.done():  # the trader still looks
                done, _ = await asyncio.wait(waits - {play}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits - {play}:
                waiter.cancel()
        if run.screen is not None and run.screen_task is not None and not run.screen_task.done():
            run.screen.close()
            await run.screen_task
        if not play.done():
            stopped = (f"{signals.reason} received" if stop in done else "the dashboard was closed"
                       if closed in done else f"--duration {duration_s:g} s reached")
            view.notice(f"{stopped}: stopping")
            play.cancel()
        try:
            await play
        except asyncio.CancelledError:
            pass
        except (DemoStartError, ChildStartError, SimError, aiohttp.ClientError, OSError) as error:
            run.problems.append(str(error) or type(error).__name__)
        view.notice("stopping the daemon and the simulator")
        await _shut_down(run)
    actions = run.feed.all(expect.any_enforcement)
    lines = summary_lines(run.planned, run.results, actions, elapsed_s=clock.monotonic() - started,
                          account_label=format_.account, describe=format_.describe, stopped=stopped)
    lines += [f"  problem: {problem}" for problem in run.problems]
    view.summary(lines)
    return 0 if not run.problems and demo_passed(run.planned, run.results, actions, stopped) else 1
