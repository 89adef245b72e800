"""`srm trader status` and `srm trader accounts` (`cli.md` §1.11): one look, then exit.

Both fill the dashboard's own model from one snapshot (live), or from one read of the saved state
when the daemon does not answer within 2 s, and print it as text or JSON (stable keys, money as JSON
numbers written from exact decimals, as on the broadcast feed). Exit 0 live, 3 saved data only,
4 nothing available.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from simple_risk_manager.broadcast.client import BroadcastClient, Disconnected
from simple_risk_manager.broadcast.protocol import SNAPSHOT
from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.enums import code_name
from simple_risk_manager.domain.money import to_json_number
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.runtime.exit_codes import ExitCode
from simple_risk_manager.trader import formatting as fmt
from simple_risk_manager.trader import summary
from simple_risk_manager.trader.account_view import AccountView
from simple_risk_manager.trader.fallback import SavedStateUnavailableError, read_saved_state
from simple_risk_manager.trader.feed import client_items
from simple_risk_manager.trader.gauges import gauge_level, used_fraction
from simple_risk_manager.trader.model import ConnectionMode, Dashboard
from simple_risk_manager.trader.selection import account_rows, source_label
from simple_risk_manager.trader.summary import Look, daily_loss_current
from simple_risk_manager.trader.valuation import AccountValue, PositionValue, value_account

#: `cli.md` §1.2: how long the daemon has to answer before saved data is used.
ANSWER_TIMEOUT_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class Outcome:
    model: Dashboard
    now: datetime

    @property
    def exit_code(self) -> ExitCode:
        if self.model.requested is not None and not self.accounts():
            return ExitCode.NO_DATA
        if self.model.live:
            return ExitCode.OK
        if self.model.saved_at is not None or self.model.accounts:
            return ExitCode.DAEMON_UNREACHABLE
        return ExitCode.NO_DATA

    def accounts(self) -> list[AccountView]:
        """The accounts to report: the requested one, else every account with data."""
        model = self.model
        if model.requested is not None:
            view = model.accounts.get(model.requested)
            return [] if view is None else [view]
        return [model.accounts[a] for a in sorted(model.accounts)]


async def gather(url: str, account_id: int | None, db_path: Path, clock: Clock,
                 timeout_s: float = ANSWER_TIMEOUT_S) -> Outcome:
    """One snapshot from the daemon, else one read of the saved state."""
    model = Dashboard(requested=account_id)
    client = BroadcastClient(url, None if account_id is None else [account_id], clock=clock)
    try:
        async with asyncio.timeout(timeout_s), client_items(client) as stream:
            async for item in stream:
                if isinstance(item, Disconnected):
                    model.on_disconnected(item, clock.now())
                    break
                model.on_message(item, clock.now())
                if item.type == SNAPSHOT:
                    return Outcome(model, clock.now())
    except TimeoutError:
        model.on_connect_timeout(clock.now())
    finally:
        await client.close()
    if model.mode is not ConnectionMode.OFFLINE:  # connected, but no snapshot in time
        model.on_disconnected(Disconnected("the daemon sent no snapshot within 2 s", 0.0), clock.now())
    now = clock.now()
    try:
        model.on_saved_state(await asyncio.to_thread(read_saved_state, db_path, now), now)
    except SavedStateUnavailableError as exc:
        model.on_saved_state_error(str(exc))
    return Outcome(model, now)


# --- JSON ------------------------------------------------------------------------------------

def _num(value: Decimal | None) -> float | int | None:
    return None if value is None else to_json_number(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else format_utc(value)


def status_document(outcome: Outcome) -> dict[str, Any]:
    model, now = outcome.model, outcome.now
    daemon = model.daemon if model.live else None
    return {
        "source": source_label(model),
        "as_of": format_utc(now),
        "saved_state_as_of": _iso(model.saved_at),
        "problem": None if model.live else (model.saved_error or model.last_disconnect or None),
        "daemon": None if daemon is None else {"status": daemon.status, "message": daemon.message,
                                                "hubs": dict(daemon.hubs)},
        "accounts": [_account_document(model, view, now) for view in outcome.accounts()],
    }


def _account_document(model: Dashboard, view: AccountView, now: datetime) -> dict[str, Any]:
    value = value_account(view, model.quotes, now, live=model.live)
    net = None if value.total is None else view.realized_pnl + value.total
    return {
        "account_id": view.account_id,
        "nickname": model.nickname(view.account_id),
        "status": view.status(now).value,
        "trading_date": None if view.trading_date is None else view.trading_date.isoformat(),
        "day_rolled": view.day_rolled,
        "next_reset_at": _iso(view.next_reset_at),
        "realized_pnl": _num(view.realized_pnl),
        "fees": _num(view.fees),
        "unrealized_pnl": _num(value.total),
        "unrealized_approximate": value.approximate or bool(value.missing),
        "net_pnl": _num(net),
        "trade_count": view.trade_count,
        "trade_counts": dict(view.trade_counts) or None,
        "balance": _num(view.balance),
        "lockouts": [{"lockout_id": record.lockout_id, "rule_id": record.rule_id, "kind": record.kind,
                      "reason": record.reason, "locked_until": _iso(record.locked_until),
                      "remaining_s": record.remaining_s(now)} for record in view.active_lockouts(now)],
        "positions": [_position_document(view, item, now) for item in value.positions],
        "orders": [{"order_id": order.id, "contract_id": order.contract_id, "type": code_name(order.type),
                    "side": order.side.name, "size": order.size, "filled_size": order.filled_size,
                    "limit_price": _num(order.limit_price), "stop_price": _num(order.stop_price),
                    "status": code_name(order.status), "is_stop_loss": order.is_stop_loss}
                   for order in sorted(view.orders.values(), key=lambda o: o.id)],
        "rules": [_rule_document(view, rule_id) for rule_id in sorted(view.rules)],
    }


def _position_document(view: AccountView, item: PositionValue, now: datetime) -> dict[str, Any]:
    position = item.line.position
    return {"contract_id": position.contract_id, "name": view.contract_name(position.contract_id),
            "side": position.type.name, "size": position.size, "average_price": _num(position.average_price),
            "last": _num(item.mark), "quote": item.freshness.value, "quote_age_s": item.quote_age_s,
            "unrealized_pnl": _num(item.upnl), "has_stop": item.line.has_stop,
            "no_stop_deadline": _iso(item.line.no_stop_deadline)}


def _rule_document(view: AccountView, rule_id: str) -> dict[str, Any]:
    rule = view.rules[rule_id]
    current = daily_loss_current(view) if rule_id == summary.DAILY_LOSS_RULE else rule.current
    fraction = used_fraction(rule.limit, current)
    return {"rule_id": rule_id, "name": rule.name, "enabled": rule.enabled, "limit": _num(rule.limit),
            "current": _num(current), "used_percent": None if fraction is None else _num(fraction * 100),
            "level": gauge_level(fraction, rule.status if current == rule.current else None).value,
            "status": rule.status}


def accounts_document(outcome: Outcome) -> dict[str, Any]:
    return {"source": source_label(outcome.model), "as_of": format_utc(outcome.now),
            "accounts": [row.to_dict() for row in account_rows(outcome.model, outcome.now)]}


# --- text ------------------------------------------------------------------------------------

def status_text(outcome: Outcome, zone: tzinfo | None, width: int = 160) -> list[str]:
    """Plain lines for a person; `width` only bounds the banner and strip (nothing is cut below it)."""
    model, now = outcome.model, outcome.now
    look = Look(zone)
    lines = [_source_text(model, now, zone)]
    for view in outcome.accounts():
        value = value_account(view, model.quotes, now, live=model.live)
        lines += _account_text(model, view, value, now, look=look, width=width)
    if not outcome.accounts():
        lines.append("No account data available.")
    return lines


def _source_text(model: Dashboard, now: datetime, zone: tzinfo | None) -> str:
    if model.live:
        daemon = model.daemon
        state = "" if daemon is None else f"; daemon {daemon.status}: {daemon.message}"
        return f"Source: live{state} (as of {fmt.local_clock(now, zone)})"
    if model.saved_at is not None:
        age = fmt.short_duration((now - model.saved_at).total_seconds())
        saved = fmt.local_clock(model.saved_at, zone)
        return (f"Source: saved state in the database, as of {saved} ({age} old); the daemon is unreachable "
                f"({model.last_disconnect}); no quotes or rule limits")
    return f"Source: none; the daemon is unreachable ({model.last_disconnect}) and {model.saved_error}"


def _account_text(model: Dashboard, view: AccountView, value: AccountValue, now: datetime, *, look: Look,
                  width: int) -> list[str]:
    name = model.nickname(view.account_id)
    day = "ended while the daemon was down" if view.day_rolled else (
        view.trading_date.isoformat() if view.trading_date else "n/a")
    lines = ["", f"Account {view.account_id}" + (f" ({name})" if name else "") + f" — "
             f"{view.status(now).value} — trading day {day}"]
    lines += [summary.plain(line).rstrip() for line in summary.lockout_banner(view, now, look, width)]
    strip = summary.strip(model, view, value, now, look=look, width=width)
    lines += [summary.plain(line).rstrip() for line in strip]
    for item in value.positions:
        position = item.line.position
        upnl = "n/a" if item.upnl is None else ("~" if item.approximate else "") + fmt.pnl(item.upnl)
        quote = {"fresh": "", "stale": " STALE", "no_data": " NO DATA"}[item.freshness.value]
        lines.append(f"  position {view.contract_name(position.contract_id)} {position.type.name} "
                     f"{position.size} @ {fmt.price(position.average_price)}  "
                     f"last {fmt.price(item.mark)}{quote}  unrealized {upnl}")
    for order in sorted(view.orders.values(), key=lambda o: o.id):
        tag = " SL" if order.is_stop_loss else ""
        lines.append(f"  order {order.id} {view.contract_name(order.contract_id)} "
                     f"{code_name(order.type)}{tag} {order.side.name} {order.filled_size}/{order.size} "
                     f"limit {fmt.price(order.limit_price)} stop {fmt.price(order.stop_price)} "
                     f"{code_name(order.status)}")
    if not value.positions and not view.orders:
        lines.append("  no open positions or orders")
    return lines


def accounts_text(outcome: Outcome) -> list[str]:
    rows = account_rows(outcome.model, outcome.now)
    lines = [f"Source: {source_label(outcome.model)}", f"{'#':>2}  {'Account':>10}  {'Nickname':<20}  "
             f"{'Status':<18}  {'Realized':>10}  Positions"]
    for row in rows:
        realized = "n/a" if row.realized_pnl is None else fmt.pnl(row.realized_pnl)
        positions = "n/a" if row.open_positions is None else str(row.open_positions)
        lines.append(f"{row.number:>2}  {row.account_id:>10}  {(row.nickname or ''):<20}  {row.status:<18}  "
                     f"{realized:>10}  {positions}")
    if not rows:
        lines.append("No accounts found.")
    return lines
