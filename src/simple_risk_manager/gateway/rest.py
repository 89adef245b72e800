"""REST calls to the gateway: envelope → typed result or typed error (`gateway-api.md` §1.2, §2).

Retry policy in one place. Reads and other idempotent calls are retried on 5xx, 429 and timeouts
with exponential backoff and full jitter. Calls whose repetition could act twice (`Order/place`,
the two position closes) are never retried here: their timeout or 5xx surfaces as
`GatewayUnavailable` and MOD-001 decides (it checks `Order/searchOpen` for the `customTag` first).
Enforcement calls (`urgent=True`) are counted against the request budget but never wait for it and
are never retried here either (`rules.md` D-52). Any call answered 401 logs in again once and is
repeated: a 401 means the request was refused unprocessed.

Enforcement calls also take a leaner road: kept HTTP/1.1 connections (`kept_connections`) that put
the request on the wire before the caller first awaits; every other call goes through aiohttp. Both
roads share the envelope handling, the error mapping and the redacted `api.log` lines.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeVar

import aiohttp
import orjson

from simple_risk_manager.clock import Clock
from simple_risk_manager.domain.enums import OrderSide, OrderType
from simple_risk_manager.domain.models import Account, ContractMetadata, Order, Position, Trade
from simple_risk_manager.domain.times import format_utc
from simple_risk_manager.gateway.auth import LOGIN_KEY, VALIDATE, AuthSession
from simple_risk_manager.gateway.backoff import full_jitter_delay
from simple_risk_manager.gateway.base import (
    BadRequest,
    GatewayError,
    GatewayRejected,
    GatewayUnavailable,
    RateLimited,
    Unauthorized,
)
from simple_risk_manager.gateway.kept_connections import ExchangeError, KeptConnections
from simple_risk_manager.gateway.ratelimit import RequestBudget
from simple_risk_manager.gateway.redact import loggable

log = logging.getLogger(__name__)
#: Raw REST traffic (redacted) at DEBUG, for the optional `api.log` (`daemon.md` §8).
api_log = logging.getLogger("simple_risk_manager.gateway.api")

ACCOUNT_SEARCH = "/api/Account/search"
CONTRACT_SEARCH = "/api/Contract/search"
CONTRACT_BY_ID = "/api/Contract/searchById"
POSITION_OPEN = "/api/Position/searchOpen"
POSITION_CLOSE = "/api/Position/closeContract"
POSITION_PARTIAL_CLOSE = "/api/Position/partialCloseContract"
ORDER_PLACE = "/api/Order/place"
ORDER_CANCEL = "/api/Order/cancel"
ORDER_MODIFY = "/api/Order/modify"
ORDER_SEARCH = "/api/Order/search"
ORDER_OPEN = "/api/Order/searchOpen"
TRADE_SEARCH = "/api/Trade/search"

#: Calls the client may repeat after a timeout/5xx/429 without risking a second effect.
RETRY_SAFE = frozenset({
    LOGIN_KEY, VALIDATE, ACCOUNT_SEARCH, CONTRACT_SEARCH, CONTRACT_BY_ID, POSITION_OPEN, ORDER_SEARCH,
    ORDER_OPEN, TRADE_SEARCH, ORDER_CANCEL, ORDER_MODIFY,
})
#: Order types this client places (`gateway-api.md` §2.4, §3.1).
#: TrailingStop is left out: it needs `trailPrice`, which the daemon never places.
PLACEABLE_TYPES = frozenset({OrderType.LIMIT, OrderType.MARKET, OrderType.STOP, OrderType.JOIN_BID,
                             OrderType.JOIN_ASK})

T = TypeVar("T")


def _json_default(value: object) -> float:
    """Prices are Decimal in memory and JSON numbers on the wire: converted here and only here."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _retry_after(header: str | None) -> float | None:
    try:
        return None if header is None else max(0.0, float(header))
    except ValueError:
        return None  # an HTTP-date form: fall back to our own backoff


def _bad_request(endpoint: str, raw: bytes) -> BadRequest:
    try:
        problem = orjson.loads(raw)
    except orjson.JSONDecodeError:
        problem = None
    if not isinstance(problem, dict):
        return BadRequest(endpoint, "HTTP 400", {})
    errors: dict[str, tuple[str, ...]] = {}
    raw_errors = problem.get("errors")
    if isinstance(raw_errors, dict):
        for name, messages in raw_errors.items():
            items = messages if isinstance(messages, list) else [messages]
            errors[str(name)] = tuple(str(m) for m in items)
    title = problem.get("title")
    return BadRequest(endpoint, title if isinstance(title, str) else "HTTP 400", errors)


class RestClient:
    """One aiohttp session and one pool of kept connections for every login; `send` is one logical
    call with the retry policy."""

    def __init__(self, base_url: str, clock: Clock, *, timeout_s: float = 10.0, max_attempts: int = 4,
                 backoff_base_s: float = 0.5, backoff_cap_s: float = 8.0,
                 rng: random.Random | None = None, warm_connections: int = 2) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"api_url: must be an http(s) URL (got {base_url!r})")
        if timeout_s <= 0 or max_attempts < 1:
            raise ValueError("RestClient: timeout_s must be > 0 and max_attempts >= 1")
        self._base = base_url.rstrip("/")
        self._clock = clock
        self.timeout_s = timeout_s
        self.max_attempts = max_attempts
        self._backoff = (backoff_base_s, backoff_cap_s)
        self._rng = rng or random.Random()
        self._http: aiohttp.ClientSession | None = None
        self._kept = KeptConnections(self._base, warm=warm_connections, max_idle=max(8, warm_connections),
                                     rng=self._rng)

    @property
    def kept_connections(self) -> KeptConnections:
        """The pool that carries enforcement (`urgent`) calls."""
        return self._kept

    async def open(self) -> None:
        if self._http is None:
            self._http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))
        await self._kept.open()

    async def close(self) -> None:
        await self._kept.close()
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def call(self, endpoint: str, body: Mapping[str, Any] | None, session: AuthSession, *,
                   urgent: bool = False) -> dict[str, Any]:
        """An authenticated call with `session`'s token; on 401, one fresh login and one repeat.

        With a token held, `session.token()` returns without suspending, so an urgent call's request
        is written before this coroutine first yields to the event loop.
        """
        token = await session.token()
        try:
            return await self.send(endpoint, body, token=token, budget=session.budget, urgent=urgent)
        except Unauthorized:
            log.info("%s: token refused (HTTP 401); logging in again as %s", endpoint, session.login)
            token = await session.relogin(token)
            return await self.send(endpoint, body, token=token, budget=session.budget, urgent=urgent)

    async def send(self, endpoint: str, body: Mapping[str, Any] | None, *, token: str | None,
                   budget: RequestBudget | None, urgent: bool = False) -> dict[str, Any]:
        """POST `body`; the envelope's JSON object on success, else a typed `GatewayError`."""
        retry = not urgent and endpoint in RETRY_SAFE
        attempt = 0
        while True:
            if budget is not None:
                if urgent:
                    budget.record()
                else:
                    await budget.acquire()
            try:
                if urgent:
                    return await self._post_kept(endpoint, body, token)
                return await self._post(endpoint, body, token)
            except GatewayUnavailable as exc:
                attempt += 1
                if not retry or attempt >= self.max_attempts:
                    raise
                delay = full_jitter_delay(attempt - 1, *self._backoff, rng=self._rng)
                if isinstance(exc, RateLimited) and exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                log.warning("%s: %s; retry %d of %d in %.2f s", endpoint, exc.reason, attempt,
                            self.max_attempts - 1, delay)
                await asyncio.sleep(delay)

    async def _post(self, endpoint: str, body: Mapping[str, Any] | None, token: str | None) -> dict[str, Any]:
        """The aiohttp road: every call that is not enforcement."""
        if self._http is None:
            raise GatewayError(endpoint, "REST client is not open")
        data = self._encode(endpoint, body)
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        started = self._clock.monotonic()
        try:
            async with self._http.post(self._base + endpoint, data=data, headers=headers,
                                       timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as response:
                status = response.status
                raw = await response.read()
                retry_after = response.headers.get("Retry-After")
        except TimeoutError:
            raise GatewayUnavailable(endpoint, f"timed out after {self.timeout_s:g} s") from None
        except aiohttp.ClientError as exc:
            raise GatewayUnavailable(endpoint, f"network error: {type(exc).__name__}") from None
        return self._answer(endpoint, started, status, raw, retry_after)

    async def _post_kept(self, endpoint: str, body: Mapping[str, Any] | None,
                         token: str | None) -> dict[str, Any]:
        """The kept-connection road (enforcement): the request is written inside `post`, before the
        first await when a warm connection is idle."""
        if not self._kept.is_open:
            raise GatewayError(endpoint, "REST client is not open")
        data = self._encode(endpoint, body)
        started = self._clock.monotonic()
        try:
            response = await self._kept.post(endpoint, data, token=token, timeout_s=self.timeout_s)
        except TimeoutError:
            raise GatewayUnavailable(endpoint, f"timed out after {self.timeout_s:g} s") from None
        except ExchangeError as exc:
            raise GatewayUnavailable(endpoint, f"network error: {exc.reason}") from None
        return self._answer(endpoint, started, response.status, response.body, response.header("Retry-After"))

    @staticmethod
    def _encode(endpoint: str, body: Mapping[str, Any] | None) -> bytes | None:
        data = None if body is None else orjson.dumps(body, default=_json_default)
        if api_log.isEnabledFor(logging.DEBUG):
            api_log.debug("POST %s %s", endpoint, loggable(data or b""))
        return data

    def _answer(self, endpoint: str, started: float, status: int, raw: bytes,
                retry_after: str | None) -> dict[str, Any]:
        if api_log.isEnabledFor(logging.DEBUG):
            elapsed_ms = (self._clock.monotonic() - started) * 1000
            api_log.debug("%s -> HTTP %d in %.1f ms %s", endpoint, status, elapsed_ms, loggable(raw))
        return self._envelope(endpoint, status, raw, retry_after)

    @staticmethod
    def _envelope(endpoint: str, status: int, raw: bytes, retry_after: str | None) -> dict[str, Any]:
        if status == 401:
            raise Unauthorized(endpoint)
        if status == 429:
            raise RateLimited(endpoint, _retry_after(retry_after))
        if status == 400:
            raise _bad_request(endpoint, raw)
        if status >= 500:
            raise GatewayUnavailable(endpoint, f"server error HTTP {status}", status=status)
        if status != 200:
            raise GatewayError(endpoint, f"unexpected HTTP {status}")
        try:
            reply = orjson.loads(raw)
        except orjson.JSONDecodeError:
            reply = None
        if not isinstance(reply, dict) or not isinstance(reply.get("success"), bool):
            raise GatewayUnavailable(endpoint, "malformed response (no JSON envelope)", status=status)
        if not reply["success"]:
            code = reply.get("errorCode")
            message = reply.get("errorMessage")
            error_code = code if isinstance(code, int) and not isinstance(code, bool) else -1
            raise GatewayRejected(endpoint, error_code, message if isinstance(message, str) else None)
        return reply


def _items(endpoint: str, reply: Mapping[str, Any], key: str,
           parse: Callable[[dict[str, Any]], T]) -> list[T]:
    """A payload list; an item failing the domain's hard requirements is logged and dropped."""
    raw_items = reply.get(key)
    if not isinstance(raw_items, list):
        raise GatewayUnavailable(endpoint, f"malformed response ({key!r} is not a list)")
    parsed: list[T] = []
    for item in raw_items:
        try:
            if not isinstance(item, dict):
                raise ValueError(f"item must be an object (got {type(item).__name__})")
            parsed.append(parse(item))
        except (ValueError, TypeError, ArithmeticError) as exc:
            log.error("%s: malformed %s item dropped: %s; raw: %s", endpoint, key, exc,
                      loggable(orjson.dumps(item)))
    return parsed


def _window(account_id: int, start: datetime, end: datetime | None) -> dict[str, Any]:
    body: dict[str, Any] = {"accountId": account_id, "startTimestamp": format_utc(start)}
    if end is not None:
        body["endTimestamp"] = format_utc(end)
    return body


class RestApi:
    """The typed endpoints of `gateway-api.md` §2, each with the session (token) that serves it."""

    def __init__(self, client: RestClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock

    async def search_accounts(self, session: AuthSession, only_active: bool = True) -> list[Account]:
        reply = await self._client.call(ACCOUNT_SEARCH, {"onlyActiveAccounts": only_active}, session)
        return _items(ACCOUNT_SEARCH, reply, "accounts", Account.from_api)

    async def get_contract(self, session: AuthSession, contract_id: str) -> ContractMetadata:
        reply = await self._client.call(CONTRACT_BY_ID, {"contractId": contract_id}, session)
        now = self._clock.now()
        contract = reply.get("contract")
        try:
            if not isinstance(contract, dict):
                raise ValueError("'contract' is not an object")
            return ContractMetadata.from_api(contract, now)
        except (ValueError, TypeError, ArithmeticError) as exc:
            raise GatewayUnavailable(CONTRACT_BY_ID, f"malformed response ({exc})") from None

    async def search_contracts(self, session: AuthSession, text: str,
                               live: bool = False) -> list[ContractMetadata]:
        reply = await self._client.call(CONTRACT_SEARCH, {"searchText": text, "live": live}, session)
        now = self._clock.now()
        return _items(CONTRACT_SEARCH, reply, "contracts", lambda item: ContractMetadata.from_api(item, now))

    async def open_positions(self, session: AuthSession, account_id: int, *,
                             urgent: bool = False) -> list[Position]:
        reply = await self._client.call(POSITION_OPEN, {"accountId": account_id}, session, urgent=urgent)
        now = self._clock.now()
        return _items(POSITION_OPEN, reply, "positions", lambda item: Position.from_api(item, now))

    async def close_position(self, session: AuthSession, account_id: int, contract_id: str, *,
                             urgent: bool = False) -> None:
        await self._client.call(POSITION_CLOSE, {"accountId": account_id, "contractId": contract_id},
                                session, urgent=urgent)

    async def partial_close_position(self, session: AuthSession, account_id: int, contract_id: str,
                                     size: int, *, urgent: bool = False) -> None:
        if size <= 0:
            raise ValueError(f"partial_close_position: size must be > 0 (got {size})")
        body = {"accountId": account_id, "contractId": contract_id, "size": size}
        await self._client.call(POSITION_PARTIAL_CLOSE, body, session, urgent=urgent)

    async def open_orders(self, session: AuthSession, account_id: int, *,
                          urgent: bool = False) -> list[Order]:
        reply = await self._client.call(ORDER_OPEN, {"accountId": account_id}, session, urgent=urgent)
        now = self._clock.now()
        return _items(ORDER_OPEN, reply, "orders", lambda item: Order.from_api(item, now))

    async def search_orders(self, session: AuthSession, account_id: int, start: datetime,
                            end: datetime | None = None) -> list[Order]:
        reply = await self._client.call(ORDER_SEARCH, _window(account_id, start, end), session)
        now = self._clock.now()
        return _items(ORDER_SEARCH, reply, "orders", lambda item: Order.from_api(item, now))

    async def place_order(self, session: AuthSession, account_id: int, contract_id: str, *,
                          order_type: OrderType, side: OrderSide, size: int,
                          limit_price: Decimal | None = None, stop_price: Decimal | None = None,
                          custom_tag: str | None = None, urgent: bool = False) -> int:
        if order_type not in PLACEABLE_TYPES:
            raise ValueError(f"place_order: type {order_type!r} cannot be placed")
        if size <= 0:
            raise ValueError(f"place_order: size must be > 0 (got {size})")
        if order_type is OrderType.LIMIT and limit_price is None:
            raise ValueError("place_order: a LIMIT order needs limit_price")
        if order_type is OrderType.STOP and stop_price is None:
            raise ValueError("place_order: a STOP order needs stop_price")
        body: dict[str, Any] = {"accountId": account_id, "contractId": contract_id, "type": int(order_type),
                                "side": int(side), "size": size}
        if limit_price is not None:
            body["limitPrice"] = limit_price
        if stop_price is not None:
            body["stopPrice"] = stop_price
        if custom_tag is not None:
            body["customTag"] = custom_tag
        reply = await self._client.call(ORDER_PLACE, body, session, urgent=urgent)
        order_id = reply.get("orderId")
        if isinstance(order_id, bool) or not isinstance(order_id, int):
            raise GatewayUnavailable(ORDER_PLACE, "malformed response (no orderId on success)")
        return order_id

    async def cancel_order(self, session: AuthSession, account_id: int, order_id: int, *,
                           urgent: bool = False) -> None:
        await self._client.call(ORDER_CANCEL, {"accountId": account_id, "orderId": order_id}, session,
                                urgent=urgent)

    async def modify_order(self, session: AuthSession, account_id: int, order_id: int, *,
                           size: int | None = None, limit_price: Decimal | None = None,
                           stop_price: Decimal | None = None, urgent: bool = False) -> None:
        body: dict[str, Any] = {"accountId": account_id, "orderId": order_id}
        for key, value in (("size", size), ("limitPrice", limit_price), ("stopPrice", stop_price)):
            if value is not None:
                body[key] = value
        await self._client.call(ORDER_MODIFY, body, session, urgent=urgent)

    async def search_trades(self, session: AuthSession, account_id: int, start: datetime,
                            end: datetime | None = None) -> list[Trade]:
        reply = await self._client.call(TRADE_SEARCH, _window(account_id, start, end), session)
        now = self._clock.now()
        return _items(TRADE_SEARCH, reply, "trades", lambda item: Trade.from_api(item, now))
