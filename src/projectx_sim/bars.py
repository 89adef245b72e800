"""Synthetic History/retrieveBars answers (§2.6): plausible OHLCV bars ending at the current price.

The daemon does not need history, but clients call it; the bars are a seeded walk backwards from the
contract's last price, so the same request gives the same answer, newest bar first.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from projectx_sim.contracts import Contract
from projectx_sim.wire import BarUnit, timestamp

_EPOCH = datetime(1970, 1, 5, tzinfo=UTC)  # a Monday, so weekly bars start on Mondays
_SECONDS = {
    BarUnit.SECOND: 1,
    BarUnit.MINUTE: 60,
    BarUnit.HOUR: 3600,
    BarUnit.DAY: 86_400,
    BarUnit.WEEK: 604_800,
}


def _period_start(moment: datetime, unit: BarUnit, number: int) -> datetime:
    if unit == BarUnit.MONTH:
        months = moment.year * 12 + moment.month - 1
        months -= months % number
        return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)
    length = _SECONDS[unit] * number
    elapsed = int((moment - _EPOCH).total_seconds())
    return _EPOCH + timedelta(seconds=elapsed - elapsed % length)


def _shift(start: datetime, unit: BarUnit, number: int, periods: int) -> datetime:
    if unit == BarUnit.MONTH:
        months = start.year * 12 + start.month - 1 + periods * number
        return datetime(months // 12, months % 12 + 1, 1, tzinfo=UTC)
    return start + timedelta(seconds=_SECONDS[unit] * number * periods)


def synthetic_bars(
    contract: Contract,
    *,
    last_price: Decimal,
    start: datetime,
    end: datetime,
    unit: BarUnit,
    unit_number: int,
    limit: int,
    include_partial: bool,
    now: datetime,
    seed: int,
) -> list[dict[str, Any]]:
    """Bars starting in [start, end), the most recent `limit` of them, newest first."""
    try:
        newest = _period_start(min(end, now), unit, unit_number)
        if newest == end:
            newest = _shift(newest, unit, unit_number, -1)
        if not include_partial and _shift(newest, unit, unit_number, 1) > now:
            newest = _shift(newest, unit, unit_number, -1)
    except (OverflowError, ValueError):
        return []  # periods so long that they leave the calendar
    rng = random.Random(f"{seed}:{contract.id}:{int(unit)}:{unit_number}:{newest.isoformat()}")
    close = int(last_price / contract.tick_size)
    bars: list[dict[str, Any]] = []
    bar_start = newest
    while bar_start >= start and len(bars) < limit:
        open_ = max(close + rng.randint(-8, 8), 1)
        high = max(open_, close) + rng.randint(0, 4)
        low = max(min(open_, close) - rng.randint(0, 4), 1)
        tick = contract.tick_size
        bars.append(
            {
                "t": timestamp(bar_start),
                "o": tick * open_,
                "h": tick * high,
                "l": tick * low,
                "c": tick * close,
                "v": rng.randint(10, 5000),
            }
        )
        close = open_  # the previous bar closed where this one opened
        try:
            bar_start = _shift(bar_start, unit, unit_number, -1)
        except (OverflowError, ValueError):
            break
    return bars
