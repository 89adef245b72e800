"""wire.py: every payload form of gateway-api.md §4.5/§4.6 parses once; nothing ever raises."""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.domain.events import (
    AccountUpdated,
    OrderUpdated,
    PositionUpdated,
    QuoteUpdated,
    SessionLoggedOut,
    TradeReceived,
)
from simple_risk_manager.domain.models import Quote
from simple_risk_manager.gateway.wire import QuoteBatch, parse_hub_event

NOW = datetime(2025, 11, 24, 15, 2, 12, tzinfo=UTC)

# The worked payloads of gateway-api.md §4.5 and §4.6, verbatim.
ACCOUNT = {"id": 7001, "name": "SIM-50K-0001", "balance": 50039.04, "canTrade": True, "isVisible": True,
           "simulated": True}
ORDER = {"id": 880031, "accountId": 7001, "contractId": "CON.F.US.MNQ.Z25", "symbolId": "F.US.MNQ",
         "creationTimestamp": "2025-11-24T15:02:11.418305+00:00",
         "updateTimestamp": "2025-11-24T15:02:11.502877+00:00",
         "status": 2, "type": 2, "side": 1, "size": 2, "limitPrice": None, "stopPrice": None,
         "fillVolume": 2, "filledPrice": 21010.50, "customTag": None}
POSITION = {"id": 55120, "accountId": 7001, "contractId": "CON.F.US.MNQ.Z25",
            "creationTimestamp": "2025-11-24T14:47:03.120554+00:00", "type": 1, "size": 0,
            "averagePrice": 21000.00}
TRADE = {"id": 3310077, "accountId": 7001, "contractId": "CON.F.US.MNQ.Z25",
         "creationTimestamp": "2025-11-24T15:02:11.497120+00:00", "price": 21010.50, "profitAndLoss": 42.00,
         "fees": 1.48, "side": 1, "size": 2, "voided": False, "orderId": 880031}
QUOTE = {"symbol": "F.US.MNQ", "symbolName": "/MNQ", "lastPrice": 21010.25, "bestBid": 21010.00,
         "bestAsk": 21010.25, "change": 84.75, "changePercent": 0.41, "open": 20931.50, "high": 21032.00,
         "low": 20918.75, "volume": 412337, "lastUpdated": "2025-11-24T15:02:11.612+00:00",
         "timestamp": "2025-11-24T15:02:11.610+00:00"}
MARKET_TRADE = [{"symbolId": "F.US.MNQ", "price": 21010.25, "timestamp": "2025-11-24T15:02:11.604+00:00",
                 "type": 0, "volume": 3}]
DEPTH = [{"timestamp": "2025-11-24T15:02:11.606+00:00", "type": 3, "price": 21010.25, "volume": 14,
          "currentVolume": 14},
         {"timestamp": "2025-11-24T15:02:11.606+00:00", "type": 4, "price": 21010.00, "volume": 9,
          "currentVolume": 9}]


def parse(target, arguments):
    return parse_hub_event(target, arguments, NOW, hub="user", login="trader1")


def wrapped(data):
    return {"action": 1, "data": data}


@pytest.mark.parametrize(
    ("name", "target", "payload", "event_type"),
    [
        ("§4.5 GatewayUserAccount", "GatewayUserAccount", ACCOUNT, AccountUpdated),
        ("§4.5 GatewayUserOrder (filled market sell)", "GatewayUserOrder", ORDER, OrderUpdated),
        ("§4.5 GatewayUserPosition (went flat)", "GatewayUserPosition", POSITION, PositionUpdated),
        ("§4.5 GatewayUserTrade (closing fill)", "GatewayUserTrade", TRADE, TradeReceived),
    ],
)
@pytest.mark.parametrize("form", ["wrapped", "bare", "array of wrapped", "array of bare", "wrapped array"])
def test_user_payload_forms(name, target, payload, event_type, form):
    argument = {
        "wrapped": wrapped(payload),
        "bare": payload,
        "array of wrapped": [wrapped(payload)],
        "array of bare": [payload],
        "wrapped array": {"action": 1, "data": [payload]},
    }[form]
    events = parse(target, [argument])
    assert len(events) == 1, name
    assert isinstance(events[0], event_type)


def test_spec_order_example_fields():
    (event,) = parse("GatewayUserOrder", [wrapped(ORDER)])
    order = event.order
    assert (order.id, order.account_id, order.contract_id) == (880031, 7001, "CON.F.US.MNQ.Z25")
    assert order.status is OrderStatus.FILLED and order.type is OrderType.MARKET
    assert order.side is OrderSide.SELL
    assert order.fill_price == Decimal("21010.5") and order.filled_size == 2 and order.custom_tag is None


def test_spec_trade_example_fields():
    (event,) = parse("GatewayUserTrade", [wrapped(TRADE)])
    trade = event.trade
    assert trade.profit_and_loss == Decimal("42.0") and trade.fees == Decimal("1.48")
    assert trade.order_id == 880031 and trade.received_at == NOW and not trade.voided


def test_spec_position_flat_example():
    (event,) = parse("GatewayUserPosition", [wrapped(POSITION)])
    assert event.position.is_closed and event.position.type is PositionType.LONG


def test_action_value_is_never_branched_on():
    events = [parse("GatewayUserAccount", [{"action": action, "data": ACCOUNT}]) for action in (0, 1, 2, 99)]
    assert all(len(e) == 1 and e[0].account.id == 7001 for e in events)


def test_target_names_match_case_insensitively():
    assert isinstance(parse("gatewayuseraccount", [ACCOUNT])[0], AccountUpdated)


def test_one_bad_item_does_not_drop_the_others(caplog):
    bad = dict(ORDER, side=7)
    with caplog.at_level(logging.ERROR):
        events = parse("GatewayUserOrder", [[wrapped(ORDER), wrapped(bad), ORDER]])
    assert [e.order.id for e in events] == [880031, 880031]
    assert len([r for r in caplog.records if "malformed" in r.getMessage()]) == 1
    assert "side" in caplog.text


@pytest.mark.parametrize("form", ["object", "array"])
def test_quote_forms(form):
    data = QUOTE if form == "object" else [QUOTE]
    (event,) = parse_hub_event("GatewayQuote", ["CON.F.US.MNQ.Z25", data], NOW, hub="market", login="t")
    assert isinstance(event, QuoteUpdated)
    quote = event.quote
    assert quote.contract_id == "CON.F.US.MNQ.Z25"
    assert (quote.bid, quote.ask, quote.last) == (Decimal("21010"), Decimal("21010.25"), Decimal("21010.25"))
    assert quote.quote_time == datetime(2025, 11, 24, 15, 2, 11, 610000, tzinfo=UTC)


def test_partial_quote_leaves_missing_fields_none():
    (event,) = parse_hub_event("GatewayQuote", ["CON.F.US.MNQ.Z25", {"lastPrice": 21011.0}], NOW,
                               hub="market", login="t")
    assert event.quote.last == Decimal("21011.0")
    assert event.quote.bid is None and event.quote.ask is None and event.quote.quote_time is None


@pytest.mark.parametrize(
    ("target", "data"),
    [("GatewayTrade", MARKET_TRADE), ("GatewayTrade", MARKET_TRADE[0]), ("GatewayDepth", DEPTH),
     ("GatewayDepth", DEPTH[0])],
)
def test_market_trades_and_depth_are_ignored_safely(target, data, caplog):
    with caplog.at_level(logging.ERROR):
        assert parse_hub_event(target, ["CON.F.US.MNQ.Z25", data], NOW, hub="market", login="t") == []
    assert not caplog.records


def test_logout_becomes_session_logged_out():
    events = parse_hub_event("GatewayLogout", [{"reason": "taken over"}], NOW, hub="user", login="trader1")
    assert events == [SessionLoggedOut(hub="user", login="trader1", at=NOW)]


def test_unknown_target_is_ignored_without_error(caplog):
    with caplog.at_level(logging.ERROR):
        assert parse("GatewaySomethingNew", [{"x": 1}]) == []
    assert not caplog.records


@pytest.mark.parametrize(
    ("target", "arguments"),
    [
        ("GatewayUserOrder", []),
        ("GatewayUserOrder", None),
        ("GatewayUserOrder", "text"),
        ("GatewayUserOrder", [42]),
        ("GatewayUserOrder", [{"action": 1, "data": None}]),
        ("GatewayUserPosition", [dict(POSITION, size=2, type=0)]),
        ("GatewayUserPosition", [dict(POSITION, size=-1)]),
        ("GatewayUserTrade", [dict(TRADE, price="NaN")]),
        ("GatewayUserTrade", [dict(TRADE, creationTimestamp="yesterday")]),
        ("GatewayQuote", ["CON.F.US.MNQ.Z25"]),
        ("GatewayQuote", [None, QUOTE]),
        ("GatewayQuote", ["CON.F.US.MNQ.Z25", 5]),
        ("GatewayQuote", ["CON.F.US.MNQ.Z25", {"bestBid": True}]),
        ("GatewayDepth", [7, DEPTH]),
    ],
)
def test_malformed_messages_are_logged_once_and_skipped(target, arguments, caplog):
    with caplog.at_level(logging.ERROR):
        assert parse(target, arguments) == []
    assert len(caplog.records) == 1
    assert target in caplog.records[0].getMessage()


def test_malformed_log_line_is_redacted_and_truncated(caplog):
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    junk = {"token": secret, "apiKey": "super-secret-key", "padding": "x" * 5000}
    with caplog.at_level(logging.ERROR):
        parse("GatewayUserOrder", [junk])
    text = caplog.records[0].getMessage()
    assert secret not in text and "super-secret-key" not in text
    assert len(text) < 2500


# --- property tests ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=12), children, max_size=5)),
    max_leaves=20,
)
TARGETS = st.sampled_from(["GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition",
                           "GatewayUserTrade", "GatewayQuote", "GatewayTrade", "GatewayDepth",
                           "GatewayLogout", "Other"])
FIELD_KEYS = ["id", "accountId", "contractId", "type", "side", "size", "status", "price", "averagePrice",
              "creationTimestamp", "updateTimestamp", "fees", "profitAndLoss", "voided", "orderId",
              "balance", "canTrade", "bestBid", "bestAsk", "lastPrice", "timestamp", "data", "action"]
NEAR_MISS = st.dictionaries(st.sampled_from(FIELD_KEYS), JSON, max_size=14)


@settings(max_examples=400, deadline=None)
@given(target=TARGETS, arguments=JSON | st.lists(NEAR_MISS | JSON, max_size=3))
def test_no_exception_escapes_on_random_payloads(target, arguments):
    events = parse(target, arguments)
    assert isinstance(events, list)


@settings(max_examples=300, deadline=None)
@given(target=TARGETS, contract=JSON, data=NEAR_MISS | st.lists(NEAR_MISS, max_size=3) | JSON)
def test_no_exception_escapes_on_market_shaped_payloads(target, contract, data):
    assert isinstance(parse(target, [contract, data]), list)


IDS = st.integers(1, 2**62)
PRICES = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("100000"), places=2,
                     allow_nan=False, allow_infinity=False)
TIMES = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC))
CONTRACTS = st.sampled_from(["CON.F.US.MNQ.Z25", "CON.F.US.EP.H26", "CON.F.US.GCE.G26"])


def iso(moment):
    return moment.isoformat()


def wire_number(value):
    """What orjson hands us for a JSON number printed from this Decimal."""
    return orjson.loads(str(value))


def form_of(draw_form, payload):
    return {"wrapped": [wrapped(payload)], "bare": [payload], "array": [[wrapped(payload)]]}[draw_form]


FORMS = st.sampled_from(["wrapped", "bare", "array"])


@settings(max_examples=200, deadline=None)
@given(oid=IDS, account=IDS, contract=CONTRACTS, otype=st.integers(0, 9), side=st.sampled_from([0, 1]),
       size=st.integers(1, 50), status=st.integers(0, 10), limit=st.none() | PRICES,
       created=TIMES, tag=st.none() | st.text(min_size=1, max_size=10), form=FORMS, data=st.data())
def test_valid_orders_round_trip(oid, account, contract, otype, side, size, status, limit, created, tag, form,
                                 data):
    filled = data.draw(st.integers(0, size))
    payload = {"id": oid, "accountId": account, "contractId": contract, "type": otype, "side": side,
               "size": size, "status": status, "limitPrice": None if limit is None else wire_number(limit),
               "creationTimestamp": iso(created), "updateTimestamp": iso(created), "fillVolume": filled,
               "customTag": tag}
    (event,) = parse("GatewayUserOrder", form_of(form, payload))
    order = event.order
    assert (order.id, order.account_id, order.contract_id, int(order.type), int(order.side), order.size,
            int(order.status), order.filled_size, order.custom_tag, order.created_at) == (
        oid, account, contract, otype, side, size, status, filled, tag, created)
    assert order.limit_price == limit


@settings(max_examples=200, deadline=None)
@given(pid=IDS, account=IDS, contract=CONTRACTS, ptype=st.sampled_from([1, 2]), size=st.integers(0, 100),
       avg=PRICES, created=TIMES, form=FORMS)
def test_valid_positions_round_trip(pid, account, contract, ptype, size, avg, created, form):
    payload = {"id": pid, "accountId": account, "contractId": contract, "type": ptype, "size": size,
               "averagePrice": wire_number(avg), "creationTimestamp": iso(created)}
    (event,) = parse("GatewayUserPosition", form_of(form, payload))
    position = event.position
    assert (position.id, position.account_id, position.contract_id, int(position.type), position.size,
            position.average_price, position.created_at, position.updated_at) == (
        pid, account, contract, ptype, size, avg, created, NOW)


@settings(max_examples=200, deadline=None)
@given(tid=IDS, account=IDS, contract=CONTRACTS, side=st.sampled_from([0, 1]), size=st.integers(1, 50),
       price=PRICES, pnl=st.none() | PRICES, fees=PRICES, voided=st.booleans(), order=IDS, created=TIMES,
       form=FORMS)
def test_valid_trades_round_trip(tid, account, contract, side, size, price, pnl, fees, voided, order, created,
                                 form):
    payload = {"id": tid, "accountId": account, "contractId": contract, "side": side, "size": size,
               "price": wire_number(price), "profitAndLoss": None if pnl is None else wire_number(pnl),
               "fees": wire_number(fees), "voided": voided, "orderId": order,
               "creationTimestamp": iso(created)}
    (event,) = parse("GatewayUserTrade", form_of(form, payload))
    trade = event.trade
    assert (trade.id, trade.account_id, trade.contract_id, int(trade.side), trade.size, trade.price,
            trade.profit_and_loss, trade.fees, trade.voided, trade.order_id, trade.execution_time) == (
        tid, account, contract, side, size, price, pnl, fees, voided, order, created)


@settings(max_examples=200, deadline=None)
@given(aid=IDS, name=st.text(min_size=1, max_size=20), balance=PRICES, can_trade=st.booleans(), form=FORMS)
def test_valid_accounts_round_trip(aid, name, balance, can_trade, form):
    payload = {"id": aid, "name": name, "balance": wire_number(balance), "canTrade": can_trade,
               "isVisible": True, "simulated": False}
    (event,) = parse("GatewayUserAccount", form_of(form, payload))
    account = event.account
    assert (account.id, account.name, account.balance, account.can_trade, account.simulated) == (
        aid, name, balance, can_trade, False)


@settings(max_examples=200, deadline=None)
@given(contract=CONTRACTS, bid=st.none() | PRICES, ask=st.none() | PRICES, last=st.none() | PRICES,
       stamp=st.none() | TIMES, as_array=st.booleans())
def test_valid_partial_quotes_round_trip(contract, bid, ask, last, stamp, as_array):
    body = {key: wire_number(value) for key, value in
            (("bestBid", bid), ("bestAsk", ask), ("lastPrice", last)) if value is not None}
    if stamp is not None:
        body["timestamp"] = iso(stamp)
    (event,) = parse_hub_event("GatewayQuote", [contract, [body] if as_array else body], NOW,
                               hub="market", login="t")
    quote = event.quote
    assert (quote.contract_id, quote.bid, quote.ask, quote.last, quote.quote_time, quote.received_at) == (
        contract, bid, ask, last, stamp, NOW)


# --- quotes of one frame, merged per contract (QuoteBatch) -------------------------------------------

_PRICE = st.one_of(st.none(), st.decimals(min_value=1, max_value=99999, places=2).map(float))
_STAMP = st.sampled_from([None, "2025-11-24T15:02:11Z", "2025-11-24T15:02:12Z"])
_QUOTE_FIELDS = st.fixed_dictionaries({}, optional={"bestBid": _PRICE, "bestAsk": _PRICE, "lastPrice": _PRICE,
                                                    "timestamp": _STAMP})


@given(records=st.lists(st.tuples(st.sampled_from(["CON.F.US.MNQ.Z25", "CON.F.US.EP.Z25"]), _QUOTE_FIELDS),
                        min_size=1, max_size=30))
def test_a_frame_of_quotes_merges_to_what_the_records_one_by_one_would_give(
        records: list[tuple[str, dict[str, object]]]) -> None:
    batch = QuoteBatch()
    for contract_id, payload in records:
        assert batch.add([contract_id, payload])
    merged = {e.quote.contract_id: e.quote for e in batch.take(NOW) if isinstance(e, QuoteUpdated)}
    expected: dict[str, Quote] = {}
    for contract_id, payload in records:
        quote = Quote.from_api(contract_id, payload, NOW)
        expected[contract_id] = quote.merged_over(expected.get(contract_id))
    assert merged == expected
    assert list(merged) == list(dict.fromkeys(c for c, _ in records))  # contracts in first-seen order
    assert batch.take(NOW) == []


def test_a_bad_record_in_a_frame_is_reported_and_the_good_ones_still_count(
        caplog: pytest.LogCaptureFixture) -> None:
    batch = QuoteBatch()
    mnq = "CON.F.US.MNQ.Z25"
    assert batch.add([mnq, {"bestBid": 21000.25, "lastPrice": 21000.5}])
    assert batch.add([mnq, {"lastPrice": "not a price"}])
    assert batch.add([mnq, {"bestAsk": 21000.75}])
    with caplog.at_level(logging.ERROR):
        events = batch.take(NOW)
    assert "malformed GatewayQuote message skipped" in caplog.text and "not a price" in caplog.text
    assert [(e.quote.bid, e.quote.ask, e.quote.last) for e in events if isinstance(e, QuoteUpdated)] == [
        (Decimal("21000.25"), None, Decimal("21000.5")), (None, Decimal("21000.75"), None)]


@pytest.mark.parametrize("arguments", [["CON.F.US.MNQ.Z25"], ["", {}], [7, {}], ["CON.F.US.MNQ.Z25", []],
                                       "CON.F.US.MNQ.Z25", None], ids=repr)
def test_a_quote_invocation_of_another_shape_is_left_to_the_record_parser(arguments: object) -> None:
    batch = QuoteBatch()
    assert batch.add(arguments) is False
    assert batch.take(NOW) == []
