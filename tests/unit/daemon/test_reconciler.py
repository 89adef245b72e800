"""Reconcile scheduling: an account's events wait behind its reconcile, bounded in time; failures retry.

The gateway here answers the four REST reads only when a test lets it (`answer`), so the order of
events around a reconcile is decided by the test, not by timing. Everything else is real.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.daemon.reconciler import (
    ReconcileFailed,
    ReconcileFetched,
    ReconcileHoldExpired,
    Reconciler,
    ReconcileRetry,
)
from simple_risk_manager.daemon.status import AccountState, Phase, StatusBoard
from simple_risk_manager.domain.enums import PositionType
from simple_risk_manager.domain.events import PositionUpdated, QuoteUpdated
from simple_risk_manager.domain.models import Account, Position, Quote
from simple_risk_manager.engine.items import Reconciled
from simple_risk_manager.gateway.base import GatewayUnavailable
from simple_risk_manager.state.reset_schedule import ResetConfig, ResetScheduler

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
A, B = 4411, 4412
MES = "CON.F.US.MES.H25"


class SlowGateway:
    """The reads `fetch_reconcile` makes; each waits for `answer` (or raises `error` when set)."""

    def __init__(self) -> None:
        self.answer = asyncio.Event()
        self.error: Exception | None = None
        self.fetches = 0

    def login_of(self, account_id: int) -> str:
        return "trader"

    async def _reply(self, value: Any) -> Any:
        await self.answer.wait()
        if self.error is not None:
            raise self.error
        return value

    async def search_accounts(self, login: str | None = None, only_active: bool = True) -> list[Account]:
        self.fetches += 1
        return await self._reply([Account(id=A, name="A", balance=Decimal(50000), can_trade=True)])

    async def open_positions(self, account_id: int) -> list[Position]:
        return await self._reply([])

    async def open_orders(self, account_id: int) -> list[Any]:
        return await self._reply([])

    async def search_trades(self, account_id: int, start: datetime) -> list[Any]:
        return await self._reply([])


def position(account_id: int) -> PositionUpdated:
    return PositionUpdated(Position(id=1, account_id=account_id, contract_id=MES, type=PositionType.LONG,
                                    size=1, average_price=Decimal(6000), created_at=NOW, updated_at=NOW))


class Harness:
    def __init__(self, hold_s: float = 5.0) -> None:
        self.gateway = SlowGateway()
        scheduler = ResetScheduler()
        for account_id in (A, B):
            scheduler.restore(account_id, ResetConfig(), None, NOW)
        self.board = StatusBoard({A: "trader", B: "trader"}, ManualClock(NOW), can_trade=lambda a: True)
        self.queued: list[Any] = []
        self.delivered: list[Any] = []
        self.tasks: set[asyncio.Task[None]] = set()
        self.reconciler = Reconciler(self.gateway, scheduler, self.board,  # type: ignore[arg-type]
                                     ManualClock(NOW), put=self.queued.append, deliver=self.delivered.append,
                                     spawn=self.spawn, hold_s=hold_s, backoff_cap_s=0.05)

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(work, name=name)
        self.tasks.add(task)

    async def next_queued(self, kind: type) -> Any:
        """Wait for the reconciler's own item of `kind` and route it, as the dispatcher task would."""
        async with asyncio.timeout(5):
            while not any(isinstance(item, kind) for item in self.queued):  # noqa: ASYNC110
                await asyncio.sleep(0.005)
        item = next(item for item in self.queued if isinstance(item, kind))
        self.queued.remove(item)
        assert self.reconciler.route(item)
        return item


async def test_events_of_the_account_wait_behind_its_reconcile_and_follow_it() -> None:
    h = Harness()
    h.reconciler.request([A])
    quote = QuoteUpdated(Quote(contract_id=MES, received_at=NOW, last=Decimal(6000)))

    assert h.reconciler.route(position(A))  # held
    assert not h.reconciler.route(position(B))  # another account: not held
    assert not h.reconciler.route(quote)  # quotes never wait
    assert h.delivered == [] and not h.board.startup_complete

    h.gateway.answer.set()
    await h.next_queued(ReconcileFetched)

    assert [type(item) for item in h.delivered] == [Reconciled, PositionUpdated]
    assert h.delivered[1] == position(A)
    assert not h.reconciler.route(position(A))  # the hold is over
    assert h.board.account_state(A) is AccountState.OK


async def test_a_reconcile_asked_for_while_one_runs_follows_it() -> None:
    h = Harness()
    h.reconciler.request([A])
    h.reconciler.request([A])  # e.g. the hub reconnected meanwhile
    h.gateway.answer.set()
    await h.next_queued(ReconcileFetched)
    await h.next_queued(ReconcileFetched)
    assert [type(item) for item in h.delivered] == [Reconciled, Reconciled]
    assert h.gateway.fetches == 2


async def test_a_hold_ends_after_its_limit_and_the_late_answer_is_fetched_again() -> None:
    h = Harness(hold_s=0.05)
    h.reconciler.request([A])
    assert h.reconciler.route(position(A))

    await h.next_queued(ReconcileHoldExpired)
    assert h.delivered == [position(A)]  # released without the reconcile

    h.gateway.answer.set()
    await h.next_queued(ReconcileFetched)  # older than what was delivered since: thrown away …
    assert h.delivered == [position(A)]
    await h.next_queued(ReconcileFetched)  # … and fetched again
    assert [type(item) for item in h.delivered] == [PositionUpdated, Reconciled]


async def test_a_failed_reconcile_releases_the_events_and_retries() -> None:
    h = Harness()
    h.gateway.error = GatewayUnavailable("/api/Position/searchOpen", "HTTP 503", 503)
    h.gateway.answer.set()
    h.reconciler.request([A])
    assert h.reconciler.route(position(A))

    failed = await h.next_queued(ReconcileFailed)
    assert "503" in failed.error
    assert h.delivered == [position(A)]
    h.board.reconciled(B, found=True)
    assert h.board.phase()[0] is Phase.DEGRADED
    assert "reconcile failing for account 4411" in h.board.phase()[1]

    h.gateway.error = None
    await h.next_queued(ReconcileRetry)
    await h.next_queued(ReconcileFetched)
    assert [type(item) for item in h.delivered] == [PositionUpdated, Reconciled]
    h.reconciler.close()
