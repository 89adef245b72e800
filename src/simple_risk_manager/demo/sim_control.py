"""The simulator's `/sim/` control API as the demo and the benchmark use it (docs/simulator.md).

The scripted trader trades through `/sim/trader/...` (the broker's own REST API run as the account's
owner, without a token), sets prices by hand, and the benchmark reads the request and event logs.
Prices travel as exact JSON numbers written from their `Decimal` text.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import IntEnum
from types import TracebackType
from typing import Any, Final

import aiohttp
import orjson

_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)


class SimError(RuntimeError):
    """The simulator refused or failed a control call."""


class Side(IntEnum):
    """`gateway-api.md` §3 OrderSide."""

    BUY = 0
    SELL = 1


class OrderType(IntEnum):
    """`gateway-api.md` §3 OrderType (the ones the demo places)."""

    LIMIT = 1
    MARKET = 2
    STOP = 4


def _json(value: object) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} has no JSON form here")


class SimControl:
    """An HTTP session on one simulator; use as `async with SimControl(url) as sim:`."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SimControl:
        self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """One control call; the decoded JSON answer. Raises SimError for a non-2xx answer."""
        if self._session is None:
            raise RuntimeError("SimControl is used outside `async with`")
        data = None if body is None else orjson.dumps(body, default=_json)
        headers = {} if data is None else {"Content-Type": "application/json"}
        async with self._session.request(method, self.base_url + path, data=data, headers=headers) as reply:
            text = await reply.read()
            if reply.status >= 300:
                raise SimError(f"{method} {path}: HTTP {reply.status} {text.decode(errors='replace')[:300]}")
            return orjson.loads(text) if text else None

    # --- market and accounts -----------------------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", "/sim/state")
        return answer

    async def front_contracts(self) -> dict[str, str]:
        """Front-month contract id by ProjectX root (`CON.F.US.MES.Z25` → key `MES`)."""
        contracts: list[str] = (await self.state())["contracts"]
        return {contract_id.split(".")[3]: contract_id for contract_id in contracts}

    async def set_switches(self, **switches: Any) -> None:
        await self.call("POST", "/sim/config", switches)

    async def random_walk(self, running: bool) -> None:
        """Resume or pause the random walk (`quote_rate` steps per second on every contract)."""
        await self.call("POST", "/sim/market/resume" if running else "/sim/market/pause")

    async def set_price(self, contract_id: str, last: Decimal) -> None:
        """A one-tick market at `last` (bid = last, ask = last + one tick); pushes a quote."""
        await self.call("POST", "/sim/price", {"contractId": contract_id, "last": last})

    async def create_account(self, user_name: str, name: str, balance: Decimal) -> int:
        account: dict[str, Any] = await self.call(
            "POST", "/sim/accounts", {"userName": user_name, "name": name, "balance": balance})
        account_id: int = account["id"]
        return account_id

    # --- trading as the account's owner ------------------------------------------------------------

    async def trader(self, endpoint: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`/api/{endpoint}` as the owner of `body["accountId"]`; raises SimError unless it succeeded."""
        answer: dict[str, Any] = await self.call("POST", f"/sim/trader/{endpoint}", body)
        if not answer.get("success"):
            raise SimError(f"{endpoint} {dict(body)} refused: errorCode {answer.get('errorCode')} "
                           f"{answer.get('errorMessage') or ''}".rstrip())
        return answer

    async def place(self, account_id: int, contract_id: str, side: Side, size: int,
                    order_type: OrderType = OrderType.MARKET, *, limit_price: Decimal | None = None,
                    stop_price: Decimal | None = None) -> int:
        """`Order/place`; the new order id."""
        body: dict[str, Any] = {"accountId": account_id, "contractId": contract_id, "type": int(order_type),
                                "side": int(side), "size": size}
        if limit_price is not None:
            body["limitPrice"] = limit_price
        if stop_price is not None:
            body["stopPrice"] = stop_price
        order_id: int = (await self.trader("Order/place", body))["orderId"]
        return order_id

    # --- the benchmark's logs ----------------------------------------------------------------------

    async def requests_since(self, seq: int, limit: int = 1_000_000) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", f"/sim/requests?since={seq}&limit={limit}")
        return answer

    async def events_since(self, seq: int, limit: int = 1_000_000) -> dict[str, Any]:
        answer: dict[str, Any] = await self.call("GET", f"/sim/events?since={seq}&limit={limit}")
        return answer

    async def clear_logs(self) -> tuple[int, int]:
        """Empty both logs; the last request and event sequence numbers (they keep counting)."""
        requests = await self.call("DELETE", "/sim/requests")
        events = await self.call("DELETE", "/sim/events")
        return int(requests["last"]), int(events["last"])
