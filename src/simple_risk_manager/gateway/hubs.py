"""The user hub (one per login) and the market hub (one) with their subscriptions (`gateway-api.md` §4.4).

Subscriptions belong to one connection, so each hub keeps its set client-side and replays it after
every connect before announcing `HubConnectionChanged` — the daemon reconciles on that signal
(`daemon.md` §7). Parsed events go to one sink in arrival order. `GatewayLogout` is passed on as
`SessionLoggedOut`, then the hub logs in again and reconnects. A token renewal reconnects every hub
still using the old token (a hub checks its token only at connect).
"""

from __future__ import annotations

import asyncio
import logging
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.events import GatewayEvent, HubConnectionChanged, SessionLoggedOut
from simple_risk_manager.gateway.auth import AuthSession
from simple_risk_manager.gateway.base import GatewayError, HubInvocationFailed
from simple_risk_manager.gateway.signalr import HubConnection
from simple_risk_manager.gateway.wire import QUOTE_TARGET, QuoteBatch, parse_hub_event

log = logging.getLogger(__name__)

EventSink = Callable[[GatewayEvent], None]


@dataclass(frozen=True, slots=True)
class HubOptions:
    backoff_max_s: float = 30.0
    ping_interval_s: float = 10.0
    server_timeout_s: float = 30.0
    invoke_timeout_s: float = 10.0


class _Hub(ABC):
    """What both hubs share: the connection, event delivery, logout and token-renewal handling."""

    kind: str

    def __init__(self, url: str, session: AuthSession, *, sink: EventSink, clock: Clock, options: HubOptions,
                 rng: random.Random | None = None, on_frame_end: Callable[[], None] | None = None) -> None:
        self._session = session
        self._sink = sink
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connection = HubConnection(
            f"{self.kind}[{session.login}]", url, session.token,
            on_invocation=self._on_invocation, on_connected=self._on_connected,
            on_disconnected=self._on_disconnected, on_unauthorized=session.relogin, on_frame_end=on_frame_end,
            backoff_cap_s=options.backoff_max_s, ping_interval_s=options.ping_interval_s,
            server_timeout_s=options.server_timeout_s, invoke_timeout_s=options.invoke_timeout_s, rng=rng,
        )
        session.add_listener(self._token_renewed)

    @property
    def login(self) -> str:
        return self._session.login

    async def run(self) -> None:
        try:
            await self.connection.run()
        finally:
            for task in self._tasks:
                task.cancel()

    @abstractmethod
    async def _subscribe_all(self) -> None:
        """Replay this hub's subscriptions on a fresh connection."""

    async def _invoke_each(self, calls: Sequence[tuple[str, Any]]) -> list[bool]:
        """Invoke all (sent in order, completions awaited together); False where the server refused.

        A refusal (error Completion) is logged and skipped; a lost connection raises, so the
        connection is not announced and is retried.
        """
        results = await asyncio.gather(
            *(self.connection.invoke(method, *args) for method, args in calls), return_exceptions=True)
        accepted: list[bool] = []
        for (method, args), result in zip(calls, results, strict=True):
            if isinstance(result, HubInvocationFailed):
                log.error("%s hub: %s%s refused: %s", self.kind, method, tuple(args), result.error)
                accepted.append(False)
            elif isinstance(result, BaseException):
                raise result
            else:
                accepted.append(True)
        return accepted

    async def _on_connected(self, reconnect: bool, reason: str | None) -> None:
        await self._subscribe_all()
        self._sink(HubConnectionChanged(hub=self.kind, login=self.login, connected=True, at=self._clock.now(),
                                        reconnect=reconnect, reason=reason))

    def _on_disconnected(self, reason: str) -> None:
        self._sink(HubConnectionChanged(hub=self.kind, login=self.login, connected=False,
                                        at=self._clock.now(), reason=reason))

    def _on_invocation(self, target: str, arguments: Any) -> None:
        self._deliver(parse_hub_event(target, arguments, self._clock.now(), hub=self.kind, login=self.login))

    def _deliver(self, events: Iterable[GatewayEvent]) -> None:
        for event in events:
            self._sink(event)
            if isinstance(event, SessionLoggedOut):
                self._spawn(self._after_logout(self.connection.token_in_use))

    async def _after_logout(self, stale: str | None) -> None:
        log.warning("%s hub: GatewayLogout received for %s; logging in again", self.kind, self.login)
        try:
            await self._session.relogin(stale or "")
        except GatewayError as exc:
            log.error("%s hub: login after GatewayLogout failed: %s", self.kind, exc)
        self._token_renewed()

    def _token_renewed(self) -> None:
        current = self._session.current
        in_use = self.connection.token_in_use
        if current is not None and in_use is not None and in_use != current.value:
            self.connection.reconnect_now("token renewed")

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class UserHub(_Hub):
    """One per login: `SubscribeAccounts`, then orders, positions and trades for each of its accounts."""

    kind = "user"

    def __init__(self, url: str, session: AuthSession, account_ids: Iterable[int], *, sink: EventSink,
                 clock: Clock, options: HubOptions, rng: random.Random | None = None) -> None:
        self.account_ids = tuple(sorted(set(account_ids)))
        super().__init__(url, session, sink=sink, clock=clock, options=options, rng=rng)

    async def _subscribe_all(self) -> None:
        calls: list[tuple[str, Any]] = [("SubscribeAccounts", ())]
        for account_id in self.account_ids:
            calls += [("SubscribeOrders", (account_id,)), ("SubscribePositions", (account_id,)),
                      ("SubscribeTrades", (account_id,))]
        await self._invoke_each(calls)


class MarketHub(_Hub):
    """The single market-hub connection: quotes for exactly the wanted contracts."""

    kind = "market"

    def __init__(self, url: str, session: AuthSession, *, sink: EventSink, clock: Clock, options: HubOptions,
                 rng: random.Random | None = None) -> None:
        super().__init__(url, session, sink=sink, clock=clock, options=options, rng=rng,
                         on_frame_end=self._on_frame_end)
        self._wanted: set[str] = set()
        self._subscribed: set[str] = set()
        self._refused: set[str] = set()  # refused on this connection: not asked again until reconnect
        self._dirty = asyncio.Event()
        self._sync_lock = asyncio.Lock()
        self._quotes = QuoteBatch()

    def _on_invocation(self, target: str, arguments: Any) -> None:
        """Quotes wait for the end of their frame (`QuoteBatch`); anything else is handled at once."""
        if target.lower() == QUOTE_TARGET and self._quotes.add(arguments):
            return
        super()._on_invocation(target, arguments)

    def _on_frame_end(self) -> None:
        self._deliver(self._quotes.take(self._clock.now()))

    @property
    def subscribed(self) -> frozenset[str]:
        return frozenset(self._subscribed)

    def set_wanted_contracts(self, contract_ids: Iterable[str]) -> None:
        """Replace the wanted set; the difference is (un)subscribed in the background, never blocking."""
        wanted = set(contract_ids)
        self._refused &= wanted
        if wanted != self._wanted:
            self._wanted = wanted
            self._dirty.set()

    async def run(self) -> None:
        syncer = asyncio.get_running_loop().create_task(self._sync_forever(), name="market-hub-sync")
        try:
            await super().run()
        finally:
            syncer.cancel()

    async def _subscribe_all(self) -> None:
        self._subscribed.clear()
        self._refused.clear()
        await self._sync()

    async def _sync_forever(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            if not self.connection.connected:
                continue  # the next connect subscribes the whole wanted set
            try:
                await self._sync()
            except GatewayError as exc:
                log.warning("market hub: subscription update failed (%s); redone on reconnect", exc)

    async def _sync(self) -> None:
        async with self._sync_lock:
            add = sorted(self._wanted - self._subscribed - self._refused)
            remove = sorted(self._subscribed - self._wanted)
            calls = [("SubscribeContractQuotes", (c,)) for c in add]
            calls += [("UnsubscribeContractQuotes", (c,)) for c in remove]
            accepted = await self._invoke_each(calls)
            for contract_id, ok in zip(add, accepted[:len(add)], strict=True):
                (self._subscribed if ok else self._refused).add(contract_id)
            self._subscribed.difference_update(remove)
