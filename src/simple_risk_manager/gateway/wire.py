"""Hub payloads → typed domain events, exactly once, at the edge (`architecture.md` principle 2).

User events arrive wrapped (`{"action": n, "data": {…}}`), bare, or as arrays of either
(`gateway-api.md` §4.5); market events as `[contractId, object | array]` (§4.6). The domain's
`from_api` parsers do the field work. Nothing here raises: a malformed item is logged once (redacted,
truncated) and skipped, and the rest of the message is still delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import orjson

from simple_risk_manager.domain.events import (
    AccountUpdated,
    GatewayEvent,
    OrderUpdated,
    PositionUpdated,
    QuoteUpdated,
    SessionLoggedOut,
    TradeReceived,
)
from simple_risk_manager.domain.models import Account, Order, Position, Quote, Trade
from simple_risk_manager.gateway.redact import loggable

log = logging.getLogger(__name__)

UserParser = Callable[[dict[str, Any], datetime], GatewayEvent]

_USER_TARGETS: dict[str, UserParser] = {
    "gatewayuseraccount": lambda data, _at: AccountUpdated(Account.from_api(data)),
    "gatewayuserorder": lambda data, at: OrderUpdated(Order.from_api(data, at)),
    "gatewayuserposition": lambda data, at: PositionUpdated(Position.from_api(data, at)),
    "gatewayusertrade": lambda data, at: TradeReceived(Trade.from_api(data, at)),
}
#: The quote target, lower case (targets are matched case-insensitively).
QUOTE_TARGET = "gatewayquote"
#: Market events the daemon does not use: checked for shape, then dropped.
_IGNORED_MARKET = frozenset({"gatewaytrade", "gatewaydepth"})
_LOGOUT = "gatewaylogout"
#: What a domain parser raises on a bad item (ValueError by contract; the others defensively).
_ITEM_ERRORS = (ValueError, TypeError, ArithmeticError)


def parse_hub_event(target: str, arguments: Any, received_at: datetime, *, hub: str,
                    login: str) -> list[GatewayEvent]:
    """The domain events in one hub invocation (`target`, `arguments`); never raises."""
    try:
        key = target.lower()
        if key in _USER_TARGETS:
            return _user_events(target, _USER_TARGETS[key], arguments, received_at)
        if key == QUOTE_TARGET:
            return _quote_events(target, arguments, received_at)
        if key in _IGNORED_MARKET:
            _market_items(target, arguments)
            return []
        if key == _LOGOUT:
            return [SessionLoggedOut(hub=hub, login=login, at=received_at)]
        log.debug("hub %s: ignoring unknown target %r", hub, target)
        return []
    except _MalformedError as exc:
        _report(target, str(exc), arguments)
    except Exception as exc:  # a parser bug must not take down the hub reader
        log.exception("hub %s: %s payload could not be parsed", hub, target)
        _report(target, f"unexpected {type(exc).__name__}", arguments)
    return []


class _MalformedError(ValueError):
    """The message as a whole has the wrong shape (no item of it can be used)."""


def _report(target: str, problem: str, raw: Any) -> None:
    try:
        text = orjson.dumps(raw).decode()
    except TypeError:
        text = repr(raw)
    log.error("malformed %s message skipped: %s; raw: %s", target, problem, loggable(text))


def _unwrap(item: Any) -> Iterator[Any]:
    """Items of one user-hub argument: an array is each element; `{"data": …}` is its data."""
    if isinstance(item, list):
        for element in item:
            yield from _unwrap(element)
    elif isinstance(item, dict) and isinstance(item.get("data"), dict | list):
        yield from _unwrap(item["data"])
    else:
        yield item


def _user_events(target: str, parse: UserParser, arguments: Any,
                 received_at: datetime) -> list[GatewayEvent]:
    if not isinstance(arguments, list) or not arguments:
        raise _MalformedError("arguments must be a non-empty array")
    events: list[GatewayEvent] = []
    for item in _unwrap(arguments):
        if not isinstance(item, dict):
            _report(target, f"payload must be an object (got {type(item).__name__})", item)
            continue
        try:
            events.append(parse(item, received_at))
        except _ITEM_ERRORS as exc:
            _report(target, str(exc), item)
    return events


def _market_items(target: str, arguments: Any) -> tuple[str, list[Any]]:
    if not isinstance(arguments, list) or len(arguments) < 2:
        raise _MalformedError("arguments must be [contractId, data]")
    contract_id, data = arguments[0], arguments[1]
    if not isinstance(contract_id, str) or not contract_id:
        raise _MalformedError(f"contractId must be a non-empty string (got {contract_id!r})")
    if isinstance(data, dict):
        return contract_id, [data]
    if isinstance(data, list):
        return contract_id, data
    raise _MalformedError(f"data must be an object or an array (got {type(data).__name__})")


class QuoteBatch:
    """The quote records of one hub frame, merged per contract and parsed once at the frame's end.

    A busy market sends frames of a hundred quotes or more over a few contracts; parsing every record
    (Decimals, timestamps) only for the inbox to merge them again is most of the market hub's cost,
    and it runs inside the socket callback, ahead of user-hub events. Merging the raw payloads first
    gives what `Quote.merged_over` would: each field from the last record that carries it (null counts
    as absent). When a merged payload does not parse, each record is parsed on its own instead, so a
    bad record is reported and skipped exactly as before, and the good ones still count.
    """

    def __init__(self) -> None:
        self._items: dict[str, list[dict[str, Any]]] = {}

    def add(self, arguments: Any) -> bool:
        """Take a `GatewayQuote` invocation's arguments; False when their shape is not the usual
        `[contractId, object]` (the caller then parses them on their own, reporting what is wrong)."""
        if not (isinstance(arguments, list) and len(arguments) >= 2 and isinstance(arguments[0], str)
                and arguments[0] and isinstance(arguments[1], dict)):
            return False
        self._items.setdefault(arguments[0], []).append(arguments[1])
        return True

    def take(self, received_at: datetime) -> list[GatewayEvent]:
        """One `QuoteUpdated` per contract, in the order the contracts first appeared; empties the batch."""
        items, self._items = self._items, {}
        events: list[GatewayEvent] = []
        for contract_id, payloads in items.items():
            merged: dict[str, Any] = {}
            for payload in payloads:
                merged.update((key, value) for key, value in payload.items() if value is not None)
            try:
                events.append(QuoteUpdated(Quote.from_api(contract_id, merged, received_at)))
            except _ITEM_ERRORS:
                events.extend(_quote_events("GatewayQuote", [contract_id, payloads], received_at))
        return events


def _quote_events(target: str, arguments: Any, received_at: datetime) -> list[GatewayEvent]:
    contract_id, items = _market_items(target, arguments)
    events: list[GatewayEvent] = []
    for item in items:
        if not isinstance(item, dict):
            _report(target, f"quote must be an object (got {type(item).__name__})", item)
            continue
        try:
            events.append(QuoteUpdated(Quote.from_api(contract_id, item, received_at)))
        except _ITEM_ERRORS as exc:
            _report(target, str(exc), item)
    return events
