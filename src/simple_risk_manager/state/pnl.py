"""MOD-005 PNL Tracker: realized P&L of the trading day and per order, and unrealized P&L maths.

Realized P&L comes only from fills. Each fill is recorded once by trade id (redeliveries are
ignored); a fill counts toward the day only when it is not voided and its gateway timestamp lies in
the account's current trading day `[last_reset_at, next_reset_at)`, taken from the account's
`ResetSchedule` (MOD-004). Fills dated after the day's end are kept and counted when that day
starts, so a fill processed just before a late `ResetDue` is not lost. Unrealized P&L is a pure function of a
position, its quote and its contract metadata (`modules.md` MOD-005); rules never compute P&L.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from simple_risk_manager.domain.enums import PositionType
from simple_risk_manager.domain.models import (
    ContractMetadata,
    DailyPnl,
    Position,
    Quote,
    ResetSchedule,
    Trade,
)
from simple_risk_manager.domain.money import ZERO
from simple_risk_manager.domain.times import ensure_utc
from simple_risk_manager.state.quotes import is_quote_stale


class FillOutcome(StrEnum):
    APPLIED = "applied"
    #: Same trade id already recorded (reconnect redelivery, reconcile replay): nothing changes.
    DUPLICATE = "duplicate"
    #: A voided flag for a fill that was counted: its contribution is subtracted.
    REVERSED = "reversed"
    #: A voided fill that was never counted: recorded so a later copy is not added.
    VOIDED = "voided"
    #: Dated outside the current trading day: recorded, the day's totals are untouched.
    OUTSIDE_DAY = "outside_day"


@dataclass(frozen=True, slots=True)
class FillEffect:
    """What `apply_fill` did: `delta` is the change of the day's realized P&L."""

    outcome: FillOutcome
    delta: Decimal
    realized: Decimal

    @property
    def changed(self) -> bool:
        """The day's row changed and must be written immediately (D-35)."""
        return self.outcome in (FillOutcome.APPLIED, FillOutcome.REVERSED)


@dataclass(slots=True)
class _Fill:
    at: datetime
    order_id: int | None
    gross: Decimal
    fees: Decimal
    voided: bool


def _in_day(schedule: ResetSchedule, instant: datetime) -> bool:
    """The trading day is half-open: `[last_reset_at, next_reset_at)` (MOD-004)."""
    return schedule.last_reset_at <= instant < schedule.next_reset_at


@dataclass(slots=True)
class _AccountDay:
    day: ResetSchedule
    last_updated: datetime
    gross: Decimal = ZERO
    fees: Decimal = ZERO
    fills: dict[int, _Fill] = field(default_factory=dict)
    #: Contributions of the day's counted fills per order id.
    order_day: dict[int, Decimal] = field(default_factory=dict)
    #: Per-order P&L of orders still working at the last reset (`modules.md` MOD-004 reset table).
    order_carried: dict[int, Decimal] = field(default_factory=dict)


class PnlTracker:
    """Per account: the trading day's gross P&L and fees, and realized P&L per order."""

    def __init__(self, include_fees: bool = True) -> None:
        self._include_fees = include_fees
        self._accounts: dict[int, _AccountDay] = {}

    # --- mutations (dispatcher only) -----------------------------------------------------------

    def start_day(self, day: ResetSchedule, now: datetime, working_order_ids: Iterable[int] = ()) -> None:
        """Begin the account's trading day `day` (first start or daily reset) at 0 plus any fills
        already recorded inside it.

        Per-order P&L survives only for `working_order_ids`, the account's orders still working.
        Fills older than the previous day's start are forgotten (their ids can no longer matter).
        """
        keep = set(working_order_ids)
        state = self._accounts.get(day.account_id)
        if state is None:
            self._accounts[day.account_id] = _AccountDay(day=day, last_updated=ensure_utc(now))
            return
        carried = {o: self._order_total(state, o) for o in keep}
        oldest = min(state.day.last_reset_at, day.last_reset_at)
        fills = {i: f for i, f in state.fills.items() if f.at >= oldest}
        state.day, state.last_updated, state.fills = day, ensure_utc(now), fills
        state.order_carried = {o: v for o, v in carried.items() if v != ZERO}
        self._resum(state)

    def load(self, row: DailyPnl, day: ResetSchedule) -> None:
        """Startup: the stored row of the current day; `recompute_day` replaces it after reconcile."""
        if (row.account_id, row.date) != (day.account_id, day.trading_date):
            raise ValueError(f"daily_pnl row of account {row.account_id} for {row.date} does not match "
                             f"the current trading day {day.trading_date} of account {day.account_id}")
        self._accounts[row.account_id] = _AccountDay(day=day, last_updated=row.last_updated,
                                                     gross=row.gross_pnl, fees=row.fees)

    def apply_fill(self, trade: Trade) -> FillEffect:
        """Record one fill (hub or REST): dedupe by trade id, reverse on void, count only today's."""
        state = self._state(trade.account_id)
        known = state.fills.get(trade.id)
        before = self._realized(state)
        if known is not None:
            if not (trade.voided and not known.voided):
                return FillEffect(FillOutcome.DUPLICATE, ZERO, before)
            known.voided = True
            if not _in_day(state.day, known.at):
                return FillEffect(FillOutcome.VOIDED, ZERO, before)
            self._count(state, known, sign=-1)
            state.last_updated = ensure_utc(trade.received_at)
            return FillEffect(FillOutcome.REVERSED, self._realized(state) - before, self._realized(state))
        fill = _Fill(at=trade.execution_time, order_id=trade.order_id, gross=trade.profit_and_loss or ZERO,
                     fees=trade.fees, voided=trade.voided)
        state.fills[trade.id] = fill
        if fill.voided:
            return FillEffect(FillOutcome.VOIDED, ZERO, before)
        if not _in_day(state.day, fill.at):
            return FillEffect(FillOutcome.OUTSIDE_DAY, ZERO, before)
        self._count(state, fill, sign=1)
        state.last_updated = ensure_utc(trade.received_at)
        return FillEffect(FillOutcome.APPLIED, self._realized(state) - before, self._realized(state))

    def recompute_day(self, account_id: int, fills: Iterable[Trade], now: datetime) -> None:
        """Replace the day's fills with `Trade/search` for the whole day (authoritative, deduplicated).

        Fills recorded outside the day are kept; a trade id listed twice counts once, voided if any
        copy is voided.
        """
        state = self._state(account_id)
        recorded = {i: f for i, f in state.fills.items() if not _in_day(state.day, f.at)}
        for trade in fills:
            known = recorded.get(trade.id)
            if known is not None:
                known.voided = known.voided or trade.voided
                continue
            recorded[trade.id] = _Fill(at=trade.execution_time, order_id=trade.order_id,
                                       gross=trade.profit_and_loss or ZERO, fees=trade.fees,
                                       voided=trade.voided)
        state.fills, state.last_updated = recorded, ensure_utc(now)
        self._resum(state)

    # --- reads ---------------------------------------------------------------------------------

    def daily_realized(self, account_id: int) -> Decimal:
        """The value RULE-003 compares: gross − fees when `include_fees`, else gross (D-14)."""
        return self._realized(self._state(account_id))

    def daily_pnl(self, account_id: int, trade_count: int) -> DailyPnl:
        """The `daily_pnl` row; `trade_count` is MOD-008's session count, which this tracker does not own."""
        state = self._state(account_id)
        return DailyPnl(account_id=account_id, date=state.day.trading_date, last_updated=state.last_updated,
                        realized_pnl=self._realized(state), gross_pnl=state.gross, fees=state.fees,
                        trade_count=trade_count)

    def order_realized(self, account_id: int, order_id: int) -> Decimal:
        """Cumulative contribution of the order's counted fills (RULE-007's trade P&L, D-23)."""
        return self._order_total(self._state(account_id), order_id)

    # --- internals -----------------------------------------------------------------------------

    def _state(self, account_id: int) -> _AccountDay:
        state = self._accounts.get(account_id)
        if state is None:
            raise ValueError(f"PNL tracker: account {account_id} has no trading day (start_day/load first)")
        return state

    def _contribution(self, gross: Decimal, fees: Decimal) -> Decimal:
        """`(profitAndLoss or 0) − (fees if include_fees else 0)`; an opening fill adds only its fees."""
        return gross - fees if self._include_fees else gross

    def _realized(self, state: _AccountDay) -> Decimal:
        return self._contribution(state.gross, state.fees)

    @staticmethod
    def _order_total(state: _AccountDay, order_id: int) -> Decimal:
        return state.order_carried.get(order_id, ZERO) + state.order_day.get(order_id, ZERO)

    def _count(self, state: _AccountDay, fill: _Fill, sign: int) -> None:
        state.gross += sign * fill.gross
        state.fees += sign * fill.fees
        if fill.order_id is not None:
            change = sign * self._contribution(fill.gross, fill.fees)
            state.order_day[fill.order_id] = state.order_day.get(fill.order_id, ZERO) + change

    def _resum(self, state: _AccountDay) -> None:
        state.gross, state.fees, state.order_day = ZERO, ZERO, {}
        for fill in state.fills.values():
            if not fill.voided and _in_day(state.day, fill.at):
                self._count(state, fill, sign=1)


# --- unrealized P&L ------------------------------------------------------------------------------

def mark_price(position: Position, quote: Quote) -> Decimal | None:
    """`lastPrice`; without one, the price the position would close at: bid for a long, ask for a short."""
    if quote.last is not None:
        return quote.last
    return quote.bid if position.type is PositionType.LONG else quote.ask


def position_upnl(position: Position, quote: Quote | None,
                  contract: ContractMetadata | None) -> Decimal | None:
    """`(M − A) / tick_size × tick_value × size`, negated for a short; no rounding.

    None when it cannot be computed: no quote, no usable mark, or no contract metadata.
    """
    if quote is None or contract is None:
        return None
    mark = mark_price(position, quote)
    if mark is None:
        return None
    ticks = (mark - position.average_price) / contract.tick_size
    upnl = ticks * contract.tick_value * position.size
    return -upnl if position.type is PositionType.SHORT else upnl


@dataclass(frozen=True, slots=True)
class AccountUpnl:
    """Unrealized P&L of an account's positions (`account_upnl`)."""

    total: Decimal
    per_position: Mapping[str, Decimal]
    #: Contracts left out: no quote, no usable mark or no contract metadata (D-17: never breach on them).
    skipped: tuple[str, ...]
    #: Contracts whose quote is older than `max_quote_age` seconds: used, and flagged.
    stale: tuple[str, ...]


def account_upnl(positions: Iterable[Position], quote_of: Callable[[str], Quote | None],
                 contract_of: Callable[[str], ContractMetadata | None], now: datetime,
                 max_quote_age: float) -> AccountUpnl:
    """Σ unrealized P&L over the positions that can be valued, plus what was skipped or stale.

    `quote_of` / `contract_of` are lookups such as `QuoteTracker.get` and `ContractCache.get`.
    """
    total = ZERO
    per_position: dict[str, Decimal] = {}
    skipped: list[str] = []
    stale: list[str] = []
    for position in positions:
        contract_id = position.contract_id
        quote = quote_of(contract_id)
        upnl = position_upnl(position, quote, contract_of(contract_id))
        if upnl is None:
            skipped.append(contract_id)
            continue
        per_position[contract_id] = upnl
        total += upnl
        if is_quote_stale(quote, now, max_quote_age):
            stale.append(contract_id)
    return AccountUpnl(total=total, per_position=MappingProxyType(per_position), skipped=tuple(skipped),
                       stale=tuple(stale))
