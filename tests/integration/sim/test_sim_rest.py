"""REST conformance of the simulator over real loopback HTTP: envelope, error codes, 400/401/415/429."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from projectx_sim import SimConfig, Simulator

from .sim_support import ACCOUNT, DEMO_KEY, MES, MNQ, SECOND_ACCOUNT, Api, eventually_async

START = "2020-01-01T00:00:00Z"


def set_price(sim: Simulator, contract_id: str, bid: str, ask: str, last: str) -> None:
    sim.market.set_price(contract_id, bid=Decimal(bid), ask=Decimal(ask), last=Decimal(last))


# Auth ------------------------------------------------------------------------------------------------


async def test_login_success_and_failure_envelopes(api: Api) -> None:
    status, body = await api.call("/api/Auth/loginKey", {"userName": "demo", "apiKey": "wrong"}, token=None)
    assert status == 200
    assert body == {"token": None, "success": False, "errorCode": 3, "errorMessage": None}
    status, body = await api.call(
        "/api/Auth/loginKey", {"userName": "nobody", "apiKey": DEMO_KEY}, token=None
    )
    assert (status, body["success"], body["errorCode"]) == (200, False, 3)
    assert api.token.count(".") == 2


async def test_login_without_fields_is_a_problem_details_400(api: Api) -> None:
    status, body = await api.call("/api/Auth/loginKey", {"userName": "demo"}, token=None)
    assert status == 400
    assert set(body) == {"type", "title", "status", "errors", "traceId"}
    assert body["status"] == 400 and body["title"] == "One or more validation errors occurred."
    assert body["errors"] == {"apiKey": ["The apiKey field is required."]}
    assert body["traceId"].startswith("00-")


async def test_validate_returns_a_working_new_token(api: Api) -> None:
    old = api.token
    reply = await api.ok("/api/Auth/validate")
    assert reply["newToken"] and reply["newToken"] != old
    status, _ = await api.call("/api/Account/search", {"onlyActiveAccounts": True}, token=reply["newToken"])
    assert status == 200
    status, _ = await api.call("/api/Account/search", {"onlyActiveAccounts": True}, token=old)
    assert status == 200  # validate does not revoke the old token by default


async def test_validate_can_revoke_the_old_token(sim: Simulator, api: Api) -> None:
    sim.config.validate_revokes_old_token = True
    old = api.token
    reply = await api.ok("/api/Auth/validate")
    assert (await api.call("/api/Account/search", {"onlyActiveAccounts": True}, token=old))[0] == 401
    assert (await api.call("/api/Account/search", {"onlyActiveAccounts": True}, token=reply["newToken"]))[
        0
    ] == 200


async def test_logout_revokes_the_token(api: Api) -> None:
    reply = await api.ok("/api/Auth/logout")
    assert set(reply) == {"success", "errorCode", "errorMessage"}
    status, body = await api.call("/api/Account/search", {"onlyActiveAccounts": True})
    assert (status, body) == (401, None)


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer garbage", "Basic abc", "Bearer a.b.c"])
async def test_missing_or_invalid_token_is_401_with_an_empty_body(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    status, body = await api.call(
        "/api/Account/search", {"onlyActiveAccounts": True}, token=False, headers=headers
    )
    assert (status, body) == (401, None)


@pytest.mark.parametrize(
    "sim_config", [SimConfig(port=0, front_month="Z25", random_walk=False, token_lifetime_s=2)]
)
async def test_token_expires_after_its_lifetime(api: Api, http: aiohttp.ClientSession) -> None:
    statuses: list[int] = []

    async def rejected() -> bool:
        statuses.append((await api.call("/api/Account/search", {"onlyActiveAccounts": True}))[0])
        return statuses[-1] == 401

    await eventually_async(rejected)  # the token lives two to three seconds
    assert statuses[0] == 200 and set(statuses[:-1]) == {200}
    async with http.post(
        api.sim.url + "/api/Auth/validate", headers={"Authorization": f"Bearer {api.token}"}
    ) as r:
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")


# Accounts and contracts ------------------------------------------------------------------------------


async def test_account_search(sim: Simulator, api: Api) -> None:
    user = sim.demo_user
    sim.exchange.add_account(user, "OLD-1", active=False)
    active = (await api.ok("/api/Account/search", {"onlyActiveAccounts": True}))["accounts"]
    assert [a["id"] for a in active] == [ACCOUNT, SECOND_ACCOUNT]
    assert active[0] == {
        "id": ACCOUNT,
        "name": "SIM-50K-0001",
        "balance": 50000,
        "canTrade": True,
        "isVisible": True,
        "simulated": True,
    }
    every = (await api.ok("/api/Account/search", {"onlyActiveAccounts": False}))["accounts"]
    assert [a["name"] for a in every][-1] == "OLD-1"
    other = sim.exchange.add_user("other", "other-key")
    sim.exchange.add_account(other, "THEIRS")
    assert "THEIRS" not in {a["name"] for a in every}


async def test_contract_endpoints(api: Api) -> None:
    found = (await api.ok("/api/Contract/search", {"searchText": "ES", "live": False}))["contracts"]
    assert found[0]["id"] == "CON.F.US.EP.Z25" and found[0]["name"] == "ESZ5"
    assert found[0]["tickSize"] == 0.25 and found[0]["tickValue"] == 12.5
    assert (await api.ok("/api/Contract/search", {"searchText": "ES", "live": True}))["contracts"] == []
    by_id = (await api.ok("/api/Contract/searchById", {"contractId": "CON.F.US.MNQ.U25"}))["contract"]
    assert by_id["activeContract"] is False and by_id["symbolId"] == "F.US.MNQ"
    status, missing = await api.call("/api/Contract/searchById", {"contractId": "CON.F.US.NOPE.Z25"})
    assert status == 200 and missing == {
        "contract": None,
        "success": False,
        "errorCode": 1,
        "errorMessage": None,
    }
    available = (await api.ok("/api/Contract/available", {"live": False}))["contracts"]
    assert len(available) == 10 and all(c["activeContract"] for c in available)


async def test_prices_are_json_numbers_not_strings(api: Api) -> None:
    status, _ = await api.call("/api/Contract/searchById", {"contractId": MNQ})
    async with api.http.post(
        api.sim.url + "/api/Contract/searchById",
        json={"contractId": MNQ},
        headers={"Authorization": f"Bearer {api.token}"},
    ) as response:
        text = await response.text()
    assert status == 200 and '"tickSize":0.25' in text and '"tickValue":0.50' in text


# Positions -------------------------------------------------------------------------------------------


async def test_position_endpoints_and_their_codes(sim: Simulator, api: Api) -> None:
    assert (await api.ok("/api/Position/searchOpen", {"accountId": ACCOUNT}))["positions"] == []
    status, body = await api.call("/api/Position/searchOpen", {"accountId": 999})
    assert (status, body) == (
        200,
        {"positions": None, "success": False, "errorCode": 1, "errorMessage": None},
    )
    close = "/api/Position/closeContract"
    partial = "/api/Position/partialCloseContract"
    assert (await api.call(close, {"accountId": ACCOUNT, "contractId": MNQ}))[1]["errorCode"] == 2
    assert (await api.call(close, {"accountId": ACCOUNT, "contractId": "CON.F.US.X.Z25"}))[1][
        "errorCode"
    ] == 3
    assert (await api.call(close, {"accountId": ACCOUNT, "contractId": "CON.F.US.MNQ.U25"}))[1][
        "errorCode"
    ] == 4
    assert (await api.call(close, {"accountId": 999, "contractId": MNQ}))[1]["errorCode"] == 1
    await api.ok(
        "/api/Order/place", {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 3}
    )
    positions = (await api.ok("/api/Position/searchOpen", {"accountId": ACCOUNT}))["positions"]
    assert [(p["contractId"], p["type"], p["size"]) for p in positions] == [(MNQ, 1, 3)]
    assert set(positions[0]) == {
        "id",
        "accountId",
        "contractId",
        "creationTimestamp",
        "type",
        "size",
        "averagePrice",
    }
    for size, code in ((0, 5), (4, 5)):
        reply = (await api.call(partial, {"accountId": ACCOUNT, "contractId": MNQ, "size": size}))[1]
        assert (reply["success"], reply["errorCode"]) == (False, code)
    assert (await api.call(partial, {"accountId": ACCOUNT, "contractId": MES, "size": 1}))[1][
        "errorCode"
    ] == 2
    await api.ok(partial, {"accountId": ACCOUNT, "contractId": MNQ, "size": 2})
    assert (await api.ok("/api/Position/searchOpen", {"accountId": ACCOUNT}))["positions"][0]["size"] == 1
    sim.config.market_open = False
    assert (await api.call(close, {"accountId": ACCOUNT, "contractId": MNQ}))[1]["errorCode"] == 5
    assert (await api.call(partial, {"accountId": ACCOUNT, "contractId": MNQ, "size": 1}))[1][
        "errorCode"
    ] == 6
    sim.config.market_open = True
    await api.ok(close, {"accountId": ACCOUNT, "contractId": MNQ})
    assert (await api.ok("/api/Position/searchOpen", {"accountId": ACCOUNT}))["positions"] == []


async def test_live_account_refusals(sim: Simulator, api: Api) -> None:
    live = sim.exchange.add_account(sim.demo_user, "LIVE-1", simulated=False)
    await api.ok(
        "/api/Order/place", {"accountId": live.id, "contractId": MNQ, "type": 2, "side": 0, "size": 2}
    )
    status, body = await api.call(
        "/api/Position/partialCloseContract", {"accountId": live.id, "contractId": MNQ, "size": 1}
    )
    assert (status, body["success"], body["errorCode"]) == (200, False, 9)
    order = await api.ok(
        "/api/Order/place",
        {"accountId": live.id, "contractId": MNQ, "type": 1, "side": 0, "size": 1, "limitPrice": 20000},
    )
    status, body = await api.call("/api/Order/cancel", {"accountId": live.id, "orderId": order["orderId"]})
    assert (body["success"], body["errorCode"]) == (False, 6) and body["errorMessage"]
    sim.config.live_modify_refused = True
    status, body = await api.call(
        "/api/Order/modify", {"accountId": live.id, "orderId": order["orderId"], "size": 2}
    )
    assert body["errorCode"] == 6
    sim.config.live_close_refused = True
    status, body = await api.call("/api/Position/closeContract", {"accountId": live.id, "contractId": MNQ})
    assert body["errorCode"] == 8
    # a user with a live account sees live contract data
    assert (await api.ok("/api/Contract/available", {"live": True}))["contracts"]


# Orders ----------------------------------------------------------------------------------------------


async def test_place_codes(sim: Simulator, api: Api) -> None:
    place = "/api/Order/place"
    base = {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    cases = [
        ({"accountId": 999}, 1),
        ({"type": 3, "stopPrice": 21100}, 2),
        ({"size": 0}, 2),
        ({"type": 1}, 2),
        ({"type": 1, "limitPrice": 21000.1}, 2),
        ({"stopLossBracket": {"ticks": -10, "type": 4}}, 2),
        ({"contractId": "CON.F.US.NOPE.Z25"}, 8),
        ({"contractId": "CON.F.US.MNQ.U25"}, 9),
    ]
    for change, code in cases:
        status, body = await api.call(place, base | change)
        assert (status, body["success"], body["errorCode"], body["orderId"]) == (200, False, code, None), (
            change
        )
        if code == 2:
            assert body["errorMessage"], change
    await api.ok(place, base | {"customTag": "t-1"})
    status, body = await api.call(place, base | {"customTag": "t-1"})
    assert body["errorCode"] == 2 and "t-1" in body["errorMessage"]
    sim.exchange.update_account(sim.exchange.accounts[ACCOUNT], can_trade=False)
    status, body = await api.call(place, base)
    assert body["success"] is False and body["errorCode"] == 4 and isinstance(body["orderId"], int)
    sim.config.market_open = False
    status, body = await api.call(place, base | {"accountId": SECOND_ACCOUNT})
    assert body["errorCode"] == 5 and body["orderId"] is not None


async def test_order_lifecycle_queries(sim: Simulator, api: Api) -> None:
    set_price(sim, MNQ, "20999.75", "21000.00", "21000.00")
    limit = {"accountId": ACCOUNT, "contractId": MNQ, "type": 1, "side": 0, "size": 2, "limitPrice": 20900.25}
    order_id = (await api.ok("/api/Order/place", limit))["orderId"]
    assert order_id > 2**31
    open_orders = (await api.ok("/api/Order/searchOpen", {"accountId": ACCOUNT}))["orders"]
    assert [(o["id"], o["status"], o["limitPrice"], o["stopPrice"]) for o in open_orders] == [
        (order_id, 1, 20900.25, None)
    ]
    keys = {
        "id",
        "accountId",
        "contractId",
        "symbolId",
        "creationTimestamp",
        "updateTimestamp",
        "status",
        "type",
    }
    assert keys | {
        "side",
        "size",
        "limitPrice",
        "stopPrice",
        "fillVolume",
        "filledPrice",
        "customTag",
    } == set(open_orders[0])
    await api.ok(
        "/api/Order/modify", {"accountId": ACCOUNT, "orderId": order_id, "size": 3, "limitPrice": None}
    )
    by_id = (await api.ok("/api/Order/searchById", {"accountId": ACCOUNT, "orderId": order_id}))["order"]
    assert (by_id["size"], by_id["limitPrice"]) == (3, 20900.25)
    bad = await api.call("/api/Order/modify", {"accountId": ACCOUNT, "orderId": order_id, "stopPrice": 20000})
    assert bad[1]["errorCode"] == 3
    assert (await api.call("/api/Order/modify", {"accountId": ACCOUNT, "orderId": 5}))[1]["errorCode"] == 2
    assert (await api.call("/api/Order/modify", {"accountId": 1, "orderId": order_id}))[1]["errorCode"] == 1
    await api.ok("/api/Order/cancel", {"accountId": ACCOUNT, "orderId": order_id})
    assert (await api.ok("/api/Order/searchOpen", {"accountId": ACCOUNT}))["orders"] == []
    again = await api.call("/api/Order/cancel", {"accountId": ACCOUNT, "orderId": order_id})
    assert again[1]["errorCode"] == 3 and again[1]["errorMessage"]
    assert (await api.call("/api/Order/cancel", {"accountId": ACCOUNT, "orderId": 12}))[1]["errorCode"] == 2
    assert (await api.call("/api/Order/cancel", {"accountId": 3, "orderId": order_id}))[1]["errorCode"] == 1
    history = (await api.ok("/api/Order/search", {"accountId": ACCOUNT, "startTimestamp": START}))["orders"]
    assert [(o["id"], o["status"]) for o in history] == [(order_id, 3)]
    future = await api.ok(
        "/api/Order/search", {"accountId": ACCOUNT, "startTimestamp": "2999-01-01T00:00:00Z"}
    )
    assert future["orders"] == []
    missing = await api.call("/api/Order/searchById", {"accountId": ACCOUNT, "orderId": 1})
    assert missing[1] == {"order": None, "success": False, "errorCode": 1, "errorMessage": None}
    assert (await api.call("/api/Order/search", {"accountId": 1, "startTimestamp": START}))[1][
        "orders"
    ] is None


async def test_trade_search(sim: Simulator, api: Api) -> None:
    set_price(sim, MNQ, "20999.75", "21000.00", "21000.00")
    await api.ok(
        "/api/Order/place", {"accountId": ACCOUNT, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    )
    trades = (await api.ok("/api/Trade/search", {"accountId": ACCOUNT, "startTimestamp": START}))["trades"]
    assert len(trades) == 1
    assert trades[0] | {"id": 0, "creationTimestamp": "", "orderId": 0} == {
        "id": 0,
        "accountId": ACCOUNT,
        "contractId": MNQ,
        "creationTimestamp": "",
        "price": 21000.0,
        "profitAndLoss": None,
        "fees": 0.37,
        "side": 0,
        "size": 1,
        "voided": False,
        "orderId": 0,
    }
    assert (await api.ok("/api/Trade/search", {"accountId": ACCOUNT}))["trades"] == trades
    assert (await api.call("/api/Trade/search", {"accountId": 5, "startTimestamp": START}))[1][
        "errorCode"
    ] == 1


async def test_retrieve_bars(api: Api) -> None:
    body = {
        "contractId": MNQ,
        "live": False,
        "startTime": "2025-11-20T00:00:00Z",
        "endTime": "2025-11-21T00:00:00Z",
        "unit": 3,
        "unitNumber": 1,
        "limit": 5,
        "includePartialBar": False,
    }
    bars = (await api.ok("/api/History/retrieveBars", body))["bars"]
    assert [b["t"][:16] for b in bars] == [f"2025-11-20T{h}:00" for h in ("23", "22", "21", "20", "19")]
    assert set(bars[0]) == {"t", "o", "h", "l", "c", "v"}
    for change, code in (
        ({"contractId": "X"}, 1),
        ({"unit": 7}, 2),
        ({"unitNumber": 0}, 3),
        ({"limit": 20001}, 4),
    ):
        status, reply = await api.call("/api/History/retrieveBars", body | change)
        assert (status, reply["success"], reply["errorCode"], reply["bars"]) == (200, False, code, None)


async def test_ping_paths_and_methods(api: Api) -> None:
    assert await api.call("/api/Status/ping", method="GET", token=False) == (200, "pong")
    assert (await api.call("/api/account/SEARCH", {"onlyActiveAccounts": True}))[0] == 200  # ASP.NET routing
    assert (await api.call("/api/Nope/nothing", {}))[0] == 404
    assert (await api.call("/api/Account/search", method="GET"))[0] == 405


# Binding errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "key"),
    [
        ("/api/Account/search", {}, "onlyActiveAccounts"),
        ("/api/Account/search", {"onlyActiveAccounts": "yes"}, "$.onlyActiveAccounts"),
        ("/api/Position/searchOpen", {"accountId": "7001"}, "$.accountId"),
        ("/api/Order/place", {"accountId": 7001, "contractId": MNQ, "type": 1, "side": 0}, "size"),
        (
            "/api/Order/place",
            {"accountId": 7001, "contractId": MNQ, "type": 1, "side": 0, "size": 1.5},
            "$.size",
        ),
        (
            "/api/Order/place",
            {"accountId": 7001, "contractId": MNQ, "type": 1, "side": 0, "size": 1, "limitPrice": "21000"},
            "$.limitPrice",
        ),
        ("/api/Order/cancel", {"accountId": 7001, "orderId": None}, "$.orderId"),
        ("/api/Order/search", {"accountId": 7001, "startTimestamp": "not a time"}, "$.startTimestamp"),
        ("/api/Contract/search", {"live": False}, "searchText"),
    ],
)
async def test_bad_bodies_get_problem_details(api: Api, path: str, body: dict, key: str) -> None:
    status, reply = await api.call(path, body)
    assert status == 400
    assert reply["type"] == "https://tools.ietf.org/html/rfc9110#section-15.5.1"
    assert reply["status"] == 400 and reply["traceId"]
    assert list(reply["errors"]) == [key]


async def test_malformed_json_empty_body_and_wrong_media_type(api: Api) -> None:
    status, reply = await api.call(
        "/api/Account/search", data=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and "$" in reply["errors"]
    status, reply = await api.call(
        "/api/Account/search", data=b"", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and reply["errors"]
    status, reply = await api.call("/api/Account/search", data=b'{"onlyActiveAccounts":true}')
    assert status == 415 and reply["status"] == 415
    status, reply = await api.call(
        "/api/Account/search", data=b"[1,2]", headers={"Content-Type": "application/json"}
    )
    assert status == 400 and "$" in reply["errors"]


# Rate limits -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sim_config",
    [SimConfig(port=0, front_month="Z25", random_walk=False, rate_limit_requests=3, rate_limit_window_s=2.0)],
)
async def test_rate_limit_is_per_token_and_sliding(api: Api) -> None:
    search = {"onlyActiveAccounts": True}
    # the login already used one request from the IP bucket, not from this token's
    assert [(await api.call("/api/Account/search", search))[0] for _ in range(3)] == [200, 200, 200]
    status, body = await api.call("/api/Account/search", search)
    assert (status, body) == (429, None)
    other = Api(api.sim, api.http)
    await other.login()
    assert (await other.call("/api/Account/search", search))[0] == 200  # another token has its own window
    statuses: list[int] = []

    async def allowed_again() -> bool:
        statuses.append((await api.call("/api/Account/search", search))[0])
        return statuses[-1] == 200

    await eventually_async(allowed_again)  # the window slides: within two seconds it may call again
    assert set(statuses[:-1]) <= {429}


@pytest.mark.parametrize(
    "sim_config",
    [SimConfig(port=0, front_month="Z25", random_walk=False, rate_limit_requests=1, retry_after=True)],
)
async def test_retry_after_header_when_switched_on(api: Api, http: aiohttp.ClientSession) -> None:
    headers = {"Authorization": f"Bearer {api.token}"}
    url = api.sim.url + "/api/Account/search"
    async with http.post(url, json={"onlyActiveAccounts": True}, headers=headers) as first:
        assert first.status == 200
    async with http.post(url, json={"onlyActiveAccounts": True}, headers=headers) as second:
        assert second.status == 429 and 1 <= int(second.headers["Retry-After"]) <= 60


async def test_default_limits_are_200_per_minute_and_50_bars_per_30_s(sim: Simulator, api: Api) -> None:
    assert sim.config.rate_limit and sim.config.retry_after is False
    search = {"onlyActiveAccounts": True}
    statuses = [(await api.call("/api/Account/search", search))[0] for _ in range(201)]
    assert statuses[:200] == [200] * 200 and statuses[200] == 429
    bars = {
        "contractId": MNQ,
        "live": False,
        "startTime": "2025-11-20T00:00:00Z",
        "endTime": "2025-11-20T01:00:00Z",
        "unit": 2,
        "unitNumber": 1,
        "limit": 1,
        "includePartialBar": False,
    }
    bar_statuses = [(await api.call("/api/History/retrieveBars", bars))[0] for _ in range(51)]
    assert bar_statuses[:50] == [200] * 50 and bar_statuses[50] == 429


async def test_rate_limit_can_be_switched_off(sim: Simulator, api: Api) -> None:
    sim.config.rate_limit_requests = 2
    sim.config.rate_limit = False
    statuses = [(await api.call("/api/Account/search", {"onlyActiveAccounts": True}))[0] for _ in range(5)]
    assert statuses == [200] * 5
