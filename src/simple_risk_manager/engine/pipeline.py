"""The dispatcher: the one place that mutates state (`daemon.md` §4–§6, `rules.md` §2–§3).

Every item goes through the same steps, in order:

1. **State first** (`rules.md` §2, D-03): the trackers apply the event; immediate writes (daily P&L,
   lockouts, reset bookkeeping) are queued on the journal, batched rows are marked on `journal.pending`;
   the market-hub subscription set and contract-metadata fetches follow the mirror. MOD-001 observes
   every position and order event right after the update.
2. **Gate and rules** per account (`engine.gate`, `engine.routing`): one `AccountView` per account and
   event; rule memory patches are applied after all rules ran, and RULE-008's deadlines arm or cancel
   their `grace` timers.
3. **Broadcast** the event (`engine.messages`), enriched with what the update and the rules produced.
4. **Merge and enforce** (`engine.merge`): lockout records go to MOD-002 and are persisted (the write's
   future is handed to MOD-001, which waits for it before its first broker call), `lockout_set` /
   `lockout_cleared` are broadcast, UNLOCKs applied, then the plan is submitted to MOD-001 (which never
   blocks, and journals and broadcasts every action of the plan, superseded ones included).

A quote has no account: it is merged and broadcast once, then rules run once per account holding a
position in the contract. Timers are owned here: `TimerTick` fires the due ones (grace, session end,
lockout expiry, daily reset). A bad item is logged and skipped: `handle` never raises.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from simple_risk_manager.clock import Clock
from simple_risk_manager.config.loader import LoadedConfig
from simple_risk_manager.domain.enums import ClearedBy, LockoutKind, TimerKind
from simple_risk_manager.domain.events import (
    AccountUpdated,
    HubConnectionChanged,
    OrderUpdated,
    PositionUpdated,
    QuoteUpdated,
    SessionLoggedOut,
    TradeReceived,
)
from simple_risk_manager.domain.models import (
    ContractMetadata,
    EnforcementAction,
    Lockout,
    Position,
    Quote,
    SessionState,
    Timer,
)
from simple_risk_manager.domain.money import ZERO
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.engine import messages
from simple_risk_manager.engine.gate import GATED_EVENTS, gate
from simple_risk_manager.engine.items import (
    ContractFetched,
    ContractFetchFailed,
    Item,
    Reconciled,
    ResetDue,
    TimerTick,
)
from simple_risk_manager.engine.merge import merge
from simple_risk_manager.engine.ports import Broadcaster, Enforcer, Journal
from simple_risk_manager.engine.routing import EventType, rules_for
from simple_risk_manager.engine.views import AccountSettings, ViewFactory, monitored_accounts
from simple_risk_manager.gateway.reconcile import apply_reconcile
from simple_risk_manager.rules.base import Rule, Trackers
from simple_risk_manager.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from simple_risk_manager.rules.events import (
    AccountChanged,
    ConnectionChanged,
    FillApplied,
    GraceExpired,
    OrderChanged,
    PositionChanged,
    QuoteChanged,
    RuleEvent,
    SessionBoundary,
    Sweep,
)
from simple_risk_manager.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from simple_risk_manager.rules.no_stop_loss_grace import NoStopLossGraceRule
from simple_risk_manager.rules.unrealized import QuietMarks, quiet_marks
from simple_risk_manager.state.calendar import next_session_end
from simple_risk_manager.state.lockouts import TIMED_KINDS, LockChange
from simple_risk_manager.state.pnl import FillOutcome, mark_price, position_upnl
from simple_risk_manager.state.positions import OrderChange, PositionTransition
from simple_risk_manager.state.reset_schedule import ResetOutcome, ResetScheduler
from simple_risk_manager.state.timers import (
    TimerManager,
    grace_timer_name,
    lockout_timer_name,
    reset_timer_name,
    session_end_timer_name,
)
from simple_risk_manager.store.loader import LoadedState

log = logging.getLogger(__name__)

_GRACE_RULE: Final = NoStopLossGraceRule.rule_id
#: The quote rules whose no-breach range `rules.unrealized.quiet_marks` describes.
_QUIET_RULES: Final = frozenset({DailyUnrealizedLossRule.rule_id, MaxUnrealizedProfitRule.rule_id})
_ALL_EVENT_TYPES: Final[tuple[EventType, ...]] = (
    FillApplied, PositionChanged, OrderChanged, QuoteChanged, AccountChanged, GraceExpired, SessionBoundary,
    Sweep, ConnectionChanged)
#: Transitions that change whether the account holds the contract (market-hub subscriptions).
_HOLDING_CHANGES: Final = frozenset({PositionTransition.OPENED, PositionTransition.CLOSED})


@dataclass(frozen=True, slots=True)
class StartupReport:
    """What `startup` did (daemon.md §2 steps 6–7), for the daemon's startup summary."""

    resets: tuple[ResetOutcome, ...]
    #: Records cleared because they ended while the daemon was down (`TIMER_EXPIRY`).
    expired: tuple[Lockout, ...]


def _until_text(until: datetime | None) -> str:
    return "further notice (condition)" if until is None else format_utc(until)


class Dispatcher:
    """Owns the trackers, timers and reset scheduler; the daemon feeds it items through `handle`.

    Ports: `journal` (the `StateStore`), `broadcaster`, `enforcer` (MOD-001), and three callables the
    daemon provides — `set_wanted_contracts(contract_ids)` (the gateway's market-hub subscription set),
    `fetch_contract(contract_id)` (start `Contract/searchById` as a task that enqueues `ContractFetched`
    or `ContractFetchFailed`) and `run_retention()` (queue the store's retention cleanup after a reset).
    """

    def __init__(self, config: LoadedConfig, trackers: Trackers, *, timers: TimerManager,
                 scheduler: ResetScheduler, journal: Journal, broadcaster: Broadcaster, enforcer: Enforcer,
                 clock: Clock, set_wanted_contracts: Callable[[frozenset[str]], None],
                 fetch_contract: Callable[[str], None], run_retention: Callable[[], object] | None = None
                 ) -> None:
        self.config = config
        self.trackers = trackers
        self.timers = timers
        self.scheduler = scheduler
        self.accounts: Mapping[int, AccountSettings] = monitored_accounts(config)
        self._account_ids = tuple(sorted(self.accounts))
        self._journal = journal
        self._broadcaster = broadcaster
        self._enforcer = enforcer
        self._clock = clock
        self._set_wanted_contracts = set_wanted_contracts
        self._fetch_contract = fetch_contract
        self._run_retention = run_retention
        self._views = ViewFactory(trackers=trackers, scheduler=scheduler, settings=config.global_settings,
                                  accounts=self.accounts, is_own_order=enforcer.is_own_order)
        self._memory: dict[int, dict[str, Any]] = {account_id: {} for account_id in self._account_ids}
        self._routes = {account_id: self._enabled_routes(settings)
                        for account_id, settings in self.accounts.items()}
        #: Accounts whose quote rules (unlocked) are at most RULE-004/005: `_is_quiet` may skip them.
        self._quiet_accounts = frozenset(
            account_id for account_id, routes in self._routes.items()
            if all(rule.rule_id in _QUIET_RULES for rule in routes[(QuoteChanged, False)]))
        self._quiet: dict[tuple[int, str], tuple[Position, ContractMetadata, QuietMarks | None]] = {}
        self._unknown_accounts: set[int] = set()
        #: Items dropped because they failed (logged with their error).
        self.dropped = 0
        #: What the current item left for after its enforcement started (`begin` / `finish`).
        self._after: list[Callable[[], object]] = []
        self._handlers: dict[type, Callable[[Any], None]] = {
            QuoteUpdated: self._on_quote,
            TradeReceived: self._on_trade,
            PositionUpdated: self._on_position,
            OrderUpdated: self._on_order,
            AccountUpdated: self._on_account,
            HubConnectionChanged: self._on_hub_connection,
            SessionLoggedOut: self._on_logged_out,
            TimerTick: self._on_timer_tick,
            ResetDue: self._on_reset_due,
            Reconciled: self._on_reconciled,
            ContractFetched: self._on_contract_fetched,
            ContractFetchFailed: self._on_contract_fetch_failed,
        }

    @staticmethod
    def _enabled_routes(settings: AccountSettings) -> dict[tuple[EventType, bool], tuple[Rule, ...]]:
        """(event type, locked) → the account's enabled rules for it; disabled rules are never called."""
        return {(event_type, locked): tuple(rule for rule in rules_for(event_type, locked)
                                            if getattr(settings.rules, rule.key).enabled)
                for event_type in _ALL_EVENT_TYPES for locked in (False, True)}

    # --- the daemon's API ----------------------------------------------------------------------------

    def handle(self, item: Item) -> None:
        """Apply one item completely: `begin`, then `finish`."""
        self.begin(item)
        self.finish()

    def begin(self, item: Item) -> None:
        """Apply one item up to the start of its enforcement; an item that fails is logged, counted in
        `dropped` and skipped.

        What no decision depends on — broadcasts, rows for the batched writer, quote subscriptions,
        metadata fetches, log lines of lockouts — waits for `finish`, so the daemon can let the
        enforcement tasks send their first requests before it (architecture principle 5: enforcement is
        never delayed by SQLite, logging or broadcast). The work of an earlier item still waiting is
        finished first, so each item's follow-up sees the state that item left.
        """
        if self._after:
            self.finish()
        handler = self._handlers.get(type(item))
        if handler is None:
            self.dropped += 1
            log.error("dispatcher: dropped an item of unknown type %s", type(item).__name__)
            return
        try:
            handler(item)
        except Exception:
            self.dropped += 1
            log.exception("dispatcher: dropped %s after an error", type(item).__name__)

    def finish(self) -> None:
        """Run what the last `begin` left for after enforcement; one failing step never stops the rest."""
        work, self._after = self._after, []
        for step in work:
            try:
                step()
            except Exception:
                log.exception("dispatcher: a follow-up step failed")

    def rule_memory(self, account_id: int) -> Mapping[str, Any]:
        """The account's rule memory (RULE-008 deadlines, RULE-012 managed stops), for snapshots."""
        return self._memory.get(account_id, {})

    def startup(self, loaded: LoadedState, now: datetime) -> StartupReport:
        """`daemon.md` §2 steps 5–7 on the trackers, then the timers.

        Loads the persisted state, runs at most one catch-up reset per account, clears the lockouts
        that ended while the daemon was down ("expired while down"), arms the reset, session-end and
        lockout-expiry timers, publishes the quote subscription set and refreshes the metadata of the
        contracts held. Call it once, before the first item.
        """
        t = self.trackers
        t.lockouts.load(loaded.lockouts, loaded.last_lockout_id)
        t.contracts.load(loaded.contracts.values())
        for account_id, settings in self.accounts.items():
            stored = loaded.reset_schedules.get(account_id)
            schedule = self.scheduler.restore(account_id, settings.reset, stored, now)
            if schedule != stored:
                self._journal.save_reset_schedule(schedule)
            row = loaded.daily_pnl.get(account_id)
            if row is not None and row.date == schedule.trading_date:
                t.pnl.load(row, schedule)
            else:
                t.pnl.start_day(schedule, now)
            t.counter.rebuild(account_id, (tr for tr in loaded.trades if tr.account_id == account_id),
                              schedule.last_reset_at)
        t.state.load((p for p in loaded.positions if p.account_id in self.accounts),
                     (o for o in loaded.orders if o.account_id in self.accounts), now)

        due = [account_id for account_id in self.scheduler.check(now) if account_id in self.accounts]
        resets = tuple(outcome for account_id in due if (outcome := self._reset(account_id, now)) is not None)
        if resets:
            self._retention()
        expired = self._expire_lockouts(now, while_down=True)

        for account_id in self._account_ids:
            self._arm_reset_timer(account_id)
            self._arm_session_end_timer(account_id, now)
        for record in t.lockouts.records():
            self._arm_lockout_timer(record)
        held = t.state.held_contracts()
        t.quotes.sync_subscriptions(held)
        self._set_wanted_contracts(held)
        for contract_id in sorted(held):
            self._request_contract(contract_id, refresh=True, now=now)
        self.finish()
        return StartupReport(resets=resets, expired=expired)

    def process_timers(self, now: datetime) -> None:
        """Fire every timer due at `now` (what `TimerTick` does); one failing timer never stops the rest."""
        reset_ran = False
        for timer in self.timers.due(now):
            try:
                reset_ran = self._fire(timer, now) or reset_ran
            except Exception:
                log.exception("timer %s failed", timer.name)
        if reset_ran:
            self._retention()
        self.finish()

    # --- gateway events ------------------------------------------------------------------------------

    def _on_quote(self, event: QuoteUpdated) -> None:
        """The hot path: merge, broadcast once, then RULE-004/005/012 per account holding the contract."""
        t = self.trackers
        merged = t.quotes.update(event.quote)
        if merged is None:
            return  # not subscribed (any more): a late quote
        contract_id = merged.contract_id
        now = self._clock.now()
        self._evaluate_holders(contract_id, now)
        self._publish(messages.QUOTE, None, merged.to_dict)
        if t.contracts.get(contract_id) is None:
            self._later(self._request_contract, contract_id, now=now)

    def _evaluate_holders(self, contract_id: str, now: datetime) -> None:
        """RULE-004/005/012 for every account holding the contract: its price or its tick data changed.

        An account whose quote rules are only per-position RULE-004/005 skips them while the mark lies
        inside the position's `QuietMarks` (the rules would return nothing, locked or not)."""
        changed = QuoteChanged(contract_id)
        t = self.trackers
        position_of = t.state.position
        quote, contract = t.quotes.get(contract_id), t.contracts.get(contract_id)
        for account_id in self._account_ids:
            position = position_of(account_id, contract_id)
            if position is None:
                continue
            if self._is_quiet(account_id, position, contract, quote):
                continue
            decisions = self._evaluate(account_id, changed, now)
            if decisions:
                self._enforce(account_id, decisions, now)

    def _is_quiet(self, account_id: int, position: Position, contract: ContractMetadata | None,
                  quote: Quote | None) -> bool:
        """The quote's mark is strictly inside the position's no-breach range (cached until the position
        or the contract metadata object changes)."""
        if contract is None or quote is None or account_id not in self._quiet_accounts:
            return False
        key = (account_id, position.contract_id)
        entry = self._quiet.get(key)
        if entry is None or entry[0] is not position or entry[1] is not contract:
            entry = (position, contract, quiet_marks(self.accounts[account_id].rules, position, contract))
            self._quiet[key] = entry
        marks = entry[2]
        return marks is not None and marks.holds(mark_price(position, quote))

    def _on_trade(self, event: TradeReceived, extra: Mapping[str, Any] | None = None) -> None:
        t, trade = self.trackers, event.trade
        account_id = trade.account_id
        if not self._monitored(account_id):
            return
        now = self._clock.now()
        effect = t.pnl.apply_fill(trade)
        if effect.outcome is FillOutcome.DUPLICATE:
            log.debug("trade %s of account %s already applied; ignored", trade.id, account_id)
            return
        counted = t.counter.record_fill(trade)
        counts = t.counter.counts(account_id, now)
        day = t.pnl.daily_pnl(account_id, trade_count=counts.session)
        if effect.changed:
            self._journal.save_daily_pnl(day)
        order_pnl = (t.pnl.order_realized(account_id, trade.order_id) if trade.order_id is not None
                     else effect.delta if effect.outcome is FillOutcome.APPLIED else ZERO)
        fill = FillApplied(trade, counted.new_order, counted.counts, order_pnl)
        decisions = self._evaluate(account_id, fill, now)
        self._publish(messages.TRADE, account_id, messages.trade_data, trade, day, counts, extra=extra)
        self._enforce(account_id, decisions, now)
        self._later(self._journal.pending.mark_trade, trade)
        self._later(self._request_contract, trade.contract_id, now=now)

    def _on_position(self, event: PositionUpdated, extra: Mapping[str, Any] | None = None) -> None:
        t, position = self.trackers, event.position
        account_id, contract_id = position.account_id, position.contract_id
        if not self._monitored(account_id):
            return
        now = self._clock.now()
        transition = t.state.apply_position(position, now)
        self._observe(self._enforcer.observe_position, position)
        decisions = self._evaluate(account_id, PositionChanged(position, transition), now)
        self._publish(messages.POSITION, account_id, self._position_data, position, extra=extra)
        self._enforce(account_id, decisions, now)
        self._later(self._mark_mirror_rows)
        if transition in _HOLDING_CHANGES:
            self._later(self._sync_subscriptions)
        if position.size > 0:
            self._later(self._request_contract, contract_id, now=now)

    def _position_data(self, position: Position) -> dict[str, Any]:
        """The `position_update` message of a position as the trackers see it now."""
        if position.size == 0:
            return messages.position_data(position, None, False, None)
        t, account_id, contract_id = self.trackers, position.account_id, position.contract_id
        upnl = position_upnl(position, t.quotes.get(contract_id), t.contracts.get(contract_id))
        deadline = self._memory[account_id].get(_GRACE_RULE, {}).get(contract_id)
        return messages.position_data(position, upnl, t.state.has_stop(account_id, contract_id), deadline)

    def _on_order(self, event: OrderUpdated, extra: Mapping[str, Any] | None = None) -> None:
        t, order = self.trackers, event.order
        account_id = order.account_id
        if not self._monitored(account_id):
            return
        now = self._clock.now()
        held = t.state.order(account_id, order.id)
        change = t.state.apply_order(order)
        if change is OrderChange.STALE:
            log.debug("order %s of account %s: older than the mirror; ignored", order.id, account_id)
            return
        stored = t.state.order(account_id, order.id)
        if stored is None:  # terminal: keep the stop flag the mirror had for it (broadcast `is_stop_loss`)
            stored = order.with_stop_flag(held is not None and held.is_stop_loss)
        self._observe(self._enforcer.observe_order, stored)
        decisions = self._evaluate(account_id, OrderChanged(stored), now)
        self._publish(messages.ORDER, account_id, stored.to_dict, extra=extra)
        self._enforce(account_id, decisions, now)
        self._later(self._mark_mirror_rows)
        self._later(self._sync_subscriptions)
        if order.is_working:
            self._later(self._request_contract, order.contract_id, now=now)

    def _on_account(self, event: AccountUpdated, extra: Mapping[str, Any] | None = None) -> None:
        account = event.account
        if not self._monitored(account.id):
            return
        now = self._clock.now()
        change = self.trackers.state.apply_account(account)
        if change.current is None:
            log.warning("account %s: the gateway sent no canTrade; treated as true (RULE-010 fails open)",
                        account.id)
        decisions = self._evaluate(account.id, AccountChanged(change.previous, change.current), now)
        self._enforce(account.id, decisions, now)

    def _on_hub_connection(self, event: HubConnectionChanged) -> None:
        """A lost user hub, and its return, reach RULE-010 (alert only) for the accounts of that login."""
        if event.hub != "user" or (event.connected and not event.reconnect):
            return  # the market hub, or a first connect: nothing was lost
        now = self._clock.now()
        connection = ConnectionChanged(event.connected)
        for account_id in self._account_ids:
            if self.accounts[account_id].login == event.login:
                self._enforce(account_id, self._evaluate(account_id, connection, now), now)

    def _on_logged_out(self, event: SessionLoggedOut) -> None:
        log.info("%s hub of login %s: session logged out by the gateway (the client logs in again)",
                 event.hub, event.login)

    # --- internal items ------------------------------------------------------------------------------

    def _on_timer_tick(self, item: TimerTick) -> None:
        self.process_timers(item.at or self._clock.now())

    def _on_reset_due(self, item: ResetDue) -> None:
        now = item.at or self._clock.now()
        ran = [self._reset(account_id, now) for account_id in self.scheduler.check(now)
               if account_id in self.accounts]
        if any(outcome is not None for outcome in ran):
            self._retention()

    def _on_reconciled(self, item: Reconciled) -> None:
        """REST truth replaces the mirror; its differences run through the normal path, then the Sweep."""
        t, result = self.trackers, item.result
        account_id = result.account_id
        if not self._monitored(account_id):
            return
        now = self._clock.now()
        if result.account is None:
            log.warning("reconcile of account %s: Account/search no longer lists it", account_id)
        differences = apply_reconcile(result, t.state, t.pnl, now)
        for trade in result.trades:
            t.counter.record_fill(trade)
            self._journal.pending.mark_trade(trade)
        self._journal.save_daily_pnl(t.pnl.daily_pnl(account_id, t.counter.counts(account_id, now).session))
        log.info("reconcile of account %s: %d difference(s), %d fill(s) of the day", account_id,
                 len(differences), len(result.trades))
        for event in differences:
            try:
                if isinstance(event, AccountUpdated):
                    self._on_account(event, messages.RECONCILE_SOURCE)
                elif isinstance(event, PositionUpdated):
                    self._on_position(event, messages.RECONCILE_SOURCE)
                else:
                    self._on_order(event, messages.RECONCILE_SOURCE)
                self.finish()  # each difference's follow-up sees the state it left, as for hub events
            except Exception:
                self.dropped += 1
                log.exception("reconcile of account %s: dropped a synthesized %s", account_id,
                              type(event).__name__)
        now = self._clock.now()
        for position in t.state.positions(account_id):
            self._request_contract(position.contract_id, now=now)
        self._enforce(account_id, self._evaluate(account_id, Sweep(), now), now)

    def _on_contract_fetched(self, item: ContractFetched) -> None:
        """Cache the metadata, then let the rules that skipped the contract without it look again: a
        new position gets its automatic stop as soon as its tick size is known, not on the next quote."""
        contracts = self.trackers.contracts
        contracts.put(item.metadata)
        for row in contracts.take_dirty():
            self._journal.pending.mark_contract(row)
        self._evaluate_holders(item.metadata.contract_id, self._clock.now())

    def _on_contract_fetch_failed(self, item: ContractFetchFailed) -> None:
        retry_at = self.trackers.contracts.fetch_failed(item.contract_id, self._clock.now())
        log.warning("contract %s: metadata fetch failed (%s); next attempt from %s", item.contract_id,
                    item.error, format_utc(retry_at))

    # --- timers --------------------------------------------------------------------------------------

    def _fire(self, timer: Timer, now: datetime) -> bool:
        """Turn one due timer into its internal event; True when a daily reset ran."""
        kind, account_id = TimerKind(timer.kind), timer.account_id
        if kind is TimerKind.LOCKOUT_EXPIRY:
            self._expire_lockouts(now)
            return False
        if account_id is None or account_id not in self.accounts:
            log.warning("timer %s: no monitored account; ignored", timer.name)
            return False
        if kind is TimerKind.RESET:
            return self._reset(account_id, now) is not None
        if kind is TimerKind.GRACE:
            expired = GraceExpired(str(timer.payload["contract_id"]))
            self._enforce(account_id, self._evaluate(account_id, expired, now), now)
        else:
            self._arm_session_end_timer(account_id, now)  # first: the next end must come whatever happens
            self._enforce(account_id, self._evaluate(account_id, SessionBoundary(), now), now)
        return False

    def _arm_reset_timer(self, account_id: int) -> None:
        self.timers.start(reset_timer_name(account_id), TimerKind.RESET,
                          self.scheduler.schedule(account_id).next_reset_at, account_id)

    def _arm_session_end_timer(self, account_id: int, now: datetime) -> None:
        """RULE-009's next session end (only while the rule is enabled for the account)."""
        settings = self.accounts[account_id]
        if settings.rules.session_block_outside.enabled:
            self.timers.start(session_end_timer_name(account_id), TimerKind.SESSION_BOUNDARY,
                              next_session_end(now, settings.session), account_id)

    def _arm_lockout_timer(self, record: Lockout) -> None:
        """`session` and `duration` records end by their own timer; `reset` and `condition` ones do not."""
        if record.lockout_id is not None and record.locked_until is not None \
                and LockoutKind(record.kind) in TIMED_KINDS:
            self.timers.start(lockout_timer_name(record.lockout_id), TimerKind.LOCKOUT_EXPIRY,
                              record.locked_until, record.account_id, {"lockout_id": record.lockout_id})

    def _sync_grace_timers(self, account_id: int, before: Mapping[str, datetime],
                           after: Mapping[str, datetime]) -> None:
        """RULE-008's timer contract: arm new or moved deadlines, cancel dropped ones, leave the rest."""
        for contract_id, deadline in after.items():
            if before.get(contract_id) != deadline:
                self.timers.start(grace_timer_name(account_id, contract_id), TimerKind.GRACE, deadline,
                                  account_id, {"contract_id": contract_id})
        for contract_id in before.keys() - after.keys():
            self.timers.cancel(grace_timer_name(account_id, contract_id))

    # --- daily reset and lockout expiry --------------------------------------------------------------

    def _reset(self, account_id: int, now: datetime) -> ResetOutcome | None:
        """The reset procedure of `modules.md` MOD-004 for one account; None when it is not due."""
        t = self.trackers
        previous_realized = t.pnl.daily_realized(account_id)
        previous_count = t.counter.counts(account_id, now).session
        outcome = self.scheduler.reset(account_id, now)
        if outcome is None:
            return None
        t.counter.reset_session(account_id, outcome.reset_at)
        t.pnl.start_day(outcome.schedule, now, working_order_ids=(o.id for o in t.state.orders(account_id)))
        self._journal.save_daily_pnl(t.pnl.daily_pnl(account_id, t.counter.counts(account_id, now).session))
        self._journal.save_session_state(SessionState(account_id=account_id, session_start=outcome.reset_at,
                                                      updated_at=now))
        cleared = t.lockouts.reset_clear(account_id, outcome.reset_at, now)
        if cleared.to_persist:
            self._journal.save_lockouts(*cleared.to_persist)
        self._journal.save_reset_schedule(outcome.schedule)
        self._announce_cleared(cleared.cleared, now)
        self._publish(messages.DAILY_RESET, account_id, messages.daily_reset_data, outcome, previous_realized,
                      previous_count, bool(cleared.cleared))
        self._arm_reset_timer(account_id)
        log.info("daily reset of account %s: trading day %s → %s (realized %s, %d trade(s)); %d lockout(s) "
                 "cleared; next reset %s", account_id, outcome.previous_trading_date, outcome.trading_date,
                 previous_realized, previous_count, len(cleared.cleared),
                 format_utc(outcome.schedule.next_reset_at))
        return outcome

    def _retention(self) -> None:
        if self._run_retention is not None:
            try:
                self._run_retention()
            except Exception:
                log.exception("retention cleanup could not be queued")

    def _expire_lockouts(self, now: datetime, *, while_down: bool = False) -> tuple[Lockout, ...]:
        """Clear every `session`/`duration` record that has ended (MOD-002 `expire_due`)."""
        change = self.trackers.lockouts.expire_due(now)
        if change.to_persist:
            self._journal.save_lockouts(*change.to_persist)
        for record in change.cleared:
            log.info("lockout %s of account %s (%s) %s", record.lockout_id, record.account_id,
                       record.rule_id, "expired while down" if while_down else "expired")
        self._announce_cleared(change.cleared, now)
        return change.cleared

    def _announce_cleared(self, records: Iterable[Lockout], now: datetime) -> None:
        lockouts = self.trackers.lockouts
        for record in records:
            if record.lockout_id is not None:
                self.timers.cancel(lockout_timer_name(record.lockout_id))
            self._publish(messages.LOCKOUT_CLEARED, record.account_id, messages.lockout_cleared_data, record,
                          lockouts.is_locked(record.account_id, now))

    # --- rules and enforcement -----------------------------------------------------------------------

    def _evaluate(self, account_id: int, event: RuleEvent, now: datetime) -> list[EnforcementAction]:
        """The gate (when locked) and the account's routed rules on one event; memory patched after."""
        locked = self.trackers.lockouts.is_locked(account_id, now)
        event_type = type(event)
        rules = self._routes[account_id][(event_type, locked)]
        gated = locked and event_type in GATED_EVENTS
        if not rules and not gated:
            return []
        memory = self._memory[account_id]
        view = self._views.view(account_id, now, memory)
        decisions: list[EnforcementAction] = []
        if gated:
            flatten = gate(view, event)
            if flatten is not None:
                decisions.append(flatten)
        patches: list[tuple[str, Any]] = []
        for rule in rules:
            try:
                result = rule.evaluate(view, event)
            except Exception:
                log.exception("%s failed on %s for account %s; skipped", rule.rule_id, event_type.__name__,
                              account_id)
                continue
            decisions.extend(result.decisions)
            if result.has_patch:
                patches.append((rule.rule_id, result.state_patch))
        for rule_id, patch in patches:
            before = memory.get(rule_id)
            memory[rule_id] = patch
            if rule_id == _GRACE_RULE:
                self._sync_grace_timers(account_id, before or {}, patch or {})
        return decisions

    def _enforce(self, account_id: int, decisions: list[EnforcementAction], now: datetime) -> None:
        """Merge; record lockouts (persisted before MOD-001's first call), apply UNLOCKs, submit the plan.

        MOD-001 writes every `enforcement_log` row of the plan (superseded decisions included) and every
        `enforcement_action` broadcast (`ports.Enforcer`)."""
        if not decisions:
            return
        plan = merge(account_id, decisions)
        lockouts = self.trackers.lockouts
        changes: list[LockChange] = []
        for wanted in plan.lockouts:
            assert wanted.lockout_kind is not None  # merge lists only decisions that carry one
            changes.append(lockouts.lock(account_id, wanted.rule_id, LockoutKind(wanted.lockout_kind),
                                         wanted.reason, wanted.lockout_until, now=now))
        for unlock in plan.unlocks:
            changes.append(lockouts.unlock(account_id, unlock.rule_id, ClearedBy.CAN_TRADE_RESTORED, now))
        records = [record for change in changes for record in change.to_persist]
        written = self._journal.save_lockouts(*records) if records else None
        for change in changes:
            self._announce_cleared(change.cleared, now)
            for record in change.created + change.extended:
                self._arm_lockout_timer(record)
                self._later(log.info, "lockout set: account %s %s (%s) until %s: %s", account_id,
                            record.rule_id, record.kind, _until_text(record.locked_until), record.reason)
                self._publish(messages.LOCKOUT_SET, account_id, record.to_dict)
        if plan.is_empty:
            return
        try:
            self._enforcer.submit(plan, written)
        except Exception:
            log.critical("account %s: enforcement could not be started", account_id, exc_info=True)

    # --- small helpers -------------------------------------------------------------------------------

    def _monitored(self, account_id: int) -> bool:
        if account_id in self.accounts:
            return True
        if account_id not in self._unknown_accounts:
            self._unknown_accounts.add(account_id)
            log.warning("events of account %s ignored: it is not an enabled account in accounts.yaml",
                        account_id)
        return False

    def _mark_mirror_rows(self) -> None:
        """Hand MOD-009's changed rows to the batched writer (flushed every 5 s)."""
        changes = self.trackers.state.take_dirty()
        if changes.is_empty:
            return
        pending = self._journal.pending
        for position in changes.positions:
            pending.mark_position(position)
        for position_id in changes.deleted_position_ids:
            pending.remove_position(position_id)
        for order in changes.orders:
            pending.mark_order(order)
        for order_id in changes.deleted_order_ids:
            pending.remove_order(order_id)

    def _sync_subscriptions(self) -> None:
        """MOD-006: quotes are wanted for every contract any account holds or works an order in."""
        held = self.trackers.state.held_contracts()
        change = self.trackers.quotes.sync_subscriptions(held)
        if change.subscribe or change.unsubscribe:
            self._set_wanted_contracts(held)

    def _request_contract(self, contract_id: str, *, now: datetime, refresh: bool = False) -> None:
        """MOD-007 `ensure`: start a fetch when metadata is missing (or, at startup, to refresh it)."""
        contracts = self.trackers.contracts
        if not (refresh or contracts.needs_fetch(contract_id, now)):
            return
        contracts.fetch_started(contract_id)
        try:
            self._fetch_contract(contract_id)
        except Exception:
            log.exception("contract %s: metadata fetch could not be started", contract_id)
            contracts.fetch_failed(contract_id, now)

    def _observe(self, observe: Callable[[Any], None], item: object) -> None:
        try:
            observe(item)
        except Exception:
            log.exception("MOD-001 failed to observe %s", type(item).__name__)

    def _later(self, step: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Leave `step(*args, **kwargs)` for `finish` (after this item's enforcement started)."""
        self._after.append(functools.partial(step, *args, **kwargs))

    def _publish(self, message_type: str, account_id: int | None, build: Callable[..., Mapping[str, Any]],
                 *args: Any, extra: Mapping[str, Any] | None = None) -> None:
        """Broadcast in `finish`; `build(*args)` makes the message's data only then, and the caller's
        `extra` fields (e.g. `source: reconcile`) are added to it."""
        self._later(self._send, message_type, account_id, build, args, extra)

    def _send(self, message_type: str, account_id: int | None, build: Callable[..., Mapping[str, Any]],
              args: tuple[Any, ...], extra: Mapping[str, Any] | None) -> None:
        try:
            data = build(*args)
            self._broadcaster.publish(message_type, account_id, {**data, **extra} if extra else data)
        except Exception:
            log.exception("broadcast of %s failed", message_type)
