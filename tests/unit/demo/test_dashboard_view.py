"""The demo's terminal view: while the dashboard is on screen the live log goes to the file only, and
the nicknames learned from `hello` are shared by both logs."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import ManualClock
from simple_risk_manager.demo.dashboard import QuietLiveLog

START = datetime(2026, 3, 4, 16, 2, 3, tzinfo=UTC)


def make() -> tuple[QuietLiveLog, io.StringIO, io.StringIO]:
    log_file, terminal = io.StringIO(), io.StringIO()
    view = QuietLiveLog(log_file, terminal, ZoneInfo("America/Chicago"), ManualClock(START))
    return view, log_file, terminal


def hello() -> Message:
    return Message(type="hello", seq=1, ts="2026-03-04T16:02:03.000Z", account_id=None,
                   data={"daemon_version": "0.1.0", "run_id": "r1",
                         "accounts": [{"account_id": 8003, "nickname": "Daily loss"}]})


def test_lines_reach_the_terminal_while_the_dashboard_is_not_shown() -> None:
    view, log_file, terminal = make()
    view.notice("starting the ProjectX Gateway simulator")
    view.message(hello())
    assert log_file.getvalue() == terminal.getvalue()
    assert "10:02:03" in terminal.getvalue()
    assert "starting the ProjectX Gateway simulator" in terminal.getvalue()


def test_quiet_keeps_everything_off_the_terminal_but_in_the_file() -> None:
    view, log_file, terminal = make()
    view.quiet = True
    view.message(hello())
    view.narrate(8003, "buys 1 MES and 1 ES")
    view.notice("stopping")
    assert terminal.getvalue() == ""
    assert "8003 Daily loss" in log_file.getvalue()  # the nickname from hello, through the shared format
    assert "trader: buys 1 MES and 1 ES" in log_file.getvalue()


def test_the_summary_goes_to_both_even_when_quiet() -> None:
    view, log_file, terminal = make()
    view.quiet = True
    view.summary(["Summary: 7 of 7 scenarios passed"])
    assert "Summary: 7 of 7 scenarios passed" in terminal.getvalue()
    assert "Summary: 7 of 7 scenarios passed" in log_file.getvalue()
