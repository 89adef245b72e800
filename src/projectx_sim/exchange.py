"""The exchange: users, accounts, orders, fills, net positions and realized P&L.

Semantics follow gateway-api.md §5 and the simulator defaults of spec/README.md: market orders fill at
the ask (buy) / bid (sell), falling back to the last price; limit and stop orders trigger on the last
price; one net position per (account, contract) with a volume-weighted average that reductions do not
change; realized P&L is gross on closing fills, fees are charged per contract per side on every fill
and the balance moves by P&L − fees. Every state change is handed to `emit` as one batch of user
events (the dispatcher orders and delays them); failures raise `RejectionError` with a reason that the
REST layer maps to each endpoint's own errorCode.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum, StrEnum, auto
from typing import Any, Protocol

from projectx_sim.config import SimConfig
from projectx_sim.contracts import Contract, ContractBook
from projectx_sim.models import Account, Order, Position, Trade, User
from projectx_sim.wire import (
    LIMIT_LIKE_TYPES,
    MAX_TRAIL_TICKS,
    PLACEABLE_ORDER_TYPES,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
)

CENT = Decimal("0.01")
AVERAGE_QUANTUM = Decimal("0.000000001")
FIRST_USER_ID = 421
FIRST_ACCOUNT_ID = 7001
FIRST_ORDER_ID = 2_200_000_001  # above 2^31: order and trade ids are int64 on the wire
FIRST_TRADE_ID = 3_300_000_001
FIRST_POSITION_ID = 55_001


class Reason(Enum):
    ACCOUNT_NOT_FOUND = auto()
    CONTRACT_NOT_FOUND = auto()
    CONTRACT_NOT_ACTIVE = auto()
    POSITION_NOT_FOUND = auto()
    ORDER_NOT_FOUND = auto()
    INVALID_CLOSE_SIZE = auto()
    ORDER_REJECTED = auto()  # validation or market-state refusal of an order or modification
    ACCOUNT_VIOLATION = auto()  # canTrade is false
    OUTSIDE_TRADING_HOURS = auto()
    ACCOUNT_REJECTED = auto()  # refusals documented for live (non-simulated) accounts
    REFUSED = auto()  # an injected refusal that names its own errorCode


class RejectionError(Exception):
    """A business failure: HTTP 200 with success false and the endpoint's errorCode."""

    def __init__(
        self,
        reason: Reason,
        message: str | None = None,
        *,
        order_id: int | None = None,
        code: int | None = None,
    ) -> None:
        super().__init__(message or reason.name)
        self.reason = reason
        self.message = message
        self.order_id = order_id
        self.code = code


class EventKind(StrEnum):
    ORDER = "order"
    TRADE = "trade"
    POSITION = "position"
    ACCOUNT = "account"


@dataclass(frozen=True, slots=True)
class UserEvent:
    kind: EventKind
    account_id: int
    user_id: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Bbo:
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal


class PriceSource(Protocol):
    def best(self, contract_id: str) -> Bbo | None: ...


@dataclass(frozen=True, slots=True)
class OrderRequest:
    contract_id: str
    type: int
    side: int
    size: int
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    custom_tag: str | None = None
    has_brackets: bool = False


@dataclass(frozen=True, slots=True)
class Modification:
    size: int | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None


def utc_now() -> datetime:
    return datetime.now(UTC)


class Exchange:
    def __init__(
        self,
        config: SimConfig,
        contracts: ContractBook,
        prices: PriceSource,
        emit: Callable[[list[UserEvent]], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._config = config
        self.contracts = contracts
        self._prices = prices
        self._emit = emit
        self._clock = clock
        self.users: dict[int, User] = {}
        self.accounts: dict[int, Account] = {}
        self._users_by_name: dict[str, User] = {}
        self._orders: dict[int, Order] = {}
        self._orders_by_account: dict[int, list[Order]] = {}
        self._working: dict[str, dict[int, Order]] = {}
        self._positions: dict[tuple[int, str], Position] = {}
        self._flat_positions: dict[tuple[int, str], Position] = {}
        self._trades_by_account: dict[int, list[Trade]] = {}
        self._tags: dict[int, set[str]] = {}
        self._cancel_refusals: dict[int, tuple[int, str]] = {}
        self._user_ids = itertools.count(FIRST_USER_ID)
        self._account_ids = itertools.count(FIRST_ACCOUNT_ID)
        self._order_ids = itertools.count(FIRST_ORDER_ID)
        self._trade_ids = itertools.count(FIRST_TRADE_ID)
        self._position_ids = itertools.count(FIRST_POSITION_ID)

    # Users and accounts ---------------------------------------------------------------------------

    def add_user(self, name: str, api_key: str) -> User:
        if not name or name in self._users_by_name:
            raise ValueError(f"user name {name!r} is empty or already taken")
        user = User(id=next(self._user_ids), name=name, api_key=api_key)
        self.users[user.id] = user
        self._users_by_name[name] = user
        return user

    def user_by_name(self, name: str) -> User | None:
        return self._users_by_name.get(name)

    def authenticate(self, name: str, api_key: str) -> User | None:
        user = self._users_by_name.get(name)
        return user if user is not None and user.api_key == api_key else None

    def add_account(
        self,
        user: User,
        name: str | None = None,
        balance: Decimal = Decimal("50000"),
        *,
        can_trade: bool = True,
        is_visible: bool = True,
        simulated: bool = True,
        active: bool = True,
    ) -> Account:
        account_id = next(self._account_ids)
        account = Account(
            id=account_id,
            user_id=user.id,
            name=name or f"SIM-{account_id}",
            balance=balance,
            can_trade=can_trade,
            is_visible=is_visible,
            simulated=simulated,
            active=active,
        )
        self.accounts[account_id] = account
        return account

    def accounts_of(self, user_id: int) -> list[Account]:
        return [a for a in self.accounts.values() if a.user_id == user_id]

    def update_account(self, account: Account, **changes: Any) -> None:
        """Change account flags (canTrade, balance, ...) and publish GatewayUserAccount."""
        for name, value in changes.items():
            if name not in ("name", "balance", "can_trade", "is_visible", "simulated", "active"):
                raise ValueError(f"unknown account field {name!r}")
            setattr(account, name, value)
        self._emit([self._account_event(account)])

    def refuse_cancels(self, account_id: int, code: int, message: str) -> None:
        """Fault hook: every cancel on this account fails with `code` until allowed again."""
        self._cancel_refusals[account_id] = (code, message)

    def allow_cancels(self, account_id: int | None = None) -> None:
        if account_id is None:
            self._cancel_refusals.clear()
        else:
            self._cancel_refusals.pop(account_id, None)

    @property
    def cancel_refusals(self) -> dict[int, tuple[int, str]]:
        return dict(self._cancel_refusals)

    # Queries ----------------------------------------------------------------------------------------

    def open_positions(self, account: Account) -> list[Position]:
        return sorted(
            (p for (acc, _), p in self._positions.items() if acc == account.id),
            key=lambda p: p.id,
        )

    def position(self, account: Account, contract_id: str) -> Position | None:
        return self._positions.get((account.id, contract_id))

    def orders(
        self, account: Account, start: datetime | None = None, end: datetime | None = None
    ) -> list[Order]:
        return [
            o
            for o in self._orders_by_account.get(account.id, [])
            if (start is None or o.created >= start) and (end is None or o.created <= end)
        ]

    def open_orders(self, account: Account) -> list[Order]:
        return [o for o in self._orders_by_account.get(account.id, []) if o.status == OrderStatus.OPEN]

    def order(self, account: Account, order_id: int) -> Order | None:
        order = self._orders.get(order_id)
        return order if order is not None and order.account_id == account.id else None

    def trades(
        self, account: Account, start: datetime | None = None, end: datetime | None = None
    ) -> list[Trade]:
        return [
            t
            for t in self._trades_by_account.get(account.id, [])
            if (start is None or t.created >= start) and (end is None or t.created <= end)
        ]

    # Orders -----------------------------------------------------------------------------------------

    def place(self, account: Account, request: OrderRequest) -> int:
        """Validate and accept an order; market and marketable limit orders fill at once."""
        contract = self._tradable_contract(request.contract_id)
        order_type, side = self._validate_request(account, contract, request)
        bbo = self._quote(contract)
        order = self._new_order(account, contract, order_type, side, request.size)
        order.custom_tag = request.custom_tag
        if order_type == OrderType.LIMIT:
            order.limit_price = request.limit_price
        elif order_type == OrderType.STOP:
            order.stop_price = request.stop_price
        elif order_type == OrderType.JOIN_BID:
            order.limit_price = bbo.bid if bbo.bid is not None else bbo.last
        elif order_type == OrderType.JOIN_ASK:
            order.limit_price = bbo.ask if bbo.ask is not None else bbo.last
        elif order_type == OrderType.TRAILING_STOP:
            assert request.trail_price is not None  # checked by _validate_request
            order.stop_price = request.trail_price
            order.trail_ticks = self._trail_ticks(order, request.trail_price, bbo, guard=True)
        refusal = self._state_refusal(account, order, bbo)
        if refusal is not None:
            order.status = OrderStatus.REJECTED
            self._store(order)
            self._emit([self._order_event(order)])
            raise RejectionError(refusal[0], refusal[1], order_id=order.id)
        self._store(order)
        if request.custom_tag is not None:
            self._tags.setdefault(account.id, set()).add(request.custom_tag)
        if order_type == OrderType.MARKET:
            self._execute_market(order, bbo)
        else:
            self._working.setdefault(contract.id, {})[order.id] = order
            self._emit([self._order_event(order)])
            self._evaluate(order, bbo)
        return order.id

    def cancel(self, account: Account, order_id: int) -> None:
        refusal = self._cancel_refusals.get(account.id)
        if refusal is not None:
            raise RejectionError(Reason.REFUSED, refusal[1], code=refusal[0])
        if not account.simulated:
            raise RejectionError(
                Reason.ACCOUNT_REJECTED, "Order cancellation is available only for simulated accounts."
            )
        order = self._open_order(account, order_id)
        order.status = OrderStatus.CANCELLED
        order.updated = self._clock()
        self._unwork(order)
        self._emit([self._order_event(order)])

    def modify(self, account: Account, order_id: int, change: Modification) -> None:
        """Change size/prices of an open order; omitted (None) fields stay as they are."""
        if not account.simulated and self._config.live_modify_refused:
            raise RejectionError(
                Reason.ACCOUNT_REJECTED, "Order modification is not available for live accounts."
            )
        order = self._open_order(account, order_id)
        contract = order.contract
        bbo = self._quote(contract)
        if change.size is not None and change.size <= 0:
            raise RejectionError(Reason.ORDER_REJECTED, "Order size must be greater than zero.")
        limit, stop = order.limit_price, order.stop_price
        trail_ticks = order.trail_ticks
        if change.limit_price is not None:
            if order.type not in LIMIT_LIKE_TYPES:
                raise RejectionError(
                    Reason.ORDER_REJECTED, f"limitPrice does not apply to a {order.type.name} order."
                )
            self._check_price(contract, "limitPrice", change.limit_price)
            limit = change.limit_price
        if change.stop_price is not None:
            if order.type != OrderType.STOP:
                raise RejectionError(
                    Reason.ORDER_REJECTED, f"stopPrice does not apply to a {order.type.name} order."
                )
            self._check_price(contract, "stopPrice", change.stop_price)
            stop = change.stop_price
            stop_error = self._stop_side_error(order.is_buy, stop, bbo)
            if stop_error is not None:
                raise RejectionError(Reason.ORDER_REJECTED, stop_error)
        if change.trail_price is not None:
            if order.type != OrderType.TRAILING_STOP:
                raise RejectionError(
                    Reason.ORDER_REJECTED, f"trailPrice does not apply to a {order.type.name} order."
                )
            self._check_price(contract, "trailPrice", change.trail_price)
            trail_ticks = self._trail_ticks(order, change.trail_price, bbo, guard=False)
            stop = change.trail_price
        order.size = change.size if change.size is not None else order.size
        order.limit_price, order.stop_price, order.trail_ticks = limit, stop, trail_ticks
        order.updated = self._clock()
        self._emit([self._order_event(order)])
        self._evaluate(order, bbo)

    # Positions --------------------------------------------------------------------------------------

    def close_contract(self, account: Account, contract_id: str) -> None:
        """Flatten one contract with a market order on the opposite side (§2.3)."""
        contract = self._tradable_contract(contract_id)
        if not account.simulated and self._config.live_close_refused:
            raise RejectionError(
                Reason.ACCOUNT_REJECTED, "Closing positions is not available for live accounts."
            )
        position = self._positions.get((account.id, contract.id))
        if position is None:
            raise RejectionError(Reason.POSITION_NOT_FOUND)
        self._close(account, contract, position, position.size, "Market is closed.")

    def partial_close(self, account: Account, contract_id: str, size: int) -> None:
        if not account.simulated:
            raise RejectionError(Reason.ACCOUNT_REJECTED, "Partial close is not available for live accounts.")
        contract = self._tradable_contract(contract_id)
        position = self._positions.get((account.id, contract.id))
        if position is None:
            raise RejectionError(Reason.POSITION_NOT_FOUND)
        if size <= 0 or size > position.size:
            raise RejectionError(
                Reason.INVALID_CLOSE_SIZE, f"Close size must be between 1 and {position.size}."
            )
        self._close(account, contract, position, size, None)

    def _close(
        self, account: Account, contract: Contract, position: Position, size: int, closed_message: str | None
    ) -> None:
        bbo = self._prices.best(contract.id)
        if bbo is None or not self._config.market_open:
            raise RejectionError(Reason.ORDER_REJECTED, closed_message)
        side = OrderSide.ASK if position.type == PositionType.LONG else OrderSide.BID
        order = self._new_order(account, contract, OrderType.MARKET, side, size)
        self._store(order)
        self._execute_market(order, bbo)

    def _execute_market(self, order: Order, bbo: Bbo) -> None:
        """A market order: its Open event (switchable), then the fill at the touch."""
        if self._config.market_order_open_event:
            self._emit([self._order_event(order)])
        self._fill(order, self._market_price(order.side, bbo))

    # Market data → working orders ----------------------------------------------------------------

    def on_price(self, contract_id: str) -> None:
        """A price moved: trail trailing stops and fill the limit/stop orders it triggers."""
        working = self._working.get(contract_id)
        if not working:
            return
        bbo = self._prices.best(contract_id)
        if bbo is None:
            return
        for order in list(working.values()):
            if order.status == OrderStatus.OPEN:
                self._evaluate(order, bbo)

    def _evaluate(self, order: Order, bbo: Bbo) -> None:
        last = bbo.last
        if order.type in LIMIT_LIKE_TYPES:
            limit = order.limit_price
            assert limit is not None
            if order.is_buy and last <= limit:
                self._fill(order, min(limit, last))
            elif not order.is_buy and last >= limit:
                self._fill(order, max(limit, last))
            return
        if order.type == OrderType.TRAILING_STOP:
            self._trail(order, last)
        stop = order.stop_price
        assert stop is not None
        if (order.is_buy and last >= stop) or (not order.is_buy and last <= stop):
            self._fill(order, self._market_price(order.side, bbo))

    def _trail(self, order: Order, last: Decimal) -> None:
        assert order.trail_ticks is not None and order.stop_price is not None
        distance = order.trail_ticks * order.contract.tick_size
        level = last + distance if order.is_buy else last - distance
        if (order.is_buy and level < order.stop_price) or (not order.is_buy and level > order.stop_price):
            order.stop_price = level
            order.updated = self._clock()
            self._emit([self._order_event(order)])

    # Fills ------------------------------------------------------------------------------------------

    def _fill(self, order: Order, price: Decimal) -> None:
        """Fill the rest of an order at `price`; emits order, trade(s), position(s), account."""
        account = self.accounts[order.account_id]
        contract = order.contract
        now = self._clock()
        quantity = order.remaining
        key = (account.id, contract.id)
        position = self._positions.get(key)
        trades: list[Trade] = []
        position_events: list[UserEvent] = []
        buying = order.is_buy
        if position is not None and (position.type == PositionType.LONG) != buying:
            closing = min(position.size, quantity)
            opening = quantity - closing
            direction = 1 if position.type == PositionType.LONG else -1
            pnl = (
                (price - position.average_price)
                * direction
                * closing
                * contract.tick_value
                / contract.tick_size
            )
            pnl = pnl.quantize(CENT)
            if opening and self._config.reversal_trades == "one":
                trades.append(self._trade(order, price, quantity, pnl, now))
            else:
                trades.append(self._trade(order, price, closing, pnl, now))
                if opening:
                    trades.append(self._trade(order, price, opening, None, now))
            position.size -= closing
            if position.size == 0:
                del self._positions[key]
                self._flat_positions[key] = position
                flat_type = PositionType.UNDEFINED if self._config.flat_position_type == "zero" else None
                position_events.append(self._event(EventKind.POSITION, account, position.to_wire(flat_type)))
            else:
                position_events.append(self._event(EventKind.POSITION, account, position.to_wire()))
            if opening:
                opened = self._open_position(
                    account, contract, long=buying, size=opening, price=price, now=now
                )
                position_events.append(self._event(EventKind.POSITION, account, opened.to_wire()))
        else:
            trades.append(self._trade(order, price, quantity, None, now))
            if position is None:
                position = self._open_position(
                    account, contract, long=buying, size=quantity, price=price, now=now
                )
            else:
                total = position.size + quantity
                average = (position.average_price * position.size + price * quantity) / total
                position.average_price = average.quantize(AVERAGE_QUANTUM)
                position.size = total
            position_events.append(self._event(EventKind.POSITION, account, position.to_wire()))
        order.fill_volume += quantity
        order.filled_price = price
        order.status = OrderStatus.FILLED
        order.updated = now
        self._unwork(order)
        for trade in trades:
            account.balance = (account.balance + (trade.profit_and_loss or 0) - trade.fees).quantize(CENT)
        self._trades_by_account.setdefault(account.id, []).extend(trades)
        self._emit(
            [
                self._order_event(order),
                *(self._event(EventKind.TRADE, account, t.to_wire()) for t in trades),
                *position_events,
                self._account_event(account),
            ]
        )

    def _trade(self, order: Order, price: Decimal, size: int, pnl: Decimal | None, now: datetime) -> Trade:
        fee = self._config.fee_micro if order.contract.instrument.micro else self._config.fee_full
        return Trade(
            id=next(self._trade_ids),
            account_id=order.account_id,
            contract_id=order.contract.id,
            created=now,
            price=price,
            profit_and_loss=pnl,
            fees=(fee * size).quantize(CENT),
            side=order.side,
            size=size,
            order_id=order.id,
        )

    def _open_position(
        self, account: Account, contract: Contract, *, long: bool, size: int, price: Decimal, now: datetime
    ) -> Position:
        key = (account.id, contract.id)
        previous = self._flat_positions.pop(key, None)
        reuse = previous is not None and self._config.position_id_on_reopen == "reuse"
        position = Position(
            id=previous.id if reuse and previous is not None else next(self._position_ids),
            account_id=account.id,
            contract_id=contract.id,
            created=now,
            type=PositionType.LONG if long else PositionType.SHORT,
            size=size,
            average_price=price,
        )
        self._positions[key] = position
        return position

    # Helpers ----------------------------------------------------------------------------------------

    def _tradable_contract(self, contract_id: str) -> Contract:
        contract = self.contracts.get(contract_id)
        if contract is None:
            raise RejectionError(Reason.CONTRACT_NOT_FOUND)
        if not contract.active:
            raise RejectionError(Reason.CONTRACT_NOT_ACTIVE, f"Contract {contract_id} is not active.")
        return contract

    def _validate_request(
        self, account: Account, contract: Contract, request: OrderRequest
    ) -> tuple[OrderType, OrderSide]:
        """Parameter checks: failures reject without creating an order (orderId null)."""
        if request.type not in PLACEABLE_ORDER_TYPES:
            raise RejectionError(Reason.ORDER_REJECTED, f"Order type {request.type} is not supported.")
        if request.side not in (OrderSide.BID, OrderSide.ASK):
            raise RejectionError(Reason.ORDER_REJECTED, f"Order side {request.side} is not valid.")
        if request.size <= 0:
            raise RejectionError(Reason.ORDER_REJECTED, "Order size must be greater than zero.")
        if request.has_brackets:
            raise RejectionError(
                Reason.ORDER_REJECTED,
                "Brackets are accepted only when the account is in Auto OCO Brackets mode.",
            )
        order_type = OrderType(request.type)
        required = {
            OrderType.LIMIT: ("limitPrice", request.limit_price),
            OrderType.STOP: ("stopPrice", request.stop_price),
            OrderType.TRAILING_STOP: ("trailPrice", request.trail_price),
        }.get(order_type)
        if required is not None:
            field_name, price = required
            if price is None:
                raise RejectionError(
                    Reason.ORDER_REJECTED, f"{field_name} is required for a {order_type.name} order."
                )
            self._check_price(contract, field_name, price)
        tag = request.custom_tag
        if tag is not None and tag in self._tags.get(account.id, set()):
            raise RejectionError(
                Reason.ORDER_REJECTED, f"An order with customTag '{tag}' already exists on this account."
            )
        return order_type, OrderSide(request.side)

    def _state_refusal(self, account: Account, order: Order, bbo: Bbo) -> tuple[Reason, str] | None:
        """Account and market-state checks: failures leave a Rejected order behind."""
        if not account.can_trade:
            return Reason.ACCOUNT_VIOLATION, "The account is not allowed to trade (canTrade is false)."
        if not self._config.market_open:
            return Reason.OUTSIDE_TRADING_HOURS, "The market is closed."
        if order.type == OrderType.STOP:
            assert order.stop_price is not None
            stop_error = self._stop_side_error(order.is_buy, order.stop_price, bbo)
            if stop_error is not None:
                return Reason.ORDER_REJECTED, stop_error
        return None

    @staticmethod
    def _check_price(contract: Contract, field_name: str, price: Decimal) -> None:
        if contract.ticks(price) is None:
            raise RejectionError(
                Reason.ORDER_REJECTED,
                f"{field_name} {price} is not a positive multiple of the tick size {contract.tick_size}.",
            )

    @staticmethod
    def _stop_side_error(buy: bool, stop: Decimal, bbo: Bbo) -> str | None:
        """A stop already through the market is refused, as exchanges refuse such stops."""
        if buy and stop <= bbo.last:
            return f"A buy stop must be above the last price {bbo.last}."
        if not buy and stop >= bbo.last:
            return f"A sell stop must be below the last price {bbo.last}."
        return None

    @staticmethod
    def _trail_ticks(order: Order, level: Decimal, bbo: Bbo, *, guard: bool) -> int:
        """Convert a trail price level to a tick distance from the last price (§2.4)."""
        distance = (level - bbo.last) if order.is_buy else (bbo.last - level)
        if distance <= 0:
            where = "above" if order.is_buy else "below"
            raise RejectionError(
                Reason.ORDER_REJECTED, f"trailPrice must be {where} the last price {bbo.last}."
            )
        ticks = int(distance / order.contract.tick_size)
        if guard and ticks > MAX_TRAIL_TICKS:
            raise RejectionError(
                Reason.ORDER_REJECTED, f"trailPrice is more than {MAX_TRAIL_TICKS} ticks away."
            )
        return ticks

    def _quote(self, contract: Contract) -> Bbo:
        bbo = self._prices.best(contract.id)
        if bbo is None:
            raise RejectionError(Reason.ORDER_REJECTED, f"No market data for {contract.id}.")
        return bbo

    @staticmethod
    def _market_price(side: OrderSide, bbo: Bbo) -> Decimal:
        touch = bbo.ask if side == OrderSide.BID else bbo.bid
        return touch if touch is not None else bbo.last

    def _open_order(self, account: Account, order_id: int) -> Order:
        order = self.order(account, order_id)
        if order is None:
            raise RejectionError(Reason.ORDER_NOT_FOUND)
        if order.status != OrderStatus.OPEN:
            raise RejectionError(
                Reason.ORDER_REJECTED, f"Order {order_id} is not open (status {order.status.name})."
            )
        return order

    def _new_order(
        self, account: Account, contract: Contract, order_type: OrderType, side: OrderSide, size: int
    ) -> Order:
        now = self._clock()
        return Order(
            id=next(self._order_ids),
            account_id=account.id,
            contract=contract,
            created=now,
            updated=now,
            status=OrderStatus.OPEN,
            type=order_type,
            side=side,
            size=size,
        )

    def _store(self, order: Order) -> None:
        self._orders[order.id] = order
        self._orders_by_account.setdefault(order.account_id, []).append(order)

    def _unwork(self, order: Order) -> None:
        working = self._working.get(order.contract.id)
        if working is not None:
            working.pop(order.id, None)

    def _event(self, kind: EventKind, account: Account, payload: dict[str, Any]) -> UserEvent:
        return UserEvent(kind=kind, account_id=account.id, user_id=account.user_id, payload=payload)

    def _order_event(self, order: Order) -> UserEvent:
        return self._event(EventKind.ORDER, self.accounts[order.account_id], order.to_wire())

    def _account_event(self, account: Account) -> UserEvent:
        return self._event(EventKind.ACCOUNT, account, account.to_wire())
