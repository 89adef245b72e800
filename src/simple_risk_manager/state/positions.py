"""MOD-009 State Manager: the in-memory mirror of what the gateway says each account holds.

Positions per (account, contract), orders per account by id, and account flags. Only the dispatcher
mutates it (`modules.md` §0); rules read the frozen objects it hands out. It does no I/O: the store
persists what `take_dirty()` reports, and a reconcile's differences come back from
`replace_from_rest()` as synthesized events that the pipeline applies like any hub event.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, TypeVar

from simple_risk_manager.domain.enums import TERMINAL_STATUSES, OrderSide, OrderStatus, PositionType
from simple_risk_manager.domain.events import OrderUpdated, PositionUpdated
from simple_risk_manager.domain.models import Account, Order, Position
from simple_risk_manager.domain.times import ensure_utc

_Item = TypeVar("_Item", Position, Order)

#: How many terminal order ids (with their last update time) are remembered per account, so that a
#: late, older event of an order already finished cannot resurrect it as a ghost working order.
TERMINAL_MEMORY = 1000


class PositionTransition(StrEnum):
    """What a position event did to the (account, contract) mirror (`modules.md` MOD-009)."""

    OPENED = "opened"
    INCREASED = "increased"
    REDUCED = "reduced"
    FLIPPED = "flipped"
    CLOSED = "closed"
    #: Size and direction as before (another field may have changed), or a close of nothing held.
    UNCHANGED = "unchanged"


class OrderChange(StrEnum):
    """What an order event did to the mirror."""

    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"
    #: Older (`updated_at`) than what the mirror already knows for that order: ignored.
    STALE = "stale"
    #: A terminal status for an order the mirror does not hold (e.g. a market order filled at once).
    NOT_HELD = "not_held"


class CountType(StrEnum):
    """RULE-001 `count_type` (D-08)."""

    GROSS = "gross"
    NET = "net"


class CanTradeChange(NamedTuple):
    """`canTrade` before (None for the first report of the account) and after an account event."""

    previous: bool | None
    current: bool | None  # None: the event did not say (RULE-010 fails open)


@dataclass(frozen=True, slots=True)
class StateChanges:
    """Rows the store must write or delete since the last `take_dirty()` (batched, `storage.md` §4)."""

    positions: tuple[Position, ...]
    deleted_position_ids: frozenset[int]
    orders: tuple[Order, ...]
    deleted_order_ids: frozenset[int]

    @property
    def is_empty(self) -> bool:
        return not (self.positions or self.deleted_position_ids or self.orders or self.deleted_order_ids)


@dataclass(slots=True)
class _AccountMirror:
    positions: dict[str, Position]
    first_seen: dict[str, datetime]
    orders: dict[int, Order]
    #: Terminal order id → its terminal event's `updated_at` (bounded by TERMINAL_MEMORY).
    finished: dict[int, datetime]
    account: Account | None = None


def _is_terminal(order: Order) -> bool:
    """Filled, cancelled, expired or rejected; every other code (unknown ones too) is mirrored."""
    return order.status in TERMINAL_STATUSES


def _closing_side(position: Position) -> OrderSide:
    """The side that reduces a position: sell (Ask) for a long, buy (Bid) for a short."""
    return OrderSide.SELL if position.type is PositionType.LONG else OrderSide.BUY


def _transition(old: Position | None, new: Position) -> PositionTransition:
    if new.size == 0:
        return PositionTransition.UNCHANGED if old is None else PositionTransition.CLOSED
    if old is None:
        return PositionTransition.OPENED
    if old.type is not new.type:
        return PositionTransition.FLIPPED
    if new.size > old.size:
        return PositionTransition.INCREASED
    if new.size < old.size:
        return PositionTransition.REDUCED
    return PositionTransition.UNCHANGED


def _of_account(account_id: int, items: Iterable[_Item], what: str) -> list[_Item]:
    """REST results of one account; an item of another account is a caller bug, reported by name."""
    result = list(items)
    for item in result:
        if item.account_id != account_id:
            raise ValueError(f"replace_from_rest: {what} {item.id} belongs to account {item.account_id}, "
                             f"not {account_id}")
    return result


def _position_fields(p: Position) -> tuple[object, ...]:
    """The fields a reconcile compares (times differ in precision between REST and the store)."""
    return (p.id, p.type, p.size, p.average_price)


def _order_fields(o: Order) -> tuple[object, ...]:
    return (o.contract_id, o.type, o.side, o.size, o.status, o.limit_price, o.stop_price,
            o.filled_size, o.fill_price, o.custom_tag)


class StateManager:
    """Positions, mirrored orders and account flags of the monitored accounts."""

    def __init__(self) -> None:
        self._accounts: dict[int, _AccountMirror] = {}
        self._dirty_positions: dict[int, Position] = {}
        self._deleted_positions: set[int] = set()
        self._dirty_orders: dict[int, Order] = {}
        self._deleted_orders: set[int] = set()

    # --- mutations (dispatcher only) -----------------------------------------------------------

    def apply_position(self, position: Position, now: datetime) -> PositionTransition:
        """Upsert, or delete on size 0 whatever its `type`; `now` stamps `first_seen_at` on open/flip."""
        mirror = self._mirror(position.account_id)
        contract = position.contract_id
        old = mirror.positions.get(contract)
        transition = _transition(old, position)
        if position.size == 0:
            if old is not None:
                del mirror.positions[contract]
                mirror.first_seen.pop(contract, None)
                self._mark_position_deleted(old.id)
        else:
            mirror.positions[contract] = position
            if transition in (PositionTransition.OPENED, PositionTransition.FLIPPED):
                mirror.first_seen[contract] = ensure_utc(now)
            if old is not None and old.id != position.id:
                self._mark_position_deleted(old.id)
            self._mark_position_dirty(position)
        if transition is not PositionTransition.UNCHANGED:
            self._refresh_stop_flags(mirror, contract)
        return transition

    def apply_order(self, order: Order) -> OrderChange:
        """Upsert while non-terminal, delete on a terminal status; ignore an event older than the mirror."""
        mirror = self._mirror(order.account_id)
        held = mirror.orders.get(order.id)
        if held is not None and order.updated_at < held.updated_at:
            return OrderChange.STALE
        finished_at = mirror.finished.get(order.id)
        if (held is None and finished_at is not None and not _is_terminal(order)
                and order.updated_at <= finished_at):
            return OrderChange.STALE  # a late event of an order already finished: no ghost order
        if _is_terminal(order):
            self._remember_finished(mirror, order)
            if held is None:
                return OrderChange.NOT_HELD
            del mirror.orders[order.id]
            self._mark_order_deleted(order.id)
            return OrderChange.REMOVED
        mirror.finished.pop(order.id, None)
        stored = order.with_stop_flag(self._is_stop_loss(mirror, order))
        mirror.orders[order.id] = stored
        self._mark_order_dirty(stored)
        return OrderChange.ADDED if held is None else OrderChange.UPDATED

    def apply_account(self, account: Account) -> CanTradeChange:
        """Store the account's flags; RULE-010 reacts to the `canTrade` change returned."""
        mirror = self._mirror(account.id)
        previous = mirror.account.can_trade if mirror.account is not None else None
        mirror.account = account
        return CanTradeChange(previous, account.can_trade)

    def load(self, positions: Iterable[Position], orders: Iterable[Order], now: datetime) -> None:
        """Startup: the stored rows, provisional until the first reconcile; nothing is marked dirty."""
        for position in positions:
            if position.size == 0:
                raise ValueError(f"positions row {position.id}: size 0 rows are never stored")
            mirror = self._mirror(position.account_id)
            mirror.positions[position.contract_id] = position
            mirror.first_seen[position.contract_id] = ensure_utc(now)
        for order in orders:
            self._mirror(order.account_id).orders[order.id] = order
        for mirror in self._accounts.values():
            for contract in {o.contract_id for o in mirror.orders.values()}:
                self._refresh_stop_flags(mirror, contract)

    def take_dirty(self) -> StateChanges:
        """Rows changed or deleted since the last call; the store's batched writer persists them."""
        changes = StateChanges(
            positions=tuple(self._dirty_positions.values()),
            deleted_position_ids=frozenset(self._deleted_positions),
            orders=tuple(self._dirty_orders.values()),
            deleted_order_ids=frozenset(self._deleted_orders),
        )
        self._dirty_positions.clear()
        self._deleted_positions.clear()
        self._dirty_orders.clear()
        self._deleted_orders.clear()
        return changes

    # --- reconcile ----------------------------------------------------------------------------

    def replace_from_rest(self, account_id: int, positions: Iterable[Position], orders: Iterable[Order],
                          now: datetime) -> list[PositionUpdated | OrderUpdated]:
        """The events that turn the mirror into the REST truth (`Position/searchOpen`, `Order/searchOpen`).

        Nothing is changed here: the pipeline applies each event with `apply_position`/`apply_order`
        (state step of `daemon.md` §5), so rules see the transitions. Position events come first,
        the largest reductions first (a roll closed and re-opened while disconnected never looks
        like extra contracts), then order removals, then new or changed orders. A position REST no
        longer lists becomes a size-0 close; an order it no longer lists becomes a CANCELLED event
        (REST cannot say whether it was filled or cancelled) stamped with the order's own last update
        time, so its later hub events still apply — Suspended bracket children, which `searchOpen`
        misses, reappear that way (`modules.md` MOD-009).
        """
        now = ensure_utc(now)
        mirror = self._mirror(account_id)
        rest_positions = {p.contract_id: p for p in _of_account(account_id, positions, "position")}
        rest_orders = {o.id: o for o in _of_account(account_id, orders, "order")}

        position_events: list[tuple[int, str, Position]] = []
        for contract, old in mirror.positions.items():
            if contract not in rest_positions:
                closed = replace(old, size=0, updated_at=max(now, old.updated_at))
                position_events.append((-old.size, contract, closed))
        for contract, new in rest_positions.items():
            if new.size == 0:
                continue
            held = mirror.positions.get(contract)
            if held is None or _position_fields(held) != _position_fields(new):
                position_events.append((new.size - (held.size if held else 0), contract, new))
        position_events.sort(key=lambda item: (item[0], item[1]))

        removals = [
            replace(held, status=OrderStatus.CANCELLED)
            for order_id, held in sorted(mirror.orders.items()) if order_id not in rest_orders
        ]
        changed = [
            new for order_id, new in sorted(rest_orders.items())
            if order_id not in mirror.orders or _order_fields(mirror.orders[order_id]) != _order_fields(new)
        ]
        events: list[PositionUpdated | OrderUpdated] = [PositionUpdated(p) for _, _, p in position_events]
        events.extend(OrderUpdated(o) for o in removals + changed)
        return events

    # --- reads ---------------------------------------------------------------------------------

    def account(self, account_id: int) -> Account | None:
        mirror = self._accounts.get(account_id)
        return mirror.account if mirror is not None else None

    def account_ids(self) -> tuple[int, ...]:
        return tuple(sorted(self._accounts))

    def positions(self, account_id: int) -> tuple[Position, ...]:
        """Open positions of the account, ordered by contract id."""
        mirror = self._accounts.get(account_id)
        if mirror is None:
            return ()
        return tuple(mirror.positions[c] for c in sorted(mirror.positions))

    def position(self, account_id: int, contract_id: str) -> Position | None:
        mirror = self._accounts.get(account_id)
        return mirror.positions.get(contract_id) if mirror is not None else None

    def first_seen_at(self, account_id: int, contract_id: str) -> datetime | None:
        """Local time the current position was opened or flipped (or loaded at startup)."""
        mirror = self._accounts.get(account_id)
        return mirror.first_seen.get(contract_id) if mirror is not None else None

    def orders(self, account_id: int) -> tuple[Order, ...]:
        """Every mirrored order (PendingCancellation and unknown codes too), by id."""
        mirror = self._accounts.get(account_id)
        if mirror is None:
            return ()
        return tuple(mirror.orders[i] for i in sorted(mirror.orders))

    def order(self, account_id: int, order_id: int) -> Order | None:
        """One mirrored order by id (None when the mirror does not hold it)."""
        mirror = self._accounts.get(account_id)
        return mirror.orders.get(order_id) if mirror is not None else None

    def working_orders(self, account_id: int, contract_id: str | None = None) -> tuple[Order, ...]:
        """Orders the rules treat as working: status Open, Pending or Suspended (`rules.md` §0)."""
        return tuple(o for o in self.orders(account_id)
                     if o.is_working and (contract_id is None or o.contract_id == contract_id))

    def has_stop(self, account_id: int, contract_id: str) -> bool:
        """Whether a working stop protects the account's position in the contract (RULE-008)."""
        return any(o.is_stop_loss for o in self.working_orders(account_id, contract_id))

    def contract_count(self, account_id: int, mode: CountType | str) -> int:
        """`gross` = Σ size; `net` = |Σ(+size long, −size short)| over all contracts (D-08)."""
        try:
            count_type = CountType(mode)
        except ValueError:
            raise ValueError(f"contract_count: mode must be 'gross' or 'net' (got {mode!r})") from None
        positions = self.positions(account_id)
        if count_type is CountType.GROSS:
            return sum(p.size for p in positions)
        return abs(sum(p.signed_size for p in positions))

    def root_count(self, account_id: int, root: str, root_of: Callable[[str], str]) -> int:
        """Σ size over the account's contracts whose symbol root is `root` (all expiries, D-10)."""
        return sum(p.size for p in self.positions(account_id) if root_of(p.contract_id) == root)

    def holds(self, account_id: int, contract_id: str) -> bool:
        """The account holds a position or a working order in the contract (its quotes concern it)."""
        mirror = self._accounts.get(account_id)
        if mirror is None:
            return False
        return contract_id in mirror.positions or any(
            o.contract_id == contract_id and o.is_working for o in mirror.orders.values())

    def held_contracts(self) -> frozenset[str]:
        """Contracts in which any account holds a position or a working order (quote subscriptions)."""
        held: set[str] = set()
        for mirror in self._accounts.values():
            held.update(mirror.positions)
            held.update(o.contract_id for o in mirror.orders.values() if o.is_working)
        return frozenset(held)

    # --- internals -----------------------------------------------------------------------------

    def _mirror(self, account_id: int) -> _AccountMirror:
        mirror = self._accounts.get(account_id)
        if mirror is None:
            mirror = self._accounts[account_id] = _AccountMirror(positions={}, first_seen={}, orders={},
                                                                 finished={})
        return mirror

    @staticmethod
    def _is_stop_loss(mirror: _AccountMirror, order: Order) -> bool:
        if not (order.is_working and order.is_stop_type):
            return False
        position = mirror.positions.get(order.contract_id)
        return position is not None and order.side is _closing_side(position)

    def _refresh_stop_flags(self, mirror: _AccountMirror, contract_id: str) -> None:
        for order_id, order in mirror.orders.items():
            if order.contract_id == contract_id:
                mirror.orders[order_id] = order.with_stop_flag(self._is_stop_loss(mirror, order))

    @staticmethod
    def _remember_finished(mirror: _AccountMirror, order: Order) -> None:
        previous = mirror.finished.pop(order.id, None)
        mirror.finished[order.id] = order.updated_at if previous is None else max(previous, order.updated_at)
        while len(mirror.finished) > TERMINAL_MEMORY:
            del mirror.finished[next(iter(mirror.finished))]

    def _mark_position_dirty(self, position: Position) -> None:
        self._deleted_positions.discard(position.id)
        self._dirty_positions[position.id] = position

    def _mark_position_deleted(self, position_id: int) -> None:
        self._dirty_positions.pop(position_id, None)
        self._deleted_positions.add(position_id)

    def _mark_order_dirty(self, order: Order) -> None:
        self._deleted_orders.discard(order.id)
        self._dirty_orders[order.id] = order

    def _mark_order_deleted(self, order_id: int) -> None:
        self._dirty_orders.pop(order_id, None)
        self._deleted_orders.add(order_id)
