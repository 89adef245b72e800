"""Shared pieces of the broadcast tests: an in-memory daemon behind the `SnapshotProvider` port, real
domain objects for the event payloads, and a websocket peer that waits on messages with timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from simple_risk_manager.broadcast import AccountRef
from simple_risk_manager.domain.enums import OrderSide, PositionType
from simple_risk_manager.domain.models import (
    AccountConfig,
    AccountSnapshot,
    DaemonStatus,
    Lockout,
    Position,
    Quote,
    Trade,
)

WAIT_S = 5.0
NOW = datetime(2025, 3, 4, 15, 2, 11, 480_000, tzinfo=UTC)
STARTED = datetime(2025, 3, 4, 13, 30, 2, 114_000, tzinfo=UTC)
A1, A2, A3 = 4411, 4412, 4413
MES, MNQ = "CON.F.US.MES.H25", "CON.F.US.MNQ.H25"
SECRET = "sk-TEST-9f8e7d6c5b4a-never-on-the-wire"
#: A `daemon_status` payload published after a test's events: everything before it has been delivered.
MARKER = {"status": "RUNNING", "message": "marker"}
CONFIGS = (
    AccountConfig(account_id=A1, nickname="Eval 50K", username="trader@example.com", api_key=SECRET),
    AccountConfig(account_id=A2, api_key=SECRET),
    AccountConfig(account_id=A3, nickname="Funded", api_key=SECRET),
    AccountConfig(account_id=4499, enabled=False, nickname="Old", api_key=SECRET),
)


class StaticDaemon:
    """A `SnapshotProvider` over plain data: the enabled accounts of `CONFIGS`, a status and holdings."""

    def __init__(self, configs: Sequence[AccountConfig] = CONFIGS) -> None:
        self.configs = {c.account_id: c for c in configs if c.enabled}
        self.holdings: dict[str, set[int]] = {}
        self.status = DaemonStatus(status="RUNNING", message="ok", started_at=STARTED, uptime_s=5529,
                                   hubs={"user": "CONNECTED", "market": "CONNECTED"}, clients=0,
                                   accounts=tuple({"account_id": a, "state": "OK"} for a in self.configs))
        self.fail_snapshots = False

    def accounts(self) -> Sequence[AccountRef]:
        return [AccountRef(c.account_id, c.nickname) for c in self.configs.values()]

    def daemon_status(self) -> DaemonStatus:
        return self.status

    def account_snapshots(self, account_ids: Sequence[int]) -> Sequence[AccountSnapshot]:
        if self.fail_snapshots:
            raise RuntimeError("snapshot source broken")
        return [self.snapshot(a) for a in account_ids]

    def accounts_holding(self, contract_id: str) -> Collection[int]:
        return self.holdings.get(contract_id, set())

    def snapshot(self, account_id: int) -> AccountSnapshot:
        config = self.configs[account_id]
        return AccountSnapshot(
            account_id=account_id, nickname=config.nickname, can_trade=True, balance=Decimal("50210.50"),
            trading_date=date(2025, 3, 4), session_start=datetime(2025, 3, 3, 23, tzinfo=UTC),
            next_reset_at=datetime(2025, 3, 4, 23, tzinfo=UTC), realized_pnl=Decimal("-193.32"),
            gross_pnl=Decimal("-180.00"), fees=Decimal("13.32"), unrealized_pnl=Decimal("37.5"),
            trade_count=6, trade_counts={"minute": 0, "hour": 2, "session": 6}, lockouts=(),
            positions=(position(account_id).to_dict(),), orders=(),
            quotes={MES: quote(MES, "5923.5").to_dict()},
            contracts={MES: {"symbol_id": "F.US.MES", "name": "MESH5", "tick_size": 0.25,
                             "tick_value": 1.25}},
            rules=({"rule_id": "RULE-003", "name": "Daily Realized Loss", "enabled": True, "limit": 500.0,
                    "current": 193.32, "status": "OK"},),
            recent_trades=(), recent_enforcement=(), stale=False)


def position(account_id: int, size: int = 3) -> Position:
    return Position(id=90211, account_id=account_id, contract_id=MES, type=PositionType.LONG, size=size,
                    average_price=Decimal("5921.25"), created_at=NOW - timedelta(minutes=11), updated_at=NOW)


def trade(account_id: int, trade_id: int = 310045) -> Trade:
    return Trade(id=trade_id, account_id=account_id, contract_id=MES, side=OrderSide.SELL, size=3,
                 price=Decimal("5924.00"), profit_and_loss=Decimal("41.25"), fees=Decimal("2.22"),
                 order_id=771240, execution_time=NOW, received_at=NOW)


def lockout(account_id: int) -> Lockout:
    return Lockout(account_id=account_id, rule_id="RULE-003", kind="reset",
                   reason="daily realized loss 512.50 reached limit 500.00", locked_at=NOW,
                   locked_until=datetime(2025, 3, 4, 23, tzinfo=UTC), created_at=NOW, updated_at=NOW,
                   lockout_id=77)


def quote(contract_id: str, bid: str) -> Quote:
    price = Decimal(bid)
    return Quote(contract_id=contract_id, received_at=NOW, bid=price, ask=price + Decimal("0.25"),
                 last=price, quote_time=NOW)


class Peer:
    """A real websocket client; `raw` keeps every text frame received, for byte-level checks."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.raw: list[str] = []

    async def next(self, within: float = WAIT_S) -> dict[str, Any]:
        async with asyncio.timeout(within):
            frame = await self.connection.recv()
        assert isinstance(frame, str), "the server sends text frames only"
        self.raw.append(frame)
        message = orjson.loads(frame)
        assert isinstance(message, dict)
        return message

    async def expect(self, message_type: str, within: float = WAIT_S) -> dict[str, Any]:
        """The next message, which must be of `message_type`."""
        message = await self.next(within)
        assert message["type"] == message_type, message
        return message

    async def skip_to(self, *message_types: str, within: float = WAIT_S) -> dict[str, Any]:
        """The next message of one of `message_types`, skipping only `hello` and `daemon_status`."""
        while True:
            message = await self.next(within)
            if message["type"] in message_types:
                return message
            assert message["type"] in ("hello", "daemon_status"), message

    async def until_marker(self, within: float = WAIT_S) -> list[dict[str, Any]]:
        """Every message other than `hello`/`daemon_status` up to the `MARKER` status (publish it last)."""
        received = []
        while True:
            message = await self.next(within)
            if message["type"] == "daemon_status" and message["data"].get("message") == MARKER["message"]:
                return received
            if message["type"] not in ("hello", "daemon_status"):
                received.append(message)

    async def send(self, message: Any) -> None:
        frame = message if isinstance(message, str | bytes) else orjson.dumps(message).decode()
        await self.connection.send(frame)

    async def send_until_closed(self, frames: Sequence[str]) -> int:
        """Send frames until the server closes the connection; how many went out."""
        for sent, frame in enumerate(frames):
            try:
                await self.connection.send(frame)
            except ConnectionClosed:
                return sent
        return len(frames)

    async def request(self, message_type: str, data: dict[str, Any] | None = None) -> None:
        await self.send({"v": 1, "type": message_type, "ts": "2025-03-04T15:02:11.502Z", "account_id": None,
                         "data": data if data is not None else {}})

    async def subscribe(self, account_ids: list[int] | None) -> dict[str, Any]:
        """Subscribe and return the snapshot that answers it."""
        await self.request("subscribe", {"account_ids": account_ids})
        return await self.skip_to("snapshot")

    async def closed_with(self, within: float = WAIT_S) -> int | None:
        """Read until the connection ends; the close code the server sent."""
        async with asyncio.timeout(within):
            try:
                while True:
                    frame = await self.connection.recv()
                    if isinstance(frame, str):
                        self.raw.append(frame)
            except ConnectionClosed:
                pass
        return self.connection.close_code
