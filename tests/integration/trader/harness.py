"""Shared pieces of the trader integration tests: an in-memory daemon behind the broadcast server's
`SnapshotProvider` port, a database written with the daemon's own store functions, and readers of
what the Textual screen shows."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from simple_risk_manager.broadcast import AccountRef
from simple_risk_manager.domain.enums import (
    EnforcementActionType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
)
from simple_risk_manager.domain.models import (
    AccountSnapshot,
    ContractMetadata,
    DaemonStatus,
    DailyPnl,
    EnforcementLog,
    Lockout,
    Order,
    Position,
    Quote,
    ResetSchedule,
    Trade,
)
from simple_risk_manager.store import codecs, open_database
from simple_risk_manager.store.batch import Batch
from simple_risk_manager.store.connection import checkpoint_truncate
from simple_risk_manager.store.persist import (
    insert_enforcement_log,
    save_daily_pnl,
    save_lockouts,
    save_reset_schedule,
    write_batch,
)
from simple_risk_manager.trader.app import TraderApp

WAIT_S = 10.0
MakeApp = Callable[..., TraderApp]
NOW = datetime(2025, 3, 4, 15, 2, 11, 507_000, tzinfo=UTC)
A1, A2 = 4411, 4412
MES = "CON.F.US.MES.H25"
RESET_AT = datetime(2025, 3, 4, 23, tzinfo=UTC)
SESSION_START = datetime(2025, 3, 3, 23, tzinfo=UTC)
CONTRACT = ContractMetadata(contract_id=MES, symbol_id="F.US.MES", tick_size=Decimal("0.25"),
                            tick_value=Decimal("1.25"), cached_at=NOW, name="MESH5")
DAILY_LOSS = {"rule_id": "RULE-003", "name": "Daily Realized Loss", "enabled": True, "limit": 500.0,
              "current": 193.32, "status": "OK"}


def position(account_id: int = A1, size: int = 3) -> Position:
    return Position(id=90211, account_id=account_id, contract_id=MES, type=PositionType.LONG, size=size,
                    average_price=Decimal("5921.25"), created_at=NOW - timedelta(minutes=11), updated_at=NOW)


def stop_order(account_id: int = A1) -> Order:
    return Order(id=771203, account_id=account_id, contract_id=MES, type=OrderType.STOP, side=OrderSide.SELL,
                 size=3, status=OrderStatus.OPEN, created_at=NOW - timedelta(minutes=10),
                 updated_at=NOW - timedelta(minutes=10), stop_price=Decimal("5912"), is_stop_loss=True)


def quote(last: str = "5923.75", received_at: datetime = NOW) -> Quote:
    price = Decimal(last)
    return Quote(contract_id=MES, received_at=received_at, bid=price - Decimal("0.25"), ask=price, last=price,
                 quote_time=received_at)


def lockout(kind: str = "reset", until: datetime | None = RESET_AT, rule_id: str = "RULE-003",
            reason: str = "daily realized loss 512.50 reached limit 500.00", lockout_id: int = 77,
            account_id: int = A1) -> Lockout:
    return Lockout(account_id=account_id, rule_id=rule_id, kind=kind, reason=reason, locked_at=NOW,
                   locked_until=until, created_at=NOW, updated_at=NOW, lockout_id=lockout_id)


def position_data(item: Position, has_stop: bool = True) -> dict[str, Any]:
    return {**item.to_dict(), "has_stop": has_stop, "no_stop_deadline": None}


def account_snapshot(account_id: int = A1, nickname: str | None = "Eval 50K", *,
                     positions: Sequence[Position] = (), orders: Sequence[Order] = (),
                     lockouts: Sequence[Lockout] = (), realized: str = "-193.32",
                     quotes: Sequence[Quote] = (), stale: bool = False) -> AccountSnapshot:
    return AccountSnapshot(
        account_id=account_id, nickname=nickname, can_trade=True, balance=Decimal("50210.50"),
        trading_date=date(2025, 3, 4), session_start=SESSION_START, next_reset_at=RESET_AT,
        realized_pnl=Decimal(realized), gross_pnl=Decimal(realized) + Decimal("13.32"), fees=Decimal("13.32"),
        unrealized_pnl=Decimal(0), trade_count=6, trade_counts={"minute": 0, "hour": 2, "session": 6},
        lockouts=tuple(record.to_dict() for record in lockouts),
        positions=tuple(position_data(p) for p in positions), orders=tuple(o.to_dict() for o in orders),
        quotes={q.contract_id: q.to_dict() for q in quotes}, contracts={MES: CONTRACT.to_dict()},
        rules=({**DAILY_LOSS, "current": max(0.0, -float(realized))},), recent_trades=(),
        recent_enforcement=(), stale=stale)


class FakeDaemon:
    """A `SnapshotProvider` over plain data; tests change `snapshots` and publish events on the server."""

    def __init__(self, *snapshots: AccountSnapshot) -> None:
        self.snapshots = {s.account_id: s for s in snapshots}
        self.status = DaemonStatus(status="RUNNING", message="ok", started_at=NOW - timedelta(hours=1),
                                   uptime_s=3600, hubs={"user": "CONNECTED", "market": "CONNECTED"},
                                   clients=0,
                                   accounts=tuple({"account_id": a, "state": "OK"} for a in self.snapshots))

    def accounts(self) -> Sequence[AccountRef]:
        return [AccountRef(a, s.nickname) for a, s in self.snapshots.items()]

    def daemon_status(self) -> DaemonStatus:
        return self.status

    def account_snapshots(self, account_ids: Sequence[int]) -> Sequence[AccountSnapshot]:
        return [self.snapshots[a] for a in account_ids]

    def accounts_holding(self, contract_id: str) -> Collection[int]:
        return [a for a, s in self.snapshots.items()
                if any(p["contract_id"] == contract_id for p in s.positions)]


def enforcement_data(outcome: str = "SUCCESS", error: str | None = None,
                     action: str = EnforcementActionType.CLOSE_ALL_AND_LOCKOUT.value) -> dict[str, Any]:
    return EnforcementLog(timestamp=NOW, account_id=A1, rule_id="RULE-003", action=action,
                          reason="daily realized loss 512.50 reached limit 500.00",
                          success=outcome == "SUCCESS", outcome=outcome, positions_closed=1,
                          orders_cancelled=1, lockout_until=RESET_AT, error_message=error,
                          execution_time_ms=184).to_dict()


# --- the database ----------------------------------------------------------------------------

def write_saved_state(db_path: Path, written_at: datetime = NOW, *, locked: bool = True,
                      day_of: datetime = NOW) -> None:
    """A database as the daemon leaves it: schedule, P&L, a lockout, a position, an order, fills and an
    enforcement row for account 4411, written with the daemon's store functions; then closed cleanly.
    `day_of`: the trading day's events happen around this time (the tests' `NOW` by default)."""
    shift = day_of - NOW
    opened = open_database(db_path, written_at)
    conn = opened.connection
    try:
        schedule = ResetSchedule(account_id=A1, trading_date=date(2025, 3, 4),
                                 last_reset_at=SESSION_START + shift, next_reset_at=RESET_AT + shift,
                                 reset_time_config="17:00", timezone="America/Chicago")
        save_reset_schedule(conn, schedule, written_at)
        save_daily_pnl(conn, DailyPnl(account_id=A1, date=date(2025, 3, 4), last_updated=written_at,
                                      realized_pnl=Decimal("-512.50"), gross_pnl=Decimal("-490.30"),
                                      fees=Decimal("22.20"), trade_count=11))
        if locked:
            save_lockouts(conn, [lockout(until=RESET_AT + shift)])
        fills = [Trade(id=310000 + n, account_id=A1, contract_id=MES, side=OrderSide.SELL, size=1,
                       price=Decimal("5900"), execution_time=day_of - timedelta(minutes=30 - n),
                       received_at=day_of - timedelta(minutes=30 - n), profit_and_loss=Decimal("-50"),
                       fees=Decimal("0.74"), order_id=770000 + n) for n in range(3)]
        write_batch(conn, Batch(positions={90211: codecs.encode_position(position(size=2))},
                                orders={771203: codecs.encode_order(stop_order())},
                                trades={t.id: codecs.encode_trade(t) for t in fills},
                                contracts={MES: codecs.encode_contract(CONTRACT)}))
        insert_enforcement_log(conn, EnforcementLog(
            timestamp=day_of - timedelta(minutes=1), account_id=A1, rule_id="RULE-003",
            action="CLOSE_ALL_AND_LOCKOUT", reason="daily realized loss 512.50 reached limit 500.00",
            success=True, outcome="SUCCESS", positions_closed=1, lockout_until=RESET_AT + shift,
            execution_time_ms=200))
        checkpoint_truncate(conn)
    finally:
        conn.close()


def file_digest(path: Path) -> tuple[str, int]:
    """The file's content hash and modification time: both unchanged means nothing wrote it."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


# --- the screen ------------------------------------------------------------------------------

def screen_text(app: App[Any]) -> str:
    """What the terminal shows now, as plain text lines."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


async def until(pilot: Pilot[Any], condition: Callable[[], bool], what: str, within: float = WAIT_S) -> None:
    """Let the app run until `condition` holds; fail naming `what` after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}\n{screen_text(pilot.app)}")
        await pilot.pause(0.02)


async def shows(pilot: Pilot[Any], *texts: str, within: float = WAIT_S) -> str:
    """Wait until the screen shows every one of `texts`; the screen."""
    await until(pilot, lambda: all(text in screen_text(pilot.app) for text in texts),
                f"the screen to show {texts}", within)
    return screen_text(pilot.app)


async def until_true(condition: Callable[[], bool], what: str, within: float = WAIT_S) -> None:
    """Poll `condition` on this loop (no app) until it holds; fail naming `what` after `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def lines_with(screen: str, text: str) -> list[str]:
    return [line for line in screen.splitlines() if text in line]


def first(items: Iterable[str]) -> str:
    return next(iter(items))
