"""Reconcile one account from REST truth (`gateway-api.md` §5.6, `daemon.md` §7).

After every (re)subscription the hubs have missed whatever happened while they were down, and the
gateway replays nothing. So: `Account/search` (flags for RULE-010), `Position/searchOpen`,
`Order/searchOpen` and `Trade/search` since the trading day's start, fetched together. The fetch
works over the `Gateway` protocol; `apply_reconcile` hands the result to the state trackers and
returns the differences the pipeline feeds through as synthesized events before its `Sweep`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from simple_risk_manager.domain.events import AccountUpdated, OrderUpdated, PositionUpdated
from simple_risk_manager.domain.models import Account, Order, Position, Trade
from simple_risk_manager.domain.times import ensure_utc
from simple_risk_manager.gateway.base import Gateway, GatewayError
from simple_risk_manager.state.pnl import PnlTracker
from simple_risk_manager.state.positions import StateManager


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    """REST truth for one account; `account` is None when `Account/search` no longer lists it."""

    account_id: int
    account: Account | None
    positions: tuple[Position, ...]
    orders: tuple[Order, ...]
    trades: tuple[Trade, ...]
    day_start: datetime
    fetched_at: datetime


async def fetch_reconcile(gateway: Gateway, account_id: int, day_start: datetime,
                          now: datetime) -> ReconcileResult:
    """The four REST reads for `account_id`, run concurrently; the first failure is raised as is."""
    day_start = ensure_utc(day_start)
    try:
        async with asyncio.TaskGroup() as group:
            accounts = group.create_task(gateway.search_accounts(login=gateway.login_of(account_id)))
            positions = group.create_task(gateway.open_positions(account_id))
            orders = group.create_task(gateway.open_orders(account_id))
            trades = group.create_task(gateway.search_trades(account_id, start=day_start))
    except BaseExceptionGroup as group_error:
        gateway_errors, others = group_error.split(GatewayError)
        if gateway_errors is None or others is not None:
            raise
        raise _first(gateway_errors) from None
    account = next((a for a in accounts.result() if a.id == account_id), None)
    return ReconcileResult(
        account_id=account_id,
        account=account,
        positions=tuple(p for p in positions.result() if p.account_id == account_id),
        orders=tuple(o for o in orders.result() if o.account_id == account_id),
        trades=tuple(t for t in trades.result() if t.account_id == account_id),
        day_start=day_start,
        fetched_at=ensure_utc(now),
    )


def _first(group: BaseExceptionGroup[GatewayError]) -> GatewayError:
    error = group.exceptions[0]
    return _first(error) if isinstance(error, BaseExceptionGroup) else error


def apply_reconcile(result: ReconcileResult, state: StateManager, pnl: PnlTracker,
                    now: datetime) -> list[AccountUpdated | PositionUpdated | OrderUpdated]:
    """Recompute the day's realized P&L from the fills and return the synthesized differences.

    The events (the account's flags first, then the mirror's position and order differences from
    `StateManager.replace_from_rest`) are not applied here: the pipeline runs each through its steps
    so rules and broadcasts see them (`daemon.md` §5.1 `Reconcile`). The day's fills also feed the
    trade counter (MOD-008), which takes `result.trades` itself. An account REST no longer lists gets
    no account event; the daemon marks it NOT_FOUND.
    """
    events: list[AccountUpdated | PositionUpdated | OrderUpdated] = []
    if result.account is not None:
        events.append(AccountUpdated(result.account))
    events.extend(state.replace_from_rest(result.account_id, result.positions, result.orders, now))
    pnl.recompute_day(result.account_id, result.trades, now)
    return events
