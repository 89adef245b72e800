"""The scriptable forms (cli.md §1.11): `srm trader status|accounts [--json]` and `srm trader watch`
against a real broadcast server, the saved state, or nothing; and the dashboard's refusal without a
terminal (§0)."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.cli.main import main as srm
from simple_risk_manager.clock import SystemClock
from simple_risk_manager.trader.watch import watch

from .harness import A1, FakeDaemon, account_snapshot, lockout, quote, until_true, write_saved_state


async def run_srm(*argv: str) -> int:
    """`srm …` in a thread (it runs its own event loop), while this loop serves the broadcast feed."""
    return await asyncio.to_thread(srm, list(argv))


Capture = pytest.CaptureFixture[str]


async def test_status_json_live(server: BroadcastServer, db_path: Path, capsys: Capture) -> None:
    code = await run_srm("trader", "status", "--json", "--port", str(server.port),
                         "--data-dir", str(db_path.parent))
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["source"] == "live" and document["daemon"]["status"] == "RUNNING"
    [account] = document["accounts"]
    assert account["account_id"] == A1 and account["nickname"] == "Eval 50K" and account["status"] == "OK"
    assert account["realized_pnl"] == -193.32 and account["fees"] == 13.32 and account["trade_count"] == 6
    assert account["positions"][0]["name"] == "MESH5" and account["positions"][0]["size"] == 3
    assert account["orders"][0]["order_id"] == 771203 and account["orders"][0]["is_stop_loss"] is True
    assert account["rules"][0]["rule_id"] == "RULE-003" and account["rules"][0]["limit"] == 500
    assert set(document) == {"source", "as_of", "saved_state_as_of", "problem", "daemon", "accounts"}


async def test_status_text_of_a_locked_account(daemon: FakeDaemon, server: BroadcastServer, db_path: Path,
                                               capsys: Capture) -> None:
    now = datetime.now(UTC)
    daemon.snapshots[A1] = account_snapshot(lockouts=[lockout(until=now + timedelta(hours=2))],
                                            realized="-512.50")
    code = await run_srm("trader", "--port", str(server.port), "status", "--account", str(A1), "--ascii")
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Source: live; daemon RUNNING: ok")
    assert "Account 4411 (Eval 50K) - LOCKED - trading day 2025-03-04" in out
    assert ("## LOCKED OUT - RULE-003 daily realized loss 512.50 reached limit 500.00 - "
            "trading allowed again in") in out
    assert "trading allowed again in 2h00m00s" in out or "trading allowed again in 1h59m" in out
    assert "Loss limit [##########]" in out and "LIMIT" in out


async def test_status_from_the_saved_state_exits_3(db_path: Path, capsys: Capture) -> None:
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    write_saved_state(db_path, written, day_of=written)
    code = await run_srm("trader", "status", "--json", "--port", "9", "--data-dir", str(db_path.parent))
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == 3
    assert document["source"] == "database"
    assert document["saved_state_as_of"] == written.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert document["accounts"][0]["status"] == "LOCKED"
    [account] = document["accounts"]
    assert account["realized_pnl"] == -512.5 and account["unrealized_pnl"] is None
    assert "daemon is unreachable; saved data shown" in captured.err


async def test_status_with_nothing_exits_4(tmp_path: Path, capsys: Capture) -> None:
    code = await run_srm("trader", "status", "--port", "9", "--data-dir", str(tmp_path))
    captured = capsys.readouterr()
    assert code == 4
    assert "no saved state" in captured.out and "no data for any account" in captured.err


async def test_status_of_an_unknown_account_exits_4(server: BroadcastServer,
                                                    capsys: Capture) -> None:
    code = await run_srm("trader", "status", "--account", "9999", "--port", str(server.port))
    assert code == 4 and "no data for account 9999" in capsys.readouterr().err


async def test_accounts_json(server: BroadcastServer, capsys: Capture) -> None:
    code = await run_srm("trader", "accounts", "--json", "--port", str(server.port))
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert document["accounts"] == [{"number": 1, "account_id": A1, "nickname": "Eval 50K", "status": "OK",
                                     "realized_pnl": "-193.32", "open_positions": 1}]


async def test_watch_streams_the_events_as_json_lines_until_the_daemon_goes(
        make_server: Callable[..., Awaitable[BroadcastServer]]) -> None:
    server = await make_server()
    out, err = io.StringIO(), io.StringIO()
    task = asyncio.create_task(watch(f"ws://127.0.0.1:{server.port}/", A1, {"lockout_set", "MarketQuote"},
                                     out=out, err=err, clock=SystemClock()))
    await until_true(lambda: server.client_count == 1, "watch to connect")
    server.publish("GatewayUserTrade", A1, {"trade_id": 1})  # filtered out by --types
    server.publish("lockout_set", A1, lockout().to_dict())
    server.publish("MarketQuote", None, quote().to_dict())
    await until_true(lambda: out.getvalue().count("\n") == 2, "two event lines")
    await server.stop()
    assert await asyncio.wait_for(task, 10) == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["type"] for line in lines] == ["lockout_set", "MarketQuote"]
    assert lines[0]["account_id"] == A1 and lines[0]["data"]["rule_id"] == "RULE-003"
    assert set(lines[0]) == {"v", "type", "seq", "ts", "account_id", "data"}
    assert "daemon unreachable" in err.getvalue()


async def test_watch_exits_3_when_nothing_listens(capsys: Capture) -> None:
    assert await run_srm("trader", "watch", "--port", "9") == 3
    assert "srm trader watch: daemon unreachable" in capsys.readouterr().err


async def test_watch_refuses_unknown_types(capsys: Capture) -> None:
    assert await run_srm("trader", "watch", "--types", "snapshot") == 2
    assert "choose from" in capsys.readouterr().err


async def test_the_dashboard_needs_a_terminal(capsys: Capture) -> None:
    assert await run_srm("trader", "--port", "9") == 2
    assert "srm trader status" in capsys.readouterr().err


async def test_the_dashboard_has_no_json_form(capsys: Capture) -> None:
    assert await run_srm("trader", "--json") == 2
    assert "srm trader status --json" in capsys.readouterr().err
