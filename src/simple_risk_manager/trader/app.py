"""`srm trader`: the full-screen Textual dashboard (`cli.md` §1); `srm demo` shows the same `TraderApp`.

The app owns one `Dashboard` model and one `Feed`. Every feed item goes into the model; the screen is
redrawn from the model at most ten times a second (§1.12) and once a second for the countdowns and
ages. Time comes from the injected clock, so tests drive the dashboard with a `ManualClock`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from types import FrameType
from typing import Any, ClassVar, Final

from textual.app import App
from textual.binding import Binding, BindingType
from textual.filter import LineFilter

from simple_risk_manager.broadcast.client import Disconnected
from simple_risk_manager.broadcast.protocol import DEFAULT_URL
from simple_risk_manager.clock import Clock, SystemClock
from simple_risk_manager.trader.ascii_only import AsciiOnly
from simple_risk_manager.trader.feed import ConnectTimeout, Feed, FeedItem, SavedStateError
from simple_risk_manager.trader.model import Dashboard, SavedState
from simple_risk_manager.trader.screens import (
    AccountScreen,
    ConnectionScreen,
    DashboardScreen,
    HelpScreen,
    Redraw,
)
from simple_risk_manager.trader.summary import Look

#: §1.12: at most ten frames a second.
FRAME_INTERVAL_S: Final = 0.1
TICK_INTERVAL_S: Final = 1.0
#: §1.8: the Stats tab re-requests the snapshot's rule values this often while it is visible.
STATS_REFRESH_S: Final = 30.0
#: Snapshot wishes of the model (new contract, new day) are granted at most this often.
SNAPSHOT_WISH_MIN_S: Final = 2.0
STATS_TAB: Final = 3


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    """What `srm trader` (and `srm demo`) configure. `db_path` is the daemon's `data/state.db`."""

    url: str = DEFAULT_URL
    account_id: int | None = None
    db_path: Path = field(default_factory=lambda: Path("data") / "state.db")
    bell: bool = True
    ascii_only: bool = False
    #: The zone clock times are shown in; None = the machine's local zone.
    zone: tzinfo | None = None


class TraderApp(App[int]):
    """`connect=False` leaves the feed out: tests then drive the dashboard with `deliver`."""

    TITLE = "Simple Risk Manager"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit_dashboard", "quit", show=False),
        Binding("ctrl+c", "quit_dashboard", "quit", show=False, priority=True),
    ]

    def __init__(self, options: DashboardOptions, *, clock: Clock | None = None, connect: bool = True,
                 feed_factory: Callable[[TraderApp], Feed] | None = None,
                 handle_sigterm: bool = False) -> None:
        super().__init__()
        self.options = options
        self.clock = clock or SystemClock()
        self.model = Dashboard(requested=options.account_id)
        self.look = Look(options.zone)
        self._ascii_filter = AsciiOnly(enabled=options.ascii_only)
        self.tab = 0
        self.history_mode = "trades"
        self.feed: Feed | None = None
        if connect:
            self.feed = (feed_factory or default_feed)(self)
        self._handle_sigterm = handle_sigterm
        self._previous_sigterm: Any = None
        self._render_pending = False
        self._last_render_at: float | None = None
        self._last_snapshot_wish_at: float | None = None
        self._followed: int | None = None
        #: The dashboard screen is composed; nothing is drawn before.
        self.ready = False

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters, then `--ascii` (which must see the final characters)."""
        return [*super().get_line_filters(), *([self._ascii_filter] if self._ascii_filter.enabled else [])]

    def get_default_screen(self) -> DashboardScreen:
        return DashboardScreen()

    @property
    def dashboard(self) -> DashboardScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    def on_redraw(self, _message: Redraw) -> None:
        self.refresh_view()

    def on_dashboard_screen_ready(self, _message: DashboardScreen.Ready) -> None:
        """The dashboard screen is composed: start the clock ticks and the feed, and draw."""
        self.ready = True
        self.set_interval(TICK_INTERVAL_S, self.tick)
        self.set_interval(STATS_REFRESH_S, self._refresh_stats)
        if self._handle_sigterm:
            self._install_sigterm()
        if self.feed is not None:
            # A failure in the feed is a bug: end the app with its traceback rather than freeze the data.
            self.run_worker(self.feed.run(), name="trader-feed", exit_on_error=True)
        self.refresh_view()

    async def on_unmount(self) -> None:
        self.ready = False
        if self.feed is not None:
            self.feed.stop()
        if self._handle_sigterm and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._previous_sigterm or signal.SIG_DFL)

    # --- input from the feed -------------------------------------------------------------------

    def deliver(self, item: FeedItem) -> None:
        """One feed item into the model; the screen follows within a frame."""
        now = self.clock.now()
        model = self.model
        if isinstance(item, SavedState):
            model.on_saved_state(item, now)
        elif isinstance(item, SavedStateError):
            model.on_saved_state_error(item.error)
        elif isinstance(item, ConnectTimeout):
            model.on_connect_timeout(now)
        elif isinstance(item, Disconnected):
            model.on_disconnected(item, now)
        else:
            alerts = model.on_message(item, now)
            if self.options.bell and any(alert.bell for alert in alerts):
                self.bell()
        self._after_update()
        self._schedule_render()

    def _after_update(self) -> None:
        model = self.model
        if model.selected is not None and model.selected != self._followed:
            self._followed = model.selected
            if self.feed is not None:
                self.feed.follow([model.selected])
        if model.needs_selection and not isinstance(self.screen, AccountScreen):
            self._open_accounts(can_go_back=False)
        if model.wants_snapshot and self._may_wish():
            model.take_snapshot_wish()
            self._request_snapshot()

    def _may_wish(self) -> bool:
        now = self.clock.monotonic()
        last = self._last_snapshot_wish_at
        if last is not None and now - last < SNAPSHOT_WISH_MIN_S:
            return False
        self._last_snapshot_wish_at = now
        return True

    # --- drawing -------------------------------------------------------------------------------

    def _schedule_render(self) -> None:
        if self._render_pending:
            return
        now = self.clock.monotonic()
        wait = 0.0 if self._last_render_at is None else FRAME_INTERVAL_S - (now - self._last_render_at)
        if wait <= 0:
            self.refresh_view()
            return
        self._render_pending = True
        self.set_timer(wait, self.refresh_view)

    def tick(self) -> None:
        self.model.tick(self.clock.now())
        self.refresh_view()

    def refresh_view(self) -> None:
        """Draw every visible screen from the model, now."""
        self._render_pending = False
        if not self.ready or not self.screen_stack:
            return  # not composed yet, or shutting down (a frame timer may still fire)
        self._last_render_at = self.clock.monotonic()
        now = self.clock.now()
        self.model.tick(now)
        self.dashboard.render_view(self.model, now, self.look, self.tab, self.history_mode)
        screen = self.screen
        if not screen.is_mounted:
            return  # drawn when it says it is ready (`Redraw`)
        if isinstance(screen, AccountScreen):
            screen.render_view(self.model, now)
        elif isinstance(screen, ConnectionScreen):
            screen.render_view(self.model, now, self.look, self._subscription_text(), self.options.db_path)

    def _subscription_text(self) -> str:
        ids = None if self.feed is None else self.feed.account_ids
        return "all accounts" if ids is None else ", ".join(str(a) for a in ids)

    # --- actions -------------------------------------------------------------------------------

    def action_show_tab(self, index: int) -> None:
        self.tab = index
        self.dashboard.show_tab(index)
        if index == STATS_TAB:
            self._request_snapshot()
        self.refresh_view()

    def action_next_tab(self, step: int) -> None:
        self.action_show_tab((self.tab + step) % 4)

    def action_toggle_history(self) -> None:
        self.history_mode = "enforcement" if self.history_mode == "trades" else "trades"
        self.refresh_view()

    def action_resync(self) -> None:
        if self.feed is not None:
            self.run_worker(self.feed.resync(), exclusive=False)

    def action_dismiss_alert(self) -> None:
        self.model.dismiss_alert(self.clock.now())
        self.refresh_view()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_connection_panel(self) -> None:
        self.push_screen(ConnectionScreen())

    def action_accounts(self) -> None:
        self._open_accounts(can_go_back=self.model.selected is not None)

    def action_quit_dashboard(self) -> None:
        self.exit(0)

    def _open_accounts(self, can_go_back: bool) -> None:
        previous = self.model.selected
        if not can_go_back:
            self.model.unselect()
        if self.feed is not None and self.model.live and self.model.hello is not None:
            ids = [ref.account_id for ref in self.model.hello.accounts]
            self.run_worker(self.feed.request_snapshot(ids), exclusive=False)
        elif self.feed is not None:
            self.feed.poll_now()

        def chosen(account_id: int | None) -> None:
            if account_id is None:
                return
            if account_id != previous:
                self.tab = 0
            self.model.select(account_id)
            self._after_update()
            self.refresh_view()

        self.push_screen(AccountScreen(can_go_back), chosen)

    def _refresh_stats(self) -> None:
        if self.tab == STATS_TAB:
            self._request_snapshot()

    def _request_snapshot(self) -> None:
        if self.feed is not None and self.model.live:
            self.run_worker(self.feed.request_snapshot(), exclusive=False)

    # --- terminal ------------------------------------------------------------------------------

    def _install_sigterm(self) -> None:
        """§1.12: SIGTERM leaves the terminal restored, like `q`."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()

        def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
            loop.call_soon_threadsafe(self.exit, 0)

        self._previous_sigterm = signal.signal(signal.SIGTERM, on_sigterm)


def default_feed(app: TraderApp) -> Feed:
    options = app.options
    return Feed(options.url, None if options.account_id is None else [options.account_id], app.deliver,
                db_path=options.db_path, clock=app.clock,
                wants_saved_state=lambda: app.model.wants_saved_state)


def run_dashboard(url: str, account_id: int | None = None, *, db_path: Path, bell: bool = True,
                  ascii_only: bool = False, no_color: bool = False, zone: tzinfo | None = None) -> int:
    """Show the dashboard in this terminal until the trader quits; returns the exit code (0).

    Blocking; runs its own event loop. `no_color` sets `NO_COLOR` for this process (Textual reads it).
    """
    if no_color:
        os.environ["NO_COLOR"] = "1"
    app = TraderApp(DashboardOptions(url=url, account_id=account_id, db_path=db_path, bell=bell,
                                     ascii_only=ascii_only, zone=zone), handle_sigterm=True)
    app.run()
    return app.return_code or 0  # 1 when the app failed (Textual has printed why)
