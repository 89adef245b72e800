"""The dashboard's fixed rows as styled text (`cli.md` §1.4–§1.9): header, banner, summary strip, footer.

Pure functions of the model and `now`; each row is a list of `(text, style)` pieces, so the Textual
widgets and the tests read the same thing. Every coloured state also has a word or a sign.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Final

from simple_risk_manager.domain.enums import LockoutKind
from simple_risk_manager.domain.models import Lockout
from simple_risk_manager.trader import formatting as fmt
from simple_risk_manager.trader.account_view import AccountView, DataSource
from simple_risk_manager.trader.alerts import Alert
from simple_risk_manager.trader.gauges import bar, gauge_level, percent, used_fraction
from simple_risk_manager.trader.model import ConnectionMode, Dashboard, Indicator, IndicatorKind
from simple_risk_manager.trader.payloads import RuleGauge
from simple_risk_manager.trader.valuation import AccountValue

Piece = tuple[str, str]
Line = list[Piece]

DAILY_LOSS_RULE: Final = "RULE-003"
CONTRACTS_RULE: Final = "RULE-001"
FREQUENCY_RULE: Final = "RULE-006"
GAUGE_WIDTH: Final = 10
#: Rows one message (an alert, the data's age) may take in the banner before it is cut.
BANNER_ROWS: Final = 2
_MUTED: Final = "dim"
_LOCKED_STYLE: Final = "bold white on red"
_COOLDOWN_STYLE: Final = "bold black on yellow"
_OFFLINE_STYLE: Final = "bold white on dark_red"
_INDICATOR_STYLES: Final = {
    IndicatorKind.LIVE: "bold green", IndicatorKind.DEGRADED: "bold yellow",
    IndicatorKind.RECONNECTING: "bold yellow", IndicatorKind.OFFLINE: "bold red",
    IndicatorKind.STOPPING: "bold yellow", IndicatorKind.CONNECTING: "bold yellow",
}


@dataclass(frozen=True, slots=True)
class Look:
    """How to draw: the viewer's time zone (None = the machine's)."""

    zone: tzinfo | None = None


def plain(line: Line) -> str:
    return "".join(text for text, _ in line)


def fit(line: Line, width: int) -> Line:
    """Cut a line to `width` cells, ending in `…` when something was cut."""
    if sum(len(text) for text, _ in line) <= width:
        return line
    result: Line = []
    room = max(0, width - 1)
    for text, style in line:
        if room <= 0:
            break
        result.append((text[:room], style))
        room -= len(text[:room])
    result.append(("…", ""))
    return result


# --- header ----------------------------------------------------------------------------------

def indicator_text(model: Dashboard, indicator: Indicator, look: Look) -> Piece:
    kind = indicator.kind
    if kind is IndicatorKind.LIVE:
        text = "● LIVE"
    elif kind is IndicatorKind.DEGRADED:
        text = "◐ DEGRADED"
    elif kind is IndicatorKind.RECONNECTING:
        text = f"◌ RECONNECTING ({model.attempts})"
    elif kind is IndicatorKind.STOPPING:
        status = model.daemon.status if model.daemon is not None else "STOPPING"
        text = f"■ {status}"
    elif kind is IndicatorKind.CONNECTING:
        text = "◌ CONNECTING"
    elif model.saved_at is not None:
        text = f"○ OFFLINE — saved state {fmt.local_time(model.saved_at, look.zone)}"
    else:
        text = "○ OFFLINE — no saved state"
    return text, _INDICATOR_STYLES[kind]


def header(model: Dashboard, now: datetime, look: Look, width: int) -> Line:
    left: Line = [(" SRM", "bold")]
    view = model.view
    if view is not None:
        name = model.nickname(view.account_id) or "Account"
        left.append((f" • {name} (#{view.account_id})", "bold"))
        if view.day_rolled:
            left.append((" • trading day ended while the daemon was down", "yellow"))
        elif view.trading_date is not None:
            left.append((f" • trading day {view.trading_date.isoformat()}", ""))
    right: Line = [indicator_text(model, model.indicator(now), look),
                   (f"    {fmt.local_clock(now, look.zone)} ", "")]
    gap = width - len(plain(left)) - len(plain(right))
    if gap < 2:
        return [*fit(left, max(0, width - len(plain(right)) - 2)), ("  ", ""), *right]
    return [*left, (" " * gap, ""), *right]


# --- banner ----------------------------------------------------------------------------------

def lockout_banner(view: AccountView, now: datetime, look: Look, width: int) -> list[Line]:
    """§1.6: the effective record, its rule and reason, a live countdown, "+N more". When that does not
    fit one row the countdown gets a row of its own, so it is never cut; none when not locked."""
    active = view.active_lockouts(now)
    if not active:
        return []
    record = active[0]
    cooldown = record.kind == LockoutKind.DURATION
    label, style = ("COOLDOWN", _COOLDOWN_STYLE) if cooldown else ("LOCKED OUT", _LOCKED_STYLE)
    when = _until_text(record, now, look)
    more = f" +{len(active) - 1} more" if len(active) > 1 else ""
    what = f" ▓▓ {label} — {record.rule_id} {record.reason}"
    until = f"{when}{more} ▓▓"
    if len(what) + len(until) + 3 <= width:
        return [[(f"{what} — {until}".ljust(width), style)]]
    return [fit([(what.ljust(width), style)], width),
            fit([(f" ▓▓ {until}".ljust(width), style)], width)]


def _until_text(record: Lockout, now: datetime, look: Look) -> str:
    if record.locked_until is None:
        return "until the broker re-enables trading"
    remaining = record.remaining_s(now) or 0.0
    return (f"trading allowed again in {fmt.countdown(remaining)} "
            f"(at {fmt.local_hhmm(record.locked_until, look.zone, now)})")


def alert_lines(alert: Alert, waiting: int, width: int) -> list[Line]:
    """The alert on screen, wrapped onto at most `BANNER_ROWS` rows (what was done matters), with the
    number waiting behind it and, for one that stays, how to dismiss it."""
    suffix = (f" (+{waiting} waiting)" if waiting else "") + (
        " [Enter/Esc to dismiss]" if alert.lifetime_s is None and alert.key is None else "")
    return wrapped(alert.text + suffix, alert.kind.style, width)


def wrapped(text: str, style: str, width: int) -> list[Line]:
    """`text` on at most `BANNER_ROWS` full-width rows, cut with `…` beyond."""
    rows = textwrap.wrap(text, max(10, width - 2), break_on_hyphens=False) or [""]
    if len(rows) > BANNER_ROWS:
        rows = [*rows[:BANNER_ROWS - 1], " ".join(rows[BANNER_ROWS - 1:])]
    return [fit([(f" {row}".ljust(width), style)], width) for row in rows]


def data_age_lines(model: Dashboard, now: datetime, look: Look, width: int) -> list[Line]:
    """Offline or reconnecting: how old the data on screen is, in words, prominently."""
    if model.mode is ConnectionMode.OFFLINE:
        if model.saved_at is not None:
            age = fmt.short_duration((now - model.saved_at).total_seconds())
            heard = "" if model.last_message_at is None else (
                f"; daemon last heard at {fmt.local_clock(model.last_message_at, look.zone)}")
            text = (f"OFFLINE — daemon unreachable; saved state as of "
                    f"{fmt.local_clock(model.saved_at, look.zone)} ({age} old){heard}; "
                    f"positions/orders can be up to 5 s older than the broker; no quotes")
        elif model.saved_error is not None:
            text = f"OFFLINE — daemon unreachable and {model.saved_error}"
        else:
            text = "OFFLINE — daemon unreachable; reading the saved state…"
        return wrapped(text, _OFFLINE_STYLE, width)
    return []


def banner(model: Dashboard, now: datetime, look: Look, width: int) -> list[Line]:
    """Row 2 (§1.4): the lockout, the alert on screen and the data's age; empty when all is well."""
    lines = data_age_lines(model, now, look, width)
    view = model.view
    if view is not None:
        lines += lockout_banner(view, now, look, width)
    alert = model.alerts.current()
    if alert is not None:
        lines += alert_lines(alert, model.alerts.waiting, width)
    return lines


# --- summary strip ---------------------------------------------------------------------------

def gauge_pieces(rule: RuleGauge | None, current: Decimal | None, look: Look, label: str) -> Line:
    """`Loss limit [████░░░░░░] 39%`, coloured at 80 % and 100 %, with WARN/LIMIT words."""
    if rule is None or not rule.enabled or rule.limit is None:
        return [(f"{label} n/a", _MUTED)]
    fraction = used_fraction(rule.limit, current)
    level = gauge_level(fraction, rule.status if current == rule.current else None)
    text = f"{label} {bar(fraction, GAUGE_WIDTH)} "
    text += percent(fraction) if fraction is not None else "n/a"
    if level.word:
        text += f" {level.word}"
    return [(text, level.style)]


def daily_loss_current(view: AccountView) -> Decimal:
    """RULE-003's current value is exactly max(0, −realized) (§4.4), so it follows every fill."""
    return max(Decimal(0), -view.realized_pnl)


def strip(model: Dashboard, view: AccountView, value: AccountValue, now: datetime, *, look: Look,
          width: int) -> list[Line]:
    saved = view.source is DataSource.SAVED
    first: Line = [(" Realized ", ""), (fmt.pnl(view.realized_pnl), fmt.pnl_style(view.realized_pnl)),
                   (f" (fees {fmt.money(view.fees)})", _MUTED), ("  Unrealized ", "")]
    first.append(_unrealized_piece(value))
    net = None if value.total is None else view.realized_pnl + value.total
    first += [("  Net ", ""), ("n/a" if net is None else ("~" if value.approximate or value.missing else "")
                                + fmt.pnl(net), fmt.pnl_style(net)), ("  ", "")]
    rule = None if saved else view.rules.get(DAILY_LOSS_RULE)
    first += gauge_pieces(rule, daily_loss_current(view), look, "Loss limit")
    second: Line = [(" ", ""), *_trades_pieces(view, look), ("  ", "")]
    contracts_rule = None if saved else view.rules.get(CONTRACTS_RULE)
    contracts_limit = None if contracts_rule is None else contracts_rule.limit
    limit = "n/a" if contracts_limit is None else fmt_count(contracts_limit)
    second.append((f"Contracts {view.open_contracts()}/{limit}", ""))
    if view.next_reset_at is not None:
        second.append((f"  Reset in {fmt.short_duration((view.next_reset_at - now).total_seconds())}", ""))
    return [fit(first, width), fit(second, width)]


def _unrealized_piece(value: AccountValue) -> Piece:
    if value.total is None:
        return "n/a", _MUTED
    text = ("~" if value.approximate else "") + fmt.pnl(value.total)
    if value.missing:
        text += f" ({value.missing} n/a)"
    return text, fmt.pnl_style(value.total)


def _trades_pieces(view: AccountView, look: Look) -> Line:
    """`Trades 6/50 (1/3 per min, 2/10 per h)`; limits only where the daemon gave them (C5)."""
    if view.source is DataSource.SAVED:
        return [(f"Trades {view.trade_count} (windows n/a offline)", "")]
    rule = view.rules.get(FREQUENCY_RULE)
    limits = (rule.limits if rule is not None and rule.limits else None) or {}
    counts = view.trade_counts

    def window(name: str, count: int | None) -> str:
        shown = "?" if count is None else str(count)
        return shown + (f"/{fmt_count(limits[name])}" if name in limits else "")

    minute, hour = window("minute", counts.get("minute")), window("hour", counts.get("hour"))
    text = f"Trades {window('session', view.trade_count)} ({minute} per min, {hour} per h)"
    pieces: Line = [(text, "")]
    if rule is not None and rule.enabled and not limits:
        pieces += [("  ", ""), *gauge_pieces(rule, rule.current, look, "Freq")]
    return pieces


def fmt_count(value: Decimal) -> str:
    """A count or limit as a whole number when it is one: `50`, not `50.0` or `5E+1`."""
    return str(int(value)) if value == value.to_integral_value() else fmt.price(value)


# --- footer ----------------------------------------------------------------------------------

KEY_HINTS: Final = "1-4 tabs  t trades/log  r resync  c conn  a account  ? help  q quit"
SHORT_KEY_HINTS: Final = "1-4 tabs r resync a acct ? help q quit"


def footer(model: Dashboard, value: AccountValue | None, now: datetime, look: Look, width: int) -> Line:
    warnings: list[str] = []
    view = model.view
    if value is not None and view is not None:
        if model.mode is ConnectionMode.OFFLINE:
            if value.positions:
                warnings.append("quotes n/a offline")
        else:
            for item in value.positions:
                name = view.contract_name(item.line.position.contract_id)
                if item.quote_age_s is None:
                    warnings.append(f"{name} no quote")
                elif item.freshness.value != "fresh":
                    warnings.append(f"{name} quote {fmt.short_duration(item.quote_age_s)} old")
    left: Line = [(" ", "")]
    if warnings:
        left = [(" ⚠ " + ", ".join(warnings) + " │ ", "bold yellow")]
    note = model.footer_note
    middle: Line = [(note.text, _MUTED)] if note is not None else [(KEY_HINTS, "")]
    right: Line = [(f" │ {_freshness_text(model, now)} ", "")]
    line = left + middle + right
    if len(plain(line)) > width and note is None:
        line = [*left, (SHORT_KEY_HINTS, ""), *right]
    if len(plain(line)) > width:
        return fit(left + middle, max(0, width - len(plain(right)))) + right
    return line


def _freshness_text(model: Dashboard, now: datetime) -> str:
    if model.mode is ConnectionMode.OFFLINE:
        if model.saved_at is None:
            return "no data"
        return f"saved {fmt.short_duration((now - model.saved_at).total_seconds())} ago"
    silence = model.silence_s(now)
    return "no event yet" if silence is None else f"last event {fmt.event_age(silence)}"

