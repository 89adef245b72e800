"""Reconcile scheduling (`daemon.md` §2 step 12, §7): REST truth after every user-hub (re)connect.

The four REST reads run as a task; their result comes back through the dispatcher's queue, so the
dispatcher stays the only writer. While an account's reconcile is in flight its user events are held
and delivered right after the `Reconciled` item ("events that arrive while a reconcile is in flight
queue behind it"): an event newer than the REST answer is then applied after it, never overwritten by
it. Quotes and other accounts' events are not held. A hold lasts at most `hold_s`: a broker whose REST
API hangs must not freeze an account's enforcement, so the held events are then delivered and the late
answer, now possibly older than the state, is thrown away and fetched again. A failed reconcile is
retried on the hub ladder (1, 2, 4 … `backoff_cap_s` s, ±20 %).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, cast

from simple_risk_manager.clock import Clock
from simple_risk_manager.daemon.status import StatusBoard
from simple_risk_manager.domain.events import AccountUpdated, OrderUpdated, PositionUpdated, TradeReceived
from simple_risk_manager.engine.items import Item, Reconciled
from simple_risk_manager.gateway.backoff import hub_reconnect_delay
from simple_risk_manager.gateway.base import Gateway, GatewayError
from simple_risk_manager.gateway.reconcile import ReconcileResult, fetch_reconcile
from simple_risk_manager.state.reset_schedule import ResetScheduler

log = logging.getLogger(__name__)

#: Longest time an account's user events wait behind its reconcile.
HOLD_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class ReconcileFetched:
    account_id: int
    attempt: int
    result: ReconcileResult


@dataclass(frozen=True, slots=True)
class ReconcileFailed:
    account_id: int
    attempt: int
    error: str


@dataclass(frozen=True, slots=True)
class ReconcileHoldExpired:
    account_id: int
    attempt: int


@dataclass(frozen=True, slots=True)
class ReconcileRetry:
    account_id: int


ReconcileItem = ReconcileFetched | ReconcileFailed | ReconcileHoldExpired | ReconcileRetry


@dataclass
class _Account:
    attempt: int = 0
    in_flight: bool = False
    #: Another reconcile was asked for while one was in flight.
    again: bool = False
    #: Events held behind the reconcile in flight; None when nothing is held.
    held: list[Item] | None = None
    hold_expired: bool = False
    failures: int = 0
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def cancel_timers(self) -> None:
        for timer in self.timers:
            timer.cancel()
        self.timers.clear()


def account_of(item: object) -> int | None:
    """The account of a user-hub event (what may be held), else None."""
    if isinstance(item, TradeReceived):
        return item.trade.account_id
    if isinstance(item, PositionUpdated):
        return item.position.account_id
    if isinstance(item, OrderUpdated):
        return item.order.account_id
    if isinstance(item, AccountUpdated):
        return item.account.id
    return None


class Reconciler:
    """`put` enqueues on the dispatcher's queue; `deliver` hands an item to the dispatcher (on its task);
    `spawn` runs a coroutine as a background task."""

    def __init__(self, gateway: Gateway, scheduler: ResetScheduler, board: StatusBoard, clock: Clock, *,
                 put: Callable[[ReconcileItem], None], deliver: Callable[[Item], None],
                 spawn: Callable[[Coroutine[Any, Any, None], str], None],
                 hold_s: float = HOLD_S, backoff_cap_s: float = 30.0) -> None:
        self._gateway = gateway
        self._scheduler = scheduler
        self._board = board
        self._clock = clock
        self._put = put
        self._deliver = deliver
        self._spawn = spawn
        self._hold_s = hold_s
        self._backoff_cap_s = backoff_cap_s
        self._accounts: dict[int, _Account] = {}

    def request(self, account_ids: Iterable[int]) -> None:
        """Reconcile these accounts now (or right after the one in flight)."""
        for account_id in account_ids:
            state = self._accounts.setdefault(account_id, _Account())
            if state.in_flight:
                state.again = True
            else:
                self._start(account_id, state)

    def route(self, item: object) -> bool:
        """Take the reconcile's own items and the held accounts' events; False: not for the reconciler."""
        if isinstance(item, ReconcileFetched):
            self._fetched(item)
        elif isinstance(item, ReconcileFailed):
            self._failed(item)
        elif isinstance(item, ReconcileHoldExpired):
            self._hold_expired(item)
        elif isinstance(item, ReconcileRetry):
            self.request((item.account_id,))
        else:
            account_id = account_of(item)
            state = None if account_id is None else self._accounts.get(account_id)
            if state is None or state.held is None:
                return False
            state.held.append(cast(Item, item))
        return True

    def close(self) -> None:
        """Shutdown: no more retries or hold timers."""
        for state in self._accounts.values():
            state.cancel_timers()

    # --- steps -----------------------------------------------------------------------------------

    def _start(self, account_id: int, state: _Account) -> None:
        state.cancel_timers()
        state.attempt += 1
        state.in_flight = True
        state.again = False
        state.hold_expired = False
        state.held = []
        attempt = state.attempt
        loop = asyncio.get_running_loop()
        expired = ReconcileHoldExpired(account_id, attempt)
        state.timers.append(loop.call_later(self._hold_s, self._put, expired))
        day_start = self._scheduler.schedule(account_id).last_reset_at
        self._spawn(self._fetch(account_id, attempt, day_start), f"reconcile[{account_id}]")

    async def _fetch(self, account_id: int, attempt: int, day_start: Any) -> None:
        try:
            result = await fetch_reconcile(self._gateway, account_id, day_start, self._clock.now())
        except GatewayError as error:
            self._put(ReconcileFailed(account_id, attempt, str(error)))
        except Exception as error:  # a bug must not leave the account's events held for ever
            log.exception("reconcile of account %s failed unexpectedly", account_id)
            self._put(ReconcileFailed(account_id, attempt, repr(error)))
        else:
            self._put(ReconcileFetched(account_id, attempt, result))

    def _current(self, account_id: int, attempt: int) -> _Account | None:
        state = self._accounts.get(account_id)
        return state if state is not None and state.in_flight and state.attempt == attempt else None

    def _fetched(self, item: ReconcileFetched) -> None:
        state = self._current(item.account_id, item.attempt)
        if state is None:
            return
        if state.hold_expired:
            log.warning("reconcile of account %s answered after its events went on without it; fetching "
                        "again", item.account_id)
            self._start(item.account_id, state)
            return
        state.cancel_timers()
        self._deliver(Reconciled(item.result))
        self._board.reconciled(item.account_id, found=item.result.account is not None)
        if item.result.account is None:
            log.error("account %s: Account/search does not list it (not found, or not active)",
                      item.account_id, extra={"account_id": item.account_id})
        state.failures = 0
        self._finish(item.account_id, state)

    def _failed(self, item: ReconcileFailed) -> None:
        state = self._current(item.account_id, item.attempt)
        if state is None:
            return
        state.cancel_timers()
        delay = hub_reconnect_delay(state.failures, cap=self._backoff_cap_s)
        state.failures += 1
        log.error("reconcile of account %s failed (%s); retrying in %.1f s", item.account_id, item.error,
                  delay, extra={"account_id": item.account_id})
        self._board.reconcile_failed(item.account_id)
        state.again = False
        self._finish(item.account_id, state)
        loop = asyncio.get_running_loop()
        state.timers.append(loop.call_later(delay, self._put, ReconcileRetry(item.account_id)))

    def _hold_expired(self, item: ReconcileHoldExpired) -> None:
        state = self._current(item.account_id, item.attempt)
        if state is None or state.held is None:
            return
        log.warning("reconcile of account %s still running after %g s; its held events go on without it",
                    item.account_id, self._hold_s, extra={"account_id": item.account_id})
        state.hold_expired = True
        self._release(state)

    def _finish(self, account_id: int, state: _Account) -> None:
        state.in_flight = False
        self._release(state)
        if state.again:
            self._start(account_id, state)

    def _release(self, state: _Account) -> None:
        held, state.held = state.held, None
        for event in held or ():
            self._deliver(event)
