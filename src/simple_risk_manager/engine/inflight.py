"""MOD-001's in-flight registry: what enforcement is doing right now, per account and contract.

It answers three questions without I/O, so the dispatcher can ask them on every event:
- **Is this decision already covered?** (`modules.md` MOD-001 "Duplicates", D-48) A flatten while the
  account's flatten runs; a close or reduction of a contract being closed (alone, or by a flatten that
  has not listed its positions yet, since it closes every open one); a reduction while one runs; a
  reject of an order whose cancel runs; a stop placement while one runs for the contract; a stop
  placement or modify for a contract being closed (the close makes the stop moot and would leave it
  behind, D-50); a modify within a second of the previous one for that order (D-29). Stronger actions
  are never covered: a close during a reduction, a flatten during contract closes.
- **Is this order our own?** (`rules.md` §5) An `RM-` tag; or a Market order on the side that reduces
  the position, no larger than the size being closed, for a contract with a close or reduction in
  flight, seen within 10 s of that close's latest request.
- **Has the close landed?** Position events (`observe_position`) set the work's `confirmed` event.

Entries live until the enforcement that created them finishes (spec README "Product decisions"); the
10 s window only limits own-order recognition. Time comes from the injected clock's `monotonic()`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.enums import TERMINAL_STATUSES, EnforcementActionType, OrderSide, OrderType
from simple_risk_manager.domain.models import EnforcementAction, Order, Position

#: An order event counts as the daemon's own close order only this long after the close was requested.
OWN_ORDER_WINDOW_S = 10.0
#: At most one `Order/modify` per order in this interval (D-29).
MODIFY_INTERVAL_S = 1.0

#: `details["op"]` of AUTO_STOP_LOSS decisions (RULE-012's contract, `rules/trade_management.py`).
STOP_PLACE, STOP_MODIFY, STOP_REMOVE = "place", "modify", "remove"


class PositionWorkKind(StrEnum):
    CLOSE = "close"
    REDUCE = "reduce"


@dataclass(eq=False, slots=True)
class PositionWork:
    """A close or reduction of one (account, contract) in flight.

    `side` is the side of the order that reduces the position and `size` the contracts being removed
    (the whole position for a close); both are None until the position is known. The work is confirmed
    once a position event shows at most `target_size` contracts (0 for a close).
    """

    account_id: int
    contract_id: str
    kind: PositionWorkKind
    requested_at: float
    side: OrderSide | None = None
    size: int | None = None
    target_size: int = 0
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)
    #: Set when the owning enforcement is done with this contract; `succeeded` says how it went.
    done: asyncio.Event = field(default_factory=asyncio.Event)
    succeeded: bool = False

    def aim(self, position: Position, size: int | None = None) -> None:
        """Set side and size from the open position: remove `size` contracts, or all of them."""
        removing = position.size if size is None else min(size, position.size)
        self.side = OrderSide.BUY if position.signed_size < 0 else OrderSide.SELL
        self.size = removing
        self.target_size = position.size - removing


@dataclass(eq=False, slots=True)
class FlattenWork:
    """An account-wide flatten in flight. Until `listed`, it will still close every open position."""

    account_id: int
    listed: bool = False
    #: Another flatten arrived meanwhile: run one more pass before finishing (new exposure may exist).
    rerun: bool = False


@dataclass(eq=False, slots=True)
class CancelWork:
    """A cancel of one order in flight; `latest` is the newest state seen of that order."""

    account_id: int
    order_id: int
    latest: Order | None = None
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    def note(self, order: Order) -> None:
        self.latest = order
        if order.status in TERMINAL_STATUSES:
            self.finished.set()

    @property
    def filled_size(self) -> int:
        return 0 if self.latest is None else self.latest.filled_size


@dataclass(eq=False, slots=True)
class PlaceWork:
    """A stop placement in flight, known by its `customTag` until the gateway names its order id."""

    account_id: int
    contract_id: str
    tag: str
    order_id: int | None = None


def _op(decision: EnforcementAction) -> str | None:
    op = decision.details.get("op")
    return op if isinstance(op, str) else None


class InFlightRegistry:
    def __init__(self, clock: Clock, own_order_window_s: float = OWN_ORDER_WINDOW_S,
                 modify_interval_s: float = MODIFY_INTERVAL_S) -> None:
        self._clock = clock
        self._window = own_order_window_s
        self._modify_interval = modify_interval_s
        self._flattens: dict[int, FlattenWork] = {}
        self._position_work: dict[tuple[int, str], list[PositionWork]] = {}
        self._cancels: dict[tuple[int, int], CancelWork] = {}
        self._placements: dict[tuple[int, str], PlaceWork] = {}
        self._modified_at: dict[tuple[int, int], float] = {}

    # --- duplicates -----------------------------------------------------------------------------

    def covering(self, decision: EnforcementAction) -> str | None:
        """Why an in-flight action already covers `decision` (it is absorbed), or None (it runs)."""
        account, contract = decision.account_id, decision.contract_id
        action = decision.action
        if action.is_account_wide:
            return "a flatten of the account is in flight" if account in self._flattens else None
        if action is EnforcementActionType.CLOSE_POSITION and contract is not None:
            return "the contract's close is in flight" if self.closing(account, contract) else None
        if action is EnforcementActionType.REDUCE_TO_LIMIT and contract is not None:
            if self.closing(account, contract):
                return "the contract's close is in flight"
            if self._works(account, contract, PositionWorkKind.REDUCE):
                return "a reduction of the contract is in flight"
            return None
        if action is EnforcementActionType.REJECT_ORDER and decision.order_id is not None:
            return "the order's cancel is in flight" if self.cancelling(account, decision.order_id) else None
        if action is EnforcementActionType.AUTO_STOP_LOSS:
            return self._covering_stop(decision)
        return None

    def _covering_stop(self, decision: EnforcementAction) -> str | None:
        account, contract, order_id = decision.account_id, decision.contract_id, decision.order_id
        op = _op(decision)
        if op == STOP_REMOVE:
            if order_id is not None and self.cancelling(account, order_id):
                return "the stop's cancel is in flight"
            return None
        if contract is not None and self.closing(account, contract):
            return "the contract's close is in flight"
        if op == STOP_PLACE and contract is not None and (account, contract) in self._placements:
            return "a stop placement for the contract is in flight"
        if op == STOP_MODIFY and order_id is not None:
            if self.cancelling(account, order_id):
                return "the stop's cancel is in flight"
            if not self.modify_allowed(account, order_id):
                return f"the stop was modified less than {self._modify_interval:g} s ago"
        return None

    def closing(self, account_id: int, contract_id: str) -> bool:
        """A close of the contract is in flight, or a flatten that will still list it."""
        flatten = self._flattens.get(account_id)
        if flatten is not None and not flatten.listed:
            return True
        return bool(self._works(account_id, contract_id, PositionWorkKind.CLOSE))

    # --- own orders -----------------------------------------------------------------------------

    def is_own_order(self, order: Order) -> bool:
        """`rules.md` §5: an `RM-` tag, or a close order of an in-flight close/reduction."""
        return order.is_own or self.is_close_order(order)

    def is_close_order(self, order: Order) -> bool:
        """A Market order on the reducing side, ≤ the size being removed, ≤ 10 s after the request."""
        if order.type is not OrderType.MARKET:
            return False
        now = self._clock.monotonic()
        return any(
            work.side is order.side and work.size is not None and order.size <= work.size
            and now - work.requested_at <= self._window
            for work in self._position_work.get((order.account_id, order.contract_id), ())
        )

    # --- flattens -------------------------------------------------------------------------------

    def flatten(self, account_id: int) -> FlattenWork | None:
        return self._flattens.get(account_id)

    def start_flatten(self, account_id: int) -> FlattenWork:
        if account_id in self._flattens:
            raise RuntimeError(f"account {account_id}: a flatten is already in flight")
        work = FlattenWork(account_id)
        self._flattens[account_id] = work
        return work

    def end_flatten(self, work: FlattenWork) -> None:
        if self._flattens.get(work.account_id) is work:
            del self._flattens[work.account_id]

    # --- closes and reductions ------------------------------------------------------------------

    def _works(self, account_id: int, contract_id: str,
               kind: PositionWorkKind | None = None) -> list[PositionWork]:
        return [w for w in self._position_work.get((account_id, contract_id), ())
                if kind is None or w.kind is kind]

    def closes(self, account_id: int, contract_id: str) -> list[PositionWork]:
        """The contract's closes in flight (normally at most one)."""
        return self._works(account_id, contract_id, PositionWorkKind.CLOSE)

    def start_position_work(self, account_id: int, contract_id: str, kind: PositionWorkKind,
                            position: Position | None = None, size: int | None = None) -> PositionWork:
        """Register a close (`size` None) or a reduction by `size`, aimed at `position` when known."""
        work = PositionWork(account_id, contract_id, kind, requested_at=self._clock.monotonic())
        if position is not None and position.size > 0:
            work.aim(position, size)
        self._position_work.setdefault((account_id, contract_id), []).append(work)
        return work

    def touch(self, work: PositionWork) -> None:
        """A (re)sent close request: its order is recognised as own for the next 10 s."""
        work.requested_at = self._clock.monotonic()

    def end_position_work(self, work: PositionWork, succeeded: bool) -> None:
        key = (work.account_id, work.contract_id)
        works = self._position_work.get(key, [])
        if work in works:
            works.remove(work)
            if not works:
                del self._position_work[key]
        work.succeeded = succeeded
        work.done.set()

    # --- cancels --------------------------------------------------------------------------------

    def cancelling(self, account_id: int, order_id: int) -> bool:
        return (account_id, order_id) in self._cancels

    def start_cancel(self, account_id: int, order_id: int, known: Order | None = None) -> CancelWork:
        work = CancelWork(account_id, order_id)
        if known is not None:
            work.note(known)
        self._cancels[(account_id, order_id)] = work
        return work

    def end_cancel(self, work: CancelWork) -> None:
        if self._cancels.get((work.account_id, work.order_id)) is work:
            del self._cancels[(work.account_id, work.order_id)]

    # --- stops ----------------------------------------------------------------------------------

    def start_place(self, account_id: int, contract_id: str, tag: str) -> PlaceWork:
        work = PlaceWork(account_id, contract_id, tag)
        self._placements[(account_id, contract_id)] = work
        return work

    def end_place(self, work: PlaceWork) -> None:
        if self._placements.get((work.account_id, work.contract_id)) is work:
            del self._placements[(work.account_id, work.contract_id)]

    def modify_allowed(self, account_id: int, order_id: int) -> bool:
        last = self._modified_at.get((account_id, order_id))
        return last is None or self._clock.monotonic() - last >= self._modify_interval

    def note_modify(self, account_id: int, order_id: int) -> None:
        now = self._clock.monotonic()
        self._modified_at = {k: t for k, t in self._modified_at.items() if now - t < self._modify_interval}
        self._modified_at[(account_id, order_id)] = now

    # --- confirmations --------------------------------------------------------------------------

    def observe_position(self, position: Position) -> None:
        for work in self._position_work.get((position.account_id, position.contract_id), ()):
            if position.size <= work.target_size:
                work.confirmed.set()

    def observe_order(self, order: Order) -> None:
        cancel = self._cancels.get((order.account_id, order.id))
        if cancel is not None:
            cancel.note(order)
        placement = self._placements.get((order.account_id, order.contract_id))
        if placement is not None and order.custom_tag == placement.tag:
            placement.order_id = order.id
