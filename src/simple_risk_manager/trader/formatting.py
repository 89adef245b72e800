"""How the Trader CLI writes numbers, times and durations, shared by the dashboard and the plain output.

Meaning never relies on colour alone (`cli.md` §1.12): P&L always carries its sign, and every
state that colour marks also has a word.
"""

from __future__ import annotations

import math
from datetime import datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from simple_risk_manager.domain.money import ZERO

_CENT: Final = Decimal("0.01")
NOT_AVAILABLE: Final = "n/a"


def money(value: Decimal) -> str:
    """`-193.32`, `13.32`: two decimals, a sign only for negatives (limits, fees, balances)."""
    return f"{value.quantize(_CENT, rounding=ROUND_HALF_UP):,.2f}".replace(",", "")


def pnl(value: Decimal) -> str:
    """`+37.50`, `-193.32`, `0.00`: P&L always shows its sign, so colour is never the only hint."""
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded == ZERO:
        return "0.00"
    return f"{rounded:+.2f}"


def pnl_style(value: Decimal | None) -> str:
    """Profit green, loss red, zero (and unknown) neutral."""
    if value is None:
        return ""
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    if rounded > ZERO:
        return "green"
    if rounded < ZERO:
        return "red"
    return ""


def price(value: Decimal | None) -> str:
    """A price as exact as it came, with at least two decimals: `5921.25`, `21004.50`, `0.125`."""
    if value is None:
        return "-"
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def countdown(seconds: float) -> str:
    """`04:12` below an hour, `7h57m12s` above (never mistaken for a clock time); rounded up, so an
    active lock never reads `00:00`."""
    total = max(0, math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    return f"{minutes:02d}:{secs:02d}"


def compact_countdown(seconds: float) -> str:
    """`0:23`, `4:12`, `1:04:12`: a countdown inside a table cell; rounded up like `countdown`."""
    total = max(0, math.ceil(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def short_duration(seconds: float) -> str:
    """`12s`, `4m12s`, `1h57m`, `2d3h`: compact, for ages and the reset countdown."""
    total = max(0, int(seconds))
    if total < 60:
        return f"{total}s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h"


def event_age(seconds: float) -> str:
    """`0.4s` under ten seconds (the footer's "last event"), else as `short_duration`."""
    if seconds < 10:
        return f"{max(0.0, seconds):.1f}s"
    return short_duration(seconds)


def local_time(moment: datetime, zone: tzinfo | None) -> str:
    """`15:02:14` in the viewer's zone (`zone` None = the machine's local zone)."""
    return moment.astimezone(zone).strftime("%H:%M:%S")


def zone_label(moment: datetime, zone: tzinfo | None) -> str:
    """The zone's abbreviation at `moment`, e.g. `CST`, `UTC`."""
    return moment.astimezone(zone).tzname() or ""


def local_clock(moment: datetime, zone: tzinfo | None) -> str:
    """`15:02:14 CST`."""
    return f"{local_time(moment, zone)} {zone_label(moment, zone)}".rstrip()


def local_hhmm(moment: datetime, zone: tzinfo | None, now: datetime) -> str:
    """`17:00 CST`; `Wed 17:00 CST` when that is not today (local), so a long lockout is unambiguous."""
    local = moment.astimezone(zone)
    day = "" if local.date() == now.astimezone(zone).date() else local.strftime("%a ")
    return f"{day}{local.strftime('%H:%M')} {local.tzname() or ''}".rstrip()
