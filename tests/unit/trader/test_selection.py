"""The account selection list (cli.md §1.3)."""

from __future__ import annotations

from decimal import Decimal

from simple_risk_manager.trader.selection import account_rows

from .frames import A1, A2, NOW, connected, event, lockout_data, snapshot_account, status_data


def test_live_rows_list_the_hello_accounts_with_their_values() -> None:
    model = connected(snapshot_account(), snapshot_account(account_id=A2, nickname=None, realized_pnl=0,
                                                           positions=[], lockouts=[
        lockout_data(1, "RULE-007", "duration", "2025-03-04T15:10:00.000Z")]), requested=None)
    rows = account_rows(model, NOW)
    listed = [(r.number, r.account_id, r.nickname, r.status, r.realized_pnl, r.open_positions) for r in rows]
    assert listed == [
        (1, A1, "Eval 50K", "OK", Decimal("-193.32"), 1), (2, A2, None, "COOLDOWN", Decimal(0), 0)]


def test_the_daemons_account_state_wins() -> None:
    model = connected(requested=None)
    states = status_data()
    states["accounts"] = [{"account_id": A1, "state": "OK"},
                          {"account_id": A2, "state": "DISABLED_BY_BROKER"}]
    model.on_message(event("daemon_status", states, 5200, None), NOW)
    rows = account_rows(model, NOW)
    assert rows[1].status == "DISABLED BY BROKER"
    assert rows[1].to_dict() == {"number": 2, "account_id": A2, "nickname": None,
                                 "status": "DISABLED BY BROKER", "realized_pnl": None, "open_positions": None}
