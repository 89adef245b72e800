"""from_api follows the gateway payloads of gateway-api.md §4.5 and the validation of storage.md §10."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from simple_risk_manager.domain import (
    Account,
    AccountConfig,
    ContractMetadata,
    EnforcementLog,
    Lockout,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionType,
    Quote,
    Trade,
)

NOW = datetime(2025, 11, 24, 15, 2, 12, tzinfo=UTC)

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
ACCOUNT = {"id": 7001, "name": "SIM-50K-0001", "balance": 50039.04, "canTrade": True, "isVisible": True,
           "simulated": True}
QUOTE = {"symbol": "F.US.MNQ", "symbolName": "/MNQ", "lastPrice": 21010.25, "bestBid": 21010.00,
         "bestAsk": 21010.25, "timestamp": "2025-11-24T15:02:11.610+00:00"}
CONTRACT = {"id": "CON.F.US.EP.Z25", "name": "ESZ5", "description": "E-mini S&P 500", "tickSize": 0.25,
            "tickValue": 12.5, "activeContract": True, "symbolId": "F.US.EP"}


def test_order_from_gateway_example():
    order = Order.from_api(ORDER, NOW)
    assert order.id == 880031
    assert order.status is OrderStatus.FILLED
    assert order.type is OrderType.MARKET
    assert order.side is OrderSide.SELL
    assert order.fill_price == Decimal("21010.5")
    assert order.filled_size == 2
    assert order.updated_at == datetime(2025, 11, 24, 15, 2, 11, 502877, tzinfo=UTC)
    assert order.to_dict()["status"] == "FILLED"
    assert order.to_dict()["order_id"] == 880031


def test_order_keeps_unknown_codes_and_is_not_working():
    order = Order.from_api({**ORDER, "status": 11, "type": 9, "fillVolume": 0}, NOW)
    assert order.status == 11
    assert order.type == 9
    assert not order.is_working
    assert order.to_dict()["status"] == "UNKNOWN_11"


def test_own_orders_are_recognised_by_tag():
    assert Order.from_api({**ORDER, "customTag": "RM-ab12-7"}, NOW).is_own
    assert not Order.from_api({**ORDER, "customTag": "my-tag"}, NOW).is_own
    assert not Order.from_api(ORDER, NOW).is_own


def test_position_size_zero_is_a_close_even_with_type_zero():
    closed = Position.from_api({**POSITION, "type": 0}, NOW)
    assert closed.is_closed
    assert closed.type is PositionType.UNDEFINED
    kept = Position.from_api(POSITION, NOW)
    assert kept.type is PositionType.LONG and kept.is_closed


def test_short_position_signed_size():
    short = Position.from_api({**POSITION, "type": 2, "size": 3}, NOW)
    assert short.signed_size == -3
    assert short.to_dict()["type"] == "SHORT"
    assert short.to_dict()["opened_at"] == "2025-11-24T14:47:03.120Z"


def test_trade_from_gateway_example():
    trade = Trade.from_api(TRADE, NOW)
    assert trade.profit_and_loss == Decimal("42.0")
    assert trade.fees == Decimal("1.48")
    assert trade.execution_time == datetime(2025, 11, 24, 15, 2, 11, 497120, tzinfo=UTC)
    opening = Trade.from_api({**TRADE, "profitAndLoss": None}, NOW)
    assert opening.profit_and_loss is None
    assert opening.to_dict()["profit_and_loss"] is None


def test_account_and_contract():
    account = Account.from_api(ACCOUNT)
    assert account.balance == Decimal("50039.04")
    assert account.can_trade is True
    assert Account.from_api({**ACCOUNT, "canTrade": False}).can_trade is False
    missing = {k: v for k, v in ACCOUNT.items() if k != "canTrade"}
    assert Account.from_api(missing).can_trade is None  # RULE-010 must see "not said", not "true"
    es = ContractMetadata.from_api(CONTRACT, NOW)
    assert es.point_value == Decimal(50)
    assert es.to_dict() == {"symbol_id": "F.US.EP", "name": "ESZ5", "tick_size": 0.25, "tick_value": 12.5}


def test_partial_quotes_merge_over_previous():
    first = Quote.from_api("CON.F.US.MNQ.Z25", QUOTE, NOW)
    update = Quote.from_api("CON.F.US.MNQ.Z25", {"lastPrice": 21011.0}, NOW + timedelta(seconds=1))
    merged = update.merged_over(first)
    assert merged.last == Decimal("21011.0")
    assert merged.bid == Decimal("21010.0")
    assert merged.ask == Decimal("21010.25")
    assert merged.received_at == NOW + timedelta(seconds=1)
    assert merged.quote_time == first.quote_time


@pytest.mark.parametrize(
    ("factory", "payload", "message"),
    [
        (Order.from_api, {**ORDER, "id": "880031"}, "id: must be an integer"),
        (Order.from_api, {**ORDER, "side": 2}, "side: unknown OrderSide code 2"),
        (Order.from_api, {**ORDER, "size": 0}, "size: must be > 0"),
        (Order.from_api, {**ORDER, "fillVolume": 3}, "fillVolume: must be between 0 and size 2"),
        (Order.from_api, {**ORDER, "contractId": ""}, "contractId: must be a non-empty string"),
        (Position.from_api, {**POSITION, "size": -1}, "size: must be >= 0"),
        (Position.from_api, {**POSITION, "size": 1, "type": 0}, "open position must be LONG or SHORT"),
        (Position.from_api, {**POSITION, "size": 1, "type": 7}, "type: unknown PositionType code 7"),
        (Position.from_api, {**POSITION, "averagePrice": float("nan")}, "averagePrice: not a finite number"),
        (Trade.from_api, {**TRADE, "size": 0}, "size: must be > 0"),
        (Trade.from_api, {**TRADE, "creationTimestamp": "yesterday"}, "creationTimestamp: must be an ISO"),
        (Trade.from_api, {**TRADE, "voided": "no"}, "voided: must be true or false"),
    ],
)
def test_hard_requirements_reject_the_item(factory, payload, message):
    with pytest.raises(ValueError, match=message):
        factory(payload, NOW)


def test_lockout_expiry_is_inclusive():
    until = NOW + timedelta(minutes=5)
    lock = Lockout(account_id=7001, rule_id="RULE-007", kind="duration", reason="cooldown", locked_at=NOW,
                   locked_until=until, created_at=NOW, updated_at=NOW, lockout_id=3)
    assert lock.is_active(until - timedelta(microseconds=1))
    assert not lock.is_active(until)
    assert lock.remaining_s(NOW) == 300
    assert lock.remaining_s(until + timedelta(seconds=9)) == 0
    assert lock.to_dict()["locked_until"] == "2025-11-24T15:07:12.000Z"


def test_condition_lockouts_and_only_they_have_no_end():
    lock = Lockout(account_id=1, rule_id="RULE-010", kind="condition", reason="canTrade false",
                   locked_at=NOW, locked_until=None, created_at=NOW, updated_at=NOW)
    assert lock.is_active(NOW + timedelta(days=400))
    assert lock.remaining_s(NOW) is None
    with pytest.raises(ValueError):
        Lockout(account_id=1, rule_id="RULE-003", kind="reset", reason="x", locked_at=NOW,
                locked_until=None, created_at=NOW, updated_at=NOW)


def test_enforcement_log_details_and_broadcast_form():
    row = EnforcementLog(timestamp=NOW, account_id=7001, rule_id="RULE-003", action="CLOSE_ALL_AND_LOCKOUT",
                         reason="daily realized loss 512.50 reached limit 500.00", success=True,
                         outcome="SUCCESS", positions_closed=1, orders_cancelled=2, lockout_until=NOW,
                         superseded_by=None, execution_time_ms=184)
    assert row.details()["positions_closed"] == 1
    assert "superseded_by" in row.details()
    broadcast = row.to_dict()
    assert set(broadcast["details"]) == {"positions_closed", "orders_cancelled", "lockout_until", "error"}
    assert broadcast["execution_time_ms"] == 184


def test_account_config_never_shows_the_api_key():
    cfg = AccountConfig(account_id=7001, username="trader", api_key="s3cr3t-key-value")
    assert "s3cr3t" not in repr(cfg)
    assert "s3cr3t" not in str(cfg.to_dict())
