"""Simulator: assembles the exchange, market, hubs, REST and control API into one aiohttp app.

Tests run it in their own event loop (`async with Simulator(SimConfig(port=0)) as sim:`) and reach
into `sim.exchange` or `sim.market` directly; `srm sim` and `python -m projectx_sim` run it as a
process. Port 0 picks a free port; `sim.port` and `sim.url` report the one actually bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from datetime import date
from types import TracebackType

from aiohttp import web

from projectx_sim.arrivals import ArrivalClock
from projectx_sim.config import SimConfig
from projectx_sim.contracts import ContractBook, front_month
from projectx_sim.control import Control
from projectx_sim.dispatch import EventDispatcher
from projectx_sim.exchange import Exchange, UserEvent
from projectx_sim.faults import RestFaults
from projectx_sim.hubs import MarketHub, UserHub
from projectx_sim.journal import EventLog, RequestLog
from projectx_sim.market import Market, MarketUpdate
from projectx_sim.models import User
from projectx_sim.rest import Rest
from projectx_sim.tokens import TokenIssuer

MAX_BODY_BYTES = 1024 * 1024
SHUTDOWN_TIMEOUT_S = 2.0


class Simulator:
    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config if config is not None else SimConfig()
        self.contracts = ContractBook(self.config.front_month or front_month(date.today()))
        self.requests = RequestLog(self.config.request_log_size)
        self.events = EventLog(self.config.event_log_size)
        self.tokens = TokenIssuer(
            self.config.token_secret or secrets.token_bytes(32),
            lifetime=lambda: self.config.token_lifetime_s,
        )
        self.market = Market(self.config, self.contracts, self._on_market)
        self.dispatcher = EventDispatcher(self.config, self._on_user_event)
        self.exchange = Exchange(self.config, self.contracts, self.market, self.dispatcher.submit)
        self.user_hub = UserHub(self.config, self.tokens, self.events, self.exchange)
        self.market_hub = MarketHub(self.config, self.tokens, self.events, self.market)
        self.faults = RestFaults()
        self.arrivals = ArrivalClock()
        self.rest = Rest(
            self.config,
            exchange=self.exchange,
            market=self.market,
            tokens=self.tokens,
            faults=self.faults,
            requests=self.requests,
            arrivals=self.arrivals,
        )
        self.control = Control(self)
        self.demo_user: User = self.exchange.add_user(self.config.user_name, self.config.api_key)
        for seed in self.config.accounts:
            self.exchange.add_account(
                self.demo_user, seed.name, seed.balance, simulated=seed.simulated, can_trade=seed.can_trade
            )
        self._runner: web.AppRunner | None = None
        self._walk: asyncio.Task[None] | None = None
        self.port = 0

    def _on_market(self, update: MarketUpdate) -> None:
        self.market_hub.publish(update)
        self.exchange.on_price(update.contract.id)

    def _on_user_event(self, event: UserEvent) -> None:
        self.user_hub.publish(event)

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route("*", "/api/{tail:.*}", self.rest.entry)
        for path, hub in (("/hubs/user", self.user_hub), ("/hubs/market", self.market_hub)):
            app.router.add_post(f"{path}/negotiate", hub.negotiate)
            app.router.add_get(path, hub.serve)
        app.add_routes(self.control.routes())
        return app

    async def start(self) -> None:
        runner = web.AppRunner(
            self.build_app(),
            handler_cancellation=True,  # a client that gives up on a hung request cancels it
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        site = self.arrivals.site(runner, self.config.host, self.config.port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._walk = asyncio.create_task(self.market.run())

    async def stop(self) -> None:
        if self._walk is not None:
            self._walk.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._walk
            self._walk = None
        await self.dispatcher.close()
        await self.user_hub.shutdown()
        await self.market_hub.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """REST base URL (paths start with /api/...)."""
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"http://{host}:{self.port}"

    @property
    def user_hub_url(self) -> str:
        return f"{self.url}/hubs/user"

    @property
    def market_hub_url(self) -> str:
        return f"{self.url}/hubs/market"
