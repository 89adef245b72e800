"""The daemon's life end to end (`daemon.md` §1–§3): restart recovery, graceful stop, refusals at
start-up (configuration, credentials, a second instance) and a misbehaving dashboard client."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .conftest import DaemonRun, Feed, SimControl, free_port, until

pytestmark = pytest.mark.slow
#: The graceful stop is asked for with SIGTERM, which Windows does not deliver (its service stops the daemon
#: through `ShutdownSignals.request_stop`).
posix_signals = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is a POSIX signal")

NewDaemon = Callable[..., Awaitable[DaemonRun]]
Feeds = Callable[..., Awaitable[Feed]]
BUY, SELL = 0, 1


def realized(run: DaemonRun) -> Decimal | None:
    rows = run.query("SELECT realized_pnl FROM daily_pnl WHERE account_id = ? ORDER BY date DESC",
                     run.account)
    return Decimal(rows[0][0]) if rows else None


async def test_restart_after_a_kill_keeps_the_lockout_and_closes_what_was_opened_meanwhile(
        new_daemon: NewDaemon, feeds: Feeds, control: SimControl) -> None:
    run = await (await new_daemon(rules={"daily_realized_loss": {"loss_limit": 50}})).start()
    feed = await feeds(run)
    mnq = control.sim.contract("MNQ")
    await control.price(mnq, 21000)
    await control.market(run.account, mnq, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")
    await control.price(mnq, 20950)
    await control.market(run.account, mnq, SELL, 1)
    await until(lambda: run.lockouts() == [("RULE-003", "reset", None)], "the RULE-003 lockout")
    await until(lambda: (realized(run) or 0) <= -100, "the day's loss stored")
    loss = realized(run)
    await feed.close()

    await run.kill()  # SIGKILL: no shutdown code runs
    await control.market(run.account, mnq, BUY, 2)  # traded while the daemon was down
    closes_before = len(await control.called(run.account, "Position/closeContract"))

    await run.start()
    assert run.lockouts() == [("RULE-003", "reset", None)]

    async def flattened() -> bool:
        closes = await control.called(run.account, "Position/closeContract")
        return len(closes) > closes_before and not await control.positions(run.account)

    await until(flattened, "the position opened while down closed after the reconcile")
    # The day goes on from the stored loss: plus the fees of the 2 lots bought while down and closed
    # at the same price (4 micro fills at 0.37), nothing lost, nothing counted twice.
    expected = loss - 4 * Decimal("0.37")  # type: ignore[operator]
    await until(lambda: realized(run) == expected, f"the day's realized P&L at {expected}")
    feed = await feeds(run)
    account = feed.snapshot()["accounts"][0]  # type: ignore[index]
    assert Decimal(str(account["realized_pnl"])) == expected
    assert [lock["rule_id"] for lock in account["lockouts"]] == ["RULE-003"]


@posix_signals
async def test_sigterm_stops_cleanly_and_flushes_positions_and_orders(
        new_daemon: NewDaemon, feeds: Feeds, control: SimControl) -> None:
    # A flush interval far beyond the test: only the shutdown's final flush can write the rows.
    run = await (await new_daemon(daemon={"persistence": {"flush_interval_seconds": 3600}})).start()
    feed = await feeds(run)
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)
    order_id = await control.limit(run.account, mes, BUY, 1, 5000)
    await until(lambda: any(o["order_id"] == order_id for o in feed.of("GatewayUserOrder")),
                "the order event")
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")
    assert run.query("SELECT count(*) FROM positions WHERE account_id = ?", run.account) == [(0,)]

    assert await run.stop() == 0
    positions = run.query("SELECT contract_id, size FROM positions WHERE account_id = ?", run.account)
    assert positions == [(mes, 1)]
    assert run.query("SELECT id FROM orders WHERE account_id = ?", run.account) == [(order_id,)]
    assert any(s["status"] == "STOPPING" for s in feed.of("daemon_status"))
    await until(lambda: bool(feed.disconnects), "the feed's disconnect")
    assert "1001" in feed.disconnects[0].reason
    wal = run.data_dir / "state.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed (TRUNCATE)
    assert "stopped at" in (run.log_dir / "daemon.log").read_text(encoding="utf-8")


async def test_invalid_configuration_exits_78_listing_every_error(new_daemon: NewDaemon) -> None:
    run = await new_daemon(rules={"max_contracts": {"limit": 0},
                                  "daily_realized_loss": {"loss_limit": "lots"}},
                           daemon={"broadcast": {"port": 70000}})
    run.write_config()
    run.spawn()
    assert await run.wait_exit() == 78
    assert run.stderr is not None
    errors = run.stderr.text
    for expected in ("risk_config.yaml: rules.max_contracts.limit",
                     "risk_config.yaml: rules.daily_realized_loss.loss_limit", "daemon.yaml: broadcast.port"):
        assert expected in errors, errors
    assert run.stdout is not None and run.stdout.first("srm run: STARTING") is None


async def test_every_login_refused_exits_78(new_daemon: NewDaemon) -> None:
    run = await new_daemon()
    run.api_key = "not-the-key"
    run.write_config()
    run.spawn()
    assert await run.wait_exit() == 78
    assert run.stderr is not None and "every login was refused" in run.stderr.text


async def test_one_login_refused_runs_degraded_with_that_account_auth_failed(
        new_daemon: NewDaemon, feeds: Feeds, control: SimControl) -> None:
    run = await new_daemon()
    _, _, (other,) = await control.new_login()
    run.write_config()
    accounts = json.loads((run.config_dir / "accounts.yaml").read_text(encoding="utf-8"))
    accounts["accounts"].append({"account_id": other, "username": "nobody", "api_key": "wrong-key"})
    (run.config_dir / "accounts.yaml").write_text(json.dumps(accounts), encoding="utf-8")
    run.spawn()
    await until(lambda: run.stdout is not None and run.stdout.first("srm run: DEGRADED") is not None,
                "the DEGRADED summary")
    feed = await feeds(run, [run.account, other])
    status = feed.snapshot()["daemon"]  # type: ignore[index]
    assert status["status"] == "DEGRADED" and "login refused" in status["message"]
    assert {a["account_id"]: a["state"] for a in status["accounts"]} == {run.account: "OK",
                                                                        other: "AUTH_FAILED"}


async def test_a_second_instance_exits_75(new_daemon: NewDaemon) -> None:
    run = await (await new_daemon()).start()
    second = DaemonRun(run.root, run.sim, run.user, run.api_key, run.account_ids)
    second.spawn()
    assert await second.wait_exit() == 75
    assert second.stderr is not None and "already locked" in second.stderr.text
    assert not run.exited()


async def test_a_client_sending_garbage_is_disconnected_and_others_carry_on(
        new_daemon: NewDaemon, feeds: Feeds, control: SimControl) -> None:
    run = await (await new_daemon()).start()
    good = await feeds(run)
    async with connect(run.url) as bad:
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(50):
                await bad.send("{not json")
                await bad.send(b"\x00\xff garbage")
            while True:
                await bad.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001

    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)
    await until(lambda: bool(good.of("GatewayUserPosition")), "the good client still served")
    assert good.disconnects == []


#: `srm run` with one injected fault: the `reset-check` task raises once the trigger file exists.
CRASHING_DAEMON = """
import asyncio, sys
from pathlib import Path
from simple_risk_manager.daemon import process
from simple_risk_manager.cli.main import main

async def failing_reset_check(self):
    while not Path(sys.argv[1]).exists():
        await asyncio.sleep(0.05)
    raise RuntimeError("injected task failure")

process.Daemon._reset_check = failing_reset_check
sys.exit(main(sys.argv[2:]))
"""


async def test_a_failing_task_takes_the_crash_path(new_daemon: NewDaemon, feeds: Feeds,
                                                   control: SimControl) -> None:
    run = await new_daemon()
    trigger = run.root / "crash-now"
    run.command = lambda: [sys.executable, "-c", CRASHING_DAEMON, str(trigger), *DaemonRun.command(run)[3:]]
    await run.start()
    feed = await feeds(run)
    mes = control.sim.contract("MES")
    await control.price(mes, 6000)
    await control.market(run.account, mes, BUY, 1)
    await until(lambda: bool(feed.of("GatewayUserPosition")), "the position event")

    trigger.touch()
    assert await run.wait_exit() == 1
    await until(lambda: any(s["status"] == "ERROR" for s in feed.of("daemon_status")), "daemon_status ERROR")
    errors = (run.log_dir / "error.log").read_text(encoding="utf-8")
    assert "injected task failure" in errors and "CRITICAL" in errors
    # The final batched flush still ran.
    assert run.query("SELECT contract_id FROM positions WHERE account_id = ?", run.account) == [(mes,)]


async def test_a_corrupt_database_is_quarantined_and_the_daemon_runs_degraded(
        new_daemon: NewDaemon, feeds: Feeds) -> None:
    run = await new_daemon()
    run.data_dir.mkdir(parents=True)
    (run.data_dir / "state.db").write_bytes(b"this is not a database" * 100)
    run.write_config()
    run.spawn()
    await until(lambda: run.stdout is not None and run.stdout.first("srm run: DEGRADED") is not None,
                "the DEGRADED summary")
    assert list(run.data_dir.glob("state.db.corrupt-*"))
    feed = await feeds(run)
    assert "database was unreadable" in feed.snapshot()["daemon"]["message"]  # type: ignore[index]


@posix_signals
async def test_a_database_from_newer_code_exits_78(new_daemon: NewDaemon) -> None:
    run = await (await new_daemon()).start()
    assert await run.stop() == 0
    conn = sqlite3.connect(run.data_dir / "state.db")
    with conn:
        conn.execute("INSERT INTO schema_version (version, applied_at, description, checksum) "
                     "VALUES (999, '2030-01-01T00:00:00.000Z', 'from the future', 'x')")
    conn.close()
    run.spawn()
    assert await run.wait_exit() == 78
    assert run.stderr is not None and "999" in run.stderr.text


@posix_signals
async def test_without_the_broker_it_is_ready_but_starting_and_stops_cleanly(new_daemon: NewDaemon,
                                                                             feeds: Feeds) -> None:
    run = await new_daemon()
    run.write_config()
    accounts = json.loads((run.config_dir / "accounts.yaml").read_text(encoding="utf-8"))
    accounts["topstepx"]["api_url"] = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    (run.config_dir / "accounts.yaml").write_text(json.dumps(accounts), encoding="utf-8")
    run.spawn()
    await until(lambda: run.stdout is not None and run.stdout.first("srm run: STARTING") is not None,
                "the STARTING line")
    feed = await feeds(run)
    snapshot = feed.snapshot()
    assert snapshot is not None and snapshot["daemon"]["status"] == "STARTING"
    assert snapshot["accounts"][0]["stale"] is True
    assert await run.stop() == 0


async def test_a_dropped_user_hub_degrades_then_reconnects_and_reconciles(
        new_daemon: NewDaemon, feeds: Feeds, control: SimControl) -> None:
    run = await (await new_daemon()).start()
    feed = await feeds(run)
    searches = len(await control.called(run.account, "Position/searchOpen"))
    await control.post("hubs/drop", {"hub": "user"})

    def statuses() -> list[str]:
        return [s["status"] for s in feed.of("daemon_status")]

    await until(lambda: "DEGRADED" in statuses(), "daemon_status DEGRADED while the hub is down")
    await until(lambda: statuses()[-1] == "RUNNING", "daemon_status RUNNING again")

    async def reconciled() -> bool:
        return len(await control.called(run.account, "Position/searchOpen")) > searches

    await until(reconciled, "the reconcile after the reconnect")
    assert any(a["action"] == "ALERT" and a["rule_id"] == "RULE-010" for a in feed.of("enforcement_action"))


@posix_signals
async def test_ready_is_sent_to_systemd_after_the_local_start_up(new_daemon: NewDaemon,
                                                                 tmp_path: Path) -> None:
    run = await new_daemon()
    run.write_config()
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(address)
        notify.setblocking(False)
        run.spawn({"NOTIFY_SOCKET": address})
        received: list[str] = []

        def ready() -> bool:
            with contextlib.suppress(BlockingIOError):
                received.append(notify.recv(4096).decode())
            return any("READY=1" in message for message in received)

        await until(ready, "READY=1 on the notify socket")
        assert await run.stop() == 0
        await until(lambda: ready() and any("STOPPING=1" in m for m in received), "STOPPING=1")
