"""`srm demo` in a real terminal (tmux): the Trader dashboard opens on the Daily loss account and shows
the RULE-003 breach (lockout banner with its countdown, the position closed); `q` ends the demo cleanly
with the summary and the path of the live log."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .test_demo import srm_command

WIDTH, HEIGHT = 120, 40
BREACH_TIMEOUT_S = 45.0
EXIT_TIMEOUT_S = 20.0
POLL_S = 0.25

pytestmark = pytest.mark.skipif(sys.platform == "win32" or shutil.which("tmux") is None,
                                reason="needs tmux (a real terminal for the full-screen dashboard)")


class Tmux:
    """One detached session on a private tmux server (its own socket), so nothing else is touched."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "-f", os.devnull, *args], capture_output=True,
                              text=True, timeout=10, check=True)
        return done.stdout

    def screen(self) -> str:
        """The visible pane plus its scroll-back, wrapped lines joined."""
        return self.run("capture-pane", "-p", "-J", "-S", "-500", "-t", "demo")

    def wait_for(self, ready: Callable[[str], bool], timeout_s: float, what: str) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            text = self.screen()
            if ready(text):
                return text
            if time.monotonic() > deadline:
                pytest.fail(f"not seen within {timeout_s:.0f} s: {what}; the screen:\n{text}")
            time.sleep(POLL_S)  # polling a real terminal: there is no event to wait on


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux(f"srm-demo-test-{os.getpid()}")
    yield session
    subprocess.run(["tmux", "-L", session.socket, "kill-server"], capture_output=True, timeout=10,
                   check=False)


@pytest.mark.slow
@pytest.mark.timeout(BREACH_TIMEOUT_S + EXIT_TIMEOUT_S + 30)
def test_dashboard_shows_the_daily_loss_lockout_and_q_ends_the_demo(tmux: Tmux) -> None:
    command = shlex.join([*srm_command(), "demo"])
    # The shell outlives the demo, so its exit code and last words stay on screen.
    tmux.run("new-session", "-d", "-s", "demo", "-x", str(WIDTH), "-y", str(HEIGHT),
             f"{command}; echo DEMO EXIT $?; sleep 120")
    screen = tmux.wait_for(
        lambda text: "trading allowed again in" in text and "No open positions" in text,
        BREACH_TIMEOUT_S, "the RULE-003 lockout banner with its countdown and no open position")
    assert "Daily loss" in screen, screen
    assert "LOCKED OUT" in screen and "RULE-003" in screen, screen
    assert "Traceback" not in screen, screen

    tmux.run("send-keys", "-t", "demo", "q")
    screen = tmux.wait_for(lambda text: "DEMO EXIT" in text, EXIT_TIMEOUT_S, "the demo ending after q")
    assert "Traceback" not in screen, screen
    assert "DEMO EXIT 0" in screen, screen
    assert "Summary:" in screen, screen
    assert "problem:" not in screen, screen
    assert "stopped early: the dashboard was closed" in screen, screen
    log_line = next(line for line in screen.splitlines() if line.startswith("live log of this run: "))
    log_path = Path(log_line.removeprefix("live log of this run: ").strip())
    try:
        log = log_path.read_text(encoding="utf-8")
        assert "RULE-003 CLOSE_ALL_AND_LOCKOUT" in log, log  # the quiet log kept the whole story
    finally:
        log_path.unlink(missing_ok=True)
