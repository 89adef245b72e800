"""A real broadcast server on 127.0.0.1 (port 0) over an in-memory daemon, and the Trader app wired to
it with fast reconnects; the app's clock is a `ManualClock`, so countdowns and ages are exact."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from simple_risk_manager.broadcast import BroadcastServer
from simple_risk_manager.clock import ManualClock, SystemClock
from simple_risk_manager.config.daemon_settings import BroadcastSettings
from simple_risk_manager.trader.app import DashboardOptions, TraderApp
from simple_risk_manager.trader.fallback import read_saved_state
from simple_risk_manager.trader.feed import Feed, SavedStateReader

from .harness import A1, NOW, FakeDaemon, account_snapshot, position, quote, stop_order

UTC_ZONE = ZoneInfo("UTC")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon(account_snapshot(positions=[position()], orders=[stop_order()], quotes=[quote()]))


@pytest.fixture
async def make_server(daemon: FakeDaemon) -> AsyncIterator[Callable[..., Awaitable[BroadcastServer]]]:
    started: list[BroadcastServer] = []

    async def start(port: int = 0) -> BroadcastServer:
        server = BroadcastServer(BroadcastSettings(heartbeat_seconds=1), daemon, SystemClock(), port=port)
        started.append(server)
        await server.start()
        assert server.port is not None
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def server(make_server: Callable[..., Awaitable[BroadcastServer]]) -> BroadcastServer:
    return await make_server()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "state.db"


@pytest.fixture
def make_app(clock: ManualClock, db_path: Path) -> Callable[..., TraderApp]:
    """`make_app(port, account_id=A1)`: the dashboard against a real server (None: nothing listens);
    reconnects and database polls every 50 ms."""

    def build(port: int | None, account_id: int | None = A1, app_class: type[TraderApp] = TraderApp,
              read_saved: SavedStateReader = read_saved_state, **options: Any) -> TraderApp:
        url = f"ws://127.0.0.1:{port or 9}/"

        def feed(app: TraderApp) -> Feed:
            return Feed(url, None if account_id is None else [account_id], app.deliver, db_path=db_path,
                        clock=clock, wants_saved_state=lambda: app.model.wants_saved_state,
                        poll_interval_s=0.05, connect_timeout_s=0.5, delay=lambda attempt: 0.05,
                        read_saved=read_saved)

        return app_class(DashboardOptions(url=url, account_id=account_id, db_path=db_path, zone=UTC_ZONE,
                                          **options), clock=clock, feed_factory=feed)

    return build
