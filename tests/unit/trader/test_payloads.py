"""Broadcast data → domain objects: the spec examples, unknown broker codes, errors that name the field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from simple_risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from simple_risk_manager.trader import payloads

from .frames import (
    A1,
    MES,
    MNQ,
    SPEC_ENFORCEMENT,
    SPEC_LOCKOUT_SET,
    SPEC_ORDER_CANCELLED,
    SPEC_QUOTE,
    SPEC_SNAPSHOT,
    SPEC_TRADE,
    frame,
)

ACCOUNT = orjson.loads(SPEC_SNAPSHOT)["data"]["accounts"][0]


def test_spec_snapshot_position() -> None:
    line = payloads.position_line(ACCOUNT["positions"][0], A1)
    position = line.position
    assert (position.id, position.contract_id, position.type, position.size) == (
        90211, MES, PositionType.LONG, 3)
    assert position.average_price == Decimal("5921.25")
    assert position.created_at == datetime(2025, 3, 4, 14, 51, 9, 300_000, tzinfo=UTC)
    assert (line.has_stop, line.no_stop_deadline) == (True, None)


def test_spec_snapshot_order() -> None:
    order = payloads.order(ACCOUNT["orders"][0], A1)
    assert (order.id, order.type, order.side, order.status) == (771203, OrderType.STOP, OrderSide.SELL,
                                                                OrderStatus.OPEN)
    assert (order.stop_price, order.limit_price, order.is_stop_loss) == (Decimal("5912.0"), None, True)


def test_spec_order_update_with_terminal_status() -> None:
    order = payloads.order(frame(SPEC_ORDER_CANCELLED).data, A1)
    assert order.status is OrderStatus.CANCELLED


def test_unknown_broker_codes_stay_raw_ints() -> None:
    data = {**frame(SPEC_ORDER_CANCELLED).data, "type": "UNKNOWN_9", "status": "UNKNOWN_12"}
    order = payloads.order(data, A1)
    assert (order.type, order.status) == (9, 12)


def test_spec_quote_uses_the_daemons_receive_time() -> None:
    quote = payloads.quote(frame(SPEC_QUOTE).data)
    assert (quote.contract_id, quote.bid, quote.ask, quote.last) == (
        MNQ, Decimal("21004.25"), Decimal("21004.5"), Decimal("21004.5"))
    assert quote.received_at == datetime(2025, 3, 4, 15, 3, 2, 395_000, tzinfo=UTC)


def test_spec_snapshot_quote_is_keyed_by_contract() -> None:
    quote = payloads.quote(ACCOUNT["quotes"][MES], MES)
    assert (quote.contract_id, quote.last) == (MES, Decimal("5923.75"))


def test_spec_contract_metadata() -> None:
    contract = payloads.contract(MES, ACCOUNT["contracts"][MES], datetime(2025, 3, 4, tzinfo=UTC))
    assert (contract.name, contract.tick_size, contract.tick_value) == (
        "MESH5", Decimal("0.25"), Decimal("1.25"))


def test_spec_lockout() -> None:
    record = payloads.lockout(frame(SPEC_LOCKOUT_SET).data, A1)
    assert (record.lockout_id, record.rule_id, record.kind) == (77, "RULE-003", "reset")
    assert record.locked_until == datetime(2025, 3, 4, 23, tzinfo=UTC)


def test_a_condition_lockout_has_no_end() -> None:
    data = {**frame(SPEC_LOCKOUT_SET).data, "kind": "condition", "locked_until": None}
    assert payloads.lockout(data, A1).locked_until is None


def test_spec_trade() -> None:
    fill = payloads.trade(frame(SPEC_TRADE).data, A1)
    assert (fill.id, fill.side, fill.size, fill.price) == (310045, OrderSide.SELL, 3, Decimal("5924.0"))
    assert (fill.profit_and_loss, fill.fees, fill.order_id) == (Decimal("41.25"), Decimal("2.22"), 771240)


def test_spec_enforcement_action() -> None:
    log = payloads.enforcement(frame(SPEC_ENFORCEMENT).data, A1)
    assert (log.action, log.rule_id, log.outcome, log.execution_time_ms) == (
        "CLOSE_ALL_AND_LOCKOUT", "RULE-003", "SUCCESS", 184)
    assert (log.positions_closed, log.orders_cancelled) == (1, 2)


def test_spec_rule_row() -> None:
    rule = payloads.rule_gauge(ACCOUNT["rules"][0])
    assert (rule.rule_id, rule.limit, rule.current, rule.status) == ("RULE-003", Decimal("500.0"),
                                                                     Decimal("193.32"), "OK")
    assert rule.limits is None


def test_per_window_limits_are_read_when_the_daemon_sends_them() -> None:
    rule = payloads.rule_gauge({"rule_id": "RULE-006", "limit": 3, "current": 1, "status": "OK",
                                "limits": {"minute": 3, "hour": 10, "session": None}})
    assert rule.limits == {"minute": Decimal(3), "hour": Decimal(10)}


def test_spec_trade_counts() -> None:
    assert payloads.trade_counts(frame(SPEC_TRADE).data) == {"minute": 1, "hour": 4, "session": 7}


@pytest.mark.parametrize(("change", "field"), [
    ({"size": "3"}, "size"),
    ({"type": "SIDEWAYS"}, "type"),
    ({"average_price": "cheap"}, "average_price"),
    ({"opened_at": "yesterday"}, "opened_at"),
    ({"contract_id": ""}, "contract_id"),
])
def test_bad_fields_are_named(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field}:"):
        payloads.position_line({**ACCOUNT["positions"][0], **change}, A1)
