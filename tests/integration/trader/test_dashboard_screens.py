"""Textual pilot tests of the other screens: account selection, help, the connection panel, and a
terminal that is too small (cli.md §1.3–§1.5, §1.10)."""

from __future__ import annotations

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.trader.screens import AccountScreen, ConnectionScreen, HelpScreen

from .harness import (
    A1,
    A2,
    FakeDaemon,
    MakeApp,
    account_snapshot,
    lines_with,
    lockout,
    position,
    shows,
    until,
)

SIZE = (100, 30)


async def test_account_selection_lists_the_accounts_and_follows_the_choice(
        daemon: FakeDaemon, server: BroadcastServer, make_app: MakeApp) -> None:
    daemon.snapshots[A2] = account_snapshot(A2, None, realized="0", lockouts=[
        lockout(kind="duration", rule_id="RULE-007", lockout_id=9, account_id=A2)])
    app = make_app(server.port, account_id=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "choose an account", "-193.32", "COOLDOWN")
        assert isinstance(app.screen, AccountScreen)
        assert lines_with(screen, "4411")[0].split() == ["1", "4411", "Eval", "50K", "OK", "-193.32", "1"]
        assert lines_with(screen, "4412")[0].split() == ["2", "4412", "COOLDOWN", "0.00", "0"]
        await pilot.press("2")
        screen = await shows(pilot, "(#4412)", "COOLDOWN — RULE-007")
        assert app.feed is not None and app.feed.account_ids == (A2,)
        await pilot.press("a")
        await shows(pilot, "choose an account")
        await pilot.press("down", "up", "enter")
        await shows(pilot, "Eval 50K (#4411)")
        await until(pilot, lambda: app.feed is not None and app.feed.account_ids == (A1,),
                    "the feed to follow 4411")


async def test_an_unknown_account_is_said_on_the_selection_screen(server: BroadcastServer,
                                                                  make_app: MakeApp) -> None:
    app = make_app(server.port, account_id=9999)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "choose an account", "9999")
        await pilot.press("enter")
        await shows(pilot, "Eval 50K (#4411)")


async def test_help_lists_the_keys(server: BroadcastServer, make_app: MakeApp) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "● LIVE")
        await pilot.press("question_mark")
        screen = await shows(pilot, "Keys", "dismiss the current alert")
        assert isinstance(app.screen, HelpScreen)
        assert "The dashboard only reads: no key changes anything." in screen
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, HelpScreen), "the help to close")


async def test_the_connection_panel(daemon: FakeDaemon, server: BroadcastServer,
                                    make_app: MakeApp) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "● LIVE")
        await pilot.press("c")
        screen = await shows(pilot, "Connection", "Run id")
        assert isinstance(app.screen, ConnectionScreen)
        assert f"Run id {server.run_id}" in screen and "Protocol 1" in screen
        assert "Daemon: RUNNING — ok" in screen and "Hubs: market CONNECTED, user CONNECTED" in screen
        assert "Subscription 4411" in screen
        assert "  not found; read only when the daemon is unreachable" in screen
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ConnectionScreen), "the panel to close")


async def test_a_degraded_daemon_says_why(daemon: FakeDaemon, server: BroadcastServer,
                                          make_app: MakeApp) -> None:
    daemon.snapshots[A1] = account_snapshot(positions=[position()], stale=True)
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "◐ DEGRADED")
        await pilot.press("c")
        await shows(pilot, "why: account snapshot stale")


async def test_a_small_terminal_asks_to_be_enlarged(server: BroadcastServer,
                                                    make_app: MakeApp) -> None:
    app = make_app(server.port)
    async with app.run_test(size=(79, 24)) as pilot:
        screen = await shows(pilot, "Enlarge the terminal to at least 80×24")
        assert "LIVE" not in screen
        await pilot.resize_terminal(80, 24)
        await shows(pilot, "● LIVE")


async def test_ascii_draws_no_symbol_outside_ascii(daemon: FakeDaemon, server: BroadcastServer,
                                                   make_app: MakeApp) -> None:
    daemon.snapshots[A1] = account_snapshot(lockouts=[lockout()], realized="-512.50")
    app = make_app(server.port, ascii_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "* LIVE", "## LOCKED OUT - RULE-003")
        assert screen.isascii(), [line for line in screen.splitlines() if not line.isascii()]
        assert "Loss limit [##########] 102% LIMIT" in screen
        await pilot.press("question_mark")
        help_screen = await shows(pilot, "Keys")
        assert help_screen.isascii()
