"""Login, token refresh and re-login (gateway-api.md §1.3–1.5, daemon.md §7) against the simulator."""

from __future__ import annotations

import asyncio
import logging

import pytest

from projectx_sim import SimConfig
from simple_risk_manager.domain.events import HubConnectionChanged, TradeReceived
from simple_risk_manager.gateway import Credentials

SHORT_TOKENS = SimConfig(port=0, rate_limit=False, ping_interval_s=1.0, token_lifetime_s=3.0,
                         close_hubs_on_token_expiry=True)


def change(hub: str, connected: bool, reconnect: bool | None = None):
    def match(event) -> bool:
        return (isinstance(event, HubConnectionChanged) and event.hub == hub and event.connected == connected
                and (reconnect is None or event.reconnect == reconnect))
    return match


@pytest.mark.parametrize("sim_config", [SHORT_TOKENS])
async def test_short_token_is_refreshed_through_validate_before_expiry(gateway, events, sim, control, caplog):
    session = gateway.sessions["demo"]
    first = session.current
    assert first.expires_at is not None
    lifetime = (first.expires_at - first.issued_at).total_seconds()
    assert 2.0 < lifetime < 4.0  # exp is whole seconds
    assert abs((first.refresh_at - first.issued_at).total_seconds() - lifetime * 5 / 6) < 0.01

    with caplog.at_level(logging.DEBUG):
        reconnected = await events.seen_or_wait(change("user", True, reconnect=True), within=10)
        await events.seen_or_wait(change("market", True, reconnect=True), within=10)
    assert reconnected.reason == "token renewed"
    second = session.current
    assert second.value != first.value and second.issued_at < first.expires_at
    paths = await control.paths()
    assert "/api/Auth/validate" in paths and paths.count("/api/Auth/loginKey") == 1
    # the hubs now hold the new token, so the simulator never closed them for expiry
    assert {c.token for c in sim.user_hub.connections.values()} == {second.value}
    assert not [e for e in events.seen if change("user", False)(e)]
    # nothing secret reached any log line on the way
    assert first.value not in caplog.text and second.value not in caplog.text
    assert sim.config.api_key not in caplog.text


@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 401, "path": "/api/Auth/validate"},
    {"kind": "status", "status": 500, "count": 10, "path": "/api/Auth/validate"},
], ids=["validate-401", "validate-500"])
async def test_failed_validate_falls_back_to_login_key(gateway, control, fault):
    session = gateway.sessions["demo"]
    before = session.current.value
    await control.post("faults/rest", fault)
    renewed = await session.refresh()
    assert renewed.value != before
    paths = await control.paths()
    assert "/api/Auth/validate" in paths and paths.count("/api/Auth/loginKey") == 2


async def test_rest_401_logs_in_once_and_repeats_the_call(gateway, control):
    await control.post("tokens/expire")
    assert await gateway.open_positions(7001) == []
    requests = [(r["path"], r["status"]) for r in await control.requests()]
    assert requests[-3:] == [("/api/Position/searchOpen", 401), ("/api/Auth/loginKey", 200),
                             ("/api/Position/searchOpen", 200)]


async def test_concurrent_401s_cause_one_login(gateway, control):
    await control.post("tokens/expire")
    await asyncio.gather(*(gateway.open_positions(7001) for _ in range(5)))
    assert (await control.paths()).count("/api/Auth/loginKey") == 2  # the first login + one re-login


async def test_several_credential_sets_route_each_account_to_its_own_login(make_gateway, sim, control,
                                                                           demo_credentials, event_log,
                                                                           contract_of):
    second = await control.post("users", {"userName": "second", "apiKey": "second-key"})
    account = await control.post("accounts", {"userName": "second", "name": "SIM-2ND", "balance": 25000})
    other = Credentials(second["userName"], second["apiKey"])
    refused = Credentials("ghost", "nobody-has-this-key")
    gateway = make_gateway({7001: demo_credentials, account["id"]: other, 9999: refused})
    outcomes = await gateway.start()
    assert outcomes["demo"].ok and outcomes["second"].ok and not outcomes["ghost"].ok
    assert outcomes["second"].account_ids == (account["id"],)
    assert gateway.login_of(account["id"]) == "second"
    assert set(gateway.user_hubs) == {"demo", "second"} and gateway.market_hub.login == "demo"

    events = event_log(gateway.events)
    await events.seen_or_wait(lambda e: change("user", True)(e) and e.login == "second")
    assert {a.id for a in await gateway.search_accounts(login="second")} == {account["id"]}
    assert {a.id for a in await gateway.search_accounts()} == {7001, 7002, account["id"]}
    assert await gateway.open_positions(account["id"]) == []  # the simulator answers only its owner

    await control.post("trader/Order/place", {"accountId": account["id"], "contractId": contract_of("MES"),
                                              "type": 2, "side": 1, "size": 1})
    fill = await events.wait_for(lambda e: isinstance(e, TradeReceived))
    assert fill.trade.account_id == account["id"]
    assert (await control.paths()).count("/api/Auth/loginKey") == 3  # once per credential set


async def test_raw_api_log_never_shows_the_key_or_a_token(gateway, sim, caplog):
    session = gateway.sessions["demo"]
    with caplog.at_level(logging.DEBUG, logger="simple_risk_manager.gateway.api"):
        token = await session.fresh_login()
        await gateway.search_accounts()
    api_lines = [r.getMessage() for r in caplog.records if r.name == "simple_risk_manager.gateway.api"]
    assert any("/api/Auth/loginKey" in line and "<redacted>" in line for line in api_lines)
    assert sim.config.api_key not in caplog.text and token.value not in caplog.text
