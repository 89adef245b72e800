"""`srm demo` in a terminal: the Trader dashboard attached to the demo's daemon, and a view that keeps
the live log off the terminal while the dashboard is on screen (`cli.md` §0.1).

The dashboard opens on the Daily loss account: its story is the demo's headline (a loss that reaches
the limit, everything closed, the lockout banner counting down to the reset, a retry flattened), and it
stays locked, so it still reads well after the script is done. Every other account is one `a` away.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from simple_risk_manager.broadcast.frames import Message
from simple_risk_manager.clock import Clock
from simple_risk_manager.demo.live_log import LiveLog, LogFormat
from simple_risk_manager.trader import DashboardOptions, TraderApp

#: The scenario whose account the dashboard opens on (a key of `config_files.demo_accounts`).
FIRST_ACCOUNT = "daily_loss"


class QuietLiveLog:
    """The live log into a file, and onto the terminal only while the dashboard is not on screen (a
    line printed under Textual would tear its picture)."""

    def __init__(self, log_file: TextIO, terminal: TextIO, zone: ZoneInfo, clock: Clock) -> None:
        self.format = LogFormat(zone)
        self._file = LiveLog(log_file, zone, clock, self.format)
        self._terminal = LiveLog(terminal, zone, clock, self.format)
        self.quiet = False

    def notice(self, text: str) -> None:
        self._file.notice(text)
        if not self.quiet:
            self._terminal.notice(text)

    def narrate(self, account_id: int, text: str) -> None:
        self._file.narrate(account_id, text)
        if not self.quiet:
            self._terminal.narrate(account_id, text)

    def message(self, message: Message) -> None:
        self._file.message(message)
        if not self.quiet:
            self._terminal.message(message)

    def summary(self, lines: list[str]) -> None:
        self._file.summary(lines)
        self._terminal.summary(lines)


class DemoDashboard:
    """The runner's `DemoScreen`: shows the Trader dashboard, keeping `view` quiet meanwhile."""

    def __init__(self, view: QuietLiveLog, zone: ZoneInfo) -> None:
        self._view = view
        self._zone = zone
        self._app: TraderApp | None = None

    async def show(self, url: str, accounts: Mapping[str, int], db_path: Path) -> int:
        """Until the trader quits (q, Ctrl-C) or `close` is called; Textual's exit code."""
        options = DashboardOptions(url=url, account_id=accounts[FIRST_ACCOUNT], db_path=db_path,
                                   zone=self._zone)
        self._app = TraderApp(options)
        self._view.quiet = True
        try:
            await self._app.run_async()
        finally:
            self._view.quiet = False
        return self._app.return_code or 0

    def close(self) -> None:
        if self._app is not None:
            self._app.exit()
