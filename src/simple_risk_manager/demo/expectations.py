"""What the scripted trader waits for: predicates over broadcast messages (`broadcast-api.md` §4.4, §5)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.demo.feed import Predicate

ENFORCEMENT = "enforcement_action"


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _on(account_id: int, message_type: str, test: Callable[[dict[str, Any]], bool]) -> Predicate:
    def predicate(message: Message) -> bool:
        return (message.type == message_type and message.account_id == account_id
                and test(dict(message.data)))
    return predicate


def enforced(account_id: int, rule_id: str, action: str | None = None, *,
             closes_position: bool = False) -> Predicate:
    """An `enforcement_action` of `rule_id` (optionally of one action type, or one that closed a position)."""
    def test(data: dict[str, Any]) -> bool:
        closed = int((data.get("details") or {}).get("positions_closed") or 0)
        return (data.get("rule_id") == rule_id and (action is None or data.get("action") == action)
                and (not closes_position or closed >= 1))
    return _on(account_id, ENFORCEMENT, test)


def locked_by(account_id: int, rule_id: str) -> Predicate:
    """A `lockout_set` of `rule_id`, or a snapshot that already shows that lockout."""
    def predicate(message: Message) -> bool:
        if message.type == "lockout_set":
            return message.account_id == account_id and message.data.get("rule_id") == rule_id
        if message.type == "snapshot":
            return any(account.get("account_id") == account_id
                       and any(lock.get("rule_id") == rule_id for lock in account.get("lockouts") or [])
                       for account in message.data.get("accounts") or [])
        return False
    return predicate


def lock_lifted(account_id: int, rule_id: str) -> Predicate:
    return _on(account_id, "lockout_cleared", lambda data: data.get("rule_id") == rule_id)


def position(account_id: int, contract_id: str, size: int) -> Predicate:
    """A position event of that contract at exactly `size` (0 = closed)."""
    return _on(account_id, "GatewayUserPosition",
               lambda data: data.get("contract_id") == contract_id and data.get("size") == size)


def closing_fill(account_id: int, contract_id: str) -> Predicate:
    """A fill of that contract with realized P&L (it reduced or closed a position)."""
    return _on(account_id, "GatewayUserTrade",
               lambda data: data.get("contract_id") == contract_id
               and data.get("profit_and_loss") is not None)


def working_stop(account_id: int, contract_id: str, stop_price: Decimal) -> Predicate:
    """A working stop order of that contract at `stop_price`."""
    return _on(account_id, "GatewayUserOrder",
               lambda data: data.get("contract_id") == contract_id and data.get("type") == "STOP"
               and data.get("status") == "OPEN" and _decimal(data.get("stop_price")) == stop_price)


def daemon_running(message: Message) -> bool:
    """`daemon_status` RUNNING, or a snapshot taken while the daemon was RUNNING."""
    if message.type == "daemon_status":
        return message.data.get("status") == "RUNNING"
    if message.type == "snapshot":
        return (message.data.get("daemon") or {}).get("status") == "RUNNING"
    return False


def enforcement_on(account_id: int) -> Predicate:
    return _on(account_id, ENFORCEMENT, lambda data: True)


def any_enforcement(message: Message) -> bool:
    return message.type == ENFORCEMENT
