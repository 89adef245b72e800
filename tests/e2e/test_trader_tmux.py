"""`srm trader` in a real terminal: tmux runs the dashboard against `srm run`, which watches an account
on the simulator; the test reads the screen as a person would (`tmux capture-pane`).

The trader holds MES and MNQ, then closes MNQ at a loss beyond the daily limit: the screen must show
the RULE-003 lockout banner with a countdown that moves, the flash alert, and the MES position the
daemon flattened gone from the table; `q` must end the program and give the terminal back.
This attaches `srm trader` to a daemon started the way the other end-to-end tests start theirs;
`tests/e2e/test_demo_tmux.py` shows the same dashboard inside `srm demo`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from .conftest import DaemonRun, SimControl, until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32" or shutil.which("tmux") is None,
                       reason="needs tmux (a real terminal for the full-screen dashboard)"),
]

NewDaemon = Callable[..., Awaitable[DaemonRun]]
BUY, SELL = 0, 1
COUNTDOWN = re.compile(r"trading allowed again in (\d+h\d\dm\d\ds|\d\d:\d\d)")


def srm_command() -> str:
    script = shutil.which("srm", path=str(Path(sys.executable).parent))
    return script or f"{sys.executable} -m simple_risk_manager.cli.main"


class Terminal:
    """One tmux server of its own (never the user's), 100×30, running a shell."""

    def __init__(self) -> None:
        self.socket = f"srm-e2e-{uuid.uuid4().hex[:8]}"
        self.tmux("new-session", "-d", "-s", "main", "-x", "100", "-y", "30", "-e", "TERM=xterm-256color")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10,
                              check=True)
        return done.stdout

    def type(self, text: str, enter: bool = True) -> None:
        self.tmux("send-keys", "-t", "main", "-l", text)
        if enter:
            self.tmux("send-keys", "-t", "main", "Enter")

    def key(self, name: str) -> None:
        self.tmux("send-keys", "-t", "main", name)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "main")

    def program_pid(self) -> int:
        """The one program the shell is running now."""
        shell = self.tmux("display-message", "-p", "-t", "main", "#{pane_pid}").strip()
        children = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True, timeout=10,
                                  check=False).stdout.split()
        assert len(children) == 1, children
        return int(children[0])

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10,
                       check=False)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    opened = Terminal()
    yield opened
    opened.close()


async def test_the_dashboard_shows_a_breach_with_a_live_countdown(
        new_daemon: NewDaemon, control: SimControl, terminal: Terminal) -> None:
    run = await (await new_daemon(rules={"daily_realized_loss": {"loss_limit": 50}})).start()
    mes, mnq = control.sim.contract("MES"), control.sim.contract("MNQ")
    await control.price(mes, 6000)
    await control.price(mnq, 21000)
    await control.market(run.account, mes, BUY, 1)
    await control.market(run.account, mnq, BUY, 1)

    terminal.type(f"clear; {srm_command()} trader --port {run.port} --data-dir {run.data_dir} "
                  f"--account {run.account} --no-bell; echo TRADER-EXIT=$?")
    await until(lambda: "● LIVE" in terminal.screen() and terminal.screen().count(" LONG ") == 2,
                "the live dashboard with both positions")
    before = terminal.screen()
    assert f"(#{run.account})" in before and "Contracts 2/" in before

    await control.price(mnq, 20950)  # 50 points × 2.00 = −100.00 gross, beyond the 50.00 limit
    await control.market(run.account, mnq, SELL, 1)

    def locked_and_flat() -> bool:
        shown = terminal.screen()
        return "LOCKED OUT — RULE-003" in shown and "No open positions" in shown

    await until(locked_and_flat, "the lockout banner and the flattened account")
    screen = terminal.screen()
    first = COUNTDOWN.search(screen)
    assert first is not None, screen
    assert "CLOSE_ALL_AND_LOCKOUT — RULE-003" in screen  # the flash alert
    assert " LONG " not in screen  # the MES position the daemon closed is gone
    assert "Realized -10" in screen and "LIMIT" in screen  # −100.00 gross and fees, past the gauge's 100 %
    await until(lambda: (match := COUNTDOWN.search(terminal.screen())) is not None
                and match.group(1) != first.group(1), "the countdown to move")
    print(f"\n--- the dashboard during the lockout ---\n{terminal.screen()}")  # kept in the test log

    terminal.key("q")
    await until(lambda: "TRADER-EXIT=0" in terminal.screen(), "srm trader to exit 0")
    assert "LOCKED OUT" not in terminal.screen()  # the alternate screen is gone: the shell is back


async def test_sigterm_leaves_the_terminal_restored(terminal: Terminal, tmp_path: Path) -> None:
    """No daemon and no database: the offline screen says so; SIGTERM ends it like `q` (cli.md §1.12)."""
    terminal.type(f"clear; {srm_command()} trader --port 9 --data-dir {tmp_path} --account 1; "
                  "echo TRADER-EXIT=$?")
    await until(lambda: "○ OFFLINE — no saved state" in terminal.screen(), "the offline dashboard")
    assert "does not exist" in terminal.screen()
    os.kill(terminal.program_pid(), signal.SIGTERM)
    await until(lambda: "TRADER-EXIT=0" in terminal.screen(), "srm trader to exit 0 on SIGTERM")
    assert "OFFLINE" not in terminal.screen()
