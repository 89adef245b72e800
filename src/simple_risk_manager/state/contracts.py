"""MOD-007 Contract Cache: tick size/value per contract and the symbol root of a contract id.

The cache never blocks and does no I/O: the pipeline asks `needs_fetch`, runs `Contract/searchById`
as its own task, and hands the result back (`put`) or reports the failure (`fetch_failed`), which
sets the next retry after 1, 2, 4 … 60 s. `take_dirty` yields the rows the store writes lazily.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from types import MappingProxyType

from simple_risk_manager.domain.models import ContractMetadata
from simple_risk_manager.domain.times import ensure_utc

#: `global.symbol_aliases` default: gateway roots that differ from the exchange symbol (D-12).
DEFAULT_SYMBOL_ALIASES: Mapping[str, str] = MappingProxyType(
    {"EP": "ES", "ENQ": "NQ", "GCE": "GC", "CLE": "CL", "MCLE": "MCL"})

#: Retry delays after failed fetches: 1, 2, 4 … seconds, capped at 60 s (`modules.md` MOD-007).
FIRST_RETRY_S = 1
MAX_RETRY_S = 60


def symbol_root(contract_id: str, aliases: Mapping[str, str] = DEFAULT_SYMBOL_ALIASES) -> str:
    """`CON.F.US.EP.Z25` → `EP` → `ES`: the 4th dot-segment, upper-cased, then aliased.

    An id without a 4th segment has no root to parse; its whole text (trimmed, upper-cased) stands
    in as the root, so it never matches a configured root and is treated as an unlisted instrument
    (RULE-002's `unknown_symbol_action`) instead of raising inside rule evaluation.
    """
    segments = contract_id.split(".")
    raw = segments[3].strip() if len(segments) > 3 else ""
    root = (raw or contract_id.strip()).upper()
    return aliases.get(root, root)


@dataclass(slots=True)
class _FetchState:
    in_flight: bool = False
    failures: int = 0
    retry_at: datetime | None = None


class ContractCache:
    """Contract metadata by contract id, plus fetch bookkeeping for missing entries."""

    def __init__(self, symbol_aliases: Mapping[str, str] = DEFAULT_SYMBOL_ALIASES) -> None:
        self._aliases = {k.upper(): v.upper() for k, v in symbol_aliases.items()}
        self._contracts: dict[str, ContractMetadata] = {}
        self._fetches: dict[str, _FetchState] = {}
        self._dirty: dict[str, ContractMetadata] = {}

    def get(self, contract_id: str) -> ContractMetadata | None:
        return self._contracts.get(contract_id)

    def put(self, metadata: ContractMetadata) -> None:
        """Store a fetched entry (`ContractFetched`) and queue its `contract_cache` row."""
        self._contracts[metadata.contract_id] = metadata
        self._fetches.pop(metadata.contract_id, None)
        self._dirty[metadata.contract_id] = metadata

    def load(self, rows: Iterable[ContractMetadata]) -> None:
        """Startup: the stored `contract_cache` rows (not dirty)."""
        for metadata in rows:
            self._contracts[metadata.contract_id] = metadata

    def take_dirty(self) -> tuple[ContractMetadata, ...]:
        """Entries stored since the last call, for the store's lazy write."""
        rows = tuple(self._dirty.values())
        self._dirty.clear()
        return rows

    def root_of(self, contract_id: str) -> str:
        return symbol_root(contract_id, self._aliases)

    def point_value(self, contract_id: str) -> Decimal | None:
        """Currency per full point (tick_value / tick_size); None while the contract is unknown."""
        metadata = self._contracts.get(contract_id)
        return None if metadata is None else metadata.point_value

    # --- fetch bookkeeping ---------------------------------------------------------------------

    def needs_fetch(self, contract_id: str, now: datetime) -> bool:
        """True when the contract is missing, no fetch is running, and any retry delay has passed."""
        if contract_id in self._contracts:
            return False
        state = self._fetches.get(contract_id)
        if state is None:
            return True
        if state.in_flight:
            return False
        return state.retry_at is None or ensure_utc(now) >= state.retry_at

    def fetch_started(self, contract_id: str) -> None:
        self._fetches.setdefault(contract_id, _FetchState()).in_flight = True

    def fetch_failed(self, contract_id: str, now: datetime) -> datetime:
        """Record a failed fetch; returns when the next attempt is due (1, 2, 4 … 60 s later)."""
        state = self._fetches.setdefault(contract_id, _FetchState())
        state.in_flight = False
        state.failures += 1
        delay = min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** min(state.failures - 1, 6))
        state.retry_at = ensure_utc(now) + timedelta(seconds=delay)
        return state.retry_at
