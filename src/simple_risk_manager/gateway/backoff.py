"""Retry delays: hub reconnects (`daemon.md` §7) and REST retries of safe calls.

Two shapes on purpose. Hubs reconnect forever on a fixed ladder 1, 2, 4, 8, 16, 30 s with ±20 %
jitter, so an operator can predict when the daemon will be back. REST retries use "full jitter"
(uniform between 0 and the exponential bound), which spreads many clients hitting a 429 or 5xx best.
"""

from __future__ import annotations

import random

HUB_BASE_S = 1.0
HUB_JITTER = 0.2


def _exponential(attempt: int, base: float, cap: float) -> float:
    if attempt < 0:
        raise ValueError(f"attempt: must be >= 0 (got {attempt})")
    if base <= 0 or cap <= 0:
        raise ValueError(f"base/cap: must be > 0 (got {base}/{cap})")
    # 2**attempt overflows float for huge attempts; the cap is reached long before that.
    return cap if attempt >= 64 else min(cap, base * 2.0**attempt)


def hub_reconnect_delay(attempt: int, cap: float = 30.0, rng: random.Random | None = None) -> float:
    """Delay before reconnect number `attempt` (0 = first): 1, 2, 4 … `cap` s, each ±20 %."""
    nominal = _exponential(attempt, HUB_BASE_S, cap)
    spread = (rng or random).uniform(-HUB_JITTER, HUB_JITTER)
    return nominal * (1.0 + spread)


def full_jitter_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number `attempt` (0 = first): uniform in [0, min(cap, base · 2^attempt)]."""
    return (rng or random).uniform(0.0, _exponential(attempt, base, cap))
