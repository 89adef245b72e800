"""Quote age as the dashboard shows it (`cli.md` §1.9, C14): fresh, STALE after 5 s, NO DATA after 30 s.

These display thresholds are the CLI's own; the daemon's `global.max_quote_age_seconds` only governs
rule evaluation. Age is measured from the daemon's `received_at`, never the broker's `quote_time`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from simple_risk_manager.domain.models import Quote
from simple_risk_manager.state.quotes import quote_age

STALE_AFTER_S: Final = 5.0
NO_DATA_AFTER_S: Final = 30.0


class Freshness(StrEnum):
    FRESH = "fresh"
    #: Price shown in yellow with "STALE", unrealized with a `~` prefix, contract listed in the footer.
    STALE = "stale"
    #: Red "NO DATA", unrealized "n/a": no quote, older than 30 s, or offline.
    NO_DATA = "no_data"


def quote_freshness(quote: Quote | None, now: datetime) -> Freshness:
    if quote is None:
        return Freshness.NO_DATA
    age = quote_age(quote, now)
    if age > NO_DATA_AFTER_S:
        return Freshness.NO_DATA
    if age > STALE_AFTER_S:
        return Freshness.STALE
    return Freshness.FRESH
