"""MOD-007 Contract Cache: symbol roots and aliases, point value, fetch backoff, lazy-write bookkeeping."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.domain import ContractMetadata
from simple_risk_manager.state.contracts import ContractCache, symbol_root

NOW = datetime(2025, 11, 24, 15, 0, tzinfo=UTC)
MNQ = ContractMetadata("CON.F.US.MNQ.Z25", "F.US.MNQ", Decimal("0.25"), Decimal("0.50"), NOW, name="MNQZ5")
ES = ContractMetadata("CON.F.US.EP.Z25", "F.US.EP", Decimal("0.25"), Decimal("12.50"), NOW, name="ESZ5")


@pytest.mark.parametrize(("contract_id", "root"), [
    ("CON.F.US.EP.Z25", "ES"),  # the MOD-007 example: EP → ES
    ("CON.F.US.ENQ.H26", "NQ"),
    ("CON.F.US.GCE.G26", "GC"),
    ("CON.F.US.CLE.F26", "CL"),
    ("CON.F.US.MCLE.F26", "MCL"),
    ("CON.F.US.MNQ.Z25", "MNQ"),
    ("CON.F.US.MES.Z25", "MES"),  # never ES
    ("con.f.us.mnq.z25", "MNQ"),  # upper-cased
    ("CON.F.US.BP6.Z25", "BP6"),  # not in the default aliases
])
def test_root_of_default_aliases(contract_id: str, root: str) -> None:
    assert ContractCache().root_of(contract_id) == root


@pytest.mark.parametrize(("contract_id", "root"), [
    ("", ""),
    ("CON.F", "CON.F"),
    ("CON.F.US..Z25", "CON.F.US..Z25"),
    (" weird ", "WEIRD"),
])
def test_malformed_id_is_its_own_unlisted_root(contract_id: str, root: str) -> None:
    assert symbol_root(contract_id) == root


def test_configured_aliases_replace_the_default_map() -> None:
    cache = ContractCache(symbol_aliases={"MNQ": "NQ"})
    assert cache.root_of("CON.F.US.EP.Z25") == "EP"
    assert cache.root_of("CON.F.US.MNQ.Z25") == "NQ"


def test_get_put_and_point_value() -> None:
    cache = ContractCache()
    assert cache.get(MNQ.contract_id) is None
    assert cache.point_value(MNQ.contract_id) is None
    cache.put(MNQ)
    cache.put(ES)
    assert cache.get(MNQ.contract_id) == MNQ
    assert cache.point_value(MNQ.contract_id) == Decimal(2)
    assert cache.point_value(ES.contract_id) == Decimal(50)


def test_dirty_rows_are_the_puts_since_the_last_take() -> None:
    cache = ContractCache()
    cache.load([MNQ])
    assert cache.take_dirty() == ()
    assert cache.get(MNQ.contract_id) == MNQ
    cache.put(ES)
    assert cache.take_dirty() == (ES,)
    assert cache.take_dirty() == ()


def test_fetch_backoff_doubles_from_one_second_to_sixty() -> None:
    cache = ContractCache()
    contract = ES.contract_id
    delays = []
    now = NOW
    for _ in range(9):
        assert cache.needs_fetch(contract, now)
        cache.fetch_started(contract)
        assert not cache.needs_fetch(contract, now)  # one fetch at a time
        retry_at = cache.fetch_failed(contract, now)
        delays.append((retry_at - now).total_seconds())
        assert not cache.needs_fetch(contract, retry_at - timedelta(milliseconds=1))
        now = retry_at
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_success_ends_the_bookkeeping() -> None:
    cache = ContractCache()
    cache.fetch_started(ES.contract_id)
    cache.fetch_failed(ES.contract_id, NOW)
    cache.put(ES)
    assert not cache.needs_fetch(ES.contract_id, NOW + timedelta(hours=1))
