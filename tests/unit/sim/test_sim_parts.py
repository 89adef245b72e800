"""The simulator's smaller parts: tokens, contracts, rate limiter, body binding, framing, config, market."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, date, datetime
from decimal import Decimal

import orjson
import pytest

from projectx_sim.bars import synthetic_bars
from projectx_sim.config import SimConfig
from projectx_sim.contracts import ContractBook, front_month, previous_quarter
from projectx_sim.dispatch import EventDispatcher
from projectx_sim.exchange import EventKind, UserEvent
from projectx_sim.market import KEEP, Market, MarketUpdate
from projectx_sim.ratelimit import SlidingWindowLimiter, retry_after_header
from projectx_sim.signalr import RecordReader
from projectx_sim.tokens import TokenIssuer
from projectx_sim.validation import BadRequestError, Field, Kind, bind, decode_body
from projectx_sim.wire import BarUnit, dumps

D = Decimal


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# Tokens --------------------------------------------------------------------------------------------


def test_token_is_a_jwt_with_sub_and_exp_and_expires() -> None:
    clock = Clock()
    issuer = TokenIssuer(b"secret", lifetime=lambda: 60.0, clock=clock)
    token = issuer.issue("421")
    header, payload, _ = token.split(".")
    decode = lambda part: orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    assert decode(header) == {"alg": "HS256", "typ": "JWT"}
    claims = decode(payload)
    assert claims["sub"] == "421" and claims["exp"] == int(clock.now + 60)
    assert issuer.verify(token) is not None
    clock.now += 61
    assert issuer.verify(token) is None


def test_token_signature_and_revocation() -> None:
    issuer = TokenIssuer(b"secret", lifetime=lambda: 60.0)
    token = issuer.issue("421")
    other = TokenIssuer(b"other", lifetime=lambda: 60.0).issue("421")
    assert issuer.verify(other) is None
    assert issuer.verify(token[:-2] + "xx") is None
    assert issuer.verify("not-a-token") is None
    second = issuer.issue("421")
    assert issuer.revoke(token) is True and issuer.verify(token) is None
    assert issuer.verify(second) is not None
    assert issuer.revoke_subject("421") == 1 and issuer.verify(second) is None


# Contracts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2025, 11, 24), "Z25"),
        (date(2025, 12, 11), "Z25"),
        (date(2025, 12, 12), "H26"),
        (date(2026, 4, 1), "M26"),
    ],
)
def test_front_month(today: date, expected: str) -> None:
    assert front_month(today) == expected


def test_previous_quarter_and_bad_codes() -> None:
    assert previous_quarter("Z25") == "U25" and previous_quarter("H26") == "Z25"
    with pytest.raises(ValueError, match="expiry"):
        previous_quarter("Q2")


def test_contract_table_ids_names_and_ticks() -> None:
    book = ContractBook("Z25")
    mnq = book.get("CON.F.US.MNQ.Z25")
    assert mnq is not None and mnq.to_wire() == {
        "id": "CON.F.US.MNQ.Z25",
        "name": "MNQZ5",
        "description": "Micro E-mini Nasdaq-100: December 2025",
        "tickSize": D("0.25"),
        "tickValue": D("0.50"),
        "activeContract": True,
        "symbolId": "F.US.MNQ",
    }
    es = book.get("CON.F.US.EP.Z25")
    assert es is not None and es.name == "ESZ5" and es.tick_value == D("12.50")
    gold = book.get("CON.F.US.GCE.Z25")
    assert gold is not None and gold.name == "GCZ5" and gold.tick_size == D("0.10")
    expired = book.get("CON.F.US.MNQ.U25")
    assert expired is not None and expired.active is False
    assert len(book.front) == 10 and all(c.active for c in book.front)


def test_tick_grid_checks_never_raise() -> None:
    mnq = ContractBook("Z25").front[0]
    assert mnq.ticks(D("21000.25")) == 84001
    assert mnq.ticks(D("21000.10")) is None
    assert mnq.ticks(D("0")) is None and mnq.ticks(D("-0.25")) is None
    assert mnq.ticks(D("1E+28")) == 4 * 10**28  # `%` would raise InvalidOperation here
    assert mnq.ticks(D("Infinity")) is None


def test_contract_search_through_aliases() -> None:
    book = ContractBook("Z25")
    assert book.search("ES")[0].id == "CON.F.US.EP.Z25"
    assert book.search("EP")[0].id == "CON.F.US.EP.Z25"
    assert {c.root for c in book.search("nq")} == {"ENQ", "MNQ"}
    assert book.search("CL")[0].root == "CLE" and "MCLE" in {c.root for c in book.search("CL")}
    assert book.search("gold")[0].root in ("GCE", "MGC")
    assert book.search("XYZ") == []
    assert book.by_root("GC") is not None and book.by_root("GC").root == "GCE"  # type: ignore[union-attr]


# Rate limiter ------------------------------------------------------------------------------------


def test_sliding_window_per_key_and_bucket() -> None:
    clock = Clock(0.0)
    limiter = SlidingWindowLimiter(clock)
    for _ in range(3):
        assert limiter.check("a", "default", 3, 10.0) is None
    assert limiter.check("a", "default", 3, 10.0) == pytest.approx(10.0)
    assert limiter.check("b", "default", 3, 10.0) is None  # another token
    assert limiter.check("a", "bars", 3, 10.0) is None  # another bucket
    clock.now = 9.0
    assert limiter.check("a", "default", 3, 10.0) == pytest.approx(1.0)
    clock.now = 10.0  # the window slides: the first hit left it
    assert limiter.check("a", "default", 3, 10.0) is None
    assert retry_after_header(0.2) == "1" and retry_after_header(3.5) == "4"


# Body binding --------------------------------------------------------------------------------------

FIELDS = (
    Field("accountId", Kind.INT32, required=True),
    Field("name", Kind.STRING, required=True),
    Field("price", Kind.DECIMAL),
    Field("when", Kind.DATETIME),
    Field("flag", Kind.BOOL),
)


def test_binding_converts_and_keeps_decimals_exact() -> None:
    bound = bind(
        {"accountId": 7, "name": "x", "price": 21010.25, "when": "2025-11-24T15:02:11.1234567Z"}, FIELDS
    )
    assert bound["price"] == D("21010.25") and isinstance(bound["price"], Decimal)
    assert bound["when"] == datetime(2025, 11, 24, 15, 2, 11, 123456, tzinfo=UTC)
    assert bound["flag"] is None


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"name": "x"}, "accountId"),
        ({"accountId": "7", "name": "x"}, "$.accountId"),
        ({"accountId": 7.5, "name": "x"}, "$.accountId"),
        ({"accountId": True, "name": "x"}, "$.accountId"),
        ({"accountId": 2**31, "name": "x"}, "$.accountId"),
        ({"accountId": None, "name": "x"}, "$.accountId"),
        ({"accountId": 7, "name": None}, "name"),
        ({"accountId": 7, "name": 5}, "$.name"),
        ({"accountId": 7, "name": "x", "price": "1.25"}, "$.price"),
        ({"accountId": 7, "name": "x", "price": 1e300}, "$.price"),  # beyond System.Decimal
        ({"accountId": 7, "name": "x", "when": "yesterday"}, "$.when"),
    ],
)
def test_binding_errors_name_the_field(body: dict, key: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        bind(body, FIELDS)
    assert list(caught.value.errors) == [key]


def test_decode_body_edge_cases() -> None:
    with pytest.raises(BadRequestError) as caught:
        decode_body(b"", "application/json", FIELDS)
    assert caught.value.status == 400
    with pytest.raises(BadRequestError) as caught:
        decode_body(b'{"accountId": 1}', "text/plain", FIELDS)
    assert caught.value.status == 415
    with pytest.raises(BadRequestError) as caught:
        decode_body(b"{nope", "application/json", FIELDS)
    assert "$" in caught.value.errors
    assert decode_body(b"", "", (Field("x", Kind.BOOL),)) == {"x": None}


# Framing -----------------------------------------------------------------------------------------


def test_record_reader_buffers_partial_records() -> None:
    reader = RecordReader()
    assert reader.feed('{"type":6}\x1e{"type":1,"tar') == ['{"type":6}']
    assert reader.pending == len('{"type":1,"tar')
    assert reader.feed('get":"X"}\x1e\x1e{"type":6}\x1e') == ['{"type":1,"target":"X"}', '{"type":6}']
    assert reader.pending == 0


def test_decimals_are_json_numbers() -> None:
    assert (
        dumps({"p": D("21010.250000000"), "q": D("42.00"), "n": None})
        == b'{"p":21010.250000000,"q":42.00,"n":null}'
    )


# Config ----------------------------------------------------------------------------------------------


def test_config_apply_validates_everything_first() -> None:
    config = SimConfig()
    config.apply({"user_payload": "bare", "event_order": ["trade", "order", "account", "position"]})
    assert config.user_payload == "bare" and config.event_order == ("trade", "order", "account", "position")
    for bad in (
        {"user_payload": "naked"},
        {"port": 1},
        {"rate_limit": 1},
        {"event_order": ["order"]},
        {"nope": 1},
    ):
        with pytest.raises(ValueError):
            config.apply({"quote_rate": 99.0, **bad})
        assert config.quote_rate == 4.0  # nothing applied
    config.apply({"fee_micro": "0.5", "ping_interval_s": 2})
    assert config.fee_micro == D("0.5") and config.ping_interval_s == 2.0
    assert config.switches()["event_order"] == ["trade", "order", "account", "position"]


# Event order -------------------------------------------------------------------------------------


def test_dispatcher_orders_the_events_of_a_batch() -> None:
    config = SimConfig(event_order=("account", "position", "trade", "order"))
    published: list[UserEvent] = []
    dispatcher = EventDispatcher(config, published.append)
    batch = [UserEvent(kind, 1, 1, {}) for kind in (EventKind.ORDER, EventKind.TRADE, EventKind.POSITION)]
    batch.append(UserEvent(EventKind.ACCOUNT, 1, 1, {}))
    dispatcher.submit(batch)
    assert [e.kind.value for e in published] == ["account", "position", "trade", "order"]


async def test_dispatcher_delays_without_interleaving_batches() -> None:
    config = SimConfig(event_delay_s=0.001)
    published: list[UserEvent] = []
    all_three = asyncio.Event()

    def publish(event: UserEvent) -> None:
        published.append(event)
        if len(published) == 3:
            all_three.set()

    dispatcher = EventDispatcher(config, publish)
    first = [UserEvent(EventKind.TRADE, 1, 1, {"n": 1}), UserEvent(EventKind.ORDER, 1, 1, {"n": 1})]
    second = [UserEvent(EventKind.ORDER, 1, 1, {"n": 2})]
    dispatcher.submit(first)
    dispatcher.submit(second)
    assert published == []
    await asyncio.wait_for(all_three.wait(), 10)
    assert [(e.kind.value, e.payload["n"]) for e in published] == [("order", 1), ("trade", 1), ("order", 2)]
    await dispatcher.close()


# Market --------------------------------------------------------------------------------------------


def _market(seed: int = 7) -> tuple[Market, list[MarketUpdate]]:
    updates: list[MarketUpdate] = []
    return Market(SimConfig(seed=seed), ContractBook("Z25"), updates.append), updates


def test_random_walk_is_tick_aligned_and_seeded() -> None:
    market, updates = _market()
    for _ in range(500):
        market.step("CON.F.US.MCLE.Z25")
    quote = market.best("CON.F.US.MCLE.Z25")
    assert quote is not None and quote.bid is not None and quote.ask is not None
    assert quote.ask - quote.bid == D("0.01") and quote.last in (quote.bid, quote.ask)
    for update in updates:
        body = update.quote(full=True)
        for name in ("lastPrice", "bestBid", "bestAsk", "high", "low", "open"):
            assert body[name] % D("0.01") == 0
    again, _ = _market()
    for _ in range(500):
        again.step("CON.F.US.MCLE.Z25")
    assert again.best("CON.F.US.MCLE.Z25") == quote


def test_partial_quote_carries_only_changed_fields() -> None:
    market, _ = _market()
    update = market.set_price("CON.F.US.MNQ.Z25", bid=KEEP, ask=D("21000.50"))
    assert set(update.quote(full=False)) == {"symbol", "bestAsk", "lastUpdated", "timestamp"}
    update = market.set_price("CON.F.US.MNQ.Z25", last=D("21010.00"))
    partial = update.quote(full=False)
    assert partial["lastPrice"] == D("21010.00") and partial["bestBid"] == D("21010.00")
    assert partial["bestAsk"] == D("21010.25") and partial["high"] == D("21010.00")
    assert partial["change"] == D("10.00") and partial["changePercent"] == D("0.05")
    assert "open" not in partial and "symbolName" not in partial
    full = update.quote(full=True)
    assert full["symbol"] == "F.US.MNQ" and full["symbolName"] == "/MNQ" and full["open"] == D("21000.00")
    assert update.tape()[0]["price"] == D("21010.00") and update.tape()[0]["type"] == 0
    assert [e["type"] for e in update.depth()] == [3, 4]


def test_set_price_validation() -> None:
    market, _ = _market()
    with pytest.raises(ValueError, match="tick"):
        market.set_price("CON.F.US.MNQ.Z25", last=D("21000.10"))
    with pytest.raises(ValueError, match="bid"):
        market.set_price("CON.F.US.MNQ.Z25", bid=D("21001.00"), ask=D("21000.00"))
    with pytest.raises(KeyError):
        market.set_price("CON.F.US.MNQ.U25", last=D("1"))
    update = market.set_price("CON.F.US.MNQ.Z25", bid=None)
    assert update.quote(full=True)["bestBid"] is None and update.depth()[0]["type"] == 3
    market.step("CON.F.US.MNQ.Z25")  # the walk re-creates the missing side
    assert market.best("CON.F.US.MNQ.Z25").bid is not None  # type: ignore[union-attr]


# Bars ------------------------------------------------------------------------------------------------


def test_synthetic_bars_newest_first_within_the_window() -> None:
    contract = ContractBook("Z25").front[0]
    now = datetime(2025, 11, 24, 15, 30, 20, tzinfo=UTC)
    kwargs = dict(
        last_price=D("21000"),
        start=datetime(2025, 11, 24, 15, 0, tzinfo=UTC),
        end=now,
        unit=BarUnit.MINUTE,
        unit_number=5,
        limit=100,
        now=now,
        seed=1,
    )
    bars = synthetic_bars(contract, include_partial=False, **kwargs)  # type: ignore[arg-type]
    assert [b["t"][11:16] for b in bars] == ["15:25", "15:20", "15:15", "15:10", "15:05", "15:00"]
    assert all(b["l"] <= min(b["o"], b["c"]) and b["h"] >= max(b["o"], b["c"]) for b in bars)
    assert bars[0]["c"] == D("21000.00")
    with_partial = synthetic_bars(contract, include_partial=True, **kwargs)  # type: ignore[arg-type]
    assert with_partial[0]["t"][11:16] == "15:30"
    assert synthetic_bars(contract, include_partial=True, **kwargs | {"limit": 2}) == with_partial[:2]  # type: ignore[arg-type]
