"""MOD-008 Trade Counter: trades per rolling minute, rolling hour and session for RULE-006.

One trade is one distinct order id among non-voided fills (partial fills count once), timed by the
order's first such fill (D-20), on the gateway's clock (D-22). Fills are deduplicated by trade id and
a voided flag withdraws its fill, so the counts do not depend on the order fills are delivered in.
A newly recorded fill dated before the session start (late delivery, replay) is ignored, as the
daily P&L ignores it (spec README, product decisions); orders counted before a reset stay in the
rolling windows, which survive the reset.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from simple_risk_manager.domain.models import Trade
from simple_risk_manager.domain.times import ensure_utc

MINUTE = timedelta(seconds=60)
HOUR = timedelta(seconds=3600)

#: An order id, or ("fill", trade id) for a fill that names no order: such a fill is a trade of its own.
_OrderKey = int | tuple[str, int]


@dataclass(frozen=True, slots=True)
class TradeCounts:
    """Counted orders in `(t − 60 s, t]`, `(t − 3600 s, t]` and `[session_start, t]`."""

    minute: int
    hour: int
    session: int


class FillCount(NamedTuple):
    """`record_fill` result: whether this fill made a new order count, and the counts at its time."""

    new_order: bool
    counts: TradeCounts


@dataclass(slots=True)
class _Fill:
    key: _OrderKey
    at: datetime
    voided: bool


@dataclass(slots=True)
class _Account:
    session_start: datetime
    fills: dict[int, _Fill] = field(default_factory=dict)
    #: Order key → {trade id: time} of its non-voided fills; an order counts while this is non-empty.
    orders: dict[_OrderKey, dict[int, datetime]] = field(default_factory=dict)

    def first_fill_at(self, key: _OrderKey) -> datetime:
        return min(self.orders[key].values())


def _key(trade: Trade) -> _OrderKey:
    return trade.order_id if trade.order_id is not None else ("fill", trade.id)


class TradeCounter:
    """Counted orders per account since `min(session_start, now − 1 h)`."""

    def __init__(self) -> None:
        self._accounts: dict[int, _Account] = {}

    def reset_session(self, account_id: int, reset_instant: datetime) -> None:
        """Daily reset: the session count restarts at `reset_instant`; rolling windows keep their orders."""
        start = ensure_utc(reset_instant)
        state = self._accounts.get(account_id)
        if state is None:
            self._accounts[account_id] = _Account(session_start=start)
            return
        state.session_start = start
        self._prune(state, start - HOUR)

    def rebuild(self, account_id: int, trades: Iterable[Trade], session_start: datetime) -> None:
        """Startup: counted orders from `trade_history` rows since `min(last reset, now − 1 h)` (D-36).

        Every row given is taken, including those before `session_start`, which the hour window needs.
        """
        state = _Account(session_start=ensure_utc(session_start))
        self._accounts[account_id] = state
        for trade in trades:
            self._record(state, trade)

    def record_fill(self, trade: Trade) -> FillCount:
        """Count a fill; `new_order` is true only for the fill that makes its order count."""
        state = self._state(trade.account_id)
        new_order = False
        if trade.id in state.fills or trade.execution_time >= state.session_start:
            new_order = self._record(state, trade)
        return FillCount(new_order, self._counts(state, trade.execution_time))

    def void(self, trade: Trade) -> None:
        """Withdraw a fill (its voided copy); an order whose fills are all voided stops counting."""
        state = self._state(trade.account_id)
        self._void(state, trade)

    def counts(self, account_id: int, at: datetime) -> TradeCounts:
        return self._counts(self._state(account_id), ensure_utc(at))

    def session_start(self, account_id: int) -> datetime:
        return self._state(account_id).session_start

    # --- internals -----------------------------------------------------------------------------

    def _state(self, account_id: int) -> _Account:
        state = self._accounts.get(account_id)
        if state is None:
            raise ValueError(f"trade counter: account {account_id} has no session "
                             "(reset_session/rebuild first)")
        return state

    def _record(self, state: _Account, trade: Trade) -> bool:
        if trade.voided:
            self._void(state, trade)
            return False
        if trade.id in state.fills:
            return False
        key = _key(trade)
        state.fills[trade.id] = _Fill(key=key, at=trade.execution_time, voided=False)
        fills = state.orders.setdefault(key, {})
        fills[trade.id] = trade.execution_time
        return len(fills) == 1

    @staticmethod
    def _void(state: _Account, trade: Trade) -> None:
        known = state.fills.get(trade.id)
        if known is None:
            state.fills[trade.id] = _Fill(key=_key(trade), at=trade.execution_time, voided=True)
            return
        if known.voided:
            return
        known.voided = True
        fills = state.orders.get(known.key)
        if fills is not None:
            fills.pop(trade.id, None)
            if not fills:
                del state.orders[known.key]

    @staticmethod
    def _counts(state: _Account, at: datetime) -> TradeCounts:
        minute = hour = session = 0
        for key in state.orders:
            first = state.first_fill_at(key)
            if first > at:
                continue
            minute += first > at - MINUTE
            hour += first > at - HOUR
            session += first >= state.session_start
        return TradeCounts(minute=minute, hour=hour, session=session)

    @staticmethod
    def _prune(state: _Account, cutoff: datetime) -> None:
        """Forget orders whose every fill is before `cutoff` (no window reaches them) and old void marks.

        An order with a fill after `cutoff` is kept whole, so a further fill of it never counts twice.
        """
        for key in [k for k, fills in state.orders.items() if max(fills.values()) < cutoff]:
            del state.orders[key]
        state.fills = {i: f for i, f in state.fills.items()
                       if f.at >= cutoff or (not f.voided and f.key in state.orders)}
