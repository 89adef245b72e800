"""The daemon process, `srm run` (`daemon.md`): start-up sequence, tasks, graceful stop and crash path.

Start-up (§2): the instance lock (75), logging, the configuration (78), the database (78 for an
unusable schema; a corrupt file is quarantined and the daemon runs DEGRADED), the saved state, the
catch-up reset and expired lockouts (`Dispatcher.startup`), the broadcast server (never fatal), then the
periodic tasks and READY=1. Broker work (logins, hubs, reconciles) runs as tasks, so an outage delays
RUNNING, never READY; every login refused is fatal (78). When every account has been reconciled once the
status becomes RUNNING (or DEGRADED) and a summary goes to the log and to stdout.

Console lines for scripts and for the people running it (stdout, one per state, prefix `srm run: `):
`srm run: STARTING pid=… broadcast=ws://127.0.0.1:PORT/` once the local start-up is done, then
`srm run: RUNNING …` or `srm run: DEGRADED …` followed by the indented summary.

Tasks (§4, one event loop): `dispatcher` (the only state mutator, consuming one `Inbox` of hub events
and internal items), `expiry-check` (sleeps until the next timer, at most 1 s → `TimerTick`),
`reset-check` (every 10 s → `ResetDue`), `state-writer` (the store's batched flush), `broker` (logins,
then supervises the gateway's hub and token-refresh tasks), `lifecycle` (waits for a stop signal), and
short-lived tasks for contract metadata and reconcile fetches. They run under one `TaskGroup`: a task
that fails takes the crash path (§3.2, exit 1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Final, TextIO, cast

from simple_risk_manager import __version__
from simple_risk_manager.broadcast.server import BroadcastServer
from simple_risk_manager.clock import Clock, SystemClock
from simple_risk_manager.config import ConfigError, LoadedConfig, LoggingSettings, load_config_dir
from simple_risk_manager.config.env_refs import EnvMode
from simple_risk_manager.config.loader import LOGGING_FILE
from simple_risk_manager.config.validation import validate_model
from simple_risk_manager.config.yaml_reader import read_yaml
from simple_risk_manager.daemon.history import RecentHistory, RecordingJournal
from simple_risk_manager.daemon.inbox import Inbox
from simple_risk_manager.daemon.reconciler import ReconcileItem, Reconciler
from simple_risk_manager.daemon.snapshots import DaemonSnapshots
from simple_risk_manager.daemon.status import Phase, StatusBoard
from simple_risk_manager.daemon.summary import running_summary, starting_line
from simple_risk_manager.daemon.wiring import (
    gateway_credentials,
    gateway_settings,
    retention_policy,
    trades_since,
    trading_dates,
)
from simple_risk_manager.domain.events import (
    HubConnectionChanged,
    OrderUpdated,
    PositionUpdated,
    QuoteUpdated,
    TradeReceived,
)
from simple_risk_manager.domain.models import Order
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.engine.enforcement import Enforcer
from simple_risk_manager.engine.items import ContractFetched, ContractFetchFailed, Item, ResetDue, TimerTick
from simple_risk_manager.engine.pipeline import Dispatcher, StartupReport
from simple_risk_manager.engine.views import build_trackers, monitored_accounts
from simple_risk_manager.gateway.base import GatewayError
from simple_risk_manager.gateway.projectx import ProjectXGateway
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.runtime.instance_lock import InstanceLock, InstanceLockedError, lock_path
from simple_risk_manager.runtime.logging_setup import DaemonLogging, setup_logging
from simple_risk_manager.runtime.paths import Directories
from simple_risk_manager.runtime.sd_notify import SystemdNotifier
from simple_risk_manager.runtime.signals import ShutdownSignals
from simple_risk_manager.runtime.slow_operations import SlowOperationMonitor
from simple_risk_manager.state.reset_schedule import ResetScheduler
from simple_risk_manager.state.timers import TimerManager
from simple_risk_manager.store import SchemaError, StateStore, read_enforcement_log

log = logging.getLogger(__name__)

STATE_DB: Final = "state.db"
#: `reset-check` period and the longest `expiry-check` sleep (`daemon.md` §4).
RESET_CHECK_S: Final = 10.0
EXPIRY_CHECK_MAX_S: Final = 1.0
#: Shutdown budget (§3.1, < 15 s in all): queued events, then the gateway's connections.
DRAIN_S: Final = 3.0
GATEWAY_CLOSE_S: Final = 3.0


#: Broker events that never change the daemon's status (`StatusBoard`): no status check after them.
_HIGH_RATE: Final = (QuoteUpdated, OrderUpdated, PositionUpdated, TradeReceived)


class _Exit(Exception):  # noqa: N818 (a control-flow signal, not an error)
    """Ends the task group on purpose: a requested stop (0) or a fatal broker answer (78)."""

    def __init__(self, code: ExitCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _LoginsDone:
    """The first logins finished (startup step 9): these accounts' credentials were refused."""

    refused: frozenset[int]


class Daemon:
    """The wired daemon; `run()` performs §2 steps 5–16 and returns the exit code."""

    def __init__(self, config: LoadedConfig, directories: Directories, store: StateStore, clock: Clock, *,
                 signals: ShutdownSignals, notifier: SystemdNotifier, console: TextIO,
                 started_mono: float | None = None) -> None:
        self.config = config
        self.directories = directories
        self.store = store
        self.clock = clock
        self.signals = signals
        self.notifier = notifier
        self.console = console
        self.history = RecentHistory()
        self.journal = RecordingJournal(store, self.history)
        self.inbox: Inbox[Item | ReconcileItem | _LoginsDone] = Inbox()
        self.trackers = build_trackers(config)
        self.scheduler = ResetScheduler()
        self.timers = TimerManager()
        self.gateway = ProjectXGateway(gateway_settings(config), gateway_credentials(config), clock=clock,
                                       sink=self._on_gateway_event)
        quarantined = store.opened.quarantined_to
        self.board = StatusBoard(self._logins(config), clock, can_trade=self._can_trade,
                                 quarantined_to=None if quarantined is None else str(quarantined))
        self.snapshots = DaemonSnapshots(config, self.trackers, self.scheduler, self.history, self.board,
                                         clock=clock, memory=self._rule_memory,
                                         is_own_order=self._is_own_order)
        self.server = BroadcastServer(config.daemon.broadcast, self.snapshots, clock)
        self.enforcer = Enforcer(self.gateway, self.journal, self.server, config.daemon.enforcement,
                                 clock=clock, run_id=self.server.run_id, mirror=self.trackers.state)
        self.dispatcher = Dispatcher(
            config, self.trackers, timers=self.timers, scheduler=self.scheduler, journal=self.journal,
            broadcaster=self.server, enforcer=self.enforcer, clock=clock,
            set_wanted_contracts=self.gateway.set_wanted_contracts, fetch_contract=self._fetch_contract,
            run_retention=self._run_retention)
        self.reconciler = Reconciler(self.gateway, self.scheduler, self.board, clock, put=self.inbox.put,
                                     deliver=self._deliver, spawn=self._spawn,
                                     backoff_cap_s=float(config.daemon.hubs.backoff_max_seconds))
        self._accounts_of_login: dict[str, list[int]] = {}
        for account_id, settings in sorted(self.dispatcher.accounts.items()):
            if settings.login is not None:
                self._accounts_of_login.setdefault(settings.login, []).append(account_id)
        self._slow = SlowOperationMonitor(config.logging.slow_operation_ms, clock)
        self._background: set[asyncio.Task[None]] = set()
        self._accepting = True
        self._gateway_ready = asyncio.Event()
        self._tick_handled = asyncio.Event()
        self._last_status: tuple[object, ...] | None = None
        self._announced = False
        #: The process start (for "started in" and the uptime logged at the stop).
        self._started_mono = clock.monotonic() if started_mono is None else started_mono

    @staticmethod
    def _logins(config: LoadedConfig) -> dict[int, str | None]:
        """Each monitored account's login (username), the key of its user hub."""
        return {account_id: settings.login for account_id, settings in monitored_accounts(config).items()}

    # --- start-up ----------------------------------------------------------------------------------

    async def run(self) -> int:
        now = self.clock.now()
        account_ids = sorted(self.dispatcher.accounts)
        try:  # step 5
            loaded = await asyncio.wrap_future(self.store.load(
                trading_dates(self.config, account_ids, now), trades_since(self.config, account_ids, now)))
            since = now - timedelta(days=self.config.daemon.retention.enforcement_log_days)
            recent = await asyncio.wrap_future(self.store.submit(
                "recent enforcement", lambda conn: read_enforcement_log(conn, since)))
        except Exception:
            log.critical("cannot load the saved state from %s", self.store.db_path, exc_info=True)
            return ExitCode.FAILURE
        self.history.seed(loaded.trades, recent)
        self._report_startup(self.dispatcher.startup(loaded, now))  # steps 6, 7
        self._run_retention()
        await self.server.start()  # step 8: never raises; retries the bind in the background
        self.notifier.ready(f"STARTING: {len(account_ids)} account(s)")  # step 15
        print(starting_line(os.getpid(), self.server.port, self.directories), file=self.console, flush=True)
        log.info("local start-up done: READY; connecting to the broker")
        self._status_changed()
        return await self._serve()

    def _report_startup(self, report: StartupReport) -> None:
        for outcome in report.resets:
            log.info("missed daily reset performed at start-up for trading day %s", outcome.trading_date)
        if report.expired:
            log.info("%d lockout(s) ended while the daemon was down", len(report.expired))

    # --- tasks -------------------------------------------------------------------------------------

    async def _serve(self) -> int:
        interval = float(self.config.daemon.persistence.flush_interval_seconds)
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._dispatch(), name="dispatcher")
                group.create_task(self._expiry_check(), name="expiry-check")
                group.create_task(self._reset_check(), name="reset-check")
                group.create_task(self.store.run_periodic_flush(interval), name="state-writer")
                group.create_task(self._broker(), name="broker")
                group.create_task(self._lifecycle(), name="lifecycle")
        except BaseExceptionGroup as errors:
            exits, crashes = errors.split(_Exit)
            if crashes is not None:
                return await self._crash(crashes)
            assert exits is not None
            first = exits.exceptions[0]
            assert isinstance(first, _Exit)
            return await self._finish(first.code, first.reason)
        return await self._finish(ExitCode.OK, "every task ended")

    async def _dispatch(self) -> None:
        """The `dispatcher` task: every item in queue order, through the reconciler's hold.

        After an item's decisions it yields to the loop once, so the enforcement tasks the item started
        send their first requests before the item's follow-up work (broadcasts, rows for the writer:
        `Dispatcher.finish`) and before the next item. `Inbox.get` does not suspend while items are
        waiting, so without the yield a breach's enforcement would wait for the whole backlog
        (docs/performance.md).
        """
        while True:
            item = await self.inbox.get()
            try:
                self._route(item)
                await asyncio.sleep(0)
            finally:
                self.dispatcher.finish()
                self.inbox.task_done()
            if not isinstance(item, _HIGH_RATE):
                self._status_changed()

    def _route(self, item: Item | ReconcileItem | _LoginsDone) -> None:
        if isinstance(item, _LoginsDone):
            self.board.logins_refused(set(item.refused))
        elif not self.reconciler.route(item):
            self._deliver(cast(Item, item))  # the reconciler took its own items
            if isinstance(item, TimerTick):
                self._tick_handled.set()
            elif isinstance(item, HubConnectionChanged):
                self._hub_changed(item)

    def _deliver(self, item: Item) -> None:
        with self._slow.watch(type(item).__name__):
            self.dispatcher.begin(item)

    def _hub_changed(self, event: HubConnectionChanged) -> None:
        self.board.hub_changed(event)
        what = "connected" if event.connected else "lost"
        if event.connected and event.reconnect:
            what = "reconnected"
        level = logging.INFO if event.connected else logging.WARNING
        log.log(level, "%s hub (login %s) %s%s", event.hub, event.login, what,
                f": {event.reason}" if event.reason else "")
        if event.hub == "user" and event.connected:
            self.reconciler.request(self._accounts_of_login.get(event.login, ()))

    async def _expiry_check(self) -> None:
        """Sleep until the next timer (at most 1 s), then let the dispatcher fire what is due."""
        while True:
            await asyncio.sleep(self.timers.wait_seconds(self.clock.now(), cap=EXPIRY_CHECK_MAX_S))
            self._tick_handled.clear()
            self.inbox.put(TimerTick())
            await self._tick_handled.wait()

    async def _reset_check(self) -> None:
        while True:
            await asyncio.sleep(RESET_CHECK_S)
            if self.scheduler.check(self.clock.now()):
                self.inbox.put(ResetDue())

    async def _broker(self) -> None:
        """Steps 9–13: log in every credential set; the hubs connect and announce themselves (each
        user-hub connect starts the reconcile of its accounts); then supervise the gateway's tasks."""
        outcomes = await self.gateway.start()
        refused = frozenset(a for outcome in outcomes.values() if not outcome.ok for a in outcome.account_ids)
        if all(not outcome.ok for outcome in outcomes.values()):
            reasons = "; ".join(str(outcome.error) for outcome in outcomes.values())
            log.critical("every login was refused by the gateway (%s); fix the credentials in accounts.yaml",
                         reasons)
            raise _Exit(ExitCode.CONFIG_INVALID, "every login refused")
        for outcome in outcomes.values():
            if not outcome.ok:
                log.error("login %s refused (%s): account(s) %s are AUTH_FAILED and not monitored",
                          outcome.login, outcome.error, ", ".join(map(str, outcome.account_ids)))
        self.inbox.put(_LoginsDone(refused))
        self._gateway_ready.set()
        await self.gateway.wait_closed()

    async def _lifecycle(self) -> None:
        reason = await self.signals.wait()
        await self._stop_gracefully(reason)
        raise _Exit(ExitCode.OK, reason)

    # --- ports the dispatcher calls ------------------------------------------------------------------

    def _on_gateway_event(self, event: Any) -> None:
        """The gateway's sink: after the stop has begun, hub events are no longer accepted (§3.1)."""
        if self._accepting:
            self.inbox.put(event)

    def _fetch_contract(self, contract_id: str) -> None:
        self._spawn(self._fetch_contract_task(contract_id), f"contract[{contract_id}]")

    async def _fetch_contract_task(self, contract_id: str) -> None:
        await self._gateway_ready.wait()
        try:
            metadata = await self.gateway.get_contract(contract_id)
        except GatewayError as error:
            self.inbox.put(ContractFetchFailed(contract_id, str(error)))
        else:
            self.inbox.put(ContractFetched(metadata))

    def _run_retention(self) -> None:
        self.store.apply_retention(retention_policy(self.config))

    def _rule_memory(self, account_id: int) -> Mapping[str, Any]:
        return self.dispatcher.rule_memory(account_id)

    def _is_own_order(self, order: Order) -> bool:
        return self.enforcer.is_own_order(order)

    def _can_trade(self, account_id: int) -> bool | None:
        account = self.trackers.state.account(account_id)
        return None if account is None else account.can_trade

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    # --- status ------------------------------------------------------------------------------------

    def _status_changed(self) -> None:
        """Broadcast `daemon_status` on every change (§5.9); announce RUNNING/DEGRADED once (§2 step 16)."""
        status = self.board.status()
        key = (status.status, status.message, tuple(sorted(status.hubs.items())),
               tuple(tuple(sorted(a.items())) for a in status.accounts))
        if key != self._last_status:
            self._last_status = key
            self.server.publish_status()
            log.info("daemon status %s: %s", status.status, status.message)
        if not self._announced and self.board.startup_complete and status.status in (Phase.RUNNING,
                                                                                    Phase.DEGRADED):
            self._announced = True
            text = running_summary(self.config, self.dispatcher.accounts, self.board, status,
                                   port=self.server.port, directories=self.directories,
                                   started_in_s=self.clock.monotonic() - self._started_mono)
            log.info("%s", text)
            print(text, file=self.console, flush=True)
            self.notifier.status(text.splitlines()[0])

    # --- stopping ----------------------------------------------------------------------------------

    async def _stop_gracefully(self, reason: str) -> None:
        """§3.1 steps 1–3 while the dispatcher still runs: it drains what is queued."""
        log.info("stopping (%s)", reason)
        self.board.finish(Phase.STOPPING, f"stopping ({reason})")
        self.server.publish_status()
        self.notifier.stopping(f"stopping ({reason})")
        self._accepting = False
        try:
            async with asyncio.timeout(DRAIN_S):
                await self.inbox.join()
        except TimeoutError:
            log.warning("stopping: %d queued item(s) not handled within %g s", self.inbox.qsize(), DRAIN_S)
        await self.enforcer.close()

    async def _finish(self, code: ExitCode, reason: str) -> int:
        """§3.1 steps 4–8 (the task group has cancelled the periodic tasks)."""
        await self._close_connections()
        try:
            await asyncio.wrap_future(self.store.flush())
        except Exception:
            log.error("final flush failed", exc_info=True)
        await self.server.stop()
        self.store.close()
        uptime = self.clock.monotonic() - self._started_mono
        log.info("stopped at %s after %.1f s (%s); exit code %d", format_utc(self.clock.now()), uptime,
                 reason, int(code))
        return int(code)

    async def _crash(self, errors: BaseExceptionGroup[BaseException]) -> int:
        """§3.2: CRITICAL with the traceback, `daemon_status` ERROR (best effort), a final flush, exit 1."""
        first = errors.exceptions[0]
        log.critical("a daemon task failed: %r; exiting with code 1", first, exc_info=errors)
        self.board.finish(Phase.ERROR, f"crashed: {first!r}")
        with contextlib.suppress(Exception):
            self.server.publish_status()
        with contextlib.suppress(Exception):
            await self.enforcer.close(timeout_s=1.0)
        with contextlib.suppress(Exception):
            await self._finish(ExitCode.FAILURE, "crash")
        return ExitCode.FAILURE

    async def _close_connections(self) -> None:
        self.reconciler.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        try:
            async with asyncio.timeout(GATEWAY_CLOSE_S):
                await self.gateway.close()
        except TimeoutError:
            log.warning("the gateway's connections did not close within %g s", GATEWAY_CLOSE_S)


# --- the entry point -------------------------------------------------------------------------------

def run_daemon(directories: Directories, *, env: Mapping[str, str] = os.environ,
               console: TextIO | None = None, clock: Clock | None = None) -> int:
    """`srm run`: §2 steps 1–4, then the event loop. Returns the process exit code (`daemon.md` §1)."""
    out = console if console is not None else sys.stdout
    clock = clock or SystemClock()
    started_mono = clock.monotonic()
    lock = InstanceLock(lock_path(directories.data_dir))
    try:
        lock.acquire()  # step 1
    except InstanceLockedError as error:
        print(f"srm run: {error}", file=sys.stderr)
        return ExitCode.INSTANCE_LOCKED
    except OSError as error:
        print(f"srm run: cannot take the instance lock in {directories.data_dir}: {error}", file=sys.stderr)
        return ExitCode.CONFIG_INVALID
    logs: DaemonLogging | None = None
    try:
        settings = _logging_settings(directories.config_dir)
        try:  # step 2
            logs = setup_logging(settings, directories.log_dir, env=env)
        except OSError as error:
            print(f"srm run: cannot write the logs in {directories.log_dir}: {error}", file=sys.stderr)
            return ExitCode.CONFIG_INVALID
        log.info("srm %s starting (pid %d): config %s, data %s, logs %s", __version__, os.getpid(),
                 directories.config_dir, directories.data_dir, directories.log_dir)
        try:  # step 3
            config = load_config_dir(directories.config_dir, env=env, env_mode=EnvMode.REQUIRED)
        except ConfigError as error:
            _report_config_errors(directories.config_dir, error, print_them=settings.console is False)
            return ExitCode.CONFIG_INVALID
        for warning in config.warnings:
            log.warning("configuration: %s", warning)
        return asyncio.run(_main(config, directories, clock, env=env, console=out, started_mono=started_mono))
    finally:
        if logs is not None:
            logs.close()
        lock.release()


async def _main(config: LoadedConfig, directories: Directories, clock: Clock, *, env: Mapping[str, str],
                console: TextIO, started_mono: float) -> int:
    with ShutdownSignals(asyncio.get_running_loop()) as signals:
        try:  # step 4
            store = StateStore.open(directories.data_dir / STATE_DB, clock)
        except SchemaError as error:
            log.critical("database %s cannot be used: %s", directories.data_dir / STATE_DB, error)
            return error.exit_code
        try:
            if store.degraded:
                log.critical("database %s failed its integrity check: moved to %s; starting empty (DEGRADED)",
                             store.db_path, store.opened.quarantined_to)
            daemon = Daemon(config, directories, store, clock, signals=signals,
                            notifier=SystemdNotifier.from_env(env), console=console,
                            started_mono=started_mono)
            return await daemon.run()
        except Exception:  # a failure outside the task group (start-up): still CRITICAL in error.log
            log.critical("the daemon failed during start-up; exiting with code 1", exc_info=True)
            return ExitCode.FAILURE
        finally:
            store.close()


def _logging_settings(config_dir: Path) -> LoggingSettings:
    """Step 2: `logging.yaml` alone, before the rest is validated; defaults when absent or invalid (its
    errors are reported with the others in step 3)."""
    path = config_dir / LOGGING_FILE
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError:
        return LoggingSettings()
    raw, problems = read_yaml(text)
    if problems:
        return LoggingSettings()
    settings, _ = validate_model(LoggingSettings, {} if raw is None else raw)
    return settings or LoggingSettings()


def _report_config_errors(config_dir: Path, error: ConfigError, *, print_them: bool) -> None:
    """Every error, CRITICAL in the logs (and so on the console); printed too when the console is off."""
    count = len(error.errors)
    log.critical("configuration in %s is invalid (%d error%s); the daemon does not start (exit code %d)",
                 config_dir, count, "" if count == 1 else "s", ExitCode.CONFIG_INVALID)
    for issue in error.errors:
        log.critical("  %s", issue)
    if print_them:
        print(f"srm run: configuration in {config_dir} is invalid:", file=sys.stderr)
        for issue in error.errors:
            print(f"  {issue}", file=sys.stderr)
