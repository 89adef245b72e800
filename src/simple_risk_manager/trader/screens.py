"""The Trader CLI's screens (`cli.md` §1.3–§1.10): the dashboard, account selection, the help overlay
and the connection panel. Screens only draw what the app's model holds and turn keys into app actions;
none of them has a key that changes anything outside the screen (§1.1).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import ClassVar, Final

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import ContentSwitcher, DataTable, Static

from simple_risk_manager.broadcast.protocol import PROTOCOL_VERSION
from simple_risk_manager.trader import formatting as fmt
from simple_risk_manager.trader import summary, tabs
from simple_risk_manager.trader.model import Dashboard
from simple_risk_manager.trader.selection import account_rows, status_style
from simple_risk_manager.trader.summary import Line, Look
from simple_risk_manager.trader.valuation import value_account
from simple_risk_manager.trader.widgets import Lines, TabBar, TableView, to_text

MIN_WIDTH: Final = 80
MIN_HEIGHT: Final = 24
TAB_IDS: Final = ("positions", "orders", "history", "stats")

HELP_ROWS: Final = (
    ("1-4, Tab / Shift-Tab, ←/→", "switch tab"),
    ("↑/↓, j/k, PgUp/PgDn, Home/End", "scroll the current table"),
    ("t", "History: trades ↔ enforcement"),
    ("r", "resync (fresh snapshot, or an immediate database read offline)"),
    ("c", "connection panel"),
    ("a", "back to account selection"),
    ("Enter / Esc", "dismiss the current alert"),
    ("?", "this help"),
    ("q, Ctrl-C", "quit"),
)


class Redraw(Message):
    """A screen that draws from the model is ready: the app draws it now rather than at the next tick."""


class DashboardScreen(Screen[None]):
    DEFAULT_CSS = """
    DashboardScreen { layout: vertical; }
    DashboardScreen #header { height: 1; background: $boost; }
    DashboardScreen #banner { height: auto; }
    DashboardScreen #strip { height: 2; }
    DashboardScreen #tabs { height: 1; }
    DashboardScreen #body { height: 1fr; }
    DashboardScreen #body > Vertical { height: 1fr; }
    DashboardScreen TableView { height: 1fr; }
    DashboardScreen .note { height: 1; }
    DashboardScreen #footer { height: 1; background: $boost; }
    DashboardScreen #too-small { display: none; height: 1fr; content-align: center middle; }
    DashboardScreen.-too-small > * { display: none; }
    DashboardScreen.-too-small > #too-small { display: block; }
    DashboardScreen.-greyed .data { text-opacity: 55%; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("1", "app.show_tab(0)", "Positions", show=False),
        Binding("2", "app.show_tab(1)", "Orders", show=False),
        Binding("3", "app.show_tab(2)", "History", show=False),
        Binding("4", "app.show_tab(3)", "Stats", show=False),
        Binding("tab,right", "app.next_tab(1)", "next tab", show=False, priority=True),
        Binding("shift+tab,left", "app.next_tab(-1)", "previous tab", show=False, priority=True),
        Binding("j", "scroll(1)", "down", show=False),
        Binding("k", "scroll(-1)", "up", show=False),
        Binding("t", "app.toggle_history", "trades/enforcement", show=False),
        Binding("r", "app.resync", "resync", show=False),
        Binding("c", "app.connection_panel", "connection", show=False),
        Binding("a", "app.accounts", "accounts", show=False),
        Binding("enter,escape", "app.dismiss_alert", "dismiss", show=False, priority=True),
        Binding("question_mark", "app.help", "help", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Lines(id="header")
        yield Lines(id="banner")
        yield Lines(id="strip", classes="data")
        yield TabBar(id="tabs")
        with ContentSwitcher(id="body", initial="positions"):
            for tab_id in TAB_IDS[:3]:
                with Vertical(id=tab_id):
                    yield TableView(id=f"{tab_id}-table", classes="data")
                    yield Lines(id=f"{tab_id}-note", classes="note data")
            with VerticalScroll(id="stats"):
                yield Lines(id="stats-lines", classes="data")
        yield Lines(id="footer")
        yield Static(f"Enlarge the terminal to at least {MIN_WIDTH}×{MIN_HEIGHT}", id="too-small")

    class Ready(Message):
        """The screen is composed: the app may start drawing on it."""

    def on_mount(self) -> None:
        self.query_one("#positions-table", TableView).focus()
        self.post_message(self.Ready())

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < MIN_WIDTH or event.size.height < MIN_HEIGHT, "-too-small")

    def action_scroll(self, step: int) -> None:
        table = self.current_table()
        if table is not None:
            table.action_cursor_down() if step > 0 else table.action_cursor_up()

    def current_table(self) -> TableView | None:
        current = self.query_one(ContentSwitcher).current
        if current in TAB_IDS[:3]:
            return self.query_one(f"#{current}-table", TableView)
        return None

    def show_tab(self, index: int) -> None:
        self.query_one(ContentSwitcher).current = TAB_IDS[index]
        table = self.current_table()
        if table is not None:
            table.focus()
        else:
            self.query_one("#stats", VerticalScroll).focus()

    def render_view(self, model: Dashboard, now: datetime, look: Look, tab: int, history_mode: str) -> None:
        width = max(MIN_WIDTH, self.size.width)
        self.set_class(model.greyed, "-greyed")
        self.query_one("#header", Lines).show([summary.header(model, now, look, width)])
        self.query_one("#banner", Lines).show(summary.banner(model, now, look, width), hide_when_empty=True)
        self.query_one("#tabs", TabBar).show(tab, history_mode)
        view = model.view
        value = None if view is None else value_account(view, model.quotes, now, live=model.live)
        self.query_one("#footer", Lines).show([summary.footer(model, value, now, look, width)])
        if view is None or value is None:
            waiting = "Waiting for the daemon…" if model.saved_error is None else model.saved_error
            self.query_one("#strip", Lines).show([[(f" {waiting}", "dim")], []])
            for tab_id in TAB_IDS[:3]:
                self.query_one(f"#{tab_id}-table", TableView).show(tabs.Table((), [], []))
                self.query_one(f"#{tab_id}-note", Lines).show([])
            self.query_one("#stats-lines", Lines).show([])
            return
        self.query_one("#strip", Lines).show(summary.strip(model, view, value, now, look=look, width=width))
        positions = tabs.positions_table(view, value, now, look)
        orders = tabs.orders_table(view, now)
        trades = history_mode == "trades"
        history = tabs.trades_table(view, look) if trades else tabs.enforcement_table(view, look, width)
        for tab_id, table in zip(TAB_IDS[:3], (positions, orders, history), strict=True):
            self.query_one(f"#{tab_id}-table", TableView).show(table)
            self.query_one(f"#{tab_id}-note", Lines).show([table.note])
        self.query_one("#stats-lines", Lines).show(tabs.stats_lines(view, value, now, look))


class AccountScreen(Screen[int]):
    """§1.3: one row per account; ↑/↓ or digits, Enter selects, `q` quits, Esc returns (if possible)."""

    DEFAULT_CSS = """
    AccountScreen { layout: vertical; }
    AccountScreen #title { height: auto; padding: 0 1; }
    AccountScreen DataTable { height: 1fr; }
    AccountScreen #hint { height: 1; padding: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "choose", "select", priority=True),
        Binding("escape", "back", "back", show=False),
        *(Binding(str(number), f"number({number})", show=False) for number in range(1, 10)),
    ]

    def __init__(self, can_go_back: bool) -> None:
        super().__init__()
        self._can_go_back = can_go_back
        self._ids: list[int] = []

    def compose(self) -> ComposeResult:
        yield Lines(id="title")
        yield DataTable(cursor_type="row", zebra_stripes=True)
        yield Static("↑/↓ or 1-9 choose   Enter select   q quit", id="hint")

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("#", "Account", "Nickname", "Status", "Realized today",
                                              "Open positions")
        self.query_one(DataTable).focus()
        self.post_message(Redraw())

    def render_view(self, model: Dashboard, now: datetime) -> None:
        title: list[Line] = [[(" SRM — choose an account", "bold"),
                              ("  (live)" if model.live else "  (saved state: daemon unreachable)",
                               "green" if model.live else "bold red")]]
        if model.notice:
            title.append([(f" {model.notice}", "bold yellow")])
        if model.saved_error and not model.live:
            title.append([(f" {model.saved_error}", "red")])
        self.query_one("#title", Lines).show(title)
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        rows = account_rows(model, now)
        self._ids = [r.account_id for r in rows]
        for r in rows:
            realized = "n/a" if r.realized_pnl is None else fmt.pnl(r.realized_pnl)
            table.add_row(str(r.number), str(r.account_id), r.nickname or "",
                          Text(r.status, style=status_style(r.status)),
                          Text(realized, style=fmt.pnl_style(r.realized_pnl)),
                          "n/a" if r.open_positions is None else str(r.open_positions))
        if rows:
            table.move_cursor(row=min(row, len(rows) - 1), animate=False, scroll=False)

    def action_choose(self) -> None:
        table = self.query_one(DataTable)
        if self._ids:
            self.dismiss(self._ids[min(table.cursor_row, len(self._ids) - 1)])

    def action_number(self, number: int) -> None:
        if number <= len(self._ids):
            self.dismiss(self._ids[number - 1])

    def action_back(self) -> None:
        if self._can_go_back:
            self.app.pop_screen()


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static {
        width: auto; height: auto; padding: 1 2; background: $panel; border: solid $accent;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,enter,q", "app.pop_screen", "close", priority=True)]

    def compose(self) -> ComposeResult:
        lines: list[Line] = [[("Keys", "bold")], []]
        lines += [[(f"{keys:<32}", "bold"), (what, "")] for keys, what in HELP_ROWS]
        lines += [[], [("The dashboard only reads: no key changes anything.", "dim")],
                  [("Esc or ? closes this help.", "dim")]]
        yield Static(to_text(lines))


class ConnectionScreen(ModalScreen[None]):
    """§1.5 `c`: daemon status, uptime, hubs, clients, run id, protocol, events, database."""

    DEFAULT_CSS = """
    ConnectionScreen { align: center middle; }
    ConnectionScreen > Lines {
        width: 90%; height: auto; padding: 1 2; background: $panel; border: solid $accent;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c,enter,q", "app.pop_screen", "close", priority=True)]

    def compose(self) -> ComposeResult:
        yield Lines()

    def on_mount(self) -> None:
        self.post_message(Redraw())

    def render_view(self, model: Dashboard, now: datetime, look: Look, subscription: str,
                    db_path: Path) -> None:
        self.query_one(Lines).show(connection_lines(model, now, look, subscription, db_path))


def connection_lines(model: Dashboard, now: datetime, look: Look, subscription: str,
                     db_path: Path) -> list[Line]:
    indicator = model.indicator(now)
    head = summary.indicator_text(model, indicator, look)
    lines: list[Line] = [[("Connection  ", "bold"), head]]
    if indicator.reason:
        lines.append([(f"  why: {indicator.reason}", "")])
    daemon, hello = model.daemon, model.hello
    known = "" if model.live else " (last known)"
    if daemon is not None:
        lines.append([(f"Daemon{known}: {daemon.status} — {daemon.message}", "")])
        uptime = "n/a" if daemon.uptime_s is None else fmt.short_duration(daemon.uptime_s)
        hubs = ", ".join(f"{hub} {state}" for hub, state in sorted(daemon.hubs.items())) or "n/a"
        lines.append([(f"Uptime {uptime}   Hubs: {hubs}   Clients {daemon.clients}", "")])
    else:
        lines.append([("Daemon: not heard from", "dim")])
    if hello is not None:
        lines.append([(f"Run id {hello.run_id}   Daemon version {hello.daemon_version}   Protocol "
                       f"{hello.protocol} (this dashboard speaks {PROTOCOL_VERSION})", "")])
    silence = model.silence_s(now)
    last = "never" if silence is None else f"{fmt.event_age(silence)} ago"
    lines.append([(f"Messages received {model.messages_received}   Last message {last}   Subscription "
                   f"{subscription}", "")])
    if model.last_disconnect:
        lines.append([(f"Last disconnect: {model.last_disconnect}", "dim")])
    lines.append([(f"Database {db_path}", "")])
    lines.append([(f"  {_file_size(db_path)}; read only when the daemon is unreachable", "")])
    if model.saved_at is not None:
        lines.append([(f"Saved state as of {fmt.local_clock(model.saved_at, look.zone)}", "")])
    if model.saved_error:
        lines.append([(model.saved_error, "red")])
    for problem in model.problems[-5:]:
        lines.append([(f"Ignored: {problem}", "yellow")])
    lines += [[], [("Esc or c closes this panel.", "dim")]]
    return lines


def _file_size(path: Path) -> str:
    try:
        return f"{path.stat().st_size:,} bytes"
    except OSError:
        return "not found"
