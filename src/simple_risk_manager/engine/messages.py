"""The `data` of the event messages the dispatcher broadcasts (`broadcast-api.md` §5).

Domain objects give their own broadcast form (`to_dict`); this module adds the enrichment the
dashboard needs and that only the dispatcher knows right after its state update: the day's totals on
a fill, unrealized P&L and stop protection on a position. `enforcement_action` is MOD-001's message.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from simple_risk_manager.domain.models import DailyPnl, Lockout, Position, Trade
from simple_risk_manager.domain.money import to_json_number
from simple_risk_manager.domain.times import format_date, format_utc
from simple_risk_manager.state.reset_schedule import ResetOutcome
from simple_risk_manager.state.trade_counter import TradeCounts

TRADE: Final = "GatewayUserTrade"
POSITION: Final = "GatewayUserPosition"
ORDER: Final = "GatewayUserOrder"
QUOTE: Final = "MarketQuote"
LOCKOUT_SET: Final = "lockout_set"
LOCKOUT_CLEARED: Final = "lockout_cleared"
DAILY_RESET: Final = "daily_reset"

#: Marks an event synthesized from a reconcile's differences (`daemon.md` §5.1 `Reconcile`).
RECONCILE_SOURCE: Final = {"source": "reconcile"}


def _num(value: Decimal | None) -> float | int | None:
    return None if value is None else to_json_number(value)


def counts_dict(counts: TradeCounts) -> dict[str, int]:
    return {"minute": counts.minute, "hour": counts.hour, "session": counts.session}


def trade_data(trade: Trade, day: DailyPnl, counts: TradeCounts) -> dict[str, Any]:
    """§5.1: the fill plus the day's realized P&L (the value RULE-003 compares), fees and counts."""
    return {**trade.to_dict(), "daily_realized_pnl": _num(day.realized_pnl), "daily_fees": _num(day.fees),
            "trade_count": counts.session, "trade_counts": counts_dict(counts)}


def position_data(position: Position, upnl: Decimal | None, has_stop: bool,
                  no_stop_deadline: datetime | None) -> dict[str, Any]:
    """§5.2: the position with its unrealized P&L (null without a quote) and RULE-008's view of it."""
    return {**position.to_dict(), "unrealized_pnl": _num(upnl), "has_stop": has_stop,
            "no_stop_deadline": None if no_stop_deadline is None else format_utc(no_stop_deadline)}


def lockout_cleared_data(record: Lockout, still_locked: bool) -> dict[str, Any]:
    """§5.6."""
    return {"lockout_id": record.lockout_id, "rule_id": record.rule_id,
            "cleared_at": None if record.cleared_at is None else format_utc(record.cleared_at),
            "cleared_by": record.cleared_by, "still_locked": still_locked}


def daily_reset_data(outcome: ResetOutcome, previous_realized: Decimal, previous_trade_count: int,
                     lockouts_cleared: bool) -> dict[str, Any]:
    """§5.8: `reset_at` is the reset instant the new day starts at."""
    return {"reset_at": format_utc(outcome.reset_at),
            "previous_trading_date": format_date(outcome.previous_trading_date),
            "trading_date": format_date(outcome.trading_date),
            "previous_realized_pnl": _num(previous_realized),
            "previous_trade_count": previous_trade_count, "lockouts_cleared": lockouts_cleared,
            "next_reset_at": format_utc(outcome.schedule.next_reset_at)}
