"""Limit gauges (`cli.md` §1.8, product decision "warning at 80 %, red at 100 %").

One computation for every gauge on screen and in `srm trader status`, so the colour, the word and the
percentage always agree with each other and with the daemon's own `WARN`/`BREACHED` status (B13).
"""

from __future__ import annotations

import math
from decimal import Decimal
from enum import StrEnum
from typing import Final

from simple_risk_manager.domain.money import ZERO

WARN_FRACTION: Final = Decimal("0.8")
FULL_FRACTION: Final = Decimal(1)


class GaugeLevel(StrEnum):
    OK = "ok"
    WARN = "warn"
    BREACH = "breach"

    @property
    def style(self) -> str:
        return _STYLES[self]

    @property
    def word(self) -> str:
        """The level in words (never colour alone): empty below 80 %."""
        return _WORDS[self]


_STYLES = {GaugeLevel.OK: "green", GaugeLevel.WARN: "yellow", GaugeLevel.BREACH: "bold red"}
_WORDS = {GaugeLevel.OK: "", GaugeLevel.WARN: "WARN", GaugeLevel.BREACH: "LIMIT"}


def used_fraction(limit: Decimal | None, current: Decimal | None) -> Decimal | None:
    """`current / limit` (money values are magnitudes, §4.4); None without a positive limit."""
    if limit is None or current is None or limit <= ZERO:
        return None
    return max(ZERO, current) / limit


def gauge_level(fraction: Decimal | None, status: str | None = None) -> GaugeLevel:
    """Red at 100 % or when the daemon says BREACHED, yellow from 80 % (or WARN), else green."""
    if status == "BREACHED" or (fraction is not None and fraction >= FULL_FRACTION):
        return GaugeLevel.BREACH
    if status == "WARN" or (fraction is not None and fraction >= WARN_FRACTION):
        return GaugeLevel.WARN
    return GaugeLevel.OK


def percent(fraction: Decimal) -> str:
    """Whole percent, rounded down, so a gauge never reads 100 % before the limit is reached."""
    return f"{math.floor(fraction * 100)}%"


FULL_CELL: Final = "█"
EMPTY_CELL: Final = "░"


def bar(fraction: Decimal | None, width: int, full: str = FULL_CELL, empty: str = EMPTY_CELL) -> str:
    """`[████░░░░░░]`: whole cells, rounded down like the percentage beside it; capped at full."""
    if fraction is None:
        return "[" + empty * width + "]"
    filled = min(width, math.floor(max(ZERO, fraction) * width))
    return "[" + full * filled + empty * (width - filled) + "]"
