"""RULE-012 Trade Management: attach an initial stop, move it to breakeven, then trail it (automation).

Per open position (never while the account is locked):
- **Tracked stop**: the stop this rule placed (own, `customTag` `RM-…`), else the trader's stop the rule
  already manages, else the trader's most recently updated qualifying stop (RULE-008 definition:
  working stop-type order on the closing side), which the rule then adopts.
- **Initial stop**: with `auto_stop_loss` and no tracked stop, place a Stop at `avg ∓ stop_loss_ticks`
  for the position's size. This needs contract metadata only (the tick), not a quote: a new position
  is protected before its first quote arrives.
- **Breakeven / trailing**: judged on the water mark (highest `lastPrice` since open for a long, lowest
  for a short), so both latch once reached: breakeven at `avg ± offset_ticks` once the best profit is
  ≥ `profit_trigger_ticks`, trailing at `water mark ∓ trail_distance_ticks` once it is ≥
  `activation_ticks`. They need a quote (`lastPrice`) and metadata; without them nothing moves (D-17).
- **New stop** = the most protective of the current stop, the level this rule last set (its floor, so a
  trader who loosens the stop sees it re-tightened) and the candidates. Candidates are snapped to the
  tick grid never looser than computed (long stops round up, short stops round down), and a candidate
  at or through the last price is not used (the exchange refuses a sell stop at or above the market).
- A modify is sent only when the stop improves by at least one tick or its size differs from the
  position's, and at most once per order per second; an improvement inside that second waits for the
  next event (D-29).
- The tracked stop fills → the position is being closed by it: nothing is placed for that contract until
  its position event (or a post-reconcile `Sweep`) shows what is left, because the fill's order event
  arrives before its position event and a fresh stop in between could open new exposure.
- Position closed → cancel the tracked stop if still working; flipped → cancel the old stop (it now sits
  on the side that adds to the position) and manage the new direction from scratch. An own stop left on
  a flat contract or on the wrong side is cancelled too (no stop may outlive its position, D-47/D-50).

At most one AUTO_STOP_LOSS decision per contract per event, so the merge never has to choose between
two of them; the next event (the order event of the cancel, a quote) carries the next step.

**Decision contract with the enforcement engine.** Every AUTO_STOP_LOSS decision has
`details["op"]` ∈ `StopOp` and `contract_id` set:
- `"place"`: `size` (the position's size), `stop_price`, `details["side"]` = the order side name
  (`"SELL"` for a long, `"BUY"` for a short) → MOD-001 `place_stop(account, contract, side, size,
  stop_price)` (Stop type 4, `RM-` tag); `order_id` is None.
- `"modify"`: `order_id` (the tracked stop), `stop_price` and `size` (both always set: the new values,
  or the current ones where unchanged) → `modify_stop(account, order_id, stop_price, size)`.
- `"remove"`: `order_id` of the stop to cancel; `size` and `stop_price` are None → `cancel_order`.

Rule memory (`view.rule_state`): contract id → `ManagedStop` (direction, tracked stop id, water mark,
floor, time of the last modify). In memory only: after a restart the water marks restart from the
current price and stops are adopted again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any, ClassVar

from simple_risk_manager.config.rule_catalog import rule_info
from simple_risk_manager.config.rule_sections import TradeManagement
from simple_risk_manager.domain.enums import EnforcementActionType, OrderSide, OrderStatus, PositionType
from simple_risk_manager.domain.models import EnforcementAction, Order, Position
from simple_risk_manager.domain.money import decimal_text
from simple_risk_manager.rules.base import NOTHING, AccountView, RuleResult, decision
from simple_risk_manager.rules.events import OrderChanged, PositionChanged, QuoteChanged, RuleEvent, Sweep
from simple_risk_manager.state.positions import PositionTransition

_INFO = rule_info("trade_management")

#: At most one modify per order in this interval (D-29).
MODIFY_INTERVAL = timedelta(seconds=1)


class StopOp(StrEnum):
    """`details["op"]` of an AUTO_STOP_LOSS decision: which MOD-001 call the engine makes."""

    PLACE = "place"
    MODIFY = "modify"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class ManagedStop:
    """What RULE-012 remembers about one open position."""

    side: PositionType
    #: The tracked stop's order id (None until the placed stop's order event arrives).
    stop_order_id: int | None = None
    #: Highest `lastPrice` since open (long) / lowest (short); None before the first quote.
    water_mark: Decimal | None = None
    #: The most protective stop price this rule placed or moved to for this position.
    floor: Decimal | None = None
    #: When this rule last sent a modify for `stop_order_id`.
    modified_at: datetime | None = None
    #: A stop on the closing side filled: wait for the position event before placing anything.
    stop_filled: bool = False


Managed = Mapping[str, ManagedStop]
"""RULE-012 memory: contract id → the managed position in it."""

_Candidate = tuple[Decimal, str]


def _sign(side: PositionType) -> int:
    return 1 if side is PositionType.LONG else -1


def _side_name(side: PositionType) -> str:
    return "long" if side is PositionType.LONG else "short"


def snap(price: Decimal, tick: Decimal, side: PositionType) -> Decimal:
    """Snap a stop price to the tick grid, never looser: a long's stop rounds up, a short's down."""
    rounding = ROUND_CEILING if side is PositionType.LONG else ROUND_FLOOR
    return (price / tick).to_integral_value(rounding=rounding) * tick


def _most_protective(side: PositionType, candidates: Sequence[_Candidate]) -> _Candidate | None:
    """Highest price for a long's stop, lowest for a short's; the first listed wins a tie."""
    best: _Candidate | None = None
    for candidate in candidates:
        if best is None or (candidate[0] - best[0]) * _sign(side) > 0:
            best = candidate
    return best


def _filled_stop(view: AccountView, order: Order, entry: ManagedStop | None) -> ManagedStop | None:
    """The contract's memory marked `stop_filled` when `order` is a filled stop closing its position."""
    if entry is None or entry.stop_filled or order.status is not OrderStatus.FILLED or not order.is_stop_type:
        return None
    position = view.position(order.contract_id)
    closing_side = OrderSide.SELL if entry.side is PositionType.LONG else OrderSide.BUY
    if position is None or order.side is not closing_side:
        return None
    return replace(entry, stop_filled=True)


def _latest(orders: Sequence[Order]) -> Order | None:
    return max(orders, key=lambda o: (o.updated_at, o.id), default=None)


class TradeManagementRule:
    """Automation, not a limit: AUTO_STOP_LOSS place / modify / remove (`rules.md` RULE-012)."""

    rule_id: ClassVar[str] = _INFO.rule_id
    key: ClassVar[str] = _INFO.key

    def evaluate(self, view: AccountView, event: RuleEvent) -> RuleResult:
        config = view.rules.trade_management
        if not config.enabled or view.is_locked():
            return NOTHING
        managed: Managed = view.rule_state(self.rule_id) or {}
        restarted: str | None = None
        settled: str | None = None  # a contract whose position is known again after its stop filled
        if isinstance(event, PositionChanged):
            contracts = [event.position.contract_id]
            settled = event.position.contract_id
            if event.transition in (PositionTransition.OPENED, PositionTransition.FLIPPED):
                restarted = event.position.contract_id
        elif isinstance(event, QuoteChanged):
            contracts = [event.contract_id]
        elif isinstance(event, OrderChanged):
            contracts = [event.order.contract_id]
            filled = _filled_stop(view, event.order, managed.get(event.order.contract_id))
            if filled is not None:
                return RuleResult.patched({**managed, event.order.contract_id: filled})
        elif isinstance(event, Sweep):
            own_stops = {o.contract_id for o in view.working_orders()
                         if o.is_stop_type and view.is_own_order(o)}
            contracts = sorted({p.contract_id for p in view.positions()} | set(managed) | own_stops)
        else:
            return NOTHING
        state = dict(managed)
        decisions: list[EnforcementAction] = []
        skipped: list[str] = []
        for contract_id in contracts:
            held = state.get(contract_id)
            if held is not None and held.stop_filled:
                if contract_id != settled and not isinstance(event, Sweep):
                    continue  # the closing fill's position event has not arrived yet
                held = replace(held, stop_filled=False, stop_order_id=None)
            entry, action = self._manage(view, config, contract_id, held,
                                         restart=contract_id == restarted, skipped=skipped)
            if entry is None:
                state.pop(contract_id, None)
            else:
                state[contract_id] = entry
            if action is not None:
                decisions.append(action)
        if skipped:
            decisions = [replace(d, details={**d.details, "skipped_no_metadata": skipped}) for d in decisions]
        if state == dict(managed):
            return RuleResult(decisions=tuple(decisions))
        return RuleResult.patched(state, tuple(decisions))

    # --- one contract ------------------------------------------------------------------------------

    def _manage(self, view: AccountView, config: TradeManagement, contract_id: str, entry: ManagedStop | None,
                *, restart: bool, skipped: list[str]) -> tuple[ManagedStop | None, EnforcementAction | None]:
        """The contract's new memory (None: forget it) and at most one AUTO_STOP_LOSS decision."""
        position = view.position(contract_id)
        working = view.working_orders(contract_id)
        if position is None:
            leftover = [o for o in working if o.is_stop_type
                        and (view.is_own_order(o) or (entry is not None and o.id == entry.stop_order_id))]
            stop = _latest(leftover)
            return None, None if stop is None else self._remove(view, stop, f"{contract_id} is flat")
        if entry is None or restart or entry.side is not position.type:
            previous, entry = entry, ManagedStop(side=position.type)
            old = next((o for o in working if previous is not None and o.id == previous.stop_order_id), None)
            if old is not None and not old.is_stop_loss:
                return entry, self._remove(view, old, f"{contract_id} flipped to {_side_name(position.type)}")
        stray = _latest([o for o in working
                         if o.is_stop_type and view.is_own_order(o) and not o.is_stop_loss])
        if stray is not None:
            return entry, self._remove(view, stray, f"{contract_id} is {_side_name(position.type)}")
        metadata = view.contract(contract_id)
        if metadata is None:
            skipped.append(contract_id)
            return entry, None
        quote = view.quote(contract_id)
        last = quote.last if quote is not None else None
        if last is not None:
            mark = entry.water_mark
            if mark is None or (last - mark) * _sign(position.type) > 0:
                entry = replace(entry, water_mark=last)
        market = _Market(view, config, position, metadata.tick_size, last, entry)
        stop = self._tracked(view, working, entry)
        if stop is None:
            entry = replace(entry, stop_order_id=None, modified_at=None)
            if not config.auto_stop_loss:
                return entry, None
            return market.place(self.rule_id, entry)
        if stop.id != entry.stop_order_id:
            entry = replace(entry, stop_order_id=stop.id, modified_at=None)
        return market.modify(self.rule_id, entry, stop)

    @staticmethod
    def _tracked(view: AccountView, working: Sequence[Order], entry: ManagedStop) -> Order | None:
        qualifying = [o for o in working if o.is_stop_loss]
        own = _latest([o for o in qualifying if view.is_own_order(o)])
        if own is not None:
            return own
        managed = next((o for o in qualifying if o.id == entry.stop_order_id), None)
        return managed if managed is not None else _latest(qualifying)

    def _remove(self, view: AccountView, stop: Order, why: str) -> EnforcementAction:
        reason = f"{why}: cancel {stop.side.name.lower()} stop order {stop.id}"
        price = None if stop.stop_price is None else decimal_text(stop.stop_price)
        details = {"op": StopOp.REMOVE.value, "order_id": stop.id, "stop_price": price, "size": stop.size}
        return decision(view, self.rule_id, EnforcementActionType.AUTO_STOP_LOSS, reason,
                        contract_id=stop.contract_id, order_id=stop.id, details=details)


@dataclass(frozen=True, slots=True)
class _Market:
    """One position with its tick and last price: the stop levels the rule may set."""

    view: AccountView
    config: TradeManagement
    position: Position
    tick: Decimal
    last: Decimal | None
    entry: ManagedStop

    @property
    def side(self) -> PositionType:
        return self.position.type

    def _ticks_from_avg(self, price: Decimal) -> Decimal:
        return (price - self.position.average_price) / self.tick * _sign(self.side)

    def _level(self, ticks: int) -> Decimal:
        """Snapped price `ticks` ticks on the profit side of the average (negative: the loss side)."""
        return snap(self.position.average_price + _sign(self.side) * ticks * self.tick, self.tick, self.side)

    def _usable(self, price: Decimal) -> bool:
        """Strictly on the protective side of the last price (no quote yet: nothing to compare)."""
        return self.last is None or (self.last - price) * _sign(self.side) > 0

    def candidates(self) -> list[_Candidate]:
        """Breakeven, trailing and the rule's floor, each usable at the current price."""
        found: list[_Candidate] = []
        if self.entry.floor is not None:
            found.append((self.entry.floor, "level held by this rule"))
        mark = self.entry.water_mark
        if mark is not None:
            best = self._ticks_from_avg(mark)
            breakeven = self.config.auto_breakeven
            if breakeven.enabled and best >= breakeven.profit_trigger_ticks:
                found.append((self._level(breakeven.offset_ticks),
                              f"breakeven: best +{best.normalize():f} ticks ≥ trigger "
                              f"{breakeven.profit_trigger_ticks}"))
            trailing = self.config.trailing_stop
            if trailing.enabled and best >= trailing.activation_ticks:
                trail = snap(mark - _sign(self.side) * trailing.trail_distance_ticks * self.tick,
                             self.tick, self.side)
                found.append((trail, f"trailing {trailing.trail_distance_ticks} ticks behind "
                                     f"{decimal_text(mark)}"))
        return [c for c in found if self._usable(c[0])]

    def _details(self, op: StopOp) -> dict[str, Any]:
        position = self.position
        return {"op": op.value, "position_side": _side_name(self.side), "position_size": position.size,
                "average_price": decimal_text(position.average_price), "tick_size": decimal_text(self.tick),
                "last": None if self.last is None else decimal_text(self.last),
                "water_mark": None if self.entry.water_mark is None else decimal_text(self.entry.water_mark),
                "quote_stale": self.last is not None and self.view.is_quote_stale(position.contract_id)}

    def _what(self) -> str:
        p = self.position
        return f"{p.contract_id} {_side_name(self.side)} {p.size} @ {decimal_text(p.average_price)}"

    def place(self, rule_id: str, entry: ManagedStop) -> tuple[ManagedStop, EnforcementAction | None]:
        """No tracked stop: place one at the most protective usable level, the initial stop included."""
        ticks = self.config.stop_loss_ticks
        initial = (self._level(-ticks), f"initial stop {ticks} ticks")
        usable_initial = [initial] if self._usable(initial[0]) else []
        chosen = _most_protective(self.side, [*usable_initial, *self.candidates()])
        if chosen is None:
            return entry, None  # the market is already through every level: placing would be refused
        price, why = chosen
        side = OrderSide.SELL if self.side is PositionType.LONG else OrderSide.BUY
        size = self.position.size
        reason = (f"{self._what()} has no stop: place {side.name.lower()} Stop {decimal_text(price)} "
                  f"size {size} ({why})")
        details = {**self._details(StopOp.PLACE), "side": side.name, "stop_price": decimal_text(price),
                   "basis": why}
        action = decision(self.view, rule_id, EnforcementActionType.AUTO_STOP_LOSS, reason,
                          contract_id=self.position.contract_id, size=size, stop_price=price, details=details)
        return replace(entry, floor=price), action

    def modify(self, rule_id: str, entry: ManagedStop,
               stop: Order) -> tuple[ManagedStop, EnforcementAction | None]:
        """Tighten the tracked stop by ≥ 1 tick and/or match its size to the position's, ≤ 1 per second."""
        current = stop.stop_price
        if current is None:
            return entry, None  # not a priced stop: nothing to compare or move
        size = self.position.size
        price, why = _most_protective(self.side, [(current, ""), *self.candidates()]) or (current, "")
        improves = (price - current) * _sign(self.side) >= self.tick
        if not improves and stop.size == size:
            return entry, None
        if entry.modified_at is not None and self.view.now - entry.modified_at < MODIFY_INTERVAL:
            return entry, None  # not queued: the first event after the second recomputes (D-29)
        if not improves:
            price, why = current, ""
        changes = [f"stop {decimal_text(current)} → {decimal_text(price)} ({why})"] if improves else []
        if stop.size != size:
            changes.append(f"size {stop.size} → {size}")
        reason = f"{self._what()}: move stop order {stop.id}: {', '.join(changes)}"
        details = {**self._details(StopOp.MODIFY), "order_id": stop.id,
                   "previous_stop_price": decimal_text(current), "stop_price": decimal_text(price),
                   "previous_size": stop.size, "basis": why or "size"}
        action = decision(self.view, rule_id, EnforcementActionType.AUTO_STOP_LOSS, reason,
                          contract_id=self.position.contract_id, order_id=stop.id, size=size,
                          stop_price=price, details=details)
        held = entry.floor
        floor = price if held is None or (price - held) * _sign(self.side) > 0 else held
        return replace(entry, floor=floor, modified_at=self.view.now), action
