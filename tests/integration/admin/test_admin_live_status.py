"""`srm admin status` and `test broadcast` against the daemon's real broadcast server (`cli.md` §2.6,
§2.7): live values from `hello` + snapshot while the service runs; the database once it is stopped."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Collection, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from simple_risk_manager.broadcast import AccountRef, BroadcastServer
from simple_risk_manager.clock import SystemClock
from simple_risk_manager.config.daemon_settings import BroadcastSettings
from simple_risk_manager.domain.models import AccountSnapshot, DaemonStatus, Lockout

from .conftest import AdminHarness, FakeServiceManager, LoopThread

NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT = 7001


class Daemon:
    """What the broadcast server reads from a daemon: one locked account with one position."""

    def __init__(self) -> None:
        lockout = Lockout(account_id=ACCOUNT, rule_id="RULE-003", kind="reset", reason="daily loss 512.50",
                          locked_at=NOW, locked_until=NOW + timedelta(hours=2), created_at=NOW,
                          updated_at=NOW, lockout_id=9)
        self.snapshot = AccountSnapshot(
            account_id=ACCOUNT, nickname="50K Combine", can_trade=True, balance=Decimal("49487.50"),
            trading_date=date(2025, 3, 4), session_start=NOW - timedelta(hours=8),
            next_reset_at=NOW + timedelta(hours=2), realized_pnl=Decimal("-512.50"),
            gross_pnl=Decimal("-490.30"), fees=Decimal("22.20"), unrealized_pnl=Decimal("37.50"),
            trade_count=11,
            trade_counts={"minute": 0, "hour": 3, "session": 11}, lockouts=(lockout.to_dict(),), positions=(),
            orders=(), quotes={}, contracts={}, rules=(), recent_trades=(), recent_enforcement=(),
            stale=False)

    def accounts(self) -> Sequence[AccountRef]:
        return [AccountRef(ACCOUNT, "50K Combine")]

    def daemon_status(self) -> DaemonStatus:
        return DaemonStatus(status="RUNNING", message="ok", started_at=NOW - timedelta(hours=1),
                            uptime_s=3600, hubs={"user": "CONNECTED", "market": "CONNECTED"}, clients=1,
                            accounts=({"account_id": ACCOUNT, "state": "OK"},))

    def account_snapshots(self, account_ids: Sequence[int]) -> Sequence[AccountSnapshot]:
        return [self.snapshot for account_id in account_ids if account_id == ACCOUNT]

    def accounts_holding(self, contract_id: str) -> Collection[int]:
        return []


@pytest.fixture
def broadcast_port() -> Iterator[int]:
    async def main(ready: Callable[[Any], None], stop: asyncio.Event) -> None:
        server = BroadcastServer(BroadcastSettings(), Daemon(), SystemClock(), port=0)
        await server.start()
        ready(server.port)
        await stop.wait()
        await server.stop()

    thread = LoopThread(main)
    yield thread.value
    thread.close()


@pytest.fixture
def live(tmp_path: Path) -> AdminHarness:
    harness = AdminHarness(tmp_path)
    harness.clock.set(NOW)
    harness.install_shipped()
    harness.service = FakeServiceManager(harness.data_dir, running=True, since=NOW - timedelta(hours=1))
    return harness


def test_status_reads_the_running_daemon(live: AdminHarness, broadcast_port: int) -> None:
    result = live.run("status", "--json", "--port", str(broadcast_port))
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["source"] == "live"
    assert report["daemon"]["status"] == "RUNNING" and report["daemon"]["hubs"]["market"] == "CONNECTED"
    assert report["service"]["running"] is True and report["service"]["pid"] == 4242
    assert report["restart_pending"] is True  # the config files were written after the daemon "started"
    account = report["accounts"][0]
    assert account["account_id"] == ACCOUNT
    assert (account["realized_pnl"], account["net_pnl"]) == ("-512.50", "-475.00")
    assert account["lockout"]["rule_id"] == "RULE-003" and account["lockout"]["remaining_s"] == 7200
    text = live.run("status", "--port", str(broadcast_port)).out
    assert "Daemon    RUNNING — ok; hubs: user CONNECTED, market CONNECTED; clients: 1" in text
    assert "Accounts (live)" in text and "50K Combine" in text and "net -475.00" in text


def test_status_falls_back_to_the_database_when_the_feed_is_unreachable(live: AdminHarness) -> None:
    report = json.loads(live.run("status", "--json", "--port", "1").out)
    assert report["source"] == "database" and "cannot connect" in report["unreachable"]


def test_the_broadcast_check_expects_hello(live: AdminHarness, broadcast_port: int) -> None:
    result = live.run_with_password("test", "broadcast", "--ascii", "--port", str(broadcast_port))
    assert result.code == 0, result.err
    assert result.out.startswith("OK broadcast") and "hello from run" in result.out


def test_a_restart_shows_the_daemons_first_status(live: AdminHarness, broadcast_port: int) -> None:
    result = live.run_with_password("service", "restart", "--port", str(broadcast_port))
    assert result.code == 0, result.err
    assert result.out.strip() == "daemon RUNNING: ok"
    assert live.service is not None and live.service.calls == ["stop", "start"]
