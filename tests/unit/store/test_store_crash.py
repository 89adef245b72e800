"""Crash safety (`storage.md` §7): kill a writer process mid-batch, over and over, on one file.

After every kill the file passes `quick_check`, every lockout and daily P&L row whose commit was
confirmed before the kill is there with exact values, and the last batch is all-or-nothing.
"""

from __future__ import annotations

import json
import queue
import random
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simple_risk_manager.store import connect_reader, tables
from simple_risk_manager.store.codecs import decode_daily_pnl, decode_lockout

WRITER = Path(__file__).with_name("crash_writer.py")
KILLS = 20
LINE_TIMEOUT_S = 20


def _pump(stream: object, lines: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _run_and_kill(db: Path, iteration: int, kill_after: int) -> list[dict[str, list[object]]]:
    """Start the writer, read `kill_after` lines, kill it; return the confirmed immediate writes."""
    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(db), str(iteration), str(iteration * 7919)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    confirmed: list[dict[str, list[object]]] = []
    try:
        for _ in range(kill_after):
            try:
                line = lines.get(timeout=LINE_TIMEOUT_S)
            except queue.Empty:
                pytest.fail(f"iteration {iteration}: writer printed nothing for {LINE_TIMEOUT_S} s")
            if line is None:
                proc.wait(timeout=LINE_TIMEOUT_S)
                stderr = proc.stderr.read() if proc.stderr else ""
                pytest.fail(f"iteration {iteration}: writer exited early ({proc.returncode}): {stderr}")
            if line.startswith("C "):
                confirmed.append(json.loads(line[2:]))
    finally:
        proc.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        proc.wait(timeout=LINE_TIMEOUT_S)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    return confirmed


def _check(db: Path, confirmed: list[dict[str, list[object]]]) -> None:
    """Read through a read-only connection, which leaves the killed writer's WAL for the next writer."""
    conn = connect_reader(db)
    try:
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        for entry in confirmed:
            lockout_row = tuple(entry["lockout"])
            stored = conn.execute(tables.LOCKOUTS.select_sql("lockout_id = ?"), (lockout_row[0],)).fetchone()
            assert stored == lockout_row
            assert decode_lockout(stored) == decode_lockout(lockout_row)
            pnl_row = tuple(entry["daily_pnl"])
            stored = conn.execute(
                tables.DAILY_PNL.select_sql("account_id = ? AND date = ?"), pnl_row[:2]
            ).fetchone()
            assert stored == pnl_row
            assert decode_daily_pnl(stored) == decode_daily_pnl(pnl_row)
        marker = conn.execute("SELECT name FROM contract_cache WHERE contract_id = 'CON.BATCH'").fetchone()
        prices = {price for (price,) in conn.execute("SELECT DISTINCT average_price FROM positions")}
        if marker is None:
            assert prices == set()
        else:
            assert prices == {marker[0]}  # every position from the same (last committed) batch
    finally:
        conn.close()


@pytest.mark.slow
def test_killed_writer_never_loses_a_confirmed_immediate_write(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    rng = random.Random(20250304)
    total_confirmed = 0
    for iteration in range(1, KILLS + 1):
        confirmed = _run_and_kill(db, iteration, kill_after=rng.randint(3, 40))
        _check(db, confirmed)
        total_confirmed += len(confirmed)
    assert total_confirmed >= KILLS  # the check above had rows to check in most iterations
