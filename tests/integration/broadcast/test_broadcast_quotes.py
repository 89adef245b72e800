"""`MarketQuote` routing and pacing (`broadcast-api.md` §5.4, §7; B5)."""

from __future__ import annotations

import asyncio

from .harness import A1, A2, MARKER, MES, MNQ, lockout, quote


def bids(messages: list[dict]) -> list[tuple[str, float]]:
    return [(m["data"]["contract_id"], m["data"]["bid"]) for m in messages if m["type"] == "MarketQuote"]


async def test_quotes_go_only_to_clients_of_an_account_holding_the_contract(server, make_peer, daemon):
    holder, other, everything = [await make_peer(server) for _ in range(3)]
    await holder.subscribe([A1])
    await other.subscribe([A2])
    await everything.subscribe(None)
    daemon.holdings[MES] = {A1}
    server.publish("MarketQuote", None, quote(MES, "5923.5").to_dict())
    server.publish("MarketQuote", None, quote(MNQ, "21004.25").to_dict())  # nobody holds it
    server.publish("daemon_status", None, MARKER)
    expected = [(MES, 5923.5)]
    assert bids(await holder.until_marker()) == expected
    assert bids(await everything.until_marker()) == expected
    assert await other.until_marker() == []
    received = holder.raw[-2]
    assert '"account_id":null' in received and '"type":"MarketQuote"' in received


async def test_quotes_are_paced_per_contract_and_the_newest_wins(make_server, make_peer, daemon):
    server = await make_server(quote_max_hz=4)
    peer = await make_peer(server)
    await peer.subscribe([A1])
    daemon.holdings[MES] = {A1}
    daemon.holdings[MNQ] = {A1}
    loop = asyncio.get_running_loop()
    published_at = loop.time()
    for tick in range(10):
        server.publish("MarketQuote", None, quote(MES, f"{5900 + tick}").to_dict())
    server.publish("MarketQuote", None, quote(MNQ, "21000").to_dict())
    first = await peer.expect("MarketQuote")
    other_contract = await peer.expect("MarketQuote")
    assert bids([first, other_contract]) == [(MES, 5900), (MNQ, 21000)], "each contract has its own pace"
    server.publish("lockout_set", A1, lockout(A1).to_dict())
    held_back = await peer.next()
    assert held_back["type"] == "lockout_set", "events are never held behind a paced quote"
    newest = await peer.expect("MarketQuote")
    assert loop.time() - published_at >= 0.24, "at most 4 per second per contract"
    assert bids([newest]) == [(MES, 5909)], "only the newest pending quote is kept"
    assert newest["seq"] > held_back["seq"], "a released quote gets a fresh seq: seq keeps growing"
    server.publish("daemon_status", None, MARKER)
    assert await peer.until_marker() == [], "the nine older quotes were dropped, not queued"


async def test_a_new_subscription_forgets_held_quotes(make_server, make_peer, daemon):
    server = await make_server(quote_max_hz=1)
    peer = await make_peer(server)
    await peer.subscribe([A1])
    daemon.holdings[MES] = {A1}
    server.publish("MarketQuote", None, quote(MES, "1").to_dict())
    server.publish("MarketQuote", None, quote(MES, "2").to_dict())  # held for a second
    assert bids([await peer.expect("MarketQuote")]) == [(MES, 1)]
    await peer.subscribe([A1])  # the snapshot carries the current quotes; pacing starts afresh
    server.publish("MarketQuote", None, quote(MES, "3").to_dict())
    server.publish("daemon_status", None, MARKER)
    assert bids(await peer.until_marker()) == [(MES, 3)], "sent at once; the held quote 2 is gone"


async def test_with_no_client_a_quote_does_not_look_up_its_holders(server, daemon):
    """Every quote is published; with nobody connected, finding the accounts holding it is wasted work."""
    asked: list[str] = []
    holding = daemon.accounts_holding

    def spy(contract_id: str):
        asked.append(contract_id)
        return holding(contract_id)

    daemon.accounts_holding = spy
    daemon.holdings[MES] = {A1}
    server.publish("MarketQuote", None, quote(MES, "5923.5").to_dict())
    assert asked == []
