"""The simulator's contract table (gateway-api.md §5.3) and Contract/search matching.

Every instrument is listed for one front-month expiry (active) and the quarter before it (expired,
`activeContract: false`), so `searchById` can resolve an expired contract and `place` on it fails
with ContractNotActive, as on the live service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from projectx_sim.wire import MAX_CONTRACT_SEARCH_RESULTS

MONTH_CODES = "FGHJKMNQUVXZ"
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
QUARTER_MONTHS = (3, 6, 9, 12)
#: Day of the expiry month from which the next quarter is the front (index futures roll ~8 days
#: before the third-Friday expiry).
ROLL_DAY = 12

#: Exchange tickers that ProjectX lists under another root (§5.3).
ALIASES = {"ES": "EP", "NQ": "ENQ", "GC": "GCE", "CL": "CLE", "MCL": "MCLE", "6B": "BP6"}


@dataclass(frozen=True, slots=True)
class Instrument:
    root: str  # ProjectX root, e.g. EP
    ticker: str  # exchange symbol root, e.g. ES
    title: str
    tick_size: Decimal
    tick_value: Decimal
    micro: bool
    base_price: Decimal  # where the random walk starts


INSTRUMENTS: tuple[Instrument, ...] = (
    Instrument(
        "MNQ", "MNQ", "Micro E-mini Nasdaq-100", Decimal("0.25"), Decimal("0.50"), True, Decimal("21000")
    ),
    Instrument("MES", "MES", "Micro E-mini S&P 500", Decimal("0.25"), Decimal("1.25"), True, Decimal("6000")),
    Instrument("EP", "ES", "E-mini S&P 500", Decimal("0.25"), Decimal("12.50"), False, Decimal("6000")),
    Instrument("ENQ", "NQ", "E-mini Nasdaq-100", Decimal("0.25"), Decimal("5.00"), False, Decimal("21000")),
    Instrument(
        "M2K", "M2K", "Micro E-mini Russell 2000", Decimal("0.10"), Decimal("0.50"), True, Decimal("2400")
    ),
    Instrument("RTY", "RTY", "E-mini Russell 2000", Decimal("0.10"), Decimal("5.00"), False, Decimal("2400")),
    Instrument("MGC", "MGC", "Micro Gold", Decimal("0.10"), Decimal("1.00"), True, Decimal("4100")),
    Instrument("GCE", "GC", "Gold", Decimal("0.10"), Decimal("10.00"), False, Decimal("4100")),
    Instrument("MCLE", "MCL", "Micro WTI Crude Oil", Decimal("0.01"), Decimal("1.00"), True, Decimal("60")),
    Instrument("CLE", "CL", "Crude Oil", Decimal("0.01"), Decimal("10.00"), False, Decimal("60")),
)


@dataclass(frozen=True, slots=True)
class Contract:
    id: str
    name: str
    description: str
    tick_size: Decimal
    tick_value: Decimal
    active: bool
    symbol_id: str
    instrument: Instrument

    @property
    def root(self) -> str:
        return self.instrument.root

    @property
    def symbol_name(self) -> str:
        return f"/{self.instrument.ticker}"

    def ticks(self, price: Decimal) -> int | None:
        """Whole ticks in a positive price on the tick grid; None for any other price."""
        if not price.is_finite() or price <= 0:
            return None
        quotient = price / self.tick_size  # division, not %, so huge prices cannot raise
        whole = quotient.to_integral_value()
        return int(whole) if quotient == whole else None

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "tickSize": self.tick_size,
            "tickValue": self.tick_value,
            "activeContract": self.active,
            "symbolId": self.symbol_id,
        }


def front_month(today: date) -> str:
    """The quarterly expiry code (e.g. `Z26`) that is the front contract on `today`."""
    year, month = today.year, today.month
    for quarter in QUARTER_MONTHS:
        if month < quarter or (month == quarter and today.day < ROLL_DAY):
            return f"{MONTH_CODES[quarter - 1]}{year % 100:02d}"
    return f"{MONTH_CODES[QUARTER_MONTHS[0] - 1]}{(year + 1) % 100:02d}"


def previous_quarter(expiry: str) -> str:
    """The quarterly expiry before `expiry` (`Z26` → `U26`, `H27` → `Z26`)."""
    month, year = _parse_expiry(expiry)
    previous = month - 3
    if previous < 1:
        return f"{MONTH_CODES[previous + 11]}{(year - 1) % 100:02d}"
    return f"{MONTH_CODES[previous - 1]}{year % 100:02d}"


def _parse_expiry(expiry: str) -> tuple[int, int]:
    if len(expiry) != 3 or expiry[0] not in MONTH_CODES or not expiry[1:].isdigit():
        raise ValueError(f"expiry must look like Z25 (month code + two-digit year), got {expiry!r}")
    return MONTH_CODES.index(expiry[0]) + 1, 2000 + int(expiry[1:])


def make_contract(instrument: Instrument, expiry: str, active: bool) -> Contract:
    month, year = _parse_expiry(expiry)
    return Contract(
        id=f"CON.F.US.{instrument.root}.{expiry}",
        name=f"{instrument.ticker}{expiry[0]}{expiry[2]}",
        description=f"{instrument.title}: {MONTH_NAMES[month - 1]} {year}",
        tick_size=instrument.tick_size,
        tick_value=instrument.tick_value,
        active=active,
        symbol_id=f"F.US.{instrument.root}",
        instrument=instrument,
    )


class ContractBook:
    """All contracts by id; search by name, root, description and exchange-ticker alias."""

    def __init__(self, expiry: str) -> None:
        expired = previous_quarter(expiry)
        self.front = tuple(make_contract(i, expiry, active=True) for i in INSTRUMENTS)
        self._by_id = {c.id: c for c in self.front}
        self._by_id.update({c.id: c for c in (make_contract(i, expired, active=False) for i in INSTRUMENTS)})

    def get(self, contract_id: str) -> Contract | None:
        return self._by_id.get(contract_id)

    def by_root(self, root: str) -> Contract | None:
        """The active contract of a root or exchange ticker (`ES` → the `EP` contract)."""
        wanted = ALIASES.get(root.upper(), root.upper())
        return next((c for c in self.front if c.root == wanted), None)

    def search(self, text: str) -> list[Contract]:
        """Active contracts matching `text`; exact root/alias hits first, at most 20 (§2.2)."""
        needle = text.strip().upper()
        aliased = ALIASES.get(needle)
        exact: list[Contract] = []
        fuzzy: list[Contract] = []
        for contract in self.front:
            if (
                needle in (contract.root, contract.instrument.ticker, contract.name)
                or aliased == contract.root
            ):
                exact.append(contract)
            elif (
                needle in contract.name
                or needle in contract.root
                or needle in contract.description.upper()
                or (aliased is not None and aliased in contract.root)
            ):
                fuzzy.append(contract)
        return (exact + fuzzy)[:MAX_CONTRACT_SEARCH_RESULTS]
