"""The gateway's two hubs: their Subscribe*/Unsubscribe* methods and event payloads (§4.4-§4.6).

User events go only to connections subscribed to that account and kind (`SubscribeAccounts` covers
every account of the token's user); market events go to connections subscribed to that contract and
kind. Payload forms follow the switches of spec/README.md items 1-3 and 5.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from projectx_sim.config import SimConfig
from projectx_sim.exchange import EventKind, Exchange, UserEvent
from projectx_sim.journal import EventLog
from projectx_sim.market import Market, MarketUpdate
from projectx_sim.signalr import Handler, Hub, HubConnection
from projectx_sim.tokens import TokenIssuer
from projectx_sim.wire import (
    DEPTH_EVENT,
    LOGOUT_EVENT,
    MARKET_TRADE_EVENT,
    QUOTE_EVENT,
    USER_ACCOUNT_EVENT,
    USER_ORDER_EVENT,
    USER_POSITION_EVENT,
    USER_TRADE_EVENT,
    invocation_record,
)

USER_TARGETS = {
    EventKind.ACCOUNT: USER_ACCOUNT_EVENT,
    EventKind.ORDER: USER_ORDER_EVENT,
    EventKind.POSITION: USER_POSITION_EVENT,
    EventKind.TRADE: USER_TRADE_EVENT,
}
RECENT_USER_EVENTS = 10_000  # kept for the replay-after-reconnect switch


class UserHub(Hub):
    def __init__(self, config: SimConfig, tokens: TokenIssuer, events: EventLog, exchange: Exchange) -> None:
        super().__init__("user", config, tokens, events)
        self._exchange = exchange
        self._recent: deque[tuple[float, str, Any, str, bytes]] = deque(maxlen=RECENT_USER_EVENTS)
        self._last_disconnect: dict[int, float] = {}
        self.method("SubscribeAccounts", (), self._subscribe_accounts)
        self.method("UnsubscribeAccounts", (), lambda c, _: self.unsubscribe(c, EventKind.ACCOUNT, c.user_id))
        for kind, noun in (
            (EventKind.ORDER, "Orders"),
            (EventKind.POSITION, "Positions"),
            (EventKind.TRADE, "Trades"),
        ):
            self.method(f"Subscribe{noun}", (int,), self._account_subscriber(kind))
            self.method(f"Unsubscribe{noun}", (int,), self._account_unsubscriber(kind))

    def _subscribe_accounts(self, connection: HubConnection, _: list[Any]) -> None:
        self.subscribe(connection, EventKind.ACCOUNT, connection.user_id)

        def snapshot() -> list[dict[str, Any]]:
            return [a.to_wire() for a in self._exchange.accounts_of(connection.user_id)]

        self._after_subscribe(connection, EventKind.ACCOUNT, connection.user_id, snapshot)

    def _account_subscriber(self, kind: EventKind) -> Handler:
        def handler(connection: HubConnection, arguments: list[Any]) -> None:
            account = self._exchange.accounts.get(arguments[0])
            if account is None or account.user_id != connection.user_id:
                return  # another user's or an unknown account: accepted, never delivers anything
            self.subscribe(connection, kind, account.id)

            def snapshot() -> list[dict[str, Any]]:
                if kind == EventKind.ORDER:
                    return [o.to_wire() for o in self._exchange.open_orders(account)]
                if kind == EventKind.POSITION:
                    return [p.to_wire() for p in self._exchange.open_positions(account)]
                return []  # trades are events, not state: nothing to snapshot

            self._after_subscribe(connection, kind, account.id, snapshot)

        return handler

    def _account_unsubscriber(self, kind: EventKind) -> Handler:
        return lambda connection, arguments: self.unsubscribe(connection, kind, arguments[0])

    def _after_subscribe(
        self,
        connection: HubConnection,
        kind: EventKind,
        key: Any,
        snapshot: Callable[[], list[dict[str, Any]]],
    ) -> None:
        """Optional initial snapshot and replay of events missed since the user's last disconnect."""
        target = USER_TARGETS[kind]
        if self.config.initial_snapshot:
            for payload in snapshot():
                connection.send_after_reply(invocation_record(target, [self._wrap(payload)]), target)
        since = self._last_disconnect.get(connection.user_id)
        if self.config.replay_missed_events and since is not None:
            for moment, event_kind, event_key, event_target, record in self._recent:
                if moment > since and event_kind == kind and event_key == key:
                    connection.send_after_reply(record, event_target)

    def _wrap(self, payload: dict[str, Any]) -> Any:
        if self.config.user_payload == "bare":
            return payload
        return {"action": self.config.user_action, "data": payload}

    def publish(self, event: UserEvent) -> None:
        key = event.user_id if event.kind == EventKind.ACCOUNT else event.account_id
        target = USER_TARGETS[event.kind]
        record = invocation_record(target, [self._wrap(event.payload)])
        self._recent.append((time.monotonic(), event.kind, key, target, record))
        self.broadcast(self.subscribers(event.kind, key), record, target)

    def disconnected(self, connection: HubConnection) -> None:
        super().disconnected(connection)
        self._last_disconnect[connection.user_id] = time.monotonic()


class MarketHub(Hub):
    QUOTES = "quote"
    TRADES = "trade"
    DEPTH = "depth"

    def __init__(self, config: SimConfig, tokens: TokenIssuer, events: EventLog, market: Market) -> None:
        super().__init__("market", config, tokens, events)
        self._market = market
        for kind, noun in ((self.QUOTES, "Quotes"), (self.TRADES, "Trades"), (self.DEPTH, "MarketDepth")):
            self.method(f"SubscribeContract{noun}", (str,), self._subscriber(kind))
            self.method(f"UnsubscribeContract{noun}", (str,), self._unsubscriber(kind))

    def _subscriber(self, kind: str) -> Handler:
        def handler(connection: HubConnection, arguments: list[Any]) -> None:
            contract_id = arguments[0]
            self.subscribe(connection, kind, contract_id)
            if kind == self.QUOTES:
                connection.primed.discard(contract_id)  # the next quote on this subscription is complete
            if self.config.initial_snapshot and kind == self.QUOTES:
                snapshot = self._market.snapshot(contract_id)
                if snapshot is not None:
                    record = self._quote_record(contract_id, snapshot.quote(full=True))
                    connection.send_after_reply(record, QUOTE_EVENT)
                    connection.primed.add(contract_id)

        return handler

    def _unsubscriber(self, kind: str) -> Handler:
        def handler(connection: HubConnection, arguments: list[Any]) -> None:
            self.unsubscribe(connection, kind, arguments[0])
            if kind == self.QUOTES:
                connection.primed.discard(arguments[0])

        return handler

    def _quote_record(self, contract_id: str, body: dict[str, Any]) -> bytes:
        data: Any = [body] if self.config.quote_form == "array" else body
        return invocation_record(QUOTE_EVENT, [contract_id, data])

    def publish(self, update: MarketUpdate) -> None:
        """Fan one market update out; each distinct record is encoded once for all receivers."""
        contract_id = update.contract.id
        quote_subscribers = self.subscribers(self.QUOTES, contract_id)
        if quote_subscribers:
            always_full = self.config.quote_payload == "full"
            full: bytes | None = None
            partial: bytes | None = None
            for connection in quote_subscribers:
                if always_full or contract_id not in connection.primed:
                    full = full or self._quote_record(contract_id, update.quote(full=True))
                    connection.send(full, QUOTE_EVENT)
                    connection.primed.add(contract_id)
                else:
                    partial = partial or self._quote_record(contract_id, update.quote(full=False))
                    connection.send(partial, QUOTE_EVENT)
        if update.trade_volume:
            self._publish_entries(
                self.TRADES, MARKET_TRADE_EVENT, self.config.trade_form, update, update.tape
            )
        self._publish_entries(self.DEPTH, DEPTH_EVENT, self.config.depth_form, update, update.depth)

    def _publish_entries(
        self,
        kind: str,
        target: str,
        form: str,
        update: MarketUpdate,
        entries: Callable[[], list[dict[str, Any]]],
    ) -> None:
        subscribers = self.subscribers(kind, update.contract.id)
        if not subscribers:
            return
        rendered = entries()
        if form == "array":
            records = [invocation_record(target, [update.contract.id, rendered])]
        else:
            records = [invocation_record(target, [update.contract.id, entry]) for entry in rendered]
        for record in records:
            self.broadcast(subscribers, record, target)


def send_logout(hubs: list[Hub], user_id: int | None, arguments: list[Any]) -> int:
    """GatewayLogout (undocumented payload, §4.4) to every connection of a user, or of everyone."""
    record = invocation_record(LOGOUT_EVENT, arguments)
    connections = [c for hub in hubs for c in hub.select(user_id)]
    for connection in connections:
        connection.send(record, LOGOUT_EVENT)
    return len(connections)
