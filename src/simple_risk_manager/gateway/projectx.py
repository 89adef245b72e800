"""`ProjectXGateway`: the `Gateway` protocol over REST and SignalR for many accounts and logins.

Accounts are grouped by credential set: one `AuthSession` (token, request budget, refresh task) and
one user hub per login; each account's REST calls use its own login's token. The single market hub
uses the first login that authenticated (`daemon.md` §2 step 13). Hub events and connection changes
go to one sink — by default the `events` queue — in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from simple_risk_manager.clock import Clock, SystemClock
from simple_risk_manager.domain.enums import OrderSide, OrderType
from simple_risk_manager.domain.events import GatewayEvent
from simple_risk_manager.domain.models import Account, ContractMetadata, Order, Position, Trade
from simple_risk_manager.gateway.auth import AuthSession, Credentials
from simple_risk_manager.gateway.backoff import full_jitter_delay
from simple_risk_manager.gateway.base import AuthenticationFailed, GatewayError, LoginOutcome
from simple_risk_manager.gateway.hubs import EventSink, HubOptions, MarketHub, UserHub
from simple_risk_manager.gateway.ratelimit import RequestBudget
from simple_risk_manager.gateway.rest import RestApi, RestClient

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    """Endpoints (`accounts.yaml` `topstepx.*`) and tuning (`daemon.yaml` §10)."""

    api_url: str
    user_hub_url: str
    market_hub_url: str
    rest_timeout_s: float = 10.0
    rest_max_attempts: int = 4
    rest_backoff_base_s: float = 0.5
    rest_backoff_cap_s: float = 8.0
    rate_limit_requests: int = 200
    rate_limit_window_s: float = 60.0
    refresh_after_hours: float = 20.0
    login_retry_cap_s: float = 60.0
    hubs: HubOptions = field(default_factory=HubOptions)


def _report_crash(task: asyncio.Task[None]) -> None:
    """A crash of the hub or refresh tasks is a bug: never let it pass silently."""
    if not task.cancelled() and task.exception() is not None:
        log.critical("gateway tasks stopped: %r", task.exception(), exc_info=task.exception())


class ProjectXGateway:
    def __init__(self, settings: GatewaySettings, accounts: Mapping[int, Credentials], *,
                 clock: Clock | None = None, sink: EventSink | None = None,
                 rng: random.Random | None = None) -> None:
        if not accounts:
            raise ValueError("ProjectXGateway: at least one account is needed")
        self._settings = settings
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self.events: asyncio.Queue[GatewayEvent] = asyncio.Queue()
        self._sink = sink or self.events.put_nowait
        self._rest_client = RestClient(settings.api_url, self._clock, timeout_s=settings.rest_timeout_s,
                                       max_attempts=settings.rest_max_attempts,
                                       backoff_base_s=settings.rest_backoff_base_s,
                                       backoff_cap_s=settings.rest_backoff_cap_s, rng=self._rng)
        self._rest = RestApi(self._rest_client, self._clock)
        #: `Account/search` in flight per (login, only_active): concurrent callers share its answer.
        self._account_searches: dict[tuple[str, bool], asyncio.Future[list[Account]]] = {}
        self._sessions: dict[str, AuthSession] = {}
        self._accounts_of: dict[str, list[int]] = {}
        self._login_of: dict[int, str] = {}
        for account_id, credentials in sorted(accounts.items()):
            session = self._sessions.get(credentials.username)
            if session is None:
                session = AuthSession(
                    credentials, self._rest_client, self._clock,
                    refresh_after=timedelta(hours=settings.refresh_after_hours),
                    budget=RequestBudget(self._clock, settings.rate_limit_requests,
                                         settings.rate_limit_window_s),
                    rng=self._rng)
                self._sessions[credentials.username] = session
                self._accounts_of[credentials.username] = []
            elif not session.uses(credentials):
                raise ValueError(f"accounts: login {credentials.username!r} comes with two api keys")
            self._accounts_of[credentials.username].append(account_id)
            self._login_of[account_id] = credentials.username
        self._wanted: frozenset[str] = frozenset()
        self.user_hubs: dict[str, UserHub] = {}
        self.market_hub: MarketHub | None = None
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def sessions(self) -> Mapping[str, AuthSession]:
        """The auth session (token, request budget) of each login."""
        return MappingProxyType(self._sessions)

    # --- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> dict[str, LoginOutcome]:
        """Log in every credential set (network trouble is retried until it works), then connect the
        hubs of the logins that succeeded. Refused credentials are reported, not raised."""
        if self._supervisor is not None:
            raise RuntimeError("ProjectXGateway.start: already started")
        await self._rest_client.open()
        logins = list(self._sessions)
        errors = await asyncio.gather(*(self._first_login(self._sessions[name]) for name in logins))
        outcomes = {name: LoginOutcome(name, tuple(self._accounts_of[name]), error)
                    for name, error in zip(logins, errors, strict=True)}
        ready = [self._sessions[name] for name in logins if outcomes[name].ok]
        for session in ready:
            self.user_hubs[session.login] = UserHub(
                self._settings.user_hub_url, session, self._accounts_of[session.login], sink=self._sink,
                clock=self._clock, options=self._settings.hubs, rng=self._rng)
        if ready:
            self.market_hub = MarketHub(self._settings.market_hub_url, ready[0], sink=self._sink,
                                        clock=self._clock, options=self._settings.hubs, rng=self._rng)
            self.market_hub.set_wanted_contracts(self._wanted)
        self._supervisor = asyncio.get_running_loop().create_task(self._run(ready), name="gateway")
        self._supervisor.add_done_callback(_report_crash)
        return outcomes

    async def wait_closed(self) -> None:
        """Returns when the gateway is closed; raises what crashed its hub or refresh tasks."""
        if self._supervisor is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._supervisor)

    async def close(self) -> None:
        """Close both hubs' connections, stop token refresh and the HTTP session."""
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        await self._rest_client.close()

    async def _run(self, ready: list[AuthSession]) -> None:
        async with asyncio.TaskGroup() as group:
            for session in ready:
                group.create_task(session.run_refresh(), name=f"token-refresh[{session.login}]")
                group.create_task(self.user_hubs[session.login].run(), name=f"user-hub[{session.login}]")
            if self.market_hub is not None:
                group.create_task(self.market_hub.run(), name="market-hub")

    async def _first_login(self, session: AuthSession) -> AuthenticationFailed | None:
        attempt = 0
        while True:
            try:
                await session.fresh_login()
                return None
            except AuthenticationFailed as exc:
                log.error("login %s refused: %s", session.login, exc)
                return exc
            except GatewayError as exc:
                delay = full_jitter_delay(attempt, 1.0, self._settings.login_retry_cap_s, self._rng)
                attempt += 1
                log.warning("login %s failed (%s); retrying in %.1f s", session.login, exc, delay)
                await asyncio.sleep(delay)

    # --- routing ---------------------------------------------------------------------------------

    def login_of(self, account_id: int) -> str:
        try:
            return self._login_of[account_id]
        except KeyError:
            raise ValueError(f"account {account_id}: not configured in this gateway") from None

    def _session(self, account_id: int) -> AuthSession:
        return self._sessions[self.login_of(account_id)]

    def _any_session(self) -> AuthSession:
        """For calls without an account (contracts): the market hub's login, else the first one."""
        if self.market_hub is not None:
            return self._sessions[self.market_hub.login]
        return next(iter(self._sessions.values()))

    def set_wanted_contracts(self, contract_ids: Iterable[str]) -> None:
        self._wanted = frozenset(contract_ids)
        if self.market_hub is not None:
            self.market_hub.set_wanted_contracts(self._wanted)

    # --- REST ------------------------------------------------------------------------------------

    async def search_accounts(self, login: str | None = None, only_active: bool = True) -> list[Account]:
        if login is not None:
            if login not in self._sessions:
                raise ValueError(f"login {login!r}: not configured in this gateway")
            return await self._shared_account_search(login, only_active)
        names = [name for name in self._sessions if name in self.user_hubs] or list(self._sessions)
        found = await asyncio.gather(*(self._shared_account_search(name, only_active) for name in names))
        merged: dict[int, Account] = {}
        for accounts in found:
            merged.update((a.id, a) for a in accounts)
        return list(merged.values())

    async def _shared_account_search(self, login: str, only_active: bool) -> list[Account]:
        """One `Account/search` per login at a time: the reconciles of a login's accounts start together
        after its user hub connects, and one answer lists them all (a request each would spend the
        200 / 60 s budget and keep 50 accounts from RUNNING for a minute). A caller that is cancelled
        leaves the request to the others."""
        key = (login, only_active)
        search = self._account_searches.get(key)
        if search is None:
            search = asyncio.ensure_future(self._rest.search_accounts(self._sessions[login], only_active))
            self._account_searches[key] = search
            search.add_done_callback(lambda done: self._forget_account_search(key, done))
        return list(await asyncio.shield(search))

    def _forget_account_search(self, key: tuple[str, bool], done: asyncio.Future[list[Account]]) -> None:
        if self._account_searches.get(key) is done:
            del self._account_searches[key]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter got it already, or none is left to

    async def get_contract(self, contract_id: str) -> ContractMetadata:
        return await self._rest.get_contract(self._any_session(), contract_id)

    async def search_contracts(self, text: str, live: bool = False) -> list[ContractMetadata]:
        return await self._rest.search_contracts(self._any_session(), text, live)

    async def open_positions(self, account_id: int, *, urgent: bool = False) -> list[Position]:
        return await self._rest.open_positions(self._session(account_id), account_id, urgent=urgent)

    async def close_position(self, account_id: int, contract_id: str, *, urgent: bool = False) -> None:
        await self._rest.close_position(self._session(account_id), account_id, contract_id, urgent=urgent)

    async def partial_close_position(self, account_id: int, contract_id: str, size: int, *,
                                     urgent: bool = False) -> None:
        await self._rest.partial_close_position(self._session(account_id), account_id, contract_id, size,
                                                urgent=urgent)

    async def open_orders(self, account_id: int, *, urgent: bool = False) -> list[Order]:
        return await self._rest.open_orders(self._session(account_id), account_id, urgent=urgent)

    async def search_orders(self, account_id: int, start: datetime,
                            end: datetime | None = None) -> list[Order]:
        return await self._rest.search_orders(self._session(account_id), account_id, start, end)

    async def place_order(self, account_id: int, contract_id: str, order_type: OrderType, side: OrderSide,
                          size: int, *, limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                          custom_tag: str | None = None, urgent: bool = False) -> int:
        return await self._rest.place_order(
            self._session(account_id), account_id, contract_id, order_type=order_type, side=side, size=size,
            limit_price=limit_price, stop_price=stop_price, custom_tag=custom_tag, urgent=urgent)

    async def cancel_order(self, account_id: int, order_id: int, *, urgent: bool = False) -> None:
        await self._rest.cancel_order(self._session(account_id), account_id, order_id, urgent=urgent)

    async def modify_order(self, account_id: int, order_id: int, *, size: int | None = None,
                           limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                           urgent: bool = False) -> None:
        await self._rest.modify_order(self._session(account_id), account_id, order_id, size=size,
                                      limit_price=limit_price, stop_price=stop_price, urgent=urgent)

    async def search_trades(self, account_id: int, start: datetime,
                            end: datetime | None = None) -> list[Trade]:
        return await self._rest.search_trades(self._session(account_id), account_id, start, end)
