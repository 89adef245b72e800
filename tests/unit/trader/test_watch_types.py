"""`srm trader watch --types`: only the nine event types are accepted."""

from __future__ import annotations

import pytest

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.trader.watch import event_line, parse_types


def test_types_are_split_and_checked() -> None:
    assert parse_types("GatewayUserTrade, lockout_set") == {"GatewayUserTrade", "lockout_set"}
    assert parse_types(None) is None


@pytest.mark.parametrize("text", ["snapshot", "hello,lockout_set", " , "])
def test_unknown_types_are_refused_with_the_valid_list(text: str) -> None:
    with pytest.raises(ValueError, match=r"choose from .*GatewayUserTrade"):
        parse_types(text)


def test_an_event_line_is_the_envelope() -> None:
    line = event_line(Message("lockout_set", 7, "2025-03-04T16:40:12.730Z", 4411, {"rule_id": "RULE-003"}))
    assert line == ('{"v":1,"type":"lockout_set","seq":7,"ts":"2025-03-04T16:40:12.730Z","account_id":4411,'
                    '"data":{"rule_id":"RULE-003"}}\n')
