"""Quote age (cli.md §1.9): STALE after 5 s, NO DATA after 30 s or without a quote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simple_risk_manager.domain.models import Quote
from simple_risk_manager.trader.freshness import Freshness, quote_freshness

RECEIVED = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("age", "freshness"), [
    (0, Freshness.FRESH), (5, Freshness.FRESH), (5.001, Freshness.STALE), (7, Freshness.STALE),
    (30, Freshness.STALE), (30.001, Freshness.NO_DATA),
])
def test_age_thresholds(age: float, freshness: Freshness) -> None:
    quote = Quote(contract_id="C", received_at=RECEIVED)
    assert quote_freshness(quote, RECEIVED + timedelta(seconds=age)) is freshness


def test_no_quote_is_no_data() -> None:
    assert quote_freshness(None, RECEIVED) is Freshness.NO_DATA
