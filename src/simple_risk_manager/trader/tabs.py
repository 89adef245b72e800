"""The four tab bodies (`cli.md` §1.8) as rows of styled cells: Positions, Orders, History (trades or
enforcement) and Stats. Pure functions of an account view and `now`, shared by the dashboard and tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final

from simple_risk_manager.domain.enums import OrderSide, OrderType, code_name
from simple_risk_manager.domain.models import Order, Trade
from simple_risk_manager.domain.money import ZERO
from simple_risk_manager.trader import formatting as fmt
from simple_risk_manager.trader.account_view import AccountView, DataSource, HistoryEntry
from simple_risk_manager.trader.freshness import Freshness
from simple_risk_manager.trader.gauges import bar, gauge_level, percent, used_fraction
from simple_risk_manager.trader.payloads import RuleGauge
from simple_risk_manager.trader.summary import (
    CONTRACTS_RULE,
    DAILY_LOSS_RULE,
    GAUGE_WIDTH,
    Line,
    Look,
    Piece,
    daily_loss_current,
    fmt_count,
)
from simple_risk_manager.trader.valuation import AccountValue, PositionValue

Row = list[Piece]

POSITION_COLUMNS: Final = ("Contract", "Side", "Qty", "Avg price", "Last", "Unrealized", "Age", "Stop")
ORDER_COLUMNS: Final = ("ID", "Contract", "Type", "Side", "Filled/Size", "Limit", "Stop", "Status", "Age")
TRADE_COLUMNS: Final = ("Time", "Contract", "Side", "Size", "Price", "P&L", "Fees", "Running net")
ENFORCEMENT_COLUMNS: Final = ("Time", "Rule", "Action", "Reason", "Result", "Duration")
#: History → Enforcement: the reason gets what the other columns leave of the width, at least this much
#: (the whole text is in the alert and in the daemon's enforcement.log).
MIN_REASON_CELL: Final = 24
#: Cells of a table are padded by one column on each side.
CELL_PADDING: Final = 2
#: Rules whose limit and current value are money (§4.4); the others count contracts or trades.
MONEY_RULES: Final = frozenset({"RULE-003", "RULE-004", "RULE-005"})


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[str, ...]
    rows: list[Row]
    #: Shown under the table (totals), or the reason the table is empty.
    note: Line


# --- Positions -------------------------------------------------------------------------------

def positions_table(view: AccountView, value: AccountValue, now: datetime, look: Look) -> Table:
    rows = [_position_row(view, item, now, look) for item in value.positions]
    rule = view.rules.get(CONTRACTS_RULE) if view.source is DataSource.LIVE else None
    limit = "n/a" if rule is None or rule.limit is None else fmt_count(rule.limit)
    note: Line = [(f" Contracts {view.open_contracts()}/{limit}   Total unrealized ", "")]
    if value.total is None:
        note.append(("n/a", "dim"))
    else:
        note.append((("~" if value.approximate else "") + fmt.pnl(value.total), fmt.pnl_style(value.total)))
        if value.missing:
            note.append((f" ({value.missing} position(s) n/a)", "dim"))
    if not rows:
        note = [(" No open positions", "dim")]
    return Table(POSITION_COLUMNS, rows, note)


def _position_row(view: AccountView, item: PositionValue, now: datetime, look: Look) -> Row:
    position = item.line.position
    if item.freshness is Freshness.NO_DATA:
        last: Piece = ("NO DATA", "bold red")
    elif item.freshness is Freshness.STALE:
        last = (f"{fmt.price(item.mark)} STALE", "bold yellow")
    else:
        last = (fmt.price(item.mark), "")
    if item.upnl is None:
        upnl: Piece = ("n/a", "dim")
    else:
        upnl = (("~" if item.approximate else "") + fmt.pnl(item.upnl), fmt.pnl_style(item.upnl))
    age = fmt.short_duration((now - position.created_at).total_seconds())
    return [(view.contract_name(position.contract_id), "bold"), (position.type.name, ""),
            (str(position.size), ""), (fmt.price(position.average_price), ""), last, upnl, (age, ""),
            _stop_cell(item, now, look)]


def _stop_cell(item: PositionValue, now: datetime, look: Look) -> Piece:
    line = item.line
    if line.has_stop is None:
        return "n/a", "dim"
    if line.has_stop:
        return "✓", "green"
    if line.no_stop_deadline is None:
        return "no stop", "yellow"
    left = (line.no_stop_deadline - now).total_seconds()
    if left <= 0:
        return "no stop — closing", "bold red"
    return f"no stop — closes in {fmt.compact_countdown(left)}", "bold red"


# --- Orders ----------------------------------------------------------------------------------

def orders_table(view: AccountView, now: datetime) -> Table:
    orders = sorted(view.orders.values(), key=lambda o: (o.created_at, o.id))
    rows = [_order_row(view, order, now) for order in orders]
    note: Line = [(f" {len(rows)} working order(s)", "dim")] if rows else [(" No open orders", "dim")]
    return Table(ORDER_COLUMNS, rows, note)


def _order_row(view: AccountView, order: Order, now: datetime) -> Row:
    kind = code_name(order.type) if not isinstance(order.type, OrderType) else order.type.name
    if order.is_stop_loss:
        kind += " SL"
    return [(str(order.id), ""), (view.contract_name(order.contract_id), "bold"), (kind, ""),
            (order.side.name, ""), (f"{order.filled_size}/{order.size}", ""),
            (fmt.price(order.limit_price), ""), (fmt.price(order.stop_price), ""),
            (code_name(order.status), ""), (fmt.short_duration((now - order.created_at).total_seconds()), "")]


# --- History ---------------------------------------------------------------------------------

def trades_table(view: AccountView, look: Look) -> Table:
    """Newest first, with the running net (Σ P&L − fees of the day, oldest first) beside each fill."""
    running = ZERO
    nets: dict[int, Decimal] = {}
    for fill in sorted(view.trades, key=lambda t: (t.execution_time, t.id)):
        if not fill.voided:
            running += (fill.profit_and_loss or ZERO) - fill.fees
        nets[fill.id] = running
    rows = [_trade_row(view, fill, nets[fill.id], look) for fill in view.trades]
    note: Line = [(f" {len(rows)} fill(s) this trading day" if rows else " No trades this trading day",
                   "dim")]
    return Table(TRADE_COLUMNS, rows, note)


def _trade_row(view: AccountView, fill: Trade, net: Decimal, look: Look) -> Row:
    pnl: Piece = ("-", "dim") if fill.profit_and_loss is None else (fmt.pnl(fill.profit_and_loss),
                                                                    fmt.pnl_style(fill.profit_and_loss))
    if fill.voided:
        pnl = ("VOID", "dim")
    side = "BUY" if fill.side is OrderSide.BUY else "SELL"
    return [(fmt.local_time(fill.execution_time, look.zone), ""),
            (view.contract_name(fill.contract_id), "bold"), (side, ""), (str(fill.size), ""),
            (fmt.price(fill.price), ""), pnl, (fmt.money(fill.fees), "dim"),
            (fmt.pnl(net), fmt.pnl_style(net))]


def enforcement_table(view: AccountView, look: Look, width: int | None = None) -> Table:
    """`width`: the screen width, so long reasons are cut to fit (None: never cut)."""
    rows = [_history_row(entry, look) for entry in view.history]
    if width is not None and rows:
        reason = 3
        others = sum(max(len(ENFORCEMENT_COLUMNS[col]), *(len(row[col][0]) for row in rows)) + CELL_PADDING
                     for col in range(len(ENFORCEMENT_COLUMNS)) if col != reason)
        room = max(MIN_REASON_CELL, width - others - CELL_PADDING - 2)
        rows = [[*row[:reason], (_cut(row[reason][0], room), row[reason][1]), *row[reason + 1:]]
                for row in rows]
    note: Line = [(" Enforcement, lockouts, clears and alerts, newest first", "dim")] if rows else [
        (" No enforcement recorded", "dim")]
    return Table(ENFORCEMENT_COLUMNS, rows, note)


def _history_row(entry: HistoryEntry, look: Look) -> Row:
    failed = entry.result.startswith("FAILED")
    style = "bold magenta" if failed else ("red" if entry.from_log and entry.action not in ("UNLOCK", "ALERT")
                                            else "")
    duration = "" if entry.duration_ms is None else f"{entry.duration_ms} ms"
    return [(fmt.local_time(entry.time, look.zone), ""), (entry.rule_id or "—", ""),
            (entry.action, style), (entry.reason, ""), (entry.result, style), (duration, "dim")]


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


# --- Stats -----------------------------------------------------------------------------------

def rule_line(rule: RuleGauge, current: Decimal | None, look: Look) -> Line:
    """One gauge: name, bar, % used, current / limit and status (green < 80 %, yellow, red at 100 %)."""
    name = f" {rule.rule_id} {rule.name[:30]:<30} "
    if not rule.enabled:
        return [(name, "dim"), ("disabled", "dim")]
    if rule.limit is None:
        style = {"BREACHED": "bold red", "ACTIVE": "yellow"}.get(rule.status, "green")
        return [(name, ""), (rule.status, style)]
    fraction = used_fraction(rule.limit, current)
    level = gauge_level(fraction, rule.status if current == rule.current else None)
    money = rule.rule_id in MONEY_RULES
    shown = "n/a" if current is None else (fmt.money(current) if money else fmt_count(current))
    limit = fmt.money(rule.limit) if money else fmt_count(rule.limit)
    text = (f"{bar(fraction, GAUGE_WIDTH)} "
            f"{percent(fraction) if fraction is not None else 'n/a':>5}  {shown} / {limit}")
    status = rule.status if level.word == "" else f"{rule.status} {level.word}"
    return [(name, ""), (text, level.style), (f"  {status}", level.style)]


def stats_lines(view: AccountView, value: AccountValue, now: datetime, look: Look) -> list[Line]:
    lines: list[Line] = []
    if view.source is DataSource.SAVED:
        lines.append([(" Rule limits n/a offline: they arrive only from the daemon (the dashboard never "
                       "reads the risk configuration)", "dim")])
    else:
        as_of = "" if view.rules_as_of is None else f" (as of {fmt.local_time(view.rules_as_of, look.zone)})"
        lines.append([(f" Rule gauges{as_of}", "bold")])
        for rule in sorted(view.rules.values(), key=lambda r: r.rule_id):
            current = daily_loss_current(view) if rule.rule_id == DAILY_LOSS_RULE else rule.current
            lines.append(rule_line(rule, current, look))
        if not view.rules:
            lines.append([(" No rule values in the snapshot", "dim")])
    lines.append([])
    lines.append([(" Day statistics", "bold")])
    lines += _day_statistics(view)
    lines.append([])
    balance = "n/a" if view.balance is None else fmt.money(view.balance)
    as_of = " (as of the last snapshot)" if view.balance is not None else ""
    lines.append([(f" Balance {balance}", ""), (as_of, "dim")])
    if value.total is not None:
        lines.append([(" Unrealized now ", ""), (("~" if value.approximate else "") + fmt.pnl(value.total),
                                                  fmt.pnl_style(value.total))])
    if view.next_reset_at is not None:
        lines.append([(f" Next reset in {fmt.countdown((view.next_reset_at - now).total_seconds())} (at "
                       f"{fmt.local_hhmm(view.next_reset_at, look.zone, now)})", "")])
    return lines


def _day_statistics(view: AccountView) -> list[Line]:
    results = [t.profit_and_loss for t in view.trades if not t.voided and t.profit_and_loss is not None]
    wins = [r for r in results if r > ZERO]
    losses = [r for r in results if r < ZERO]
    decided = len(wins) + len(losses)
    rate = f"{len(wins) * 100 // decided}%" if decided else "n/a"
    fees = sum((t.fees for t in view.trades if not t.voided), ZERO)

    def average(values: list[Decimal]) -> str:
        return fmt.pnl(sum(values, ZERO) / len(values)) if values else "n/a"

    return [
        [(f" Trades {view.trade_count}   Wins {len(wins)}   Losses {len(losses)}   Win rate {rate}", "")],
        [(f" Average win {average(wins)}   Average loss {average(losses)}", "")],
        [(f" Largest win {fmt.pnl(max(wins)) if wins else 'n/a'}   Largest loss "
          f"{fmt.pnl(min(losses)) if losses else 'n/a'}   Total fees {fmt.money(fees)}", "")],
    ]
