"""The daemon's `SnapshotProvider` (`broadcast-api.md` §4.4): one `AccountSnapshot` per account, read
straight from the dispatcher's trackers in one synchronous step, so the snapshot's `seq` is exactly the
last event it reflects (§6).

Positions carry the same enrichment as their `GatewayUserPosition` message (unrealized P&L, stop
protection, RULE-008's deadline); quotes and contract metadata are those of the contracts the account
holds or works orders in; `recent_trades` are the current trading day's fills (newest first, ≤ 200).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from simple_risk_manager.broadcast.provider import AccountRef
from simple_risk_manager.clock import Clock
from simple_risk_manager.config.loader import LoadedConfig
from simple_risk_manager.daemon.history import RecentHistory
from simple_risk_manager.daemon.rule_status import rule_statuses
from simple_risk_manager.daemon.status import StatusBoard
from simple_risk_manager.domain.models import AccountSnapshot, DaemonStatus, Order
from simple_risk_manager.engine import messages
from simple_risk_manager.engine.views import ViewFactory, monitored_accounts
from simple_risk_manager.rules.base import AccountView, Trackers
from simple_risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule
from simple_risk_manager.state.pnl import position_upnl
from simple_risk_manager.state.reset_schedule import ResetScheduler


class DaemonSnapshots:
    """`broadcast.SnapshotProvider` over the dispatcher's trackers (read only), the history and the status
    board; `memory` is the dispatcher's rule memory of an account, `is_own_order` MOD-001's."""

    def __init__(self, config: LoadedConfig, trackers: Trackers, scheduler: ResetScheduler,
                 history: RecentHistory, board: StatusBoard, *, clock: Clock,
                 memory: Callable[[int], Mapping[str, Any]], is_own_order: Callable[[Order], bool]) -> None:
        self._trackers = trackers
        self._scheduler = scheduler
        self._history = history
        self._board = board
        self._clock = clock
        self._memory = memory
        accounts = monitored_accounts(config)
        self._nicknames = {entry.account_id: entry.nickname for entry in config.accounts}
        self._ids = tuple(sorted(accounts))
        self._views = ViewFactory(trackers=trackers, scheduler=scheduler, settings=config.global_settings,
                                  accounts=accounts, is_own_order=is_own_order)

    # --- SnapshotProvider ------------------------------------------------------------------------

    def accounts(self) -> Sequence[AccountRef]:
        state = self._trackers.state
        refs = []
        for account_id in self._ids:
            broker = state.account(account_id)
            nickname = self._nicknames.get(account_id) or (broker.name if broker is not None else None)
            refs.append(AccountRef(account_id, nickname or None))
        return refs

    def daemon_status(self) -> DaemonStatus:
        return self._board.status()

    def account_snapshots(self, account_ids: Sequence[int]) -> Sequence[AccountSnapshot]:
        now = self._clock.now()
        names = {ref.account_id: ref.nickname for ref in self.accounts()}
        return [self._snapshot(account_id, names.get(account_id), now) for account_id in account_ids]

    def accounts_holding(self, contract_id: str) -> Collection[int]:
        holds = self._trackers.state.holds
        return [a for a in self._ids if holds(a, contract_id)]

    # --- one account -----------------------------------------------------------------------------

    def view(self, account_id: int, now: datetime) -> AccountView:
        return self._views.view(account_id, now, self._memory(account_id))

    def _snapshot(self, account_id: int, nickname: str | None, now: datetime) -> AccountSnapshot:
        t = self._trackers
        view = self.view(account_id, now)
        schedule = self._scheduler.schedule(account_id)
        counts = t.counter.counts(account_id, now)
        day = t.pnl.daily_pnl(account_id, counts.session)
        broker = t.state.account(account_id)
        positions = t.state.positions(account_id)
        orders = t.state.orders(account_id)
        held = sorted({p.contract_id for p in positions} | {o.contract_id for o in orders if o.is_working})
        grace: Mapping[str, datetime] = view.rule_state(NoStopLossGraceRule.rule_id) or {}
        position_rows: list[dict[str, Any]] = []
        for position in positions:
            contract_id = position.contract_id
            upnl = position_upnl(position, t.quotes.get(contract_id), t.contracts.get(contract_id))
            has_stop = t.state.has_stop(account_id, contract_id)
            position_rows.append(messages.position_data(position, upnl, has_stop, grace.get(contract_id)))
        quotes = {c: q.to_dict() for c in held if (q := t.quotes.get(c)) is not None}
        contracts = {c: m.to_dict() for c in held if (m := t.contracts.get(c)) is not None}
        return AccountSnapshot(
            account_id=account_id, nickname=nickname,
            can_trade=None if broker is None else broker.can_trade,
            balance=None if broker is None else broker.balance,
            trading_date=schedule.trading_date, session_start=schedule.last_reset_at,
            next_reset_at=schedule.next_reset_at,
            realized_pnl=day.realized_pnl, gross_pnl=day.gross_pnl, fees=day.fees,
            unrealized_pnl=view.account_upnl().total,
            trade_count=counts.session, trade_counts=messages.counts_dict(counts),
            lockouts=tuple(record.to_dict() for record in t.lockouts.active(account_id, now)),
            positions=tuple(position_rows),
            orders=tuple(order.to_dict() for order in orders),
            quotes=quotes, contracts=contracts,
            rules=tuple(rule_statuses(view)),
            recent_trades=tuple(trade.to_dict()
                                for trade in self._history.trades(account_id, schedule.last_reset_at)),
            recent_enforcement=tuple(entry.to_dict() for entry in self._history.enforcement(account_id)),
            stale=self._board.stale(account_id),
        )
