"""Textual pilot tests of the fallback: the daemon stopped or never there, saved state shown read-only
with its age, live again after a reconnect (cli.md §1.2, §1.5; broadcast-api.md §8)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.trader.fallback import read_saved_state
from simple_risk_manager.trader.model import SavedState

from .harness import NOW, MakeApp, file_digest, lines_with, screen_text, shows, until, write_saved_state

SIZE = (110, 30)


async def test_a_stopped_daemon_shows_the_saved_state_then_live_again(
        make_server: Callable[..., Awaitable[BroadcastServer]], make_app: MakeApp,
        db_path: Path, clock: ManualClock) -> None:
    write_saved_state(db_path, NOW)
    server = await make_server()
    port = server.port
    app = make_app(port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "● LIVE", "Realized -193.32")
        await server.stop()
        clock.advance(60)  # after the last frame: "last heard" stays 15:02:11
        screen = await shows(pilot, "○ OFFLINE — saved state 15:02:11", "Realized -512.50")
        rows = screen.splitlines()
        at = next(n for n, line in enumerate(rows) if "daemon unreachable" in line)
        assert " ".join(line.strip() for line in rows[at:at + 2]) == (
            "OFFLINE — daemon unreachable; saved state as of 15:02:11 UTC (1m00s old); daemon last heard at "
            "15:02:11 UTC; positions/orders can be up to 5 s older than the broker; no quotes")
        assert "LOCKED OUT — RULE-003" in screen  # the saved lockout
        assert lines_with(screen, "MESH5")[0].split()[:6] == ["MESH5", "LONG", "2", "5921.25", "NO", "DATA"]
        assert "Unrealized n/a" in screen and "Loss limit n/a" in screen and "windows n/a offline" in screen
        assert "quotes n/a offline" in screen and "saved 1m00s ago" in screen
        await make_server(port)
        await shows(pilot, "● LIVE", "Realized -193.32")
        assert "OFFLINE" not in screen_text(app)


async def test_no_daemon_at_start_goes_to_the_saved_state(make_app: MakeApp, db_path: Path) -> None:
    write_saved_state(db_path, NOW)
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "○ OFFLINE — saved state", "Realized -512.50")
        assert "Trades 11 (windows n/a offline)" in screen
        await pilot.press("3")
        screen = await shows(pilot, "[3 History (trades)]")
        assert len(lines_with(screen, "-50.00")) == 3
        await pilot.press("t")
        await shows(pilot, "CLOSE_ALL_AND_LOCKOUT", "SUCCESS (closed 1)")
        await pilot.press("4")
        await shows(pilot, "Rule limits n/a offline")


async def test_no_daemon_and_no_database(make_app: MakeApp, db_path: Path) -> None:
    app = make_app(None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "○ OFFLINE — no saved state", "does not exist")
        assert "(has the daemon ever run here?)" in screen


async def test_the_dashboard_never_writes_the_database(make_app: MakeApp, db_path: Path) -> None:
    """Offline for ten polls, through every key: the file is byte for byte what the daemon left."""
    write_saved_state(db_path, NOW)
    before = file_digest(db_path)
    polls: list[SavedState] = []

    def counting(path: Path, now: datetime) -> SavedState:
        polls.append(read_saved_state(path, now))
        return polls[-1]

    app = make_app(None, read_saved=counting)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "Realized -512.50")
        for key in ("r", "2", "3", "t", "4", "c", "escape", "a", "escape", "question_mark", "escape"):
            await pilot.press(key)
        await until(pilot, lambda: len(polls) >= 10, "ten database polls")
    assert file_digest(db_path) == before
