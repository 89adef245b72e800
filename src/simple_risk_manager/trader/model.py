"""The dashboard's state, fed by what the feed delivers: broadcast messages, disconnections and saved
state read from the database. Pure: no I/O, no clock, every method takes `now`.

Connection modes (`cli.md` §1.5, `broadcast-api.md` §8):
- CONNECTING: starting, nothing heard yet.
- LIVE: a `hello` arrived on the current connection.
- RECONNECTING: a live connection was lost; the last data stays on screen, greyed, while the
  first retry runs.
- OFFLINE: a connection attempt failed (or the start-up connect took longer than 2 s): the saved
  state from the database replaces the live data, and the feed keeps retrying in the background.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from simple_risk_manager.broadcast.client import Disconnected
from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.broadcast.protocol import (
    DAEMON_STATUS,
    ERROR,
    HELLO,
    MARKET_QUOTE,
    SNAPSHOT,
    SUBSCRIBE,
    ErrorCode,
)
from simple_risk_manager.domain import payload
from simple_risk_manager.domain.enums import EnforcementActionType, EnforcementOutcome
from simple_risk_manager.domain.models import EnforcementLog, Quote
from simple_risk_manager.trader import formatting, payloads
from simple_risk_manager.trader.account_view import AccountView, DataSource, HistoryEntry
from simple_risk_manager.trader.alerts import (
    CLEARED_LIFETIME_S,
    CONNECTION_KEY,
    DAEMON_KEY,
    ENFORCEMENT_LIFETIME_S,
    NOTICE_LIFETIME_S,
    RESET_LIFETIME_S,
    TRADE_NOTE_LIFETIME_S,
    Alert,
    AlertKind,
    AlertQueue,
    FooterNote,
)

#: No frame at all for this long on a live connection (the daemon sends a status every 10 s): say so.
SILENCE_DEGRADED_S: Final = 25.0
#: The daemon's status values that mean "not fully working".
_DEGRADED_STATUSES: Final = frozenset({"DEGRADED", "STARTING"})


class ConnectionMode(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"


class IndicatorKind(StrEnum):
    LIVE = "live"
    DEGRADED = "degraded"
    RECONNECTING = "reconnecting"
    OFFLINE = "offline"
    STOPPING = "stopping"
    CONNECTING = "connecting"


@dataclass(frozen=True, slots=True)
class Indicator:
    """The header's connection status; `reason` is what the `c` panel explains."""

    kind: IndicatorKind
    reason: str = ""


@dataclass(frozen=True, slots=True)
class AccountRef:
    account_id: int
    nickname: str | None


@dataclass(frozen=True, slots=True)
class HelloInfo:
    protocol: int
    daemon_version: str
    run_id: str
    started_at: datetime | None
    accounts: tuple[AccountRef, ...]

    @classmethod
    def parse(cls, data: payload.Data) -> HelloInfo:
        accounts = data.get("accounts")
        items = [item for item in (accounts if isinstance(accounts, list) else ())
                 if isinstance(item, Mapping)]
        refs = tuple(AccountRef(payload.integer(item, "account_id"), payload.opt_text(item, "nickname"))
                     for item in items)
        return cls(protocol=payload.opt_integer(data, "protocol") or 0,
                   daemon_version=payload.opt_text(data, "daemon_version") or "?",
                   run_id=payload.text(data, "run_id"), started_at=payload.opt_instant(data, "started_at"),
                   accounts=refs)


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """A `daemon_status` payload (§5.9)."""

    status: str
    message: str
    uptime_s: int | None
    hubs: Mapping[str, str]
    clients: int | None
    account_states: Mapping[int, str]

    @classmethod
    def parse(cls, data: payload.Data) -> DaemonInfo:
        hubs = data.get("hubs")
        accounts = data.get("accounts")
        states = {payload.integer(item, "account_id"): payload.opt_text(item, "state") or "?"
                  for item in (accounts if isinstance(accounts, list) else ()) if isinstance(item, Mapping)}
        return cls(status=payload.text(data, "status"), message=payload.opt_text(data, "message") or "",
                   uptime_s=payload.opt_integer(data, "uptime_s"),
                   hubs={str(k): str(v) for k, v in hubs.items()} if isinstance(hubs, Mapping) else {},
                   clients=payload.opt_integer(data, "clients"), account_states=states)


@dataclass(frozen=True, slots=True)
class SavedState:
    """What one poll of the database found (`broadcast-api.md` §8)."""

    accounts: Mapping[int, AccountView]
    #: Newest `updated_at`/`last_updated` (or row time) read: how old the saved state is.
    written_at: datetime | None


@dataclass(slots=True)
class Dashboard:
    """`requested`: the `--account` the trader asked for, else None (choose the only one, or ask)."""

    requested: int | None = None
    mode: ConnectionMode = ConnectionMode.CONNECTING
    #: Failed or lost connections since the last `hello`: the `n` of "RECONNECTING (n)".
    attempts: int = 0
    last_disconnect: str = ""
    hello: HelloInfo | None = None
    daemon: DaemonInfo | None = None
    accounts: dict[int, AccountView] = field(default_factory=dict)
    quotes: dict[str, Quote] = field(default_factory=dict)
    selected: int | None = None
    alerts: AlertQueue = field(default_factory=AlertQueue)
    footer_note: FooterNote | None = None
    #: A notice for the selection screen (e.g. the requested account is not configured).
    notice: str | None = None
    snapshot_seq: int | None = None
    last_message_at: datetime | None = None
    messages_received: int = 0
    #: Frames or items that broke the contract and were dropped, newest last (for the `c` panel).
    problems: list[str] = field(default_factory=list)
    saved_at: datetime | None = None
    saved_error: str | None = None
    #: Set when the dashboard should ask for a fresh snapshot (unknown contract, new trading day).
    wants_snapshot: bool = False
    _heard_since_disconnect: bool = False

    # --- what the screen asks ------------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self.mode is ConnectionMode.LIVE

    @property
    def wants_saved_state(self) -> bool:
        return self.mode is ConnectionMode.OFFLINE

    @property
    def view(self) -> AccountView | None:
        """The selected account's data (live, last live, or saved)."""
        return None if self.selected is None else self.accounts.get(self.selected)

    @property
    def greyed(self) -> bool:
        """The data on screen is not current: live data kept through a reconnect, or offline without a
        readable database."""
        return self.mode is ConnectionMode.RECONNECTING or (
            self.mode is ConnectionMode.OFFLINE and self.saved_at is None and self.view is not None
            and self.view.source is DataSource.LIVE)

    def known_accounts(self) -> list[AccountRef]:
        """Selection rows: the daemon's accounts live; the saved ones (no nicknames) offline."""
        if self.hello is not None and self.mode is not ConnectionMode.OFFLINE:
            return list(self.hello.accounts)
        return [AccountRef(account_id, None) for account_id in sorted(self.accounts)]

    def nickname(self, account_id: int) -> str | None:
        view = self.accounts.get(account_id)
        if view is not None and view.nickname:
            return view.nickname
        for ref in self.hello.accounts if self.hello is not None else ():
            if ref.account_id == account_id:
                return ref.nickname
        return None

    @property
    def needs_selection(self) -> bool:
        return self.selected is None and self._has_account_list() and (
            self.notice is not None or len(self.known_accounts()) != 1)

    def indicator(self, now: datetime) -> Indicator:
        if self.mode is ConnectionMode.CONNECTING:
            return Indicator(IndicatorKind.CONNECTING, "connecting to the daemon")
        if self.mode is ConnectionMode.RECONNECTING:
            return Indicator(IndicatorKind.RECONNECTING, self.last_disconnect)
        if self.mode is ConnectionMode.OFFLINE:
            return Indicator(IndicatorKind.OFFLINE, self.last_disconnect)
        daemon = self.daemon
        if daemon is not None and daemon.status in ("STOPPING", "ERROR"):
            return Indicator(IndicatorKind.STOPPING, daemon.message)
        reasons = []
        if daemon is not None and daemon.status in _DEGRADED_STATUSES:
            reasons.append(f"daemon {daemon.status}: {daemon.message}".rstrip(": "))
        if daemon is not None:
            reasons += [f"{hub} hub {state}" for hub, state in sorted(daemon.hubs.items())
                        if state != "CONNECTED"]
        view = self.view
        if view is not None and view.stale:
            reasons.append("account snapshot stale (first reconcile pending or hub down)")
        silent = self.silence_s(now)
        if silent is not None and silent > SILENCE_DEGRADED_S:
            reasons.append(f"nothing heard from the daemon for {formatting.short_duration(silent)}")
        if reasons:
            return Indicator(IndicatorKind.DEGRADED, "; ".join(reasons))
        return Indicator(IndicatorKind.LIVE)

    def silence_s(self, now: datetime) -> float | None:
        """Seconds since the last frame; None before the first."""
        if self.last_message_at is None:
            return None
        return max(0.0, (now - self.last_message_at).total_seconds())

    # --- the feed ------------------------------------------------------------------------------

    def on_message(self, message: Message, now: datetime) -> list[Alert]:
        """Apply one frame; returns the alerts it raised (the app rings the bell for some)."""
        self.messages_received += 1
        self.last_message_at = now
        self._heard_since_disconnect = True
        try:
            return self._apply(message, now)
        except (ValueError, TypeError, AttributeError) as exc:
            self._problem(f"{message.type} seq {message.seq}: {exc}")
            return []

    def on_disconnected(self, event: Disconnected, now: datetime) -> list[Alert]:
        self.attempts += 1
        self.last_disconnect = event.reason
        self.snapshot_seq = None
        if self._heard_since_disconnect and self.mode is ConnectionMode.LIVE:
            self._heard_since_disconnect = False
            self.mode = ConnectionMode.RECONNECTING
            return self._push(Alert(AlertKind.STATE, "Connection to the daemon lost: reconnecting; the data "
                                    "shown is not live", now, None, key=CONNECTION_KEY), now)
        self._heard_since_disconnect = False
        return self._go_offline(now)

    def on_connect_timeout(self, now: datetime) -> list[Alert]:
        """The start-up connect took longer than 2 s (`cli.md` §1.2): show saved state meanwhile."""
        if self.mode is not ConnectionMode.CONNECTING:
            return []
        self.last_disconnect = "no answer from the daemon within 2 s"
        return self._go_offline(now)

    def on_saved_state(self, saved: SavedState, now: datetime) -> None:
        if self.mode is not ConnectionMode.OFFLINE:
            return  # a poll that finished after the connection came back
        previous = self.accounts
        self.accounts = dict(saved.accounts)
        for account_id, view in self.accounts.items():
            old = previous.get(account_id)
            if old is not None:
                view.carry_local_history(old)
        self.saved_at = saved.written_at
        self.saved_error = None
        self._choose_account()

    def on_saved_state_error(self, error: str) -> None:
        self.saved_error = error
        if self.mode is ConnectionMode.OFFLINE and not self.accounts:
            self._choose_account()

    def select(self, account_id: int) -> None:
        """The trader's choice, which also replaces the `--account` asked for."""
        self.selected = self.requested = account_id
        self.notice = None

    def unselect(self) -> None:
        self.selected = None

    def dismiss_alert(self, now: datetime) -> None:
        self.alerts.tick(now)
        self.alerts.dismiss()

    def tick(self, now: datetime) -> None:
        """Advance time-bound display state: alert lifetimes, the footer note."""
        self.alerts.tick(now)
        if self.footer_note is not None and now >= self.footer_note.until:
            self.footer_note = None

    def take_snapshot_wish(self) -> bool:
        wanted, self.wants_snapshot = self.wants_snapshot, False
        return wanted

    # --- applying frames -----------------------------------------------------------------------

    def _apply(self, message: Message, now: datetime) -> list[Alert]:
        kind, data = message.type, message.data
        if kind == HELLO:
            return self._on_hello(HelloInfo.parse(data), now)
        if kind == DAEMON_STATUS:
            return self._on_daemon_status(DaemonInfo.parse(data), now)
        if kind == SNAPSHOT:
            self._on_snapshot(message, now)
            return []
        if kind == ERROR:
            self._on_error(data)
            return []
        if self.snapshot_seq is None or message.seq <= self.snapshot_seq:
            return []  # §6: only events after the snapshot's seq; none before a snapshot
        if kind == MARKET_QUOTE:
            self._on_quote(data)
            return []
        account_id = message.account_id
        view = None if account_id is None else self.accounts.get(account_id)
        if view is None:
            return []
        alerts = self._on_account_event(view, kind, data, now)
        if account_id != self.selected:
            return []
        for alert in alerts:
            self.alerts.push(alert, now)
        return alerts

    def _on_hello(self, hello: HelloInfo, now: datetime) -> list[Alert]:
        if self.hello is not None and self.hello.run_id != hello.run_id:
            self.accounts.clear()  # §6: a new run_id means the daemon restarted
            self.quotes.clear()
        self.hello = hello
        self.mode = ConnectionMode.LIVE
        self.attempts = 0
        self.snapshot_seq = None
        self.saved_at = None
        self.alerts.resolve(CONNECTION_KEY)
        self._choose_account()
        return []

    def _on_daemon_status(self, daemon: DaemonInfo, now: datetime) -> list[Alert]:
        previous = self.daemon
        self.daemon = daemon
        if previous is not None and previous.status == daemon.status:
            return []
        self.alerts.resolve(DAEMON_KEY)
        if daemon.status == "STOPPING":
            text = "The daemon is stopping: risk enforcement is paused until it runs again"
        elif daemon.status == "ERROR":
            text = f"The daemon failed and is exiting: {daemon.message}".rstrip(": ")
        else:
            return []
        return self._push(Alert(AlertKind.STATE, text, now, None, key=DAEMON_KEY), now)

    def _on_snapshot(self, message: Message, now: datetime) -> None:
        daemon = message.data.get("daemon")
        if isinstance(daemon, Mapping):
            self.daemon = DaemonInfo.parse(daemon)
        accounts = message.data.get("accounts")
        for item in accounts if isinstance(accounts, list) else ():
            try:
                view = AccountView.from_snapshot(item, now)
            except (ValueError, TypeError, AttributeError) as exc:
                self._problem(f"snapshot account: {exc}")
                continue
            previous = self.accounts.get(view.account_id)
            if previous is not None:
                view.carry_local_history(previous)
            if view.problems:
                self._problem(f"snapshot of account {view.account_id}: " + "; ".join(view.problems))
            self.accounts[view.account_id] = view
            for contract_id, quote_data in _mapping(item.get("quotes")).items():
                self._merge_quote(payloads.quote(quote_data, contract_id))
        self.snapshot_seq = message.seq
        self._choose_account()

    def _on_error(self, data: payload.Data) -> None:
        code = payload.opt_text(data, "code")
        text = payload.opt_text(data, "message") or "error"
        if (code == ErrorCode.UNKNOWN_ACCOUNT and self.selected is not None
                and data.get("request_type") == SUBSCRIBE):
            self.notice = f"Account {self.selected}: {text}"
            self.selected = None
        else:
            self._problem(f"daemon said: {text}")

    def _on_quote(self, data: payload.Data) -> None:
        self._merge_quote(payloads.quote(data))

    def _merge_quote(self, quote: Quote) -> None:
        previous = self.quotes.get(quote.contract_id)
        if previous is not None and previous.received_at > quote.received_at:
            return
        self.quotes[quote.contract_id] = quote.merged_over(previous)

    def _on_account_event(self, view: AccountView, kind: str, data: payload.Data,
                          now: datetime) -> list[Alert]:
        if kind == "GatewayUserTrade":
            fill = view.apply_trade(data)
            if fill.profit_and_loss is not None and view.account_id == self.selected:
                text = (f"{view.contract_name(fill.contract_id)} {fill.side.name} {fill.size} @ "
                        f"{formatting.price(fill.price)}  P&L {formatting.pnl(fill.profit_and_loss)}")
                self.footer_note = FooterNote(text, now + timedelta(seconds=TRADE_NOTE_LIFETIME_S))
            self.wants_snapshot |= fill.contract_id not in view.contracts
            return []
        if kind == "GatewayUserPosition":
            line = view.apply_position(data)
            self.wants_snapshot |= line.position.size > 0 and line.position.contract_id not in view.contracts
            return []
        if kind == "GatewayUserOrder":
            view.apply_order(data)
            return []
        if kind == "lockout_set":
            view.apply_lockout_set(data)
            return []
        if kind == "lockout_cleared":
            rule_id, cleared_by, still_locked = view.apply_lockout_cleared(data, now)
            text = (f"{rule_id} lockout cleared ({cleared_by}); still locked by another rule" if still_locked
                    else f"Trading allowed again: {rule_id} lockout cleared ({cleared_by})")
            return [Alert(AlertKind.UNLOCKED, text, now, CLEARED_LIFETIME_S)]
        if kind == "enforcement_action":
            return [_enforcement_alert(view.apply_enforcement(data), now)]
        if kind == "daily_reset":
            view.apply_daily_reset(data)
            self.wants_snapshot = True
            previous = payload.opt_number(data, "previous_realized_pnl") or Decimal(0)
            count = payload.opt_integer(data, "previous_trade_count") or 0
            ended = payload.opt_text(data, "previous_trading_date")
            text = (f"New trading day {view.trading_date}: {ended} closed at net {formatting.pnl(previous)} "
                    f"with {count} trade(s)")
            view.note(HistoryEntry(time=now, rule_id="", action="DAILY RESET", reason=text, result=""))
            return [Alert(AlertKind.RESET, text, now, RESET_LIFETIME_S)]
        return []  # §3: unknown types are ignored

    # --- helpers -------------------------------------------------------------------------------

    def _go_offline(self, now: datetime) -> list[Alert]:
        """The banner's offline line says it from now on, so the state alerts are resolved, not repeated."""
        if self.mode is ConnectionMode.OFFLINE:
            return []
        self.mode = ConnectionMode.OFFLINE
        self.alerts.resolve(CONNECTION_KEY)
        self.alerts.resolve(DAEMON_KEY)
        view = self.view
        if view is not None:
            view.note(HistoryEntry(time=now, rule_id="", action="CONNECTION", result="",
                                   reason=f"daemon unreachable ({self.last_disconnect}): saved state shown"))
        return []

    def _push(self, alert: Alert, now: datetime) -> list[Alert]:
        """A state alert (connection, daemon): shown, and kept in the selected account's History."""
        self.alerts.push(alert, now)
        view = self.view
        if view is not None:
            action = "DAEMON" if alert.key == DAEMON_KEY else "CONNECTION"
            view.note(HistoryEntry(time=now, rule_id="", action=action, reason=alert.text, result=""))
        return [alert]

    def _choose_account(self) -> None:
        if self.selected is not None:
            return
        known = [ref.account_id for ref in self.known_accounts()]
        if self.requested is not None:
            if self.notice is not None:
                return  # never another account in its place: the trader chooses
            if self.requested in known or not known:
                self.selected = self.requested  # nothing known at all: show what there is for it
            else:
                self.notice = f"Account {self.requested} is not known to the daemon or the saved state"
            return
        if len(known) == 1:
            self.selected = known[0]

    def _has_account_list(self) -> bool:
        """Whether there is a list to choose from yet (a `hello`, or a saved state / its failure)."""
        return self.hello is not None or self.saved_at is not None or self.saved_error is not None or bool(
            self.accounts)

    def _problem(self, text: str) -> None:
        self.problems.append(text)
        del self.problems[:-20]


def _enforcement_alert(log: EnforcementLog, now: datetime) -> Alert:
    action = log.action
    rule = log.rule_id
    if log.outcome == EnforcementOutcome.FAILED:
        error = f": {log.error_message}" if log.error_message else ""
        return Alert(AlertKind.FAILED, f"ENFORCEMENT FAILED — contact your administrator — {action} "
                     f"{rule}{error}", now, None)
    if action == EnforcementActionType.ALERT:
        return Alert(AlertKind.NOTICE, f"NOTICE {rule}: {log.reason}", now, NOTICE_LIFETIME_S)
    if action == EnforcementActionType.UNLOCK:
        return Alert(AlertKind.UNLOCKED, f"Lock lifted — {rule}: {log.reason}".rstrip(": "), now,
                     NOTICE_LIFETIME_S)
    effects = []
    if log.positions_closed:
        effects.append(f"{log.positions_closed} position(s) closed")
    if log.orders_cancelled:
        effects.append(f"{log.orders_cancelled} order(s) cancelled")
    tag = "DRY RUN " if log.outcome == EnforcementOutcome.DRY_RUN else ""
    text = f"{tag}{action} — {rule} — {log.reason}"
    if effects:
        text += " — " + ", ".join(effects)
    return Alert(AlertKind.ENFORCEMENT, text, now, ENFORCEMENT_LIFETIME_S, bell=True)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}

