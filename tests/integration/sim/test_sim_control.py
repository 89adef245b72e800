"""The /sim/ control API (faults, accounts, trader calls, switches, bursts) and running as a process."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from decimal import Decimal

import aiohttp
import orjson
import pytest

from projectx_sim import Simulator

from .sim_support import ACCOUNT, MNQ, SECOND_ACCOUNT, WAIT_S, Api, HubFactory

SEARCH = {"onlyActiveAccounts": True}
BUY = {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 1}


# REST faults -------------------------------------------------------------------------------------------


async def test_status_faults_for_a_path_then_recovery(api: Api) -> None:
    fault = await api.control(
        "faults/rest", {"kind": "status", "status": 500, "count": 2, "path": "/api/Account/search"}
    )
    assert fault["remaining"] == 2
    assert (await api.call("/api/Position/searchOpen", {"accountId": ACCOUNT}))[
        0
    ] == 200  # other paths unaffected
    assert [(await api.call("/api/Account/search", SEARCH))[0] for _ in range(3)] == [500, 500, 200]
    await api.control("faults/rest", {"kind": "status", "status": 429})
    assert (await api.call("/api/Position/searchOpen", {"accountId": ACCOUNT}))[0] == 429
    assert (await api.control("faults", method="GET"))["rest"] == []


async def test_a_fault_after_the_call_hides_a_real_effect(api: Api) -> None:
    await api.control(
        "faults/rest", {"kind": "status", "status": 500, "path": "/api/Order/place", "phase": "after"}
    )
    status, body = await api.call("/api/Order/place", BUY)
    assert (status, body) == (500, None)
    positions = (await api.ok("/api/Position/searchOpen", {"accountId": ACCOUNT}))["positions"]
    assert positions[0]["size"] == 1  # the order was executed although the client saw a failure


async def test_timeout_and_delay_faults(api: Api, http: aiohttp.ClientSession) -> None:
    await api.control("faults/rest", {"kind": "timeout", "path": "/api/Account/search"})
    headers = {"Authorization": f"Bearer {api.token}"}
    with pytest.raises(TimeoutError):
        async with http.post(
            api.sim.url + "/api/Account/search",
            json=SEARCH,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=0.3),
        ):
            pass
    assert (await api.call("/api/Account/search", SEARCH))[0] == 200
    await api.control("faults/rest", {"kind": "timeout", "seconds": 0.05})
    assert (await api.call("/api/Account/search", SEARCH))[0] == 504
    await api.control("faults/rest", {"kind": "delay", "seconds": 0.2})
    started = time.monotonic()
    assert (await api.call("/api/Account/search", SEARCH))[0] == 200
    assert time.monotonic() - started >= 0.2


async def test_bad_fault_requests_are_refused(api: Api) -> None:
    for body in ({"kind": "explode"}, {"kind": "status", "status": 200}, {"kind": "status", "count": 0}, {}):
        status, reply = await api.call("/sim/faults/rest", body, token=False)
        assert status == 400, body
        assert reply.get("error") or reply.get("errors")


async def test_refused_cancels(api: Api) -> None:
    limit = BUY | {"type": 1, "limitPrice": 20000}
    order_id = (await api.ok("/api/Order/place", limit))["orderId"]
    await api.control(
        "faults/cancel", {"accountId": ACCOUNT, "errorCode": 6, "errorMessage": "follower account"}
    )
    faults = await api.control("faults", method="GET")
    assert faults["cancelRefusals"] == [
        {"accountId": ACCOUNT, "errorCode": 6, "errorMessage": "follower account"}
    ]
    status, body = await api.call("/api/Order/cancel", {"accountId": ACCOUNT, "orderId": order_id})
    assert (status, body) == (200, {"success": False, "errorCode": 6, "errorMessage": "follower account"})
    await api.control("faults/cancel", {"accountId": ACCOUNT}, method="DELETE")
    await api.ok("/api/Order/cancel", {"accountId": ACCOUNT, "orderId": order_id})


# Tokens, users and accounts -----------------------------------------------------------------------------


async def test_expire_tokens(sim: Simulator, api: Api) -> None:
    other = Api(sim, api.http)
    await other.login()
    assert await api.control("tokens/expire", {"token": api.token}) == {"expired": 1}
    assert (await api.call("/api/Account/search", SEARCH))[0] == 401
    assert (await other.call("/api/Account/search", SEARCH))[0] == 200
    assert await api.control("tokens/expire", {"userName": "demo"}) == {"expired": 1}
    assert (await other.call("/api/Account/search", SEARCH))[0] == 401
    await other.login()
    assert await api.control("tokens/expire", {}) == {"expired": 1}


async def test_create_users_and_accounts_and_flip_can_trade(
    sim: Simulator, api: Api, hubs: HubFactory
) -> None:
    user = await api.control("users", {"userName": "alice", "apiKey": "alice-key"})
    assert user["userName"] == "alice" and user["apiKey"] == "alice-key"
    account = await api.control("accounts", {"userName": "alice", "name": "ALICE-1", "balance": 25000})
    assert account | {"id": 0} == {
        "id": 0,
        "name": "ALICE-1",
        "balance": 25000,
        "canTrade": True,
        "isVisible": True,
        "simulated": True,
        "active": True,
    }
    alice = Api(sim, api.http)
    await alice.login("alice", "alice-key")
    listed = (await alice.ok("/api/Account/search", SEARCH))["accounts"]
    assert [a["id"] for a in listed] == [account["id"]]
    client = await hubs("user", token=alice.token)
    await client.invoke("SubscribeAccounts")
    updated = await api.control(f"accounts/{account['id']}", {"canTrade": False})
    assert updated["canTrade"] is False
    event = (await client.event("GatewayUserAccount"))[0]["data"]
    assert (event["id"], event["canTrade"]) == (account["id"], False)
    assert (await api.call("/sim/users", {"userName": "alice"}, token=False))[0] == 409
    assert (await api.call("/sim/accounts", {"userName": "nobody"}, token=False))[0] == 404
    assert (await api.call("/sim/accounts/123", {"canTrade": True}, token=False))[0] == 404
    assert (await api.call("/sim/accounts/123", {"canTrade": "no"}, token=False))[0] in (400, 404)


async def test_trading_as_the_trader_bypasses_auth_and_logs(sim: Simulator, api: Api) -> None:
    marker = (await api.control("requests", method="DELETE"))["last"]
    placed = await api.control("trader/Order/place", BUY | {"accountId": SECOND_ACCOUNT})
    assert placed["success"] is True and placed["orderId"] > 0
    positions = await api.control("trader/Position/searchOpen", {"accountId": SECOND_ACCOUNT})
    assert positions["positions"][0]["size"] == 1
    refused = await api.control("trader/Order/place", BUY | {"contractId": "CON.F.US.MNQ.U25"})
    assert (refused["success"], refused["errorCode"]) == (False, 9)
    assert (await api.call("/sim/trader/Order/place", {"accountId": ACCOUNT}, token=False))[0] == 400
    assert (await api.call("/sim/trader/Nope/nope", {}, token=False))[0] == 404
    assert (await api.control(f"requests?since={marker}", method="GET"))["requests"] == []


# Switches and market -----------------------------------------------------------------------------------


async def test_config_switches(api: Api) -> None:
    config = await api.control("config", method="GET")
    assert config["user_payload"] == "wrapped" and config["event_order"] == [
        "order",
        "trade",
        "position",
        "account",
    ]
    assert (
        config["rate_limit"] is True
        and config["retry_after"] is False
        and config["initial_snapshot"] is False
    )
    changed = await api.control("config", {"flat_position_type": "zero", "ping_interval_s": 5})
    assert changed["flat_position_type"] == "zero" and changed["ping_interval_s"] == 5.0
    for bad in ({"flat_position_type": "gone"}, {"port": 1}, {"nope": True}):
        status, reply = await api.call("/sim/config", bad, token=False)
        assert status == 400 and reply["error"]
    assert (await api.control("config", method="GET"))["flat_position_type"] == "zero"


async def test_set_price_triggers_orders_and_validates(sim: Simulator, api: Api) -> None:
    limit = BUY | {"type": 1, "limitPrice": 20990}
    order_id = (await api.ok("/api/Order/place", limit))["orderId"]
    reply = await api.control("price", {"contractId": MNQ, "last": 20990})
    assert reply == {"contractId": MNQ, "bid": 20990, "ask": 20990.25, "last": 20990}
    order = (await api.ok("/api/Order/searchById", {"accountId": ACCOUNT, "orderId": order_id}))["order"]
    assert (order["status"], order["filledPrice"]) == (2, 20990)
    for body, status in (
        ({"contractId": MNQ, "last": 20990.1}, 400),
        ({"contractId": MNQ, "bid": 21001, "ask": 21000}, 400),
        ({"contractId": MNQ, "last": None}, 400),
        ({"contractId": "CON.F.US.MNQ.U25", "last": 1}, 404),
        ({"last": 1}, 400),
    ):
        assert (await api.call("/sim/price", body, token=False))[0] == status, body
    await api.control("price", {"contractId": MNQ, "bid": None, "ask": None, "last": 21003.5})
    await api.ok("/api/Order/place", BUY | {"side": 1})  # no bid: a sell fills at the last price
    trades = (await api.ok("/api/Trade/search", {"accountId": ACCOUNT}))["trades"]
    assert trades[-1]["price"] == 21003.5


async def test_burst_streams_quotes_to_subscribers(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await hubs("market")
    await client.invoke("SubscribeContractQuotes", MNQ)
    reply = await api.control("market/burst", {"contractId": MNQ, "count": 2000})
    assert reply["count"] == 2000
    quotes = [(await client.event("GatewayQuote"))[1] for _ in range(2000)]
    assert "open" in quotes[0] and all("open" not in q for q in quotes[1:])
    assert (await api.call("/sim/market/burst", {"contractId": "X", "count": 1}, token=False))[0] == 404
    assert (await api.call("/sim/market/burst", {"contractId": MNQ, "count": 0}, token=False))[0] == 400


async def test_state_and_connections(sim: Simulator, api: Api, hubs: HubFactory) -> None:
    client = await hubs("user")
    await client.invoke("SubscribeOrders", ACCOUNT)
    state = await api.control("state", method="GET")
    assert state["url"] == sim.url and state["contracts"][0] == MNQ
    assert state["users"][0]["userName"] == "demo" and [a["id"] for a in state["users"][0]["accounts"]] == [
        ACCOUNT,
        SECOND_ACCOUNT,
    ]
    assert state["connections"] == {"user": 1, "market": 0}
    connections = await api.control("hubs/connections", method="GET")
    assert [(c["hub"], c["subscriptions"]) for c in connections] == [("user", [f"order:{ACCOUNT}"])]
    assert (await api.call("/sim/hubs/drop", {"hub": "nope"}, token=False))[0] == 400


# Running as a process -----------------------------------------------------------------------------------


class Running:
    """A simulator started as a child process; the line that announced readiness; its exit code."""

    def __init__(self, arguments: list[str], ready: str) -> None:
        self.arguments = arguments
        self.ready = ready
        self.line = ""
        self.code: int | None = None

    async def __aenter__(self) -> Running:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.arguments,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(WAIT_S):
                while not self.line.startswith(self.ready):
                    self.line = (await self.process.stdout.readline()).decode()
                    assert self.line, "the simulator exited before it was ready"
        except BaseException:
            self.process.kill()
            await self.process.wait()
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.code = await asyncio.wait_for(self.process.wait(), WAIT_S)


async def _ping(url: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/api/Status/ping") as response:
        return await response.text()


async def test_python_m_projectx_sim_prints_a_ready_line() -> None:
    arguments = ["-m", "projectx_sim", "--port", "0", "--paused", "--set", "user_payload=bare"]
    async with Running(arguments, "PROJECTX_SIM_READY ") as running:
        info = orjson.loads(running.line.split(" ", 1)[1])
        assert info["port"] > 0 and info["url"] == f"http://127.0.0.1:{info['port']}"
        assert info["userHubUrl"] == info["url"] + "/hubs/user" and info["accountIds"] == [
            ACCOUNT,
            SECOND_ACCOUNT,
        ]
        assert await _ping(info["url"]) == "pong"
        async with aiohttp.ClientSession() as http, http.get(info["url"] + "/sim/config") as response:
            assert (await response.json())["user_payload"] == "bare"
    assert running.code == 0


async def test_srm_sim_subcommand_prints_urls_and_a_demo_login() -> None:
    script = (
        "import argparse, sys\n"
        "from simple_risk_manager.cli import sim\n"
        "parser = argparse.ArgumentParser(prog='srm')\n"
        "sim.register(parser.add_subparsers())\n"
        "args = parser.parse_args(sys.argv[1:])\n"
        "sys.exit(args.func(args))\n"
    )
    async with Running(["-c", script, "sim", "--port", "0", "--paused"], "  REST base:") as running:
        url = running.line.split()[-1]
        assert url.startswith("http://127.0.0.1:") and await _ping(url) == "pong"
    assert running.code == 0


async def test_sim_exits_with_an_error_when_the_port_is_taken(sim: Simulator) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "projectx_sim",
        "--port",
        str(sim.port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), WAIT_S)
    assert process.returncode == 1 and b"cannot listen" in stderr


async def test_decimal_prices_survive_the_round_trip(sim: Simulator, api: Api) -> None:
    await api.control("price", {"contractId": "CON.F.US.MCLE.Z25", "bid": 61.07, "ask": 61.08, "last": 61.08})
    quote = sim.market.best("CON.F.US.MCLE.Z25")
    assert quote is not None and quote.bid == Decimal("61.07") and quote.ask == Decimal("61.08")
