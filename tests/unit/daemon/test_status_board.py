"""`daemon_status` as the daemon computes it (`broadcast-api.md` §5.9, `daemon.md` §2 step 16, §7)."""

from __future__ import annotations

from datetime import UTC, datetime

from simple_risk_manager.clock import ManualClock
from simple_risk_manager.daemon.status import AccountState, Phase, StatusBoard
from simple_risk_manager.domain.events import HubConnectionChanged

NOW = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
A, B, C = 4411, 4412, 4413


def hub(kind: str, login: str, connected: bool, reconnect: bool = False) -> HubConnectionChanged:
    return HubConnectionChanged(hub=kind, login=login, connected=connected, at=NOW, reconnect=reconnect)


def board(can_trade: dict[int, bool | None] | None = None, quarantined_to: str | None = None) -> StatusBoard:
    flags = can_trade or {}
    return StatusBoard({A: "alice", B: "alice", C: "bob"}, ManualClock(NOW),
                       can_trade=lambda a: flags.get(a, True), quarantined_to=quarantined_to)


def test_starting_until_every_account_is_reconciled_or_refused_then_running() -> None:
    b = board()
    assert b.phase()[0] is Phase.STARTING and b.hubs() == {"user": "DISCONNECTED", "market": "DISCONNECTED"}
    for event in (hub("user", "alice", True), hub("user", "bob", True), hub("market", "alice", True)):
        b.hub_changed(event)
    b.reconciled(A, found=True)
    b.reconciled(B, found=True)
    assert b.phase()[0] is Phase.STARTING and b.stale(A) is False and b.stale(C) is True
    b.reconciled(C, found=True)
    assert b.phase() == (Phase.RUNNING, "ok")
    assert b.status().accounts == ({"account_id": A, "state": "OK"}, {"account_id": B, "state": "OK"},
                                   {"account_id": C, "state": "OK"})


def test_degraded_reasons_and_account_states() -> None:
    b = board(can_trade={B: False}, quarantined_to="state.db.corrupt-x")
    b.logins_refused({C})
    b.hub_changed(hub("user", "alice", True))
    b.hub_changed(hub("market", "alice", True))
    b.reconciled(A, found=False)
    b.reconciled(B, found=True)
    phase, message = b.phase()
    assert phase is Phase.DEGRADED
    assert message == ("database was unreadable: moved to state.db.corrupt-x, started empty; "
                       "login refused for account 4413; account 4411 not found at the broker")
    assert [b.account_state(a) for a in (A, B, C)] == [
        AccountState.NOT_FOUND, AccountState.DISABLED_BY_BROKER, AccountState.AUTH_FAILED]
    assert b.hubs()["user"] == "CONNECTED"  # the refused login has no hub to wait for


def test_a_lost_hub_degrades_and_makes_its_accounts_stale_until_it_returns() -> None:
    b = board()
    for event in (hub("user", "alice", True), hub("user", "bob", True), hub("market", "alice", True)):
        b.hub_changed(event)
    for account in (A, B, C):
        b.reconciled(account, found=True)
    b.hub_changed(hub("user", "bob", False))
    assert b.phase() == (Phase.DEGRADED, "user hub reconnecting")
    assert (b.stale(A), b.stale(C)) == (False, True)
    b.hub_changed(hub("user", "bob", True, reconnect=True))
    assert b.phase()[0] is Phase.RUNNING and b.stale(C) is False


def test_stopping_and_error_stay() -> None:
    b = board()
    b.finish(Phase.STOPPING, "stopping (SIGTERM)")
    b.reconciled(A, found=True)
    assert b.status().status == "STOPPING" and b.status().message == "stopping (SIGTERM)"
