"""The daemon's handle on `state.db`: one dedicated DB thread owns the only write connection.

Every database job runs on that thread in FIFO order (`storage.md` §1, §4, `daemon.md` §4), so the
event loop never blocks on SQLite and an immediate write is never overtaken by an older batched
flush. Each call returns a `concurrent.futures.Future`: tests and CLIs call `.result()`, the event
loop awaits `asyncio.wrap_future(future)` — or does not wait at all (the dispatcher never does;
enforcement waits for lockouts). A failed job is logged here and raised on its future; the thread
keeps serving the next job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.models import DailyPnl, EnforcementLog, Lockout, ResetSchedule, SessionState
from simple_risk_manager.store import persist
from simple_risk_manager.store.backups import backup_database
from simple_risk_manager.store.batch import PendingWrites
from simple_risk_manager.store.connection import checkpoint_truncate
from simple_risk_manager.store.database import OpenedDatabase, default_backups_dir, open_database
from simple_risk_manager.store.loader import LoadedState, load_state
from simple_risk_manager.store.retention import RetentionPolicy, RetentionResult, apply_retention
from simple_risk_manager.store.schema import MIGRATIONS, Migration

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_FLUSH_INTERVAL_SECONDS = 5.0


class StateStore:
    """Create with `StateStore.open(...)`; finish with `close()` (final flush + WAL checkpoint)."""

    def __init__(self, executor: ThreadPoolExecutor, opened: OpenedDatabase, db_path: Path,
                 clock: Clock) -> None:
        self._executor = executor
        self._conn = opened.connection  # touched only by jobs on the DB thread
        self._clock = clock
        self._closed = False
        self.db_path = db_path
        self.opened = opened
        #: Batched items (positions, orders, trades, contracts): mark here, written by `flush()`.
        self.pending = PendingWrites()

    @classmethod
    def open(cls, db_path: Path, clock: Clock, *, backups_dir: Path | None = None,
             migrations: Sequence[Migration] = MIGRATIONS) -> StateStore:
        """Start the DB thread and open, check and migrate the database on it (blocking, milliseconds).

        Raises `SchemaError` (exit 78) when the file cannot be used; a corrupt file is quarantined
        instead and `store.degraded` is True.
        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="srm-db")
        try:
            opened = executor.submit(open_database, db_path, clock.now(), backups_dir=backups_dir,
                                     migrations=migrations).result()
        except BaseException:
            executor.shutdown(wait=True)
            raise
        return cls(executor, opened, db_path, clock)

    @property
    def degraded(self) -> bool:
        """The file failed `quick_check` and was replaced by an empty one (`opened.quarantined_to`)."""
        return self.opened.degraded

    def submit(self, name: str, job: Callable[[sqlite3.Connection], T]) -> Future[T]:
        """Queue `job(connection)` on the DB thread, behind every job queued before it."""
        if self._closed:
            raise RuntimeError(f"database job {name!r}: the store is closed")

        def run() -> T:
            try:
                return job(self._conn)
            except Exception:
                log.error("database job %s failed", name, exc_info=True)
                raise

        return self._executor.submit(run)

    # --- immediate writes: one transaction each, queued at once --------------------------------

    def save_lockouts(self, *lockouts: Lockout) -> Future[None]:
        """Create, extend or clear lockout records (upsert by `lockout_id`), in order, in one transaction."""
        records = tuple(lockouts)
        return self.submit("save_lockouts", lambda conn: persist.save_lockouts(conn, records))

    def save_daily_pnl(self, pnl: DailyPnl) -> Future[None]:
        return self.submit("save_daily_pnl", lambda conn: persist.save_daily_pnl(conn, pnl))

    def add_enforcement_log(self, entry: EnforcementLog) -> Future[int]:
        """Append an audit row; the future holds its id."""
        return self.submit("add_enforcement_log", lambda conn: persist.insert_enforcement_log(conn, entry))

    def save_reset_schedule(self, schedule: ResetSchedule) -> Future[None]:
        updated_at = self._clock.now()
        return self.submit("save_reset_schedule",
                           lambda conn: persist.save_reset_schedule(conn, schedule, updated_at))

    def save_session_state(self, state: SessionState) -> Future[None]:
        return self.submit("save_session_state", lambda conn: persist.save_session_state(conn, state))

    # --- batched writes ------------------------------------------------------------------------

    def flush(self) -> Future[int]:
        """Write everything marked in `pending` in one transaction; the future holds the item count.

        The dirty sets are taken now, on the caller's thread; if the write fails (busy, disk full) they
        are put back for the next flush, except items marked again meanwhile (those are newer).
        """
        batch = self.pending.take()
        if not len(batch):
            done: Future[int] = Future()
            done.set_result(0)
            return done

        def write(conn: sqlite3.Connection) -> int:
            try:
                return persist.write_batch(conn, batch)
            except BaseException:
                self.pending.restore(batch)
                raise

        return self.submit("flush", write)

    async def run_periodic_flush(self, interval_seconds: float = DEFAULT_FLUSH_INTERVAL_SECONDS,
                                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> None:
        """The `state-writer` task: flush every `interval_seconds` until cancelled.

        A failed flush was already logged on the DB thread and its batch restored, so the loop goes on.
        """
        if interval_seconds <= 0:
            raise ValueError(f"persistence.flush_interval_seconds: must be > 0 (got {interval_seconds})")
        while True:
            await sleep(interval_seconds)
            with contextlib.suppress(Exception):
                await asyncio.wrap_future(self.flush())

    # --- reads and maintenance -----------------------------------------------------------------

    def load(self, trading_dates: Mapping[int, date], trades_since: datetime) -> Future[LoadedState]:
        """The startup load of `storage.md` §8 (see `loader.load_state`)."""
        return self.submit("load", lambda conn: load_state(conn, trading_dates, trades_since))

    def apply_retention(self, policy: RetentionPolicy) -> Future[RetentionResult]:
        now = self._clock.now()
        return self.submit("apply_retention", lambda conn: apply_retention(conn, now, policy))

    def backup(self, dest_dir: Path | None = None) -> Future[Path]:
        """Online backup into `dest_dir` (default `<data_dir>/backups/`), keeping the newest five."""
        target_dir = dest_dir or default_backups_dir(self.db_path)
        now = self._clock.now()
        return self.submit("backup", lambda conn: backup_database(conn, target_dir, now))

    def close(self) -> None:
        """Final flush, `wal_checkpoint(TRUNCATE)`, close the connection, stop the DB thread.

        Blocking; idempotent. A failing final flush is logged and does not stop the close.
        """
        if self._closed:
            return
        flushed = self.flush()

        def finish(conn: sqlite3.Connection) -> None:
            try:
                checkpoint_truncate(conn)
            finally:
                conn.close()

        closing = self.submit("close", finish)
        self._closed = True
        self._executor.shutdown(wait=True)
        with contextlib.suppress(Exception):  # logged on the DB thread
            flushed.result()
        closing.result()
