"""The gateway's REST API (gateway-api.md §1.2-§2.6) over aiohttp.

One entry point serves every `/api/...` path (matched case-insensitively, as ASP.NET routes are) and
runs each call through the same steps: request log, injected faults, bearer token (401), per-token
rate limit (429), body binding (400/415), the endpoint, and the envelope — `success`, `errorCode`,
`errorMessage` plus the payload, with payload fields null on failure. Business failures raised by the
exchange carry a reason; each endpoint maps reasons to its own errorCode enum.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from projectx_sim.arrivals import ArrivalClock
from projectx_sim.bars import synthetic_bars
from projectx_sim.config import SimConfig
from projectx_sim.exchange import Exchange, Modification, OrderRequest, Reason, RejectionError, utc_now
from projectx_sim.faults import FaultKind, Phase, RestFault, RestFaults
from projectx_sim.journal import RequestLog, readable_body
from projectx_sim.market import Market
from projectx_sim.models import Account, User
from projectx_sim.ratelimit import SlidingWindowLimiter, retry_after_header
from projectx_sim.tokens import TokenIssuer
from projectx_sim.validation import BadRequestError, Field, Kind, decode_body
from projectx_sim.wire import (
    MAX_BARS,
    AccountQueryCode,
    BarsCode,
    BarUnit,
    CancelCode,
    CloseCode,
    ContractByIdCode,
    LoginCode,
    ModifyCode,
    OrderByIdCode,
    PartialCloseCode,
    PlaceCode,
    dumps,
)

Envelope = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Context:
    user: User | None  # None only on unauthenticated endpoints
    token: str | None

    @property
    def caller(self) -> User:
        assert self.user is not None, "authenticated endpoint"
        return self.user


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    fields: tuple[Field, ...]
    handler: Callable[[Context, dict[str, Any]], Envelope | str]
    codes: Mapping[Reason, int]  # exchange reasons → this endpoint's errorCode
    nulls: tuple[str, ...] = ()  # payload fields, null on failure
    method: str = "POST"
    auth: bool = True
    bucket: str | None = "default"  # rate-limit bucket; None = not limited


def ok(**payload: Any) -> Envelope:
    return {**payload, "success": True, "errorCode": 0, "errorMessage": None}


def failure(code: int, message: str | None, **payload: Any) -> Envelope:
    return {**payload, "success": False, "errorCode": code, "errorMessage": message}


def _json(envelope: Envelope) -> web.Response:
    return web.Response(body=dumps(envelope), content_type="application/json", charset="utf-8")


ACCOUNT_ID = Field("accountId", Kind.INT32, required=True)
CONTRACT_ID = Field("contractId", Kind.STRING, required=True)
ORDER_ID = Field("orderId", Kind.INT64, required=True)
BRACKET = (Field("ticks", Kind.INT32, required=True), Field("type", Kind.INT32, required=True))
ACCOUNT_CODES = {Reason.ACCOUNT_NOT_FOUND: AccountQueryCode.ACCOUNT_NOT_FOUND}


class Rest:
    def __init__(
        self,
        config: SimConfig,
        *,
        exchange: Exchange,
        market: Market,
        tokens: TokenIssuer,
        faults: RestFaults,
        requests: RequestLog,
        arrivals: ArrivalClock,
    ) -> None:
        self._config = config
        self._exchange = exchange
        self._market = market
        self._tokens = tokens
        self._faults = faults
        self._requests = requests
        self._arrivals = arrivals
        self.limiter = SlidingWindowLimiter()
        self.endpoints = {e.path.lower(): e for e in self._endpoints()}

    # Pipeline ---------------------------------------------------------------------------------

    async def entry(self, request: web.Request) -> web.StreamResponse:
        arrival_ns = self._arrivals.of(request)
        raw = await request.read()
        body = readable_body(raw)
        account_id = body.get("accountId") if isinstance(body, dict) else None
        logged = self._requests.record(
            arrival_ns,
            request.method,
            request.path,
            raw,
            account_id if isinstance(account_id, int) and not isinstance(account_id, bool) else None,
        )
        response = await self._respond(request, raw)
        logged.status = response.status
        return response

    async def _respond(self, request: web.Request, raw: bytes) -> web.StreamResponse:
        endpoint = self.endpoints.get(request.path.rstrip("/").lower())
        if endpoint is None:
            return web.Response(status=404)
        if request.method != endpoint.method:
            return web.Response(status=405, headers={"Allow": endpoint.method})
        fault = self._faults.take(request.path)
        if fault is not None and fault.phase == Phase.BEFORE:
            struck = await self._strike(fault)
            if struck is not None:
                return struck
        response = self._run(endpoint, request, raw)
        if fault is not None and fault.phase == Phase.AFTER:
            struck = await self._strike(fault)
            if struck is not None:
                return struck
        return response

    async def _strike(self, fault: RestFault) -> web.Response | None:
        await asyncio.sleep(fault.wait_s)
        if fault.kind == FaultKind.DELAY:
            return None
        if fault.kind == FaultKind.TIMEOUT:
            return web.Response(status=504)
        if fault.status == 429 and self._config.retry_after:
            return web.Response(status=429, headers={"Retry-After": retry_after_header(fault.wait_s)})
        return web.Response(status=fault.status)

    def _run(self, endpoint: Endpoint, request: web.Request, raw: bytes) -> web.Response:
        user: User | None = None
        token: str | None = None
        limit_key = f"ip:{request.remote}"
        if endpoint.auth:
            header = request.headers.get("Authorization", "")
            token = header[len("Bearer ") :].strip() if header.startswith("Bearer ") else None
            claims = self._tokens.verify(token) if token else None
            user = self._exchange.users.get(int(claims.sub)) if claims is not None else None
            if user is None:
                error = ', error="invalid_token"' if token else ""
                return web.Response(status=401, headers={"WWW-Authenticate": f"Bearer{error}"})
            limit_key = f"token:{token}"
        if endpoint.bucket is not None and self._config.rate_limit:
            refused = self._limited(limit_key, endpoint.bucket)
            if refused is not None:
                return refused
        try:
            params = decode_body(raw, request.content_type, endpoint.fields)
        except BadRequestError as bad:
            return bad.response()
        result = self.call(endpoint, Context(user, token), params)
        if isinstance(result, str):
            return web.Response(text=result)
        return _json(result)

    def _limited(self, key: str, bucket: str) -> web.Response | None:
        config = self._config
        if bucket == "bars":
            limit, window = config.bars_rate_limit_requests, config.bars_rate_limit_window_s
        else:
            limit, window = config.rate_limit_requests, config.rate_limit_window_s
        wait = self.limiter.check(key, bucket, limit, window)
        if wait is None:
            return None
        headers = {"Retry-After": retry_after_header(wait)} if config.retry_after else None
        return web.Response(status=429, headers=headers)

    def call(self, endpoint: Endpoint, context: Context, params: dict[str, Any]) -> Envelope | str:
        """Run one endpoint on bound parameters; business failures become the failure envelope."""
        try:
            return endpoint.handler(context, params)
        except RejectionError as rejection:
            code = rejection.code if rejection.reason == Reason.REFUSED else endpoint.codes[rejection.reason]
            payload: dict[str, Any] = dict.fromkeys(endpoint.nulls)
            if rejection.order_id is not None and "orderId" in payload:
                payload["orderId"] = rejection.order_id
            assert code is not None
            return failure(code, rejection.message, **payload)

    def _account(self, context: Context, account_id: int) -> Account:
        account = self._exchange.accounts.get(account_id)
        if account is None or account.user_id != context.caller.id:
            raise RejectionError(Reason.ACCOUNT_NOT_FOUND)
        return account

    # Endpoints --------------------------------------------------------------------------------

    def _endpoints(self) -> list[Endpoint]:
        place_fields = (
            ACCOUNT_ID,
            CONTRACT_ID,
            Field("type", Kind.INT32, required=True),
            Field("side", Kind.INT32, required=True),
            Field("size", Kind.INT32, required=True),
            Field("limitPrice", Kind.DECIMAL),
            Field("stopPrice", Kind.DECIMAL),
            Field("trailPrice", Kind.DECIMAL),
            Field("customTag", Kind.STRING),
            Field("stopLossBracket", Kind.OBJECT, fields=BRACKET),
            Field("takeProfitBracket", Kind.OBJECT, fields=BRACKET),
        )
        modify_fields = (
            ACCOUNT_ID,
            ORDER_ID,
            Field("size", Kind.INT32),
            Field("limitPrice", Kind.DECIMAL),
            Field("stopPrice", Kind.DECIMAL),
            Field("trailPrice", Kind.DECIMAL),
        )
        window = (Field("startTimestamp", Kind.DATETIME), Field("endTimestamp", Kind.DATETIME))
        bars_fields = (
            CONTRACT_ID,
            Field("live", Kind.BOOL, required=True),
            Field("startTime", Kind.DATETIME, required=True),
            Field("endTime", Kind.DATETIME, required=True),
            Field("unit", Kind.INT32, required=True),
            Field("unitNumber", Kind.INT32, required=True),
            Field("limit", Kind.INT32, required=True),
            Field("includePartialBar", Kind.BOOL, required=True),
        )
        login_fields = (
            Field("userName", Kind.STRING, required=True),
            Field("apiKey", Kind.STRING, required=True),
        )
        return [
            Endpoint("/api/Auth/loginKey", login_fields, self._login, {}, ("token",), auth=False),
            Endpoint("/api/Auth/validate", (), self._validate, {}, ("newToken",)),
            Endpoint("/api/Auth/logout", (), self._logout, {}),
            Endpoint(
                "/api/Account/search",
                (Field("onlyActiveAccounts", Kind.BOOL, required=True),),
                self._search_accounts,
                {},
                ("accounts",),
            ),
            Endpoint(
                "/api/Contract/search",
                (Field("searchText", Kind.STRING, required=True), Field("live", Kind.BOOL, required=True)),
                self._search_contracts,
                {},
                ("contracts",),
            ),
            Endpoint(
                "/api/Contract/searchById",
                (CONTRACT_ID,),
                self._contract_by_id,
                {Reason.CONTRACT_NOT_FOUND: ContractByIdCode.CONTRACT_NOT_FOUND},
                ("contract",),
            ),
            Endpoint(
                "/api/Contract/available",
                (Field("live", Kind.BOOL, required=True),),
                self._available_contracts,
                {},
                ("contracts",),
            ),
            Endpoint(
                "/api/Position/searchOpen", (ACCOUNT_ID,), self._open_positions, ACCOUNT_CODES, ("positions",)
            ),
            Endpoint(
                "/api/Position/closeContract",
                (ACCOUNT_ID, CONTRACT_ID),
                self._close_contract,
                {
                    Reason.ACCOUNT_NOT_FOUND: CloseCode.ACCOUNT_NOT_FOUND,
                    Reason.POSITION_NOT_FOUND: CloseCode.POSITION_NOT_FOUND,
                    Reason.CONTRACT_NOT_FOUND: CloseCode.CONTRACT_NOT_FOUND,
                    Reason.CONTRACT_NOT_ACTIVE: CloseCode.CONTRACT_NOT_ACTIVE,
                    Reason.ORDER_REJECTED: CloseCode.ORDER_REJECTED,
                    Reason.ACCOUNT_REJECTED: CloseCode.ACCOUNT_REJECTED,
                },
            ),
            Endpoint(
                "/api/Position/partialCloseContract",
                (ACCOUNT_ID, CONTRACT_ID, Field("size", Kind.INT32, required=True)),
                self._partial_close,
                {
                    Reason.ACCOUNT_NOT_FOUND: PartialCloseCode.ACCOUNT_NOT_FOUND,
                    Reason.POSITION_NOT_FOUND: PartialCloseCode.POSITION_NOT_FOUND,
                    Reason.CONTRACT_NOT_FOUND: PartialCloseCode.CONTRACT_NOT_FOUND,
                    Reason.CONTRACT_NOT_ACTIVE: PartialCloseCode.CONTRACT_NOT_ACTIVE,
                    Reason.INVALID_CLOSE_SIZE: PartialCloseCode.INVALID_CLOSE_SIZE,
                    Reason.ORDER_REJECTED: PartialCloseCode.ORDER_REJECTED,
                    Reason.ACCOUNT_REJECTED: PartialCloseCode.ACCOUNT_REJECTED,
                },
            ),
            Endpoint(
                "/api/Order/place",
                place_fields,
                self._place,
                {
                    Reason.ACCOUNT_NOT_FOUND: PlaceCode.ACCOUNT_NOT_FOUND,
                    Reason.ORDER_REJECTED: PlaceCode.ORDER_REJECTED,
                    Reason.ACCOUNT_VIOLATION: PlaceCode.ACCOUNT_VIOLATION,
                    Reason.OUTSIDE_TRADING_HOURS: PlaceCode.OUTSIDE_TRADING_HOURS,
                    Reason.CONTRACT_NOT_FOUND: PlaceCode.CONTRACT_NOT_FOUND,
                    Reason.CONTRACT_NOT_ACTIVE: PlaceCode.CONTRACT_NOT_ACTIVE,
                },
                ("orderId",),
            ),
            Endpoint(
                "/api/Order/cancel",
                (ACCOUNT_ID, ORDER_ID),
                self._cancel,
                {
                    Reason.ACCOUNT_NOT_FOUND: CancelCode.ACCOUNT_NOT_FOUND,
                    Reason.ORDER_NOT_FOUND: CancelCode.ORDER_NOT_FOUND,
                    Reason.ORDER_REJECTED: CancelCode.REJECTED,
                    Reason.ACCOUNT_REJECTED: CancelCode.ACCOUNT_REJECTED,
                },
            ),
            Endpoint(
                "/api/Order/modify",
                modify_fields,
                self._modify,
                {
                    Reason.ACCOUNT_NOT_FOUND: ModifyCode.ACCOUNT_NOT_FOUND,
                    Reason.ORDER_NOT_FOUND: ModifyCode.ORDER_NOT_FOUND,
                    Reason.ORDER_REJECTED: ModifyCode.REJECTED,
                    Reason.ACCOUNT_REJECTED: ModifyCode.ACCOUNT_REJECTED,
                },
            ),
            Endpoint(
                "/api/Order/search",
                (ACCOUNT_ID, Field("startTimestamp", Kind.DATETIME, required=True), window[1]),
                self._search_orders,
                ACCOUNT_CODES,
                ("orders",),
            ),
            Endpoint("/api/Order/searchOpen", (ACCOUNT_ID,), self._open_orders, ACCOUNT_CODES, ("orders",)),
            Endpoint(
                "/api/Order/searchById",
                (ACCOUNT_ID, ORDER_ID),
                self._order_by_id,
                {
                    Reason.ACCOUNT_NOT_FOUND: OrderByIdCode.ORDER_NOT_FOUND,
                    Reason.ORDER_NOT_FOUND: OrderByIdCode.ORDER_NOT_FOUND,
                },
                ("order",),
            ),
            Endpoint(
                "/api/Trade/search", (ACCOUNT_ID, *window), self._search_trades, ACCOUNT_CODES, ("trades",)
            ),
            Endpoint("/api/History/retrieveBars", bars_fields, self._bars, {}, ("bars",), bucket="bars"),
            Endpoint(
                "/api/Status/ping", (), lambda _c, _p: "pong", {}, method="GET", auth=False, bucket=None
            ),
        ]

    def _login(self, _: Context, p: dict[str, Any]) -> Envelope:
        user = self._exchange.authenticate(p["userName"], p["apiKey"])
        if user is None:
            return failure(LoginCode.INVALID_CREDENTIALS, None, token=None)
        return ok(token=self._tokens.issue(str(user.id)))

    def _validate(self, context: Context, _: dict[str, Any]) -> Envelope:
        token = self._tokens.issue(str(context.caller.id))
        if self._config.validate_revokes_old_token and context.token is not None:
            self._tokens.revoke(context.token)
        return ok(newToken=token)

    def _logout(self, context: Context, _: dict[str, Any]) -> Envelope:
        if context.token is not None:
            self._tokens.revoke(context.token)
        return ok()

    def _search_accounts(self, context: Context, p: dict[str, Any]) -> Envelope:
        accounts = self._exchange.accounts_of(context.caller.id)
        return ok(accounts=[a.to_wire() for a in accounts if a.active or not p["onlyActiveAccounts"]])

    def _sees_live_data(self, context: Context, live: bool) -> bool:
        """`live: true` lists contracts only for users with a live account (§2.2: empty, not an error)."""
        return not live or any(not a.simulated for a in self._exchange.accounts_of(context.caller.id))

    def _search_contracts(self, context: Context, p: dict[str, Any]) -> Envelope:
        if not self._sees_live_data(context, p["live"]):
            return ok(contracts=[])
        return ok(contracts=[c.to_wire() for c in self._exchange.contracts.search(p["searchText"])])

    def _contract_by_id(self, _: Context, p: dict[str, Any]) -> Envelope:
        contract = self._exchange.contracts.get(p["contractId"])
        if contract is None:
            raise RejectionError(Reason.CONTRACT_NOT_FOUND)
        return ok(contract=contract.to_wire())

    def _available_contracts(self, context: Context, p: dict[str, Any]) -> Envelope:
        if not self._sees_live_data(context, p["live"]):
            return ok(contracts=[])
        return ok(contracts=[c.to_wire() for c in self._exchange.contracts.front])

    def _open_positions(self, context: Context, p: dict[str, Any]) -> Envelope:
        account = self._account(context, p["accountId"])
        return ok(positions=[pos.to_wire() for pos in self._exchange.open_positions(account)])

    def _close_contract(self, context: Context, p: dict[str, Any]) -> Envelope:
        self._exchange.close_contract(self._account(context, p["accountId"]), p["contractId"])
        return ok()

    def _partial_close(self, context: Context, p: dict[str, Any]) -> Envelope:
        self._exchange.partial_close(self._account(context, p["accountId"]), p["contractId"], p["size"])
        return ok()

    def _place(self, context: Context, p: dict[str, Any]) -> Envelope:
        account = self._account(context, p["accountId"])
        request = OrderRequest(
            contract_id=p["contractId"],
            type=p["type"],
            side=p["side"],
            size=p["size"],
            limit_price=p["limitPrice"],
            stop_price=p["stopPrice"],
            trail_price=p["trailPrice"],
            custom_tag=p["customTag"],
            has_brackets=p["stopLossBracket"] is not None or p["takeProfitBracket"] is not None,
        )
        return ok(orderId=self._exchange.place(account, request))

    def _cancel(self, context: Context, p: dict[str, Any]) -> Envelope:
        self._exchange.cancel(self._account(context, p["accountId"]), p["orderId"])
        return ok()

    def _modify(self, context: Context, p: dict[str, Any]) -> Envelope:
        change = Modification(p["size"], p["limitPrice"], p["stopPrice"], p["trailPrice"])
        self._exchange.modify(self._account(context, p["accountId"]), p["orderId"], change)
        return ok()

    def _search_orders(self, context: Context, p: dict[str, Any]) -> Envelope:
        account = self._account(context, p["accountId"])
        orders = self._exchange.orders(account, p["startTimestamp"], p["endTimestamp"])
        return ok(orders=[o.to_wire() for o in orders])

    def _open_orders(self, context: Context, p: dict[str, Any]) -> Envelope:
        account = self._account(context, p["accountId"])
        return ok(orders=[o.to_wire() for o in self._exchange.open_orders(account)])

    def _order_by_id(self, context: Context, p: dict[str, Any]) -> Envelope:
        order = self._exchange.order(self._account(context, p["accountId"]), p["orderId"])
        if order is None:
            raise RejectionError(Reason.ORDER_NOT_FOUND)
        return ok(order=order.to_wire())

    def _search_trades(self, context: Context, p: dict[str, Any]) -> Envelope:
        account = self._account(context, p["accountId"])
        trades = self._exchange.trades(account, p["startTimestamp"], p["endTimestamp"])
        return ok(trades=[t.to_wire() for t in trades])

    def _bars(self, _: Context, p: dict[str, Any]) -> Envelope:
        contract = self._exchange.contracts.get(p["contractId"])
        if contract is None:
            return failure(BarsCode.CONTRACT_NOT_FOUND, None, bars=None)
        if p["unit"] not in set(BarUnit):
            return failure(BarsCode.UNIT_INVALID, None, bars=None)
        if p["unitNumber"] <= 0:
            return failure(BarsCode.UNIT_NUMBER_INVALID, None, bars=None)
        if not 0 < p["limit"] <= MAX_BARS:
            return failure(BarsCode.LIMIT_INVALID, None, bars=None)
        quote = self._market.best(contract.id)
        last = quote.last if quote is not None else contract.instrument.base_price
        bars = synthetic_bars(
            contract,
            last_price=last,
            start=p["startTime"],
            end=p["endTime"],
            unit=BarUnit(p["unit"]),
            unit_number=p["unitNumber"],
            limit=p["limit"],
            include_partial=p["includePartialBar"],
            now=utc_now(),
            seed=self._config.seed,
        )
        return ok(bars=bars)
