"""The simulator's own control API under `/sim/` (documented in docs/simulator.md).

Tests, the demo and the benchmarks drive the simulator through it: set prices, pause the walk, create
users and accounts, flip `canTrade`, trade as the trader would, inject faults (REST failures, hub
drops and Close messages, expired tokens, GatewayLogout, refused cancels), switch the gateway's
undocumented readings, and read the request and event logs stamped with time.monotonic_ns().
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web

from projectx_sim.faults import FaultKind, Phase, RestFault
from projectx_sim.hubs import send_logout
from projectx_sim.market import KEEP, Keep
from projectx_sim.models import Account, User
from projectx_sim.rest import Context
from projectx_sim.signalr import Hub
from projectx_sim.validation import BadRequestError, Field, Kind, bind, decode_body
from projectx_sim.wire import CancelCode, dumps

if TYPE_CHECKING:
    from projectx_sim.server import Simulator

MAX_BURST = 10_000_000
DEFAULT_LOG_LIMIT = 10_000
ACCOUNT_FIELDS = (
    Field("name", Kind.STRING),
    Field("balance", Kind.DECIMAL),
    Field("canTrade", Kind.BOOL),
    Field("isVisible", Kind.BOOL),
    Field("simulated", Kind.BOOL),
    Field("active", Kind.BOOL),
)
ACCOUNT_ATTRIBUTES = {
    "name": "name",
    "balance": "balance",
    "canTrade": "can_trade",
    "isVisible": "is_visible",
    "simulated": "simulated",
    "active": "active",
}


ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _reply(value: Any, status: int = 200) -> web.Response:
    return web.Response(body=dumps(value), status=status, content_type="application/json", charset="utf-8")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ControlError(400, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ControlError(400, "the body must be a JSON object")
    return data


def _since(request: web.Request) -> tuple[int, int]:
    try:
        return int(request.query.get("since", "0")), int(request.query.get("limit", str(DEFAULT_LOG_LIMIT)))
    except ValueError:
        raise ControlError(400, "since and limit must be integers") from None


class Control:
    def __init__(self, sim: Simulator) -> None:
        self._sim = sim

    def routes(self) -> list[web.RouteDef]:
        handlers = [
            ("GET", "/sim/state", self.state),
            ("GET", "/sim/config", self.get_config),
            ("POST", "/sim/config", self.set_config),
            ("POST", "/sim/price", self.set_price),
            ("POST", "/sim/market/pause", self.pause),
            ("POST", "/sim/market/resume", self.resume),
            ("POST", "/sim/market/burst", self.burst),
            ("POST", "/sim/users", self.create_user),
            ("POST", "/sim/accounts", self.create_account),
            ("POST", "/sim/accounts/{account_id}", self.update_account),
            ("POST", "/sim/trader/{tail:.*}", self.as_trader),
            ("GET", "/sim/faults", self.get_faults),
            ("DELETE", "/sim/faults", self.clear_faults),
            ("POST", "/sim/faults/rest", self.rest_fault),
            ("POST", "/sim/faults/cancel", self.refuse_cancels),
            ("DELETE", "/sim/faults/cancel", self.allow_cancels),
            ("GET", "/sim/hubs/connections", self.connections),
            ("POST", "/sim/hubs/drop", self.drop_hubs),
            ("POST", "/sim/hubs/close", self.close_hubs),
            ("POST", "/sim/hubs/logout", self.logout),
            ("POST", "/sim/tokens/expire", self.expire_tokens),
            ("GET", "/sim/requests", self.requests),
            ("DELETE", "/sim/requests", self.clear_requests),
            ("GET", "/sim/events", self.events),
            ("DELETE", "/sim/events", self.clear_events),
        ]
        return [web.route(method, path, self._guarded(handler)) for method, path, handler in handlers]

    @staticmethod
    def _guarded(handler: ControlHandler) -> ControlHandler:
        """Render binding errors as ProblemDetails and control errors as {"error": ...}."""

        async def run(request: web.Request) -> web.StreamResponse:
            try:
                response = await handler(request)
            except BadRequestError as bad:
                return bad.response()
            except ControlError as error:
                return _reply({"error": str(error)}, error.status)
            return response

        return run

    # Lookups ----------------------------------------------------------------------------------

    def _account(self, account_id: Any) -> Account:
        account = self._sim.exchange.accounts.get(account_id) if isinstance(account_id, int) else None
        if account is None:
            raise ControlError(404, f"no account {account_id}")
        return account

    def _user(self, name: Any) -> User:
        user = self._sim.exchange.user_by_name(name) if isinstance(name, str) else None
        if user is None:
            raise ControlError(404, f"no user {name!r}")
        return user

    def _hubs(self, body: dict[str, Any]) -> list[Hub]:
        hubs: dict[Any, list[Hub]] = {
            None: [self._sim.user_hub, self._sim.market_hub],
            "user": [self._sim.user_hub],
            "market": [self._sim.market_hub],
        }
        chosen = hubs.get(body.get("hub"))
        if chosen is None:
            raise ControlError(400, "hub must be user or market (or omitted for both)")
        return chosen

    # State and switches -----------------------------------------------------------------------

    async def state(self, _: web.Request) -> web.Response:
        sim = self._sim
        users = [
            {
                "id": user.id,
                "userName": user.name,
                "apiKey": user.api_key,
                "accounts": [a.to_wire() | {"active": a.active} for a in sim.exchange.accounts_of(user.id)],
            }
            for user in sim.exchange.users.values()
        ]
        return _reply(
            {
                "url": sim.url,
                "userHubUrl": sim.user_hub_url,
                "marketHubUrl": sim.market_hub_url,
                "contracts": [c.id for c in sim.contracts.front],
                "users": users,
                "config": sim.config.switches(),
                "connections": {
                    "user": len(sim.user_hub.connections),
                    "market": len(sim.market_hub.connections),
                },
                "monotonicNs": time.monotonic_ns(),
            }
        )

    async def get_config(self, _: web.Request) -> web.Response:
        return _reply(self._sim.config.switches())

    async def set_config(self, request: web.Request) -> web.Response:
        try:
            self._sim.config.apply(await _body(request))
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        self._sim.market.wake()
        return _reply(self._sim.config.switches())

    # Market -----------------------------------------------------------------------------------

    async def set_price(self, request: web.Request) -> web.Response:
        body = await _body(request)
        fields = (
            Field("contractId", Kind.STRING, required=True),
            Field("bid", Kind.DECIMAL),
            Field("ask", Kind.DECIMAL),
            Field("last", Kind.DECIMAL),
        )
        p = bind(body, fields)

        def given(name: str) -> Decimal | Keep | None:
            return p[name] if name in body else KEEP

        last = given("last")
        if last is None:
            raise ControlError(400, "last cannot be cleared")
        try:
            self._sim.market.set_price(p["contractId"], bid=given("bid"), ask=given("ask"), last=last)
        except KeyError:
            raise ControlError(404, f"no front-month contract {p['contractId']}") from None
        except ValueError as error:
            raise ControlError(400, str(error)) from None
        quote = self._sim.market.best(p["contractId"])
        assert quote is not None
        return _reply({"contractId": p["contractId"], "bid": quote.bid, "ask": quote.ask, "last": quote.last})

    async def pause(self, _: web.Request) -> web.Response:
        self._sim.config.random_walk = False
        self._sim.market.wake()
        return _reply({"randomWalk": False})

    async def resume(self, _: web.Request) -> web.Response:
        self._sim.config.random_walk = True
        self._sim.market.wake()
        return _reply({"randomWalk": True})

    async def burst(self, request: web.Request) -> web.Response:
        p = bind(
            await _body(request),
            (Field("contractId", Kind.STRING, required=True), Field("count", Kind.INT32, required=True)),
        )
        if not 0 < p["count"] <= MAX_BURST:
            raise ControlError(400, f"count must be between 1 and {MAX_BURST}")
        started = time.perf_counter()
        try:
            await self._sim.market.burst(p["contractId"], p["count"], self._sim.market_hub.wait_writable)
        except KeyError:
            raise ControlError(404, f"no front-month contract {p['contractId']}") from None
        return _reply({"count": p["count"], "elapsedS": time.perf_counter() - started})

    # Users, accounts, trading -----------------------------------------------------------------

    async def create_user(self, request: web.Request) -> web.Response:
        p = bind(
            await _body(request),
            (Field("userName", Kind.STRING, required=True), Field("apiKey", Kind.STRING)),
        )
        try:
            user = self._sim.exchange.add_user(p["userName"], p["apiKey"] or f"key-{p['userName']}")
        except ValueError as error:
            raise ControlError(409, str(error)) from None
        return _reply({"id": user.id, "userName": user.name, "apiKey": user.api_key}, 201)

    async def create_account(self, request: web.Request) -> web.Response:
        body = await _body(request)
        p = bind(body, (Field("userName", Kind.STRING, required=True), *ACCOUNT_FIELDS))
        user = self._user(p["userName"])
        account = self._sim.exchange.add_account(
            user,
            p["name"],
            p["balance"] if p["balance"] is not None else Decimal("50000"),
            can_trade=p["canTrade"] is not False,
            is_visible=p["isVisible"] is not False,
            simulated=p["simulated"] is not False,
            active=p["active"] is not False,
        )
        return _reply(account.to_wire() | {"active": account.active}, 201)

    async def update_account(self, request: web.Request) -> web.Response:
        try:
            account = self._account(int(request.match_info["account_id"]))
        except ValueError:
            raise ControlError(404, "account ids are integers") from None
        p = bind(await _body(request), ACCOUNT_FIELDS)
        changes = {ACCOUNT_ATTRIBUTES[k]: v for k, v in p.items() if v is not None}
        self._sim.exchange.update_account(account, **changes)
        return _reply(account.to_wire() | {"active": account.active})

    async def as_trader(self, request: web.Request) -> web.Response:
        """Call any /api endpoint as the owner of the body's account, without token or limits."""
        endpoint = self._sim.rest.endpoints.get(f"/api/{request.match_info['tail']}".rstrip("/").lower())
        if endpoint is None:
            raise ControlError(404, f"no endpoint /api/{request.match_info['tail']}")
        params = decode_body(await request.read(), request.content_type, endpoint.fields)
        exchange = self._sim.exchange
        account = exchange.accounts.get(params.get("accountId") or 0)
        user = exchange.users[account.user_id] if account is not None else self._sim.demo_user
        result = self._sim.rest.call(endpoint, Context(user, None), params)
        return _reply(result) if not isinstance(result, str) else web.Response(text=result)

    # Faults -----------------------------------------------------------------------------------

    async def get_faults(self, _: web.Request) -> web.Response:
        refusals = self._sim.exchange.cancel_refusals
        return _reply(
            {
                "rest": self._sim.faults.to_json(),
                "cancelRefusals": [
                    {"accountId": account_id, "errorCode": code, "errorMessage": message}
                    for account_id, (code, message) in refusals.items()
                ],
            }
        )

    async def clear_faults(self, _: web.Request) -> web.Response:
        self._sim.faults.clear()
        self._sim.exchange.allow_cancels()
        return _reply({"cleared": True})

    async def rest_fault(self, request: web.Request) -> web.Response:
        p = bind(
            await _body(request),
            (
                Field("kind", Kind.STRING, required=True),
                Field("count", Kind.INT32),
                Field("status", Kind.INT32),
                Field("path", Kind.STRING),
                Field("seconds", Kind.DECIMAL),
                Field("phase", Kind.STRING),
            ),
        )
        try:
            fault = RestFault(
                kind=FaultKind(p["kind"]),
                remaining=p["count"] if p["count"] is not None else 1,
                status=p["status"] if p["status"] is not None else 500,
                path=p["path"],
                seconds=float(p["seconds"]) if p["seconds"] is not None else None,
                phase=Phase(p["phase"] or Phase.BEFORE),
            )
        except ValueError:
            raise ControlError(400, "kind must be status, timeout or delay; phase before or after") from None
        if fault.remaining <= 0 or not 400 <= fault.status <= 599 or (fault.seconds or 0) < 0:
            raise ControlError(400, "count must be positive, status 400-599, seconds non-negative")
        self._sim.faults.add(fault)
        return _reply(fault.to_json(), 201)

    async def refuse_cancels(self, request: web.Request) -> web.Response:
        p = bind(
            await _body(request),
            (
                Field("accountId", Kind.INT32, required=True),
                Field("errorCode", Kind.INT32),
                Field("errorMessage", Kind.STRING),
            ),
        )
        account = self._account(p["accountId"])
        code = p["errorCode"] if p["errorCode"] is not None else CancelCode.ACCOUNT_REJECTED
        message = p["errorMessage"] or "Cancel refused by the simulator (fault injection)."
        self._sim.exchange.refuse_cancels(account.id, code, message)
        return _reply({"accountId": account.id, "errorCode": code, "errorMessage": message}, 201)

    async def allow_cancels(self, request: web.Request) -> web.Response:
        p = bind(await _body(request), (Field("accountId", Kind.INT32),))
        self._sim.exchange.allow_cancels(p["accountId"])
        return _reply({"accountId": p["accountId"], "refused": False})

    async def connections(self, _: web.Request) -> web.Response:
        sim = self._sim
        return _reply(
            [c.describe() for hub in (sim.user_hub, sim.market_hub) for c in hub.connections.values()]
        )

    async def drop_hubs(self, request: web.Request) -> web.Response:
        dropped = 0
        for hub in self._hubs(await _body(request)):
            for connection in hub.select():
                connection.abort()
                dropped += 1
        return _reply({"dropped": dropped})

    async def close_hubs(self, request: web.Request) -> web.Response:
        body = await _body(request)
        p = bind(body, (Field("allowReconnect", Kind.BOOL), Field("error", Kind.STRING)))
        closed = 0
        for hub in self._hubs(body):
            for connection in hub.select():
                connection.close(error=p["error"], allow_reconnect=bool(p["allowReconnect"]))
                closed += 1
        return _reply({"closed": closed})

    async def logout(self, request: web.Request) -> web.Response:
        body = await _body(request)
        p = bind(body, (Field("userName", Kind.STRING),))
        arguments = body.get("arguments", [])
        if not isinstance(arguments, list):
            raise ControlError(400, "arguments must be a JSON array")
        user_id = self._user(p["userName"]).id if p["userName"] is not None else None
        return _reply({"sent": send_logout(self._hubs(body), user_id, arguments)})

    async def expire_tokens(self, request: web.Request) -> web.Response:
        p = bind(await _body(request), (Field("token", Kind.STRING), Field("userName", Kind.STRING)))
        tokens = self._sim.tokens
        if p["token"] is not None:
            expired = int(tokens.revoke(p["token"]))
        elif p["userName"] is not None:
            expired = tokens.revoke_subject(str(self._user(p["userName"]).id))
        else:
            expired = tokens.revoke_all()
        return _reply({"expired": expired})

    # Logs -------------------------------------------------------------------------------------

    async def requests(self, request: web.Request) -> web.Response:
        since, limit = _since(request)
        log = self._sim.requests
        return _reply({"requests": log.since(since, limit), "last": log.last})

    async def clear_requests(self, _: web.Request) -> web.Response:
        self._sim.requests.clear()
        return _reply({"last": self._sim.requests.last})

    async def events(self, request: web.Request) -> web.Response:
        since, limit = _since(request)
        log = self._sim.events
        return _reply({"events": log.since(since, limit), "last": log.last})

    async def clear_events(self, _: web.Request) -> web.Response:
        self._sim.events.clear()
        return _reply({"last": self._sim.events.last})
