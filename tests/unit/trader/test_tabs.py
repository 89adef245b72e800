"""The four tab bodies (cli.md §1.8): positions with quote ages and stops, orders, history, stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simple_risk_manager.trader import tabs
from simple_risk_manager.trader.model import Dashboard
from simple_risk_manager.trader.summary import Look, plain
from simple_risk_manager.trader.valuation import value_account

from .frames import (
    MES,
    NOW,
    SPEC_ENFORCEMENT,
    SPEC_LOCKOUT_SET,
    SPEC_TRADE,
    connected,
    event,
    frame,
    snapshot,
    snapshot_account,
)

LOOK = Look(UTC)


def cells(row: tabs.Row) -> list[str]:
    return [text for text, _ in row]


def positions(model: Dashboard, now: datetime = NOW) -> tabs.Table:
    view = model.view
    return tabs.positions_table(view, value_account(view, model.quotes, now, live=model.live), now, LOOK)


def test_spec_position_row_and_totals() -> None:
    table = positions(connected())
    assert table.columns == tabs.POSITION_COLUMNS
    assert cells(table.rows[0]) == ["MESH5", "LONG", "3", "5921.25", "5923.75", "+37.50", "11m02s", "✓"]
    assert plain(table.note) == " Contracts 3/n/a   Total unrealized +37.50"


def test_a_stale_quote_is_yellow_with_a_tilde() -> None:
    row = positions(connected(), NOW + timedelta(seconds=7)).rows[0]
    assert row[4] == ("5923.75 STALE", "bold yellow")
    assert row[5][0] == "~+37.50"


def test_no_data_after_30_seconds() -> None:
    table = positions(connected(), NOW + timedelta(seconds=31))
    row = table.rows[0]
    assert row[4] == ("NO DATA", "bold red") and row[5][0] == "n/a"
    assert plain(table.note) == " Contracts 3/n/a   Total unrealized n/a"


def test_spec_no_stop_countdown() -> None:
    """cli.md §1.8: stop column "no stop — closes in 0:23" from `no_stop_deadline`."""
    position = {**snapshot_account()["positions"][0], "has_stop": False,
                "no_stop_deadline": "2025-03-04T15:02:34.507Z"}
    table = positions(connected(snapshot_account(positions=[position])))
    assert table.rows[0][7] == ("no stop — closes in 0:23", "bold red")


def test_no_stop_and_no_grace() -> None:
    position = {**snapshot_account()["positions"][0], "has_stop": False}
    assert positions(connected(snapshot_account(positions=[position]))).rows[0][7][0] == "no stop"


def test_no_positions() -> None:
    table = positions(connected(snapshot_account(positions=[])))
    assert table.rows == [] and plain(table.note) == " No open positions"


def test_spec_order_row_tags_the_stop_loss() -> None:
    model = connected()
    assert model.view is not None
    table = tabs.orders_table(model.view, NOW)
    assert cells(table.rows[0]) == ["771203", "MESH5", "STOP SL", "SELL", "0/3", "-", "5912.00", "OPEN",
                                    "10m56s"]


def test_trades_newest_first_with_the_running_net() -> None:
    model = connected()
    model.on_message(frame(SPEC_TRADE), NOW)
    assert model.view is not None
    table = tabs.trades_table(model.view, LOOK)
    assert [cells(r) for r in table.rows] == [
        ["15:03:02", "MESH5", "SELL", "3", "5924.00", "+41.25", "2.22", "+36.81"],
        ["14:51:09", "MESH5", "BUY", "3", "5921.25", "-", "2.22", "-2.22"],
    ]


def test_a_voided_fill_does_not_count() -> None:
    model = connected()
    model.on_message(frame(SPEC_TRADE), NOW)
    model.on_message(event("GatewayUserTrade", {**frame(SPEC_TRADE).data, "voided": True}, 5300), NOW)
    assert model.view is not None
    rows = tabs.trades_table(model.view, LOOK).rows
    assert rows[0][5][0] == "VOID" and rows[0][7][0] == "-2.22"


def test_enforcement_history_holds_actions_and_lockouts() -> None:
    model = connected()
    model.on_message(frame(SPEC_LOCKOUT_SET), NOW)
    model.on_message(frame(SPEC_ENFORCEMENT), NOW)
    assert model.view is not None
    rows = [cells(r) for r in tabs.enforcement_table(model.view, LOOK).rows]
    assert rows[0] == ["16:40:12", "RULE-003", "CLOSE_ALL_AND_LOCKOUT",
                       "daily realized loss 512.50 reached limit 500.00", "SUCCESS (closed 1, cancelled 2)",
                       "184 ms"]
    assert rows[1][:3] == ["16:40:12", "RULE-003", "LOCKOUT (reset)"]


def test_stats_gauges_and_day_statistics() -> None:
    rules = [{"rule_id": "RULE-003", "name": "Daily Realized Loss", "enabled": True, "limit": 500,
              "current": 193.32, "status": "OK"},
             {"rule_id": "RULE-008", "name": "No Stop-Loss Grace", "enabled": True, "limit": None,
              "current": None, "status": "ACTIVE"},
             {"rule_id": "RULE-011", "name": "Symbol Blocks", "enabled": False, "limit": None,
              "current": None, "status": "OK"}]
    model = connected(snapshot_account(rules=rules))
    model.on_message(frame(SPEC_TRADE), NOW)
    assert model.view is not None
    lines = [plain(line) for line in tabs.stats_lines(model.view, value_account(model.view, model.quotes, NOW,
                                                                                live=True), NOW, LOOK)]
    # RULE-003 follows the fill at once: max(0, 154.29) of 500
    assert lines[1] == " RULE-003 Daily Realized Loss            [███░░░░░░░]   30%  154.29 / 500.00  OK"
    assert lines[2] == " RULE-008 No Stop-Loss Grace             ACTIVE"
    assert lines[3] == " RULE-011 Symbol Blocks                  disabled"
    assert " Trades 7   Wins 1   Losses 0   Win rate 100%" in lines
    assert " Largest win +41.25   Largest loss n/a   Total fees 4.44" in lines
    assert " Balance 50210.50 (as of the last snapshot)" in lines
    assert " Next reset in 7h57m49s (at 23:00 UTC)" in lines


def test_a_contract_without_metadata_is_shown_by_the_end_of_its_id() -> None:
    model = connected(snapshot_account(contracts={}))
    assert model.view is not None
    assert model.view.contract_name(MES) == "MES.H25"


def test_a_contract_no_longer_held_keeps_its_name_for_the_days_trades() -> None:
    model = connected()
    model.on_message(snapshot(snapshot_account(positions=[], orders=[], contracts={}), seq=5200), NOW)
    assert model.view is not None and model.view.contract_name(MES) == "MESH5"
