"""Concurrent `Account/search` calls of one login share one request (start-up reconciles of many
accounts would otherwise spend the 200 / 60 s budget on identical reads)."""

from __future__ import annotations

import asyncio

import pytest

from simple_risk_manager.gateway.base import GatewayUnavailable


def account_searches(paths: list[str]) -> int:
    return sum(1 for path in paths if path.lower() == "/api/account/search")


async def test_concurrent_searches_of_one_login_send_one_request(gateway, control):
    before = account_searches(await control.paths())
    answers = await asyncio.gather(*(gateway.search_accounts(login="demo") for _ in range(20)))
    assert account_searches(await control.paths()) - before == 1
    assert all({a.id for a in answer} == {7001, 7002} for answer in answers)
    assert len({id(answer) for answer in answers}) == 20  # each caller owns its list


async def test_a_search_after_the_shared_one_ended_asks_again(gateway, control):
    before = account_searches(await control.paths())
    await gateway.search_accounts(login="demo")
    await gateway.search_accounts(login="demo")
    assert account_searches(await control.paths()) - before == 2


async def test_a_cancelled_caller_leaves_the_request_to_the_others(gateway, control):
    before = account_searches(await control.paths())
    first = asyncio.ensure_future(gateway.search_accounts(login="demo"))
    second = asyncio.ensure_future(gateway.search_accounts(login="demo"))
    await asyncio.sleep(0)
    first.cancel()
    async with asyncio.timeout(15):
        accounts = await second
    assert {a.id for a in accounts} == {7001, 7002}
    assert first.cancelled()
    assert account_searches(await control.paths()) - before == 1


async def test_a_failed_shared_search_fails_every_caller_and_is_not_kept(make_gateway, control):
    gateway = make_gateway(rest_max_attempts=1)
    await gateway.start()
    await control.post("faults/rest", {"kind": "status", "status": 503, "count": 1,
                                       "path": "/api/Account/search"})
    results = await asyncio.gather(*(gateway.search_accounts(login="demo") for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, GatewayUnavailable) for r in results)
    accounts = await gateway.search_accounts(login="demo")
    assert {a.id for a in accounts} == {7001, 7002}


@pytest.mark.parametrize("only_active", [True, False])
async def test_only_active_is_part_of_what_is_shared(gateway, control, only_active):
    before = account_searches(await control.paths())
    await asyncio.gather(gateway.search_accounts(login="demo", only_active=only_active),
                         gateway.search_accounts(login="demo", only_active=not only_active))
    assert account_searches(await control.paths()) - before == 2
