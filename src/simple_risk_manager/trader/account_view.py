"""One account as the dashboard knows it: rebuilt from a snapshot (or the saved state), then kept up to
date by the account's events (`broadcast-api.md` §4.4, §5).

Every `apply_*` takes the event's `data` and raises `ValueError` naming the field when it breaks the
contract; the caller drops that event. Nothing here reads a clock: times come from the events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, TypeVar

from simple_risk_manager.domain import payload
from simple_risk_manager.domain.enums import TERMINAL_STATUSES, LockoutKind
from simple_risk_manager.domain.models import ContractMetadata, EnforcementLog, Lockout, Order, Trade
from simple_risk_manager.domain.money import ZERO
from simple_risk_manager.domain.payload import Data
from simple_risk_manager.domain.times import parse_date
from simple_risk_manager.trader import payloads
from simple_risk_manager.trader.payloads import PositionLine, RuleGauge

T = TypeVar("T")

#: Most history rows kept per account (the snapshot sends ≤ 200 trades and ≤ 50 enforcement rows).
HISTORY_LIMIT: Final = 200
TRADES_LIMIT: Final = 200


class DataSource(StrEnum):
    LIVE = "live"
    SAVED = "database"


class AccountStatus(StrEnum):
    OK = "OK"
    LOCKED = "LOCKED"
    COOLDOWN = "COOLDOWN"


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One row of History → Enforcement: an enforcement row, a lockout set or cleared, or an alert.

    `from_log` rows mirror the daemon's `enforcement_log` and are replaced by each snapshot; the
    others exist only in this dashboard's memory.
    """

    time: datetime
    rule_id: str
    action: str
    reason: str
    result: str
    duration_ms: int | None = None
    from_log: bool = False


def enforcement_entry(log: EnforcementLog) -> HistoryEntry:
    result = log.outcome
    parts = []
    if log.positions_closed:
        parts.append(f"closed {log.positions_closed}")
    if log.orders_cancelled:
        parts.append(f"cancelled {log.orders_cancelled}")
    if log.cleared_by:
        parts.append(f"by {log.cleared_by}")
    if log.error_message:
        parts.append(log.error_message)
    if parts:
        result += " (" + ", ".join(parts) + ")"
    return HistoryEntry(time=log.timestamp, rule_id=log.rule_id, action=log.action, reason=log.reason,
                        result=result, duration_ms=log.execution_time_ms, from_log=True)


@dataclass(slots=True)
class AccountView:
    account_id: int
    source: DataSource
    nickname: str | None = None
    can_trade: bool | None = None
    balance: Decimal | None = None
    trading_date: date | None = None
    next_reset_at: datetime | None = None
    realized_pnl: Decimal = ZERO
    gross_pnl: Decimal = ZERO
    fees: Decimal = ZERO
    trade_count: int = 0
    trade_counts: dict[str, int] = field(default_factory=dict)
    lockouts: dict[int, Lockout] = field(default_factory=dict)
    #: Open positions by contract (the broker nets one position per contract and account).
    positions: dict[str, PositionLine] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)
    contracts: dict[str, ContractMetadata] = field(default_factory=dict)
    rules: dict[str, RuleGauge] = field(default_factory=dict)
    rules_as_of: datetime | None = None
    #: The trading day's fills, newest first.
    trades: list[Trade] = field(default_factory=list)
    #: Newest first.
    history: list[HistoryEntry] = field(default_factory=list)
    stale: bool = False
    #: Saved state only: the trading day ended while the daemon was down, so today's values are 0.
    day_rolled: bool = False
    #: Items of the snapshot or saved state that could not be read, for the connection panel.
    problems: list[str] = field(default_factory=list)

    # --- reading -------------------------------------------------------------------------------

    def active_lockouts(self, now: datetime) -> list[Lockout]:
        """Active records, the effective one first (a `condition` record, else the one ending last)."""
        active = [record for record in self.lockouts.values() if record.is_active(now)]
        return sorted(active, key=_effective_order)

    def status(self, now: datetime) -> AccountStatus:
        active = self.active_lockouts(now)
        if not active:
            return AccountStatus.OK
        return AccountStatus.COOLDOWN if active[0].kind == LockoutKind.DURATION else AccountStatus.LOCKED

    def contract_name(self, contract_id: str) -> str:
        """`MESH5`; without metadata the id's last two parts (`MNQ.Z26` of `CON.F.US.MNQ.Z26`)."""
        contract = self.contracts.get(contract_id)
        if contract is not None and contract.name:
            return contract.name
        return ".".join(contract_id.split(".")[-2:])

    def open_contracts(self) -> int:
        """Σ position sizes (gross count)."""
        return sum(line.position.size for line in self.positions.values())

    # --- building ------------------------------------------------------------------------------

    @classmethod
    def from_snapshot(cls, data: Data, received_at: datetime) -> AccountView:
        """One AccountSnapshot (§4.4); items that cannot be read are skipped and listed in `problems`."""
        account_id = payload.integer(data, "account_id")
        view = cls(account_id=account_id, source=DataSource.LIVE,
                   nickname=payload.opt_text(data, "nickname"), stale=payload.flag(data, "stale"),
                   rules_as_of=received_at)
        problems = view.problems
        can_trade = data.get("can_trade")
        view.can_trade = can_trade if isinstance(can_trade, bool) else None
        view.balance = payload.opt_number(data, "balance")
        trading_date = payload.opt_text(data, "trading_date")
        view.trading_date = None if trading_date is None else parse_date(trading_date)
        view.next_reset_at = payload.opt_instant(data, "next_reset_at")
        view.realized_pnl = payload.opt_number(data, "realized_pnl") or ZERO
        view.gross_pnl = payload.opt_number(data, "gross_pnl") or ZERO
        view.fees = payload.opt_number(data, "fees") or ZERO
        view.trade_count = payload.opt_integer(data, "trade_count") or 0
        view.trade_counts = payloads.trade_counts(data)
        for record in _each(data, "lockouts", lambda item: payloads.lockout(item, account_id), problems):
            view.lockouts[_lockout_key(record)] = record
        for line in _each(data, "positions", lambda item: payloads.position_line(item, account_id), problems):
            if line.position.size > 0:
                view.positions[line.position.contract_id] = line
        for order in _each(data, "orders", lambda item: payloads.order(item, account_id), problems):
            if order.status not in TERMINAL_STATUSES:
                view.orders[order.id] = order
        contracts = data.get("contracts")
        for contract_id, item in (contracts.items() if isinstance(contracts, Mapping) else ()):
            try:
                view.contracts[contract_id] = payloads.contract(contract_id, item, received_at)
            except (ValueError, TypeError, AttributeError) as exc:
                problems.append(f"contracts.{contract_id}: {exc}")
        for rule in _each(data, "rules", payloads.rule_gauge, problems):
            view.rules[rule.rule_id] = rule
        view.trades = _each(data, "recent_trades", lambda item: payloads.trade(item, account_id), problems)
        view.trades.sort(key=lambda t: (t.execution_time, t.id), reverse=True)
        logs = _each(data, "recent_enforcement", lambda item: payloads.enforcement(item, account_id),
                     problems)
        view.history = sorted((enforcement_entry(log) for log in logs), key=lambda e: e.time, reverse=True)
        return view

    def carry_local_history(self, previous: AccountView) -> None:
        """Keep what only this dashboard knows across a snapshot: entries for lockouts set or cleared and
        alerts, and the metadata of contracts no longer held (the day's trades still name them)."""
        self.contracts = {**previous.contracts, **self.contracts}
        local = [entry for entry in previous.history if not entry.from_log]
        self.history = sorted([*self.history, *local], key=lambda e: e.time, reverse=True)[:HISTORY_LIMIT]

    # --- events --------------------------------------------------------------------------------

    def apply_trade(self, data: Data) -> Trade:
        """§5.1: the fill, and the day's totals the daemon computed right after it."""
        fill = payloads.trade(data, self.account_id)
        self.trades = [t for t in self.trades if t.id != fill.id]
        self.trades.insert(0, fill)
        self.trades.sort(key=lambda t: (t.execution_time, t.id), reverse=True)
        del self.trades[TRADES_LIMIT:]
        realized = payload.opt_number(data, "daily_realized_pnl")
        if realized is not None:
            self.realized_pnl = realized
        fees = payload.opt_number(data, "daily_fees")
        if fees is not None:
            self.fees = fees
        count = payload.opt_integer(data, "trade_count")
        if count is not None:
            self.trade_count = count
        counts = payloads.trade_counts(data)
        if counts:
            self.trade_counts = counts
        return fill

    def apply_position(self, data: Data) -> PositionLine:
        """§5.2: size 0 removes the contract's position."""
        line = payloads.position_line(data, self.account_id)
        contract_id = line.position.contract_id
        if line.position.size == 0:
            self.positions.pop(contract_id, None)
        else:
            self.positions[contract_id] = line
        return line

    def apply_order(self, data: Data) -> Order:
        """§5.3: terminal statuses leave the open-orders list."""
        order = payloads.order(data, self.account_id)
        if order.status in TERMINAL_STATUSES:
            self.orders.pop(order.id, None)
        else:
            self.orders[order.id] = order
        return order

    def apply_lockout_set(self, data: Data) -> Lockout:
        """§5.5: a new record, or an extension of an active one (same id)."""
        record = payloads.lockout(data, self.account_id)
        self.lockouts[_lockout_key(record)] = record
        until = "until the broker re-enables trading" if record.locked_until is None else "timed"
        self._remember(HistoryEntry(time=record.locked_at, rule_id=record.rule_id,
                                    action=f"LOCKOUT ({record.kind})", reason=record.reason, result=until))
        return record

    def apply_lockout_cleared(self, data: Data, at: datetime) -> tuple[str, str, bool]:
        """§5.6; returns (rule id, cleared_by, still_locked)."""
        lockout_id = payload.integer(data, "lockout_id")
        rule_id = payload.opt_text(data, "rule_id") or ""
        cleared_by = payload.opt_text(data, "cleared_by") or "?"
        still_locked = payload.flag(data, "still_locked")
        self.lockouts.pop(lockout_id, None)
        if not still_locked:
            self.lockouts.clear()
        cleared_at = payload.opt_instant(data, "cleared_at") or at
        self._remember(HistoryEntry(time=cleared_at, rule_id=rule_id, action="LOCKOUT CLEARED",
                                    reason="", result=cleared_by))
        return rule_id, cleared_by, still_locked

    def apply_enforcement(self, data: Data) -> EnforcementLog:
        """§5.7."""
        log = payloads.enforcement(data, self.account_id)
        self._remember(enforcement_entry(log))
        return log

    def apply_daily_reset(self, data: Data) -> None:
        """§5.8: a new trading day starts from zero; lockouts it cleared were announced before it."""
        self.trading_date = parse_date(payload.text(data, "trading_date"))
        self.next_reset_at = payload.opt_instant(data, "next_reset_at")
        self.realized_pnl = self.gross_pnl = self.fees = ZERO
        self.trade_count = 0
        self.trade_counts = {window: 0 for window in self.trade_counts}
        self.trades = []

    def note(self, entry: HistoryEntry) -> None:
        """An alert of this account, kept in History (§1.7)."""
        self._remember(entry)

    def _remember(self, entry: HistoryEntry) -> None:
        self.history.insert(0, entry)
        self.history.sort(key=lambda e: e.time, reverse=True)
        del self.history[HISTORY_LIMIT:]


def _effective_order(record: Lockout) -> tuple[int, float]:
    if record.locked_until is None:
        return (0, 0.0)
    return (1, -record.locked_until.timestamp())


def _lockout_key(record: Lockout) -> int:
    if record.lockout_id is None:
        raise ValueError("lockout_id: required")
    return record.lockout_id


def _each(data: Data, key: str, parse: Callable[[Any], T], problems: list[str]) -> list[T]:
    items = data.get(key)
    result: list[T] = []
    for index, item in enumerate(items if isinstance(items, Iterable) and not isinstance(items, str | Mapping)
                                 else ()):
        try:
            result.append(parse(item))
        except (ValueError, TypeError, AttributeError) as exc:
            problems.append(f"{key}[{index}]: {exc}")
    return result
