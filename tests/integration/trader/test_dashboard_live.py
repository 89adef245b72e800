"""Textual pilot tests of the live dashboard against a real broadcast server: connected, locked,
cooldown, flash alerts, stale quotes, the tabs and their keys (cli.md §1.4–§1.10)."""

from __future__ import annotations

from datetime import timedelta

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.trader.app import TraderApp

from .harness import (
    A1,
    NOW,
    FakeDaemon,
    MakeApp,
    account_snapshot,
    enforcement_data,
    lines_with,
    lockout,
    position,
    position_data,
    quote,
    screen_text,
    shows,
    stop_order,
    until,
)

SIZE = (100, 30)


class BellCountingApp(TraderApp):
    bells = 0

    def bell(self) -> None:
        self.bells += 1


async def test_connected_shows_the_account_live(server: BroadcastServer,
                                                make_app: MakeApp) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "● LIVE", "MESH5")
        assert lines_with(screen, "SRM • Eval 50K (#4411) • trading day 2025-03-04")[0].endswith(
            "● LIVE    15:02:11 UTC")
        assert " Realized -193.32 (fees 13.32)  Unrealized +37.50  Net -155.82  Loss limit [███░░░░░░░] 38%" \
            in screen
        assert "Trades 6 (0 per min, 2 per h)  Contracts 3/n/a  Reset in 7h57m" in screen
        row = lines_with(screen, "MESH5")[0].split()
        assert row == ["MESH5", "LONG", "3", "5921.25", "5923.75", "+37.50", "11m00s", "✓"]
        assert "Contracts 3/n/a   Total unrealized +37.50" in screen
        assert "[1 Positions]" in screen
        assert "last event" in lines_with(screen, "q quit")[0]
        assert app.model.selected == A1 and app.feed is not None and app.feed.account_ids == (A1,)


async def test_locked_account_shows_the_banner_with_a_live_countdown(
        daemon: FakeDaemon, server: BroadcastServer, make_app: MakeApp, clock: ManualClock) -> None:
    daemon.snapshots[A1] = account_snapshot(lockouts=[lockout()], realized="-512.50")
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "LOCKED OUT")
        rows = screen.splitlines()
        at = rows.index(lines_with(screen, "LOCKED OUT")[0])
        assert rows[at] == " ▓▓ LOCKED OUT — RULE-003 daily realized loss 512.50 reached limit 500.00"
        assert rows[at + 1] == " ▓▓ trading allowed again in 7h57m49s (at 23:00 UTC) ▓▓"
        assert "Loss limit [██████████] 102% LIMIT" in screen
        assert "No open positions" in screen
        clock.advance(60)
        app.tick()
        await shows(pilot, "trading allowed again in 7h56m49s")


async def test_cooldown_banner_counts_down_and_goes(daemon: FakeDaemon, server: BroadcastServer,
                                                    make_app: MakeApp, clock: ManualClock) -> None:
    cooldown = lockout(kind="duration", until=NOW + timedelta(seconds=252), rule_id="RULE-007",
                       reason="single-trade loss 120.00", lockout_id=5)
    daemon.snapshots[A1] = account_snapshot(lockouts=[cooldown])
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        screen = await shows(pilot, "COOLDOWN")
        assert lines_with(screen, "COOLDOWN")[0] == (
            " ▓▓ COOLDOWN — RULE-007 single-trade loss 120.00 — trading allowed again in 04:12 "
            "(at 15:06 UTC) ▓▓")
        clock.advance(252)
        app.tick()
        await until(pilot, lambda: "COOLDOWN" not in screen_text(app), "the cooldown to end locally")


async def test_a_lockout_event_and_its_flash_alert(server: BroadcastServer, make_app: MakeApp,
                                                   clock: ManualClock) -> None:
    bells = make_app(server.port, app_class=BellCountingApp)
    assert isinstance(bells, BellCountingApp)
    async with bells.run_test(size=SIZE) as pilot:
        await shows(pilot, "● LIVE", "MESH5")
        server.publish("lockout_set", A1, lockout().to_dict())
        server.publish("GatewayUserPosition", A1, position_data(position(size=0), has_stop=False))
        server.publish("enforcement_action", A1, enforcement_data())
        screen = await shows(pilot, "LOCKED OUT", "CLOSE_ALL_AND_LOCKOUT — RULE-003")
        rows = screen.splitlines()
        at = next(n for n, line in enumerate(rows) if "CLOSE_ALL_AND_LOCKOUT" in line)
        assert " ".join(line.strip() for line in rows[at:at + 2]) == (
            "CLOSE_ALL_AND_LOCKOUT — RULE-003 — daily realized loss 512.50 reached limit 500.00 — "
            "1 position(s) closed, 1 order(s) cancelled")
        assert "No open positions" in screen and "MESH5     LONG" not in screen
        assert bells.bells == 1
        clock.advance(10)
        bells.tick()
        screen = await shows(pilot, "LOCKED OUT")
        assert "CLOSE_ALL_AND_LOCKOUT" not in screen  # 10 s on screen, then gone; the banner stays


async def test_a_failed_enforcement_stays_until_enter(server: BroadcastServer, make_app: MakeApp,
                                                      clock: ManualClock) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "● LIVE")
        server.publish("enforcement_action", A1, enforcement_data("FAILED", error="broker timeout"))
        await shows(pilot, "ENFORCEMENT FAILED — contact your administrator", "[Enter/Esc to dismiss]")
        clock.advance(600)
        app.tick()
        await shows(pilot, "ENFORCEMENT FAILED")
        await pilot.press("enter")
        await until(pilot, lambda: "ENFORCEMENT FAILED" not in screen_text(app), "the alert to be dismissed")


async def test_stale_quotes_turn_yellow_then_no_data(server: BroadcastServer, make_app: MakeApp,
                                                     clock: ManualClock) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "5923.75")
        server.publish("MarketQuote", None, quote("5925.00", received_at=NOW).to_dict())
        await shows(pilot, "5925.00", "+56.25")
        clock.advance(7)
        app.tick()
        screen = await shows(pilot, "STALE")
        assert lines_with(screen, "MESH5")[0].split()[4:7] == ["5925.00", "STALE", "~+56.25"]
        assert lines_with(screen, "q quit")[0].startswith(" ⚠ MESH5 quote 7s old │")
        clock.advance(24)
        app.tick()
        screen = await shows(pilot, "NO DATA")
        assert lines_with(screen, "MESH5")[0].split()[4:7] == ["NO", "DATA", "n/a"]
        assert "Unrealized n/a" in screen and "Net n/a" in screen


async def test_tabs_and_their_keys(server: BroadcastServer, make_app: MakeApp) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "MESH5")
        await pilot.press("2")
        screen = await shows(pilot, "[2 Orders]")
        assert lines_with(screen, "771203")[0].split() == [
            "771203", "MESH5", "STOP", "SL", "SELL", "0/3", "-", "5912.00", "OPEN", "10m00s"]
        await pilot.press("3")
        await shows(pilot, "[3 History (trades)]", "No trades this trading day")
        await pilot.press("t")
        await shows(pilot, "[3 History (enforcement)]")
        await pilot.press("4")
        screen = await shows(pilot, "[4 Stats]", "Rule gauges")
        assert "RULE-003 Daily Realized Loss" in screen and "193.32 / 500.00" in screen
        assert "Balance 50210.50 (as of the last snapshot)" in screen
        await pilot.press("tab")
        await shows(pilot, "[1 Positions]")
        await pilot.press("shift+tab")
        await shows(pilot, "[4 Stats]")
        await pilot.press("left")
        await shows(pilot, "[3 History (enforcement)]")
        await pilot.press("q")
    assert app.return_code == 0


async def test_resync_fetches_a_fresh_snapshot(daemon: FakeDaemon, server: BroadcastServer,
                                               make_app: MakeApp) -> None:
    app = make_app(server.port)
    async with app.run_test(size=SIZE) as pilot:
        await shows(pilot, "Realized -193.32")
        daemon.snapshots[A1] = account_snapshot(realized="-250.00", positions=[position()],
                                                orders=[stop_order()], quotes=[quote()])
        await pilot.press("r")
        await shows(pilot, "Realized -250.00")
