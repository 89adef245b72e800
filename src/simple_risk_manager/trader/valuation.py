"""Unrealized P&L per position from the latest quotes, with the daemon's own P&L function (`cli.md`
§1.8: "same code as the daemon, so both always agree") and the quote-age rules of §1.9.

A stale quote still values the position (shown with `~`); a quote older than 30 s, a missing quote or
missing contract metadata values nothing ("n/a"), and offline every quote counts as missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from simple_risk_manager.domain.models import ContractMetadata, Quote
from simple_risk_manager.domain.money import ZERO
from simple_risk_manager.state.pnl import mark_price, position_upnl
from simple_risk_manager.state.quotes import quote_age
from simple_risk_manager.trader.account_view import AccountView
from simple_risk_manager.trader.freshness import Freshness, quote_freshness
from simple_risk_manager.trader.payloads import PositionLine


@dataclass(frozen=True, slots=True)
class PositionValue:
    line: PositionLine
    contract: ContractMetadata | None
    freshness: Freshness
    #: Seconds since the quote was received; None without a quote.
    quote_age_s: float | None
    #: The price the position is marked at; None when there is no usable quote.
    mark: Decimal | None
    #: None = "n/a" (no data, or no contract metadata).
    upnl: Decimal | None

    @property
    def approximate(self) -> bool:
        return self.upnl is not None and self.freshness is Freshness.STALE


@dataclass(frozen=True, slots=True)
class AccountValue:
    positions: tuple[PositionValue, ...]
    #: Σ of the positions that could be valued; None when positions exist and none could be.
    total: Decimal | None
    #: Some valued position rests on a stale quote.
    approximate: bool
    #: Positions left out of the total ("n/a").
    missing: int

    @property
    def stale_contracts(self) -> tuple[str, ...]:
        """Contracts whose quote is old or missing: what the footer warns about."""
        return tuple(v.line.position.contract_id for v in self.positions
                     if v.freshness is not Freshness.FRESH)


def value_account(view: AccountView, quotes: Mapping[str, Quote], now: datetime, *,
                  live: bool) -> AccountValue:
    values = []
    for contract_id, line in sorted(view.positions.items()):
        quote = quotes.get(contract_id) if live else None
        contract = view.contracts.get(contract_id)
        freshness = quote_freshness(quote, now)
        usable = quote if freshness is not Freshness.NO_DATA else None
        mark = None if usable is None else mark_price(line.position, usable)
        upnl = position_upnl(line.position, usable, contract)
        values.append(PositionValue(line=line, contract=contract, freshness=freshness,
                                    quote_age_s=None if quote is None else quote_age(quote, now),
                                    mark=mark, upnl=upnl))
    valued = [v.upnl for v in values if v.upnl is not None]
    total = sum(valued, ZERO) if valued or not values else None
    return AccountValue(positions=tuple(values), total=total,
                        approximate=any(v.approximate for v in values),
                        missing=sum(1 for v in values if v.upnl is None))
