"""Enum codes are the broker's (gateway-api.md §3) and the severity order is rules.md §3."""

import pytest

from simple_risk_manager.domain.enums import (
    NON_TERMINAL_STATUSES,
    TERMINAL_STATUSES,
    WORKING_STATUSES,
    EnforcementActionType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionType,
    code_name,
    decode_order_status,
    decode_order_type,
)


@pytest.mark.parametrize(
    ("enum", "codes"),
    [
        (PositionType, {"UNDEFINED": 0, "LONG": 1, "SHORT": 2}),
        (OrderType, {"UNKNOWN": 0, "LIMIT": 1, "MARKET": 2, "STOP_LIMIT": 3, "STOP": 4,
                     "TRAILING_STOP": 5, "JOIN_BID": 6, "JOIN_ASK": 7}),
        (OrderSide, {"BUY": 0, "SELL": 1}),
        (OrderStatus, {"NONE": 0, "OPEN": 1, "FILLED": 2, "CANCELLED": 3, "EXPIRED": 4, "REJECTED": 5,
                       "PENDING": 6, "PENDING_CANCELLATION": 7, "SUSPENDED": 8}),
    ],
)
def test_codes_match_the_gateway(enum, codes):
    assert {m.name: m.value for m in enum} == codes


def test_status_groups():
    assert {int(s) for s in NON_TERMINAL_STATUSES} == {1, 6, 7, 8}
    assert {int(s) for s in WORKING_STATUSES} == {1, 6, 8}
    assert {int(s) for s in TERMINAL_STATUSES} == {2, 3, 4, 5}


def test_severity_order_most_severe_first():
    order = sorted(EnforcementActionType, key=lambda a: a.severity)
    assert [a.value for a in order] == [
        "CLOSE_ALL_AND_LOCKOUT", "COOLDOWN", "CLOSE_ALL_POSITIONS", "CLOSE_POSITION",
        "REDUCE_TO_LIMIT", "REJECT_ORDER", "AUTO_STOP_LOSS", "UNLOCK", "ALERT",
    ]
    assert {a for a in EnforcementActionType if a.is_account_wide} == {
        EnforcementActionType.CLOSE_ALL_AND_LOCKOUT,
        EnforcementActionType.COOLDOWN,
        EnforcementActionType.CLOSE_ALL_POSITIONS,
    }


def test_unknown_codes_are_kept_raw():
    assert decode_order_type(4) is OrderType.STOP
    assert decode_order_type(42) == 42
    assert decode_order_status(9) == 9
    assert code_name(OrderStatus.OPEN) == "OPEN"
    assert code_name(9) == "UNKNOWN_9"


def test_side_opposite():
    assert OrderSide.BUY.opposite is OrderSide.SELL
    assert OrderSide.SELL.opposite is OrderSide.BUY
